"""The fake itself: its rate limits on an injected clock (no sockets), faults
that leave no traceback, and ``python -m aiocases.testing`` as a newcomer meets it."""

from __future__ import annotations

import json
import logging
import os
import pty
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from cli_helpers import API_KEY, APP_KEY, Server

from aiocases import CasesClient
from aiocases.testing import FakeCasesAPI, Faults, RateLimitRule
from aiocases.testing.limits import RateLimiter


def test_rate_limits_follow_calendar_windows() -> None:
    now = [1000.25]
    limiter = RateLimiter(
        {"timelines": RateLimitRule(2, 10, "cases"), "watchers": RateLimitRule(2, 10, "cases")}, clock=lambda: now[0]
    )
    first, headers = limiter.admit("timelines")
    assert first and headers["X-RateLimit-Remaining"] == "1" and headers["X-RateLimit-Reset"] == "10"
    assert limiter.admit("watchers")[0]  # one budget, shared by name
    refused, headers = limiter.admit("timelines")
    assert not refused and headers["X-RateLimit-Remaining"] == "0"
    now[0] = 1009.9
    assert headers["X-RateLimit-Name"] == "cases" and limiter.admit("timelines")[1]["X-RateLimit-Reset"] == "1"
    now[0] = 1010.0  # the next calendar window
    assert limiter.admit("timelines") == (True, {**headers, "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "10"})
    assert limiter.admit("other") == (True, {})


async def test_faults_leave_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    async with FakeCasesAPI(4, 40, faults=Faults(seed=3, reset=0.2, cut=0.2)) as api:
        async with CasesClient(api.api_key, api.app_key, base_url=api.url, max_retries=12) as client:
            for key in list(api.cases):
                await client.get_timeline_page(key, page_size=20)
        assert api.counters.faults["reset"] + api.counters.faults["cut"] > 0
        assert api.requests_by_status[-1] == api.counters.faults["reset"] + api.counters.faults["cut"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_the_fake_never_reads_a_terminal() -> None:
    """Started from an interactive shell, it must not take what the user types."""
    leader, follower = pty.openpty()
    fake = subprocess.Popen(
        [sys.executable, "-m", "aiocases.testing"], stdin=follower, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert fake.stdout.readline().startswith("# point aiocases at this fake")
        assert fake.stdout.readline().startswith(f"export AIOCASES_BASE_URL={url} DD_API_KEY=")
        os.write(leader, b"typed by the user\n")
        fake.send_signal(signal.SIGTERM)
        assert fake.wait(timeout=10) == 0
        os.set_blocking(follower, False)
        assert os.read(follower, 100) == b"typed by the user\n"  # still there: never read
    finally:
        if fake.poll() is None:
            fake.kill()
        assert fake.stdout is not None
        fake.stdout.close()
        os.close(leader)
        os.close(follower)


def test_testing_public_names_are_pinned() -> None:
    import aiocases.testing

    assert sorted(aiocases.testing.__all__) == [
        "CaseStore",
        "FakeCase",
        "FakeCasesAPI",
        "Faults",
        "Generator",
        "LoopbackServer",
        "MockTransport",
        "RateLimitRule",
        "RecordedRequest",
        "VirtualClock",
        "json_response",
        "scripted",
    ]
    for name in aiocases.testing.__all__:
        assert getattr(aiocases.testing, name) is not None


def test_the_command_lines_clock_skew_moves_the_rate_limits_windows() -> None:
    """``--clock-skew``: a server whose windows are off this host's calendar
    (or, the same to a client, one far away); its counts follow its own clock."""
    server = Server("--cases", "1", "--cells", "1", "--rate-limit", "1", "--period", "60", "--clock-skew", "7200")
    try:
        headers = {"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY}
        statuses = []
        for _ in range(2):
            request = urllib.request.Request(f"{server.url}/api/v2/cases/NOPE-1/timelines", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    statuses.append(answer.status)
            except urllib.error.HTTPError as error:
                statuses.append(error.code)
        with urllib.request.urlopen(f"{server.url}/_fake/stats", timeout=10) as answer:
            stats = json.load(answer)
    finally:
        server.stop()
    assert statuses[1] == 429
    (second,) = (int(key) for key in stats["throttled_by_second"])
    assert abs(second - (time.time() + 7200)) < 30
