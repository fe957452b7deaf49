"""The shared budget's Lua scripts, on a real Redis: counts shared by every
budget (process) of one credential, calendar windows on Redis's clock, a 429
holding every process, and a Redis that is gone answering quickly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis_helpers import RedisServer, free_port, require_redis_package

from aiocases.config import Credentials
from aiocases.ratelimit import BudgetUnavailable, Observation
from aiocases.redisbudget import RedisBudget


@pytest.fixture(autouse=True)
def _needs_redis_package() -> None:
    require_redis_package()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def budgets(redis_server: RedisServer) -> AsyncIterator[tuple[RedisBudget, RedisBudget]]:
    """Two budgets on one Redis: two processes of one organization."""
    first, second = RedisBudget(redis_server.url), RedisBudget(redis_server.url)
    yield first, second
    await first.close()
    await second.close()


def credential_hash(api_key: str, app_key: str) -> str:
    return Credentials(api_key=api_key, app_key=app_key).fingerprint()


def namespace() -> str:
    return credential_hash(f"key-{time.monotonic_ns()}", "app")  # a fresh budget for each test


async def test_sends_are_counted_across_budgets(budgets: tuple[RedisBudget, RedisBudget]) -> None:
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


async def test_a_spent_window_opens_again_when_it_turns(budgets: tuple[RedisBudget, RedisBudget]) -> None:
    first, second = budgets
    ns = namespace()
    await first.observe(
        ns, "timelines", Observation(limit=2, period=1.0, remaining=0, reset=1, throttled=False, retry_after=None)
    )
    wait = await second.reserve(ns, "timelines")
    assert 0 < wait <= 1.03  # the window's end, and a margin for answers still on their way
    await asyncio.sleep(wait + 0.01)
    assert await second.reserve(ns, "timelines") == 0
    assert await first.reserve(ns, "timelines") == 0
    assert await first.reserve(ns, "timelines") > 0  # two a window


async def test_the_servers_remaining_counts_other_processes_sends(budgets: tuple[RedisBudget, RedisBudget]) -> None:
    first, _ = budgets
    ns = namespace()
    await first.observe(
        ns, "timelines", Observation(limit=30, period=10.0, remaining=0, reset=5, throttled=False, retry_after=None)
    )
    wait = await first.reserve(ns, "timelines")
    assert 0 < wait <= 10.0  # spent by someone: wait for the window's end


async def test_a_429_holds_every_process(budgets: tuple[RedisBudget, RedisBudget]) -> None:
    first, second = budgets
    ns = namespace()
    await first.observe(ns, "watchers", Observation(throttled=True, retry_after=0.3))
    wait = await second.reserve(ns, "watchers")
    assert 0.2 < wait <= 0.3
    assert await second.reserve(ns, "timelines") == 0  # another group is not held


async def test_groups_and_credentials_are_apart_and_keys_hold_no_credential(
    budgets: tuple[RedisBudget, RedisBudget], redis_server: RedisServer
) -> None:
    first, _ = budgets
    secret = "dd-api-key-0123456789abcdef"
    ns = credential_hash(secret, "app")
    await first.observe(
        ns, "timelines", Observation(limit=1, period=60.0, remaining=0, reset=30, throttled=False, retry_after=None)
    )
    assert await first.reserve(ns, "timelines") > 0
    assert await first.reserve(credential_hash("another-key", "app"), "timelines") == 0
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_server.url)
    keys = [key.decode() async for key in client.scan_iter("aiocases:*")]
    await client.aclose()
    assert RedisBudget.key(ns, "timelines") in keys
    assert not any(secret in key for key in keys)


async def test_a_redis_that_is_gone_answers_within_the_timeout() -> None:
    budget = RedisBudget(f"redis://127.0.0.1:{free_port()}/0", timeout=0.1)
    started = time.monotonic()
    with pytest.raises(BudgetUnavailable):
        await budget.reserve("ns", "timelines")
    assert time.monotonic() - started < 1.0
    await budget.close()
    assert "redis://" not in repr(budget)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        RedisBudget()
    with pytest.raises(ValueError):
        RedisBudget("redis://127.0.0.1:1/0", timeout=0)


async def test_a_late_answer_counts_only_in_its_own_window(budgets: tuple[RedisBudget, RedisBudget]) -> None:
    """An answer applied at the next reservation may belong to a window that has ended: its
    Remaining must not spend the new one (it once halved the budget a process used)."""
    first, _ = budgets
    ns = namespace()
    stale = Observation(limit=5, period=1.0, remaining=0, reset=1, age=1.5)
    assert await first.reserve(ns, "timelines", stale) == 0
    fresh = Observation(limit=5, period=3600.0, remaining=0, reset=1800)
    assert await first.reserve(ns, "watchers", fresh) > 0  # the same, in its own window: spent
