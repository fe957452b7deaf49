"""The gate's bookkeeping, driven by an explicit clock (no event loop)."""

from __future__ import annotations

import asyncio

import pytest

from aiocases.ratelimit import Bucket, ConcurrencyLimit, Gate, RateLimitInfo


def info(remaining: int, reset: float, limit: int = 10, period: float = 10, name: str = "cases") -> RateLimitInfo:
    return RateLimitInfo(limit=limit, period=period, remaining=remaining, reset=reset, name=name)


def test_headers_are_read() -> None:
    headers = {
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Period": "10",
        "X-RateLimit-Remaining": "12",
        "X-RateLimit-Reset": "4",
        "X-RateLimit-Name": "cases",
    }
    assert RateLimitInfo.from_headers(headers) == RateLimitInfo(30, 10.0, 12, 4.0, "cases")
    assert RateLimitInfo.from_headers({}) is None
    odd = RateLimitInfo.from_headers({"X-RateLimit-Remaining": "many", "X-RateLimit-Reset": "-3"})
    assert odd == RateLimitInfo(None, None, None, None, None)


def test_spent_budget_waits_for_the_reset() -> None:
    bucket = Bucket(aligned=False)
    seq = bucket.take()
    bucket.observe(info(remaining=2, reset=5), seq, now=100.0, wall=0.0)
    bucket.in_flight = 0
    assert bucket.delay(100.0) == 0
    bucket.take()
    bucket.take()
    assert bucket.remaining == 0
    assert bucket.delay(101.0) == 4.0
    # The window rolls at the reset: a full budget again, less the two sends
    # still in flight (the server may count them in the new window).
    assert bucket.delay(105.0) == 0
    assert bucket.remaining == 8


def test_calendar_alignment_sharpens_whole_second_resets() -> None:
    bucket = Bucket()
    # Wall clock 1000.3 with a 1 s period: the window ends at 1001.0, Reset says "1".
    end = bucket.window_end_from(info(remaining=0, reset=1, period=1), now=50.0, wall=1000.3)
    assert end is not None and abs(end - 50.73) < 1e-6
    # A Reset that disagrees with the local clock by more than rounding: trust Reset.
    end = bucket.window_end_from(info(remaining=0, reset=9, period=1), now=50.0, wall=1000.3)
    assert end == 59.0


def test_429_holds_the_group_and_unaligned_clock_is_noticed() -> None:
    bucket = Bucket(remaining=5, window_end=200.0, period=10)
    wait = bucket.hold(info(remaining=0, reset=3, period=10), None, now=100.0, wall=5.0)
    assert wait == 3.0
    assert not bucket.aligned
    assert bucket.delay(101.0) == 2.0
    # No headers at all: a default hold that doubles.
    bare = Bucket()
    assert bare.hold(None, None, now=0.0, wall=0.0) == 1.0
    assert bare.hold(None, None, now=0.0, wall=0.0) == 2.0
    assert bare.hold(None, 7.0, now=0.0, wall=0.0) == 7.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrency_cuts_once_per_episode_and_learns_the_ceiling() -> None:
    clock = FakeClock()
    limit = ConcurrencyLimit(16, clock=clock, probe_interval=30)
    epoch = limit.epoch
    assert limit.on_throttled(epoch, level=16)
    assert limit.allowed == 8
    # Other 429s of requests sent before the cut do not cut again.
    assert not limit.on_throttled(epoch, level=15)
    assert limit.allowed == 8
    assert limit.on_throttled(limit.epoch, level=8)
    assert limit.allowed == 4
    # Grows back quickly, to just below the ceiling (8), then stops.
    for _ in range(200):
        limit.on_success(limit.epoch)
    assert limit.allowed == 7
    # Past the probe interval it creeps above, one 429 puts it one step back.
    clock.now = 100.0
    for _ in range(500):
        limit.on_success(limit.epoch)
    assert limit.allowed > 7
    probing = limit.allowed
    limit.on_throttled(limit.epoch, level=probing)
    assert limit.allowed == probing - 1


def test_refusals_of_one_episode_reveal_a_hidden_limit() -> None:
    limit = ConcurrencyLimit(16)
    epoch = limit.epoch
    # 16 sent at once, a limit of 4 the headers do not show: 12 refused.
    assert limit.on_throttled(epoch, level=16, hidden=True)
    assert limit.allowed == 8
    for level in range(15, 4, -1):
        assert not limit.on_throttled(epoch, level=level, hidden=True)
    assert limit.allowed == 4 and limit.ceiling == 5
    # Budget 429s (Remaining 0) say nothing about concurrency: halving only.
    budget = ConcurrencyLimit(16)
    for level in range(16, 4, -1):
        budget.on_throttled(0, level=level)
    assert budget.allowed == 8


def test_concurrency_never_below_one() -> None:
    limit = ConcurrencyLimit(2)
    for _ in range(5):
        limit.on_throttled(limit.epoch, level=1)
    assert limit.allowed == 1


async def test_gate_holds_every_request_after_a_429() -> None:
    gate = Gate(4, probe_interval=0)
    ticket = await gate.acquire("timelines")
    gate.record(ticket, 429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})
    gate.release(ticket)
    loop = asyncio.get_running_loop()
    start = loop.time()
    second = await gate.acquire("timelines")
    assert loop.time() - start >= 0.95
    assert gate.stats.throttled == 1 and gate.stats.rate_limit_wait >= 0.95
    gate.release(second)


async def test_gate_bounds_concurrency() -> None:
    gate = Gate(3)
    peak = 0

    async def one() -> None:
        nonlocal peak
        async with gate.slot("watchers") as ticket:
            peak = max(peak, gate.in_flight)
            await asyncio.sleep(0.01)
            gate.record(ticket, 200, {})

    await asyncio.gather(*(one() for _ in range(20)))
    assert peak == 3
    assert gate.in_flight == 0


async def test_groups_sharing_a_limit_name_share_a_budget() -> None:
    gate = Gate(4)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30", "X-RateLimit-Name": "cases"}
    a = await gate.acquire("timelines")
    gate.record(a, 200, {**headers, "X-RateLimit-Remaining": "5"})
    gate.release(a)
    b = await gate.acquire("watchers")
    gate.record(b, 200, headers)
    gate.release(b)
    assert a.bucket.remaining == 0
    # The watchers group now counts against the spent "cases" budget.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(gate.acquire("watchers"), 0.05)
    assert a.bucket.in_flight == b.bucket.in_flight == 0


async def test_failed_requests_release_the_bucket_they_took_from() -> None:
    """A group learns the limit name another group has; six of its requests
    run, one is answered (linking the group) and five fail without a
    response: nothing stays counted in flight, and later requests go at once."""
    gate = Gate(16)
    named = {"X-RateLimit-Limit": "3", "X-RateLimit-Period": "1", "X-RateLimit-Name": "cases"}
    first = await gate.acquire("timelines")
    gate.record(first, 200, {**named, "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1"})
    gate.release(first)
    tickets = [await gate.acquire("watchers") for _ in range(6)]
    gate.record(tickets[0], 200, {**named, "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1"})
    for ticket in tickets:  # one answered, five reset: all released
        gate.release(ticket)
    assert gate.in_flight == 0
    assert all(t.bucket.in_flight == 0 for t in (first, *tickets))
    # Within two windows the shared budget is back and a request is admitted.
    admitted = await asyncio.wait_for(gate.acquire("watchers"), 2.5)
    gate.release(admitted)
