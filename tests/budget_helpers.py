"""Clients of one credential exporting their shares of a fake's cases at once,
each with its own gate: what a shared budget is for."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from aiocases import CasesClient, RetryPolicy
from aiocases.budget import Budget
from aiocases.testing import FakeCasesAPI


async def export_all(api: FakeCasesAPI, keys: list[str], budget: Budget | None, seed: int, page_size: int = 10) -> int:
    """One 'process': its own client and gate; returns the cells it exported."""
    policy = RetryPolicy(max_retries=8, base=0.01, cap=0.1, rng=random.Random(seed))
    async with CasesClient(
        api.api_key, api.app_key, base_url=api.url, budget=budget, retry_policy=policy, rng=random.Random(seed)
    ) as client:
        cells = 0
        async for case in client.export_timelines(keys, page_size=page_size):
            assert case.ok, case.error
            cells += len(case.cells)
        return cells


async def export_shares(api: FakeCasesAPI, budgets: Sequence[Budget | None]) -> int:
    """A client per budget, each exporting its share of the cases, all at once;
    checks every cell came back, and returns the 429s the fake answered."""
    keys = [case.key for case in api.cases.values()]
    shares = [keys[n :: len(budgets)] for n in range(len(budgets))]
    done = await asyncio.gather(
        *(export_all(api, share, b, n) for n, (share, b) in enumerate(zip(shares, budgets, strict=True)))
    )
    assert sum(done) == sum(len(case.cells) for case in api.cases.values())
    return api.counters.by_status[429]
