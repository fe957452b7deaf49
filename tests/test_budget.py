"""The rules of a budget shared by every client of one credential (written at
the top of aiocases/budget.py), on both implementations: LocalBudget in this
process, and RedisBudget on a real Redis (its Lua script, on Redis's clock).
Two "processes" are two RedisBudgets on one Redis, or one LocalBudget given to
two clients.  Then clients and gates sharing a LocalBudget, and at the end
LocalBudget on a driven clock, without sockets."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from budget_helpers import export_shares
from redis_helpers import RedisServer, require_redis_package

import aiocases
from aiocases.budget import Budget, LocalBudget, Observation
from aiocases.config import Credentials
from aiocases.errors import RateLimited
from aiocases.ratelimit import Gate
from aiocases.testing import FakeCasesAPI, RateLimitRule


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    require_redis_package()
    server = RedisServer()
    yield server
    server.stop()


@pytest_asyncio.fixture(params=["local", "redis"])
async def budgets(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Budget, Budget]]:
    """Two processes' budgets of one organization."""
    if request.param == "local":
        shared = LocalBudget()
        yield shared, shared
        return
    from aiocases.redisbudget import RedisBudget

    url = request.getfixturevalue("redis_server").url
    first, second = RedisBudget(url), RedisBudget(url)
    yield first, second
    await first.close()
    await second.close()


def namespace() -> str:
    return Credentials(api_key=f"key-{time.monotonic_ns()}", app_key="app").fingerprint()  # a fresh budget a test


async def test_sends_are_counted_across_budgets(budgets: tuple[Budget, Budget]) -> None:
    first, second = budgets
    ns = namespace()
    # Before any response, nothing is known of the limit: one probe a second goes.
    assert await first.reserve(ns, "timelines") == 0
    assert 0.9 < await second.reserve(ns, "timelines") <= 1.0
    # An hour's window (it does not turn during the test): the server has seen one send.
    await first.observe(ns, "timelines", Observation(limit=5, period=3600.0, remaining=4, reset=1800))
    results = [await budget.reserve(ns, "timelines") for budget in (first, second) * 3]
    assert results[:4] == [0, 0, 0, 0]  # four more, whichever process asks
    assert all(0 < wait <= 3600 for wait in results[4:])


async def test_a_spent_window_opens_again_when_it_turns(budgets: tuple[Budget, Budget]) -> None:
    first, second = budgets
    ns = namespace()
    await first.observe(ns, "timelines", Observation(limit=2, period=1.0, remaining=0, reset=1))
    wait = await second.reserve(ns, "timelines")
    assert 0 < wait <= 1.03  # the window's end, and a margin for answers still on their way
    await asyncio.sleep(wait + 0.01)
    assert await second.reserve(ns, "timelines") == 0
    assert await first.reserve(ns, "timelines") == 0
    assert await first.reserve(ns, "timelines") > 0  # two a window


async def test_the_servers_remaining_counts_other_processes_sends(budgets: tuple[Budget, Budget]) -> None:
    first, _ = budgets
    ns = namespace()
    await first.observe(ns, "timelines", Observation(limit=30, period=10.0, remaining=0, reset=5))
    wait = await first.reserve(ns, "timelines")
    assert 0 < wait <= 10.03  # spent by someone: wait for the window's end


async def test_a_429_holds_every_process(budgets: tuple[Budget, Budget]) -> None:
    first, second = budgets
    ns = namespace()
    await first.observe(ns, "watchers", Observation(throttled=True, retry_after=0.3))
    wait = await second.reserve(ns, "watchers")
    assert 0.2 < wait <= 0.3
    assert await second.reserve(ns, "timelines") == 0  # another group is not held


