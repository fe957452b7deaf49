"""Clients of one credential sharing one rate budget through a real Redis:
fewer 429s than when each counts alone, and a Redis that is gone, killed or
paused never stops an export nor loses a cell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from budget_helpers import export_all, export_shares
from cli_helpers import API_KEY, APP_KEY, Server, run
from redis_helpers import RedisServer, free_port, require_redis_package

from aiocases.redisbudget import RedisBudget
from aiocases.testing import FakeCasesAPI, RateLimitRule

CELLS = 7


@pytest.fixture(autouse=True)
def _needs_redis_package() -> None:
    require_redis_package()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


async def run_processes(api: FakeCasesAPI, url: str | None, processes: int) -> int:
    """``processes`` clients exporting their share of the cases at once; returns the 429s the fake answered."""
    budgets = [RedisBudget(url) if url else None for _ in range(processes)]
    try:
        return await export_shares(api, budgets)
    finally:
        for budget in budgets:
            if budget is not None:
                await budget.close()


async def test_processes_sharing_a_budget_are_refused_far_less(redis_server: RedisServer) -> None:
    rule = RateLimitRule(limit=20, period=1)
    async with FakeCasesAPI(30, 40, seed=1, rate_limit=rule) as alone:
        refused_alone = await run_processes(alone, None, 3)
    async with FakeCasesAPI(30, 40, seed=1, rate_limit=rule) as shared:
        refused_shared = await run_processes(shared, redis_server.url, 3)
        requests = len(shared.counters.requests)
    assert refused_alone >= 5, "three clients counting alone should collide"
    assert refused_shared <= max(1, requests // 100), (refused_shared, requests)


async def test_a_redis_that_is_not_there_is_left_aside_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeCasesAPI(4, 25, seed=2) as api:
        budget = RedisBudget(f"redis://127.0.0.1:{free_port()}/0")
        with caplog.at_level(logging.WARNING, logger="aiocases"):
            assert await export_all(api, [c.key for c in api.cases.values()], budget, 1) == 100
        await budget.close()
    warnings = [r for r in caplog.records if "shared rate budget is unavailable" in r.getMessage()]
    assert len(warnings) == 1


async def test_redis_killed_then_back_mid_export(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    def logged(text: str) -> bool:
        return any(text in record.getMessage() for record in caplog.records)

    async def until(text: str) -> None:
        for _ in range(400):
            if logged(text):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never logged: {text}")

    async with FakeCasesAPI(64, 40, seed=3, latency=0.1) as api:  # about 3 s: outlives the outage
        budget = RedisBudget(redis_server.url)
        keys = [c.key for c in api.cases.values()]
        with caplog.at_level(logging.WARNING, logger="aiocases"):
            export = asyncio.ensure_future(export_all(api, keys, budget, 1, page_size=5))
            await asyncio.sleep(0.2)
            redis_server.kill()
            await until("shared rate budget is unavailable")
            redis_server.start()  # empty: its state is lost
            await until("shared rate budget is back")
            assert not export.done(), "the export should still run when Redis is back"
            assert await export == 64 * 40
        await budget.close()


async def test_a_paused_redis_slows_nothing_down(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    import redis.asyncio as aioredis

    admin = aioredis.Redis.from_url(redis_server.url)
    async with FakeCasesAPI(4, 25, seed=4) as api:
        budget = RedisBudget(redis_server.url, timeout=0.1)
        await admin.execute_command("CLIENT", "PAUSE", "3000", "ALL")
        started = asyncio.get_running_loop().time()
        with caplog.at_level(logging.WARNING, logger="aiocases"):
            assert await export_all(api, [c.key for c in api.cases.values()], budget, 1) == 100
        assert asyncio.get_running_loop().time() - started < 2.0  # not held by the 3 s pause
        await budget.close()
    await admin.execute_command("CLIENT", "UNPAUSE")
    await admin.aclose()
    assert any("unavailable" in r.getMessage() for r in caplog.records)


def test_the_command_line_shares_through_redis(redis_server: RedisServer, tmp_path: Path) -> None:
    import redis

    keys_in = redis.Redis.from_url(redis_server.url)
    with FakeProcess() as url:
        out = tmp_path / "out.jsonl"
        done = run("export", "SEC-1", "OPS-2", "--output", str(out), "--base-url", url, "--redis", redis_server.url)
        assert done.returncode == 0, done.stderr
        assert len(out.read_text().splitlines()) == 2 * CELLS
        stored = [key.decode() for key in keys_in.scan_iter("aiocases:rl:*")]
        assert stored and not any(API_KEY in key for key in stored)
        keys_in.flushall()
        env = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "AIOCASES_REDIS_URL": redis_server.url}
        by_env = run("timeline", "SEC-1", "--base-url", url, env=env)
        assert by_env.returncode == 0 and list(keys_in.scan_iter("aiocases:rl:*"))
        bad = run("export", "SEC-1", "--base-url", url, "--redis", "http://127.0.0.1:1")
        assert bad.returncode == 2 and "redis://" in bad.stderr and "Traceback" not in bad.stderr
    keys_in.close()


class FakeProcess:
    """The fake in its own process, as the CLI tests run it."""

    def __enter__(self) -> str:
        self.server = Server("--cases", "2", "--cells", str(CELLS), "--seed", "1")
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
