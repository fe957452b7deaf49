"""A real redis-server for the tests, on a free loopback port.

``redis-server`` is found on PATH (Debian's ``redis-server`` package; ``.ci/run``
installs it).  Without one, tests that need it skip, unless
``AIOCASES_REQUIRE_REDIS`` is set (CI sets it): then they fail, so that CI
never passes by skipping them.  Not fakeredis: it does not run Lua the way
Redis does, and the shared budget is Lua.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def require_redis_package() -> None:
    """Skip without the redis package, or fail if CI requires the Redis tests to run."""
    try:
        import redis  # noqa: F401
    except ImportError:
        if os.environ.get("AIOCASES_REQUIRE_REDIS"):
            pytest.fail(
                "the redis package is missing (pip install 'aiocases[redis]') and AIOCASES_REQUIRE_REDIS is set"
            )
        pytest.skip("the redis package is not installed (pip install 'aiocases[redis]')")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """redis-server in its own process, with no persistence; stop, kill and start it again at will."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not on PATH (apt-get install redis-server)"
            if os.environ.get("AIOCASES_REQUIRE_REDIS"):
                pytest.fail(message + " and AIOCASES_REQUIRE_REDIS is set")
            pytest.skip(message)
        self.binary = binary
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="aiocases-redis-")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*command, "--dir", self.directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
