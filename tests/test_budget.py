"""Clients and gates sharing a budget (its rules, on every implementation:
tests/test_windows.py)."""

from __future__ import annotations

import asyncio

import pytest
from budget_helpers import export_shares

import aiocases
from aiocases.budget import Budget, LocalBudget
from aiocases.errors import RateLimited
from aiocases.gate import Gate
from aiocases.testing import FakeCasesAPI, RateLimitRule


async def export_in_clients(budget: Budget | None, clients: int = 3) -> tuple[int, int]:
    """``clients`` clients of one credential exporting their share of the cases
    at once against a limit of 20 a second; returns the 429s and the requests."""
    async with FakeCasesAPI(30, 40, seed=1, rate_limit=RateLimitRule(limit=20, period=1)) as api:
        refused = await export_shares(api, [budget] * clients)
        return refused, len(api.counters.requests)


async def test_clients_of_one_process_share_a_local_budget() -> None:
    refused_alone, _ = await export_in_clients(None)
    refused_shared, requests = await export_in_clients(LocalBudget())
    # Counting alone, each client learns the others' sends only from Remaining, too late for those in flight.
    assert refused_alone >= 5, "three clients counting alone should collide"
    assert refused_shared <= max(1, requests // 100), (refused_shared, requests)


async def test_a_gate_yet_to_see_an_answer_counts_under_the_name_another_gate_learned() -> None:
    """Two gates (clients) on one budget: the first learns that its group's
    limit is named "cases"; the second, which has had no answer, still counts
    its sends there, and is refused the fourth of three."""
    shared = LocalBudget()
    first, second = Gate(16), Gate(16)
    first.share(shared)
    second.share(shared)
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


def test_public_names() -> None:

    assert aiocases.budget.__all__ == ["Budget", "BudgetUnavailable", "LocalBudget", "Observation", "Reservation"]
    assert aiocases.Budget is Budget and aiocases.LocalBudget is LocalBudget