async def test_a_spent_429_holds_to_the_calendar_boundary_not_the_whole_second(budgets: tuple[Budget, Budget]) -> None:
    """Reset is whole seconds (rounded up): holding for it would spend part of
    the next window idle, for every process at once."""
    first, second = budgets
    ns = namespace()
    now = time.time()
    if not 0.2 < math.ceil(now) - now < 0.9:  # too near a boundary to tell the two apart
        await asyncio.sleep(math.ceil(now) - now + 0.3)
        now = time.time()
    await first.observe(ns, "timelines", Observation(limit=30, period=1.0, remaining=0, reset=1, throttled=True))
    wait = await second.reserve(ns, "timelines")
    boundary = math.ceil(now) - now + 0.03
    assert abs(wait - boundary) < 0.05, (wait, boundary)


async def test_a_send_in_a_windows_last_30_ms_waits_for_the_next(budgets: tuple[Budget, Budget]) -> None:
    """Reserved just before the boundary, a send would arrive after it, be
    counted in the next window by the server and not by the budget: a burst of
    them (processes starting together) once overfilled a window by eight."""
    _, second = budgets
    ns = namespace()
    now = time.time()
    boundary = math.ceil(now) if math.ceil(now) - now > 0.1 else math.ceil(now) + 1
    await asyncio.sleep(boundary - 0.02 - time.time())  # 20 ms before a boundary of 1 s windows
    wait = await second.reserve(ns, "timelines", Observation(limit=30, period=1.0, remaining=29, reset=1))
    assert 0.03 < wait <= 0.06, wait
    await asyncio.sleep(wait)
    assert await second.reserve(ns, "timelines") == 0


async def test_a_late_answer_counts_only_in_its_own_window(budgets: tuple[Budget, Budget]) -> None:
    """An answer applied at the next reservation may belong to a window that has ended: its
    Remaining must not spend the new one (it once halved the budget a process used)."""
    first, _ = budgets
    ns = namespace()
    stale = Observation(limit=5, period=1.0, remaining=0, reset=1, age=1.5)
    assert await first.reserve(ns, "timelines", stale) == 0
    fresh = Observation(limit=5, period=3600.0, remaining=0, reset=1800)
    assert await first.reserve(ns, "watchers", fresh) > 0  # the same, in its own window: spent


async def test_a_process_yet_to_see_an_answer_counts_under_the_limits_name(budgets: tuple[Budget, Budget]) -> None:
    """Answers name the limit (``X-RateLimit-Name``); a process that has had
    none knows only its request group.  It once counted in a budget of its
    own (one probe a second beside the shared count: a 429 a second while
    processes started)."""
    first, second = budgets
    ns = namespace()
    named = Observation(limit=4, period=3600.0, remaining=3, reset=1800)
    await first.observe(ns, "timelines", named, name="cases")
    results = [await second.reserve(ns, "timelines") for _ in range(4)]
    assert results[:3] == [0, 0, 0]  # counted with the first process's send: 4 of 4
    assert 0 < results[3] <= 3600
    assert await first.reserve(ns, "watchers", name="cases") > 0  # another group of the same limit: spent


async def test_an_answer_without_limits_opens_the_group(budgets: tuple[Budget, Budget]) -> None:
    first, second = budgets
    ns = namespace()
    assert await first.reserve(ns, "timelines") == 0  # the probe
    await first.observe(ns, "timelines", Observation())  # answered, nothing said of a limit
    assert [await second.reserve(ns, "timelines") for _ in range(5)] == [0] * 5


async def export_in_clients(budget: Budget | None, clients: int = 3) -> tuple[int, int]:
    """``clients`` clients of one credential exporting their share of the cases
    at once against a limit of 20 a second; returns the 429s and the requests."""
    async with FakeCasesAPI(12, 30, seed=1, rate_limit=RateLimitRule(limit=20, period=1)) as api:
        refused = await export_shares(api, [budget] * clients)
        return refused, len(api.counters.requests)


