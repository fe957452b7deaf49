"""What only the Redis budget does: keys that hold no credential, one Redis
Cluster slot a credential, and a Redis that is gone answering quickly.  The
rules it shares with LocalBudget are tested on both in test_budget.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from redis_helpers import RedisServer, free_port, require_redis_package

from aiocases.budget import BudgetUnavailable, Observation
from aiocases.config import Credentials
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


async def test_groups_and_credentials_are_apart_and_keys_hold_no_credential(
    budgets: tuple[RedisBudget, RedisBudget], redis_server: RedisServer
) -> None:
    first, _ = budgets
    secret = "dd-api-key-0123456789abcdef"
    ns = credential_hash(secret, "app")
    await first.observe(
        ns, "timelines", Observation(limit=1, period=60.0, remaining=0, reset=30, throttled=False, retry_after=None)
    )
    assert (await first.reserve(ns, "timelines")).wait > 0
    assert (await first.reserve(credential_hash("another-key", "app"), "timelines")).wait == 0
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


def test_a_credentials_keys_are_in_one_cluster_slot() -> None:
    """The script touches a group's key and its name's: in Redis Cluster both
    must hash to one slot, which the braces around the credential's hash give."""
    from redis.crc import key_slot

    ns = namespace()
    slots = {key_slot(RedisBudget.key(ns, group).encode()) for group in ("timelines", "watchers", "cases")}
    assert len(slots) == 1
