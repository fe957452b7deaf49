"""The gate: reading the limit headers, the concurrency limit on a driven
clock, and admission (holds and 429s on an injected clock and sleep)."""

from __future__ import annotations

import asyncio

import pytest

from aiocases.concurrency import ConcurrencyLimit
from aiocases.errors import ClientClosed, Declined, RateLimited
from aiocases.gate import Gate
from aiocases.observations import Observation, observe
from aiocases.testing import VirtualClock
from aiocases.windows import BOUNDARY_MARGIN


def test_headers_are_read() -> None:
    headers = {
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Period": "10",
        "X-RateLimit-Remaining": "12",
        "X-RateLimit-Reset": "4",
        "X-RateLimit-Name": "cases",
    }
    assert observe(200, headers) == Observation(30, 10.0, 12, 4.0, name="cases")
    assert observe(200, {}) == Observation()
    assert not observe(429, {}).limited and observe(429, {"Retry-After": "3"}).retry_after == 3.0
    odd = observe(200, {"X-RateLimit-Remaining": "many", "X-RateLimit-Reset": "-3", "X-RateLimit-Limit": "0"})
    assert odd == Observation()
    assert observe(200, {"X-RateLimit-Remaining": "1", "X-RateLimit-Period": "1e9"}).period is None


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


def gate(clock: VirtualClock, maximum: int = 4, **kwargs: object) -> Gate:
    return Gate(maximum, clock=clock.time, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


async def test_a_429_the_window_explains_holds_the_group_to_its_end() -> None:
    clock = VirtualClock(1000.4)
    one = gate(clock)
    ticket = await one.acquire("timelines")
    one.record(ticket, 429, {"X-RateLimit-Limit": "4", "X-RateLimit-Period": "1", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": "1"})  # fmt: skip
    one.release(ticket)
    second = await one.acquire("timelines")
    assert 1001.0 + BOUNDARY_MARGIN <= clock.now <= 1001.0 + BOUNDARY_MARGIN + 0.1  # the window's end, a little jitter
    assert one.stats.throttled == 1 and one.stats.rate_limit_wait >= 0.6
    assert one.concurrency.allowed == 4  # a wait, not a cut: the window explains it
    one.release(second)


async def test_a_429_the_headers_do_not_explain_cuts_concurrency() -> None:
    clock = VirtualClock()
    one = gate(clock, 16)
    first = await one.acquire("timelines")
    one.record(first, 200, {})  # an answer without limits: the group is open
    one.release(first)
    tickets = [await one.acquire("timelines") for _ in range(16)]
    assert clock.now == 1_000_000.0  # no wait: no budget is known
    one.record(tickets[-1], 429, {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1"})
    assert one.concurrency.allowed == 8
    for ticket in tickets:
        one.release(ticket)


async def test_a_wait_longer_than_max_wait_is_refused_at_once() -> None:
    clock = VirtualClock()
    one = gate(clock, max_wait=10)
    ticket = await one.acquire("timelines")
    one.record(ticket, 429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "86400"})
    one.release(ticket)
    started = clock.now
    with pytest.raises(RateLimited) as info:
        await one.acquire("timelines")
    assert info.value.too_long and info.value.retry_after == pytest.approx(86400) and clock.now == started


async def test_a_speculative_request_goes_only_at_once_with_budget_to_spare() -> None:
    clock = VirtualClock(1000.1)
    one = gate(clock, 2)
    with pytest.raises(Declined):  # no limit known yet: nothing to spare
        await one.acquire("timelines", speculative=True)
    first = await one.acquire("timelines")
    one.record(first, 200, {"X-RateLimit-Limit": "8", "X-RateLimit-Period": "1", "X-RateLimit-Remaining": "7",
                            "X-RateLimit-Reset": "1"})  # fmt: skip
    ahead = await one.acquire("timelines", speculative=True)  # 6 left after it: more than a quarter
    waiting = asyncio.ensure_future(one.acquire("timelines"))  # both places taken: it waits
    await asyncio.sleep(0)
    with pytest.raises(Declined):  # a request some walk needs waits: the speculative one does not go before it
        await one.acquire("timelines", speculative=True)
    one.release(first)
    needed = await waiting
    one.release(ahead)
    one.release(needed)
    went = []  # three counted so far: 5, 4 and 3 left, then 2, a quarter of 8, is too short to spare
    with pytest.raises(Declined):
        while True:
            went.append(await one.acquire("timelines", speculative=True))
            one.release(went[-1])
    assert len(went) == 3 and clock.now == 1000.1  # none of it waited


async def test_a_gate_sends_one_request_until_the_first_answer() -> None:
    """Rule 6 in one gate: a run started in a window another left spent
    meets one 429, not one per place of its concurrency."""
    clock = VirtualClock(1000.2)
    one = gate(clock, 16)
    first = await one.acquire("timelines")
    others = [asyncio.ensure_future(one.acquire("timelines")) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(other.done() for other in others)  # held for the probe's answer
    one.unanswered(first)  # it failed without one (a connection refused): the next goes at once
    one.release(first)
    for _ in range(10):  # the held wake, and ask again
        await asyncio.sleep(0)
    rest = [other for other in others if not other.done()]
    assert len(rest) == 2  # one went: the new probe
    second = next(other for other in others if other.done()).result()
    one.record(second, 200, {"X-RateLimit-Limit": "40", "X-RateLimit-Period": "1", "X-RateLimit-Remaining": "39",
                             "X-RateLimit-Reset": "1"})  # fmt: skip
    one.release(second)
    for ticket in await asyncio.gather(*rest):
        one.release(ticket)
    assert clock.now == 1000.2  # the answer woke the rest: nobody waited out a probe's interval


async def test_closing_wakes_held_requests() -> None:
    clock = VirtualClock()
    one = gate(clock)
    ticket = await one.acquire("timelines")
    one.record(ticket, 429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "60"})
    one.release(ticket)
    held = asyncio.ensure_future(one.acquire("timelines"))
    await asyncio.sleep(0)
    one.close()
    with pytest.raises(ClientClosed):
        await held


async def test_gate_bounds_concurrency() -> None:
    clock = VirtualClock()
    one = gate(clock, 3)
    peak = 0

    async def request() -> None:
        nonlocal peak
        async with one.slot("watchers") as ticket:
            peak = max(peak, one.in_flight)
            await clock.sleep(0.01)
            one.record(ticket, 200, {})

    await asyncio.gather(*(request() for _ in range(20)))
    assert peak == 3
    assert one.in_flight == 0


async def test_groups_sharing_a_limit_name_share_a_budget() -> None:
    clock = VirtualClock(1000.0)
    one = gate(clock, max_wait=5)
    named = {"X-RateLimit-Limit": "3", "X-RateLimit-Period": "30", "X-RateLimit-Name": "cases"}
    a = await one.acquire("timelines")
    one.record(a, 200, {**named, "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "30"})
    one.release(a)
    b = await one.acquire("watchers")
    one.record(b, 200, {**named, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})
    one.release(b)
    # The watchers group now counts in the spent "cases" budget, and so does timelines.
    for group in ("watchers", "timelines"):
        with pytest.raises(RateLimited):
            await one.acquire(group)
