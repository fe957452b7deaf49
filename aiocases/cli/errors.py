"""What the command line reports as a user's mistake, and where it writes."""

from __future__ import annotations

import sys
from typing import BinaryIO

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "stdout"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported on one line, exit status 2."""


def stdout() -> BinaryIO:
    """Standard output as bytes; a :class:`UsageError` when it is closed."""
    if sys.stdout is None:
        raise UsageError("stdout is closed: give --output FILE")
    return sys.stdout.buffer
