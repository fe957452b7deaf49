"""pytest plugin: ``pytest_plugins = ["aiocases.testing.pytest_plugin"]``.

Gives the ``fake_cases_api`` fixture (a running :class:`FakeCasesAPI` with
three cases of 25 cells, seed 0) and ``cases_client`` (a
:class:`~aiocases.CasesClient` pointed at it).  Needs pytest-asyncio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from aiocases.client import CasesClient
from aiocases.testing.server import FakeCasesAPI

__all__ = ["cases_client", "fake_cases_api"]


@pytest_asyncio.fixture
async def fake_cases_api() -> AsyncIterator[FakeCasesAPI]:
    """A running fake with three seeded cases of 25 cells each."""
    async with FakeCasesAPI(cases=3, cells=25, seed=0) as api:
        yield api


@pytest_asyncio.fixture
async def cases_client(fake_cases_api: FakeCasesAPI) -> AsyncIterator[CasesClient]:
    """A client of ``fake_cases_api`` with its credentials."""
    async with CasesClient(fake_cases_api.api_key, fake_cases_api.app_key, base_url=fake_cases_api.url) as client:
        yield client