async def test_clients_of_one_process_share_a_local_budget() -> None:
    refused_alone, _ = await export_in_clients(None)
    refused_shared, requests = await export_in_clients(LocalBudget())
    assert refused_alone >= 5, "three clients counting alone should collide"
    assert refused_shared <= max(1, requests // 100), (refused_shared, requests)


async def test_a_gate_yet_to_see_an_answer_counts_under_the_name_another_gate_learned() -> None:
    """Two gates (clients) on one budget: the first learns that its group's
    limit is named "cases"; the second, which has had no answer, still counts
    its sends there, and is refused the fourth of three."""
    shared = LocalBudget()
    first, second = Gate(16), Gate(16)
    first.set_shared(shared)
    second.set_shared(shared)
    ticket = await first.acquire("timelines")
    limits = {"X-RateLimit-Limit": "3", "X-RateLimit-Period": "3600", "X-RateLimit-Name": "cases"}
    first.record(ticket, 200, {**limits, "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "1800"})
    first.release(ticket)
    for _ in range(3):  # the first answer is told to the budget at once, by a task
        await asyncio.sleep(0)
    tickets = [await asyncio.wait_for(second.acquire("timelines"), 0.5) for _ in range(2)]
    with pytest.raises(RateLimited):  # the window (an hour) is spent: longer than max_wait
        await second.acquire("timelines")
    for ticket in tickets:
        second.release(ticket)


# -- LocalBudget on a driven clock -------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_windows_are_calendar_aligned_and_start_empty() -> None:
    clock = Clock(1000.4)
    budget = LocalBudget(clock=clock)
    await budget.observe("ns", "g", Observation(limit=3, period=10.0, remaining=2, reset=10))
    assert [await budget.reserve("ns", "g") for _ in range(3)] == [0, 0, pytest.approx(10 - 0.4 + 0.03)]
    clock.now = 1010.0  # the calendar window [1010, 1020): nothing used yet
    assert [await budget.reserve("ns", "g") for _ in range(4)][:3] == [0, 0, 0]


async def test_the_margin_before_a_boundary_is_at_most_a_quarter_period() -> None:
    clock = Clock(1000.985)
    budget = LocalBudget(clock=clock)
    await budget.observe("ns", "g", Observation(limit=30, period=1.0, remaining=29, reset=1))
    assert await budget.reserve("ns", "g") == pytest.approx(0.015 + 0.03)
    clock.now = 1000.965
    assert await budget.reserve("ns", "g") == 0
    fast = LocalBudget(clock=Clock(1000.005))  # windows of 40 ms: 10 ms of margin, not 30
    await fast.observe("ns", "g", Observation(limit=30, period=0.04, remaining=29, reset=1))
    assert await fast.reserve("ns", "g") == 0


async def test_a_429_far_from_the_calendar_keeps_the_servers_reset() -> None:
    """A server whose windows are not on this clock's calendar: trust Reset (rule 4's tolerance)."""
    clock = Clock(1000.2)
    budget = LocalBudget(clock=clock)
    await budget.observe("ns", "g", Observation(limit=3, period=10.0, remaining=0, reset=4, throttled=True))
    assert await budget.reserve("ns", "g") == pytest.approx(4.0)  # the calendar says 9.8: 5.8 s apart


async def test_probes_go_one_a_second_until_an_answer() -> None:
    clock = Clock(50.0)
    budget = LocalBudget(clock=clock)
    assert await budget.reserve("ns", "g") == 0
    assert await budget.reserve("ns", "g") == pytest.approx(1.0)
    clock.now = 51.0
    assert await budget.reserve("ns", "g") == 0
    assert await budget.reserve("other-credential", "g") == 0  # credentials apart
    assert "LocalBudget(" in repr(budget)


def test_public_names() -> None:

    assert aiocases.budget.__all__ == ["Budget", "BudgetUnavailable", "LocalBudget", "Observation"]
    assert aiocases.Budget is Budget and aiocases.LocalBudget is LocalBudget
