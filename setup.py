"""Builds the optional C speedups (``aiocases._speedups``); everything else is in setup.cfg.

Without a C compiler, or with ``AIOCASES_NO_EXTENSIONS=1`` set, aiocases
installs as pure Python and works the same, more slowly (as aiohttp does).
"""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A build_ext whose failure leaves a working pure-Python install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no headers: the pure-Python path stays
            self.warn(f"aiocases: C speedups not built ({exc}); using pure Python")


speedups = Extension("aiocases._speedups", ["aiocases/_speedups.c"], optional=True)
setup(
    ext_modules=[] if os.environ.get("AIOCASES_NO_EXTENSIONS") else [speedups],
    cmdclass={"build_ext": OptionalBuildExt},
)
