"""What the command-line tests share: the fake API in its own process, and
running ``aiocases`` as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aiocases.testing import FakeCasesAPI

CASES, CELLS, SEED = 24, 35, 5
API_KEY, APP_KEY = "cli-secret-api-key-4242", "cli-secret-app-key-9898"


class Server:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiocases.testing", *args, "--api-key", API_KEY, "--app-key", APP_KEY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:")

    def stop(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    environ.update({"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY} if env is None else env)
    return subprocess.run(
        [sys.executable, "-m", "aiocases.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What a command printed on stderr, its lines joined (the summary wraps at 80 columns)."""
    return " ".join(result.stderr.split())


def export_lines(text: str) -> dict[str, list[str]]:
    """Cell ids per case from JSON Lines output, in order."""
    cells: dict[str, list[str]] = {}
    for line in text.splitlines():
        record = json.loads(line)
        assert set(record) >= {"case_id", "id", "type", "attributes"}
        cells.setdefault(record["case_id"], []).append(record["id"])
    return cells


def expected(truth: FakeCasesAPI, keys: list[str], ascending: bool = True) -> dict[str, list[str]]:
    return {key: [c["id"] for c in truth.cells(key, ascending)] for key in keys}


@contextlib.contextmanager
def small_filesystem(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (root only; skips elsewhere)."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0 or shutil.which("mount") is None:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def fake_as_the_readme_starts_it() -> Iterator[dict[str, str]]:
    """``python -m aiocases.testing`` as the README starts it: yields this environment with what the export
    line it prints sets (its URL and keys), the rest of ``DD_*`` and ``AIOCASES_*`` left out."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "aiocases.testing"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        printed = [fake.stdout.readline() for _ in range(3)]
        exports = dict(item.split("=", 1) for item in printed[2].split()[1:])
        assert printed[2].startswith("export AIOCASES_BASE_URL=") and exports["AIOCASES_BASE_URL"] == printed[0].strip()
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "AIOCASES_"))}
        yield {**environ, **exports}
    finally:
        assert fake.stdin is not None and fake.stdout is not None
        fake.stdin.close()
        fake.wait(timeout=10)
        fake.stdout.close()


@contextlib.contextmanager
def fake_in_a_thread(**kwargs: object) -> Iterator[FakeCasesAPI]:
    """The fake served from its own thread and loop, so that the test can run several loops."""
    started = threading.Event()
    stop: list[Callable[[], None]] = []
    api = FakeCasesAPI(**kwargs)  # type: ignore[arg-type]

    def run() -> None:
        async def main() -> None:
            done = asyncio.Event()
            stop.append(lambda: loop.call_soon_threadsafe(done.set))
            async with api:
                started.set()
                await done.wait()

        loop = asyncio.new_event_loop()
        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield api
    finally:
        stop[0]()
        thread.join(10)
