"""The organization's budget spent exactly, in memory: a client exporting
against a server simulated by ``aiocases.testing``'s ``RateLimiter`` on a
``VirtualClock`` (50 ms a request), for windows of 1 s to an hour and server
clocks off the client's.  The rules themselves: tests/test_windows.py."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from aiocases import CasesClient, Request, Response, RetryPolicy
from aiocases.testing import MockTransport, RateLimitRule, VirtualClock, json_response
from aiocases.testing.limits import RateLimiter

LIMIT = 20
CELL = {"id": "c0", "type": "timeline_cell", "attributes": {"type": "COMMENT", "content": "hello"}}


class Server:
    """One limit of ``LIMIT`` a ``period``, on a clock ``skew`` seconds off the client's."""

    def __init__(self, clock: VirtualClock, period: int, skew: float) -> None:
        self.clock, self.period, self.skew = clock, period, skew
        self.limiter = RateLimiter({"timelines": RateLimitRule(LIMIT, period)}, clock=self.now)
        self.admitted: Counter[int] = Counter()  # by the server's window
        self.refused = 0

    def now(self) -> float:
        return self.clock.now + self.skew

    async def __call__(self, request: Request) -> Response:
        await self.clock.sleep(0.025)  # on the way there
        allowed, headers = self.limiter.admit("timelines")
        if allowed:
            self.admitted[math.floor(self.now() / self.period)] += 1
        else:
            self.refused += 1
        await self.clock.sleep(0.025)  # and back
        return json_response(200, {"data": [CELL]}, headers) if allowed else Response(429, headers)


@pytest.mark.parametrize(
    ("period", "skew"),
    [(1, 0.0), (1, -0.3), (1, -0.1), (1, 0.5), (10, -0.3), (10, 0.5), (3600, -0.3)],
    ids=lambda value: f"{value:+}" if isinstance(value, float) else f"{value}s",
)
async def test_every_window_is_spent_whatever_the_server_clock(period: int, skew: float) -> None:
    clock = VirtualClock(1_000_000.45)
    server = Server(clock, period, skew)
    requests = 12 * LIMIT  # a case a request: one page of one cell
    async with CasesClient(
        transport=MockTransport(server),
        clock=clock.time,
        sleep=clock.sleep,
        max_wait=2 * period,
        rng=random.Random(1),
        retry_policy=RetryPolicy(rng=random.Random(1)),
    ) as client:
        done = [case async for case in client.export_timelines([f"C-{n}" for n in range(requests)])]
    assert all(case.ok for case in done) and len(done) == requests
    windows = sorted(server.admitted)
    inner = [server.admitted[window] for window in range(windows[0] + 1, windows[-1])]
    assert inner and all(count == LIMIT for count in inner), server.admitted  # every full window spent
    assert server.refused <= 2, server.refused  # at most what learning the phase costs
    assert clock.now - 1_000_000.45 <= (len(windows) + 1) * period
