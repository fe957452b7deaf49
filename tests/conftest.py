"""Shared fixtures: the fake API plugin users get, plus a client factory."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator

import pytest
from cli_helpers import CASES, CELLS, SEED, Server
from hypothesis import settings

from aiocases import CasesClient, RetryPolicy
from aiocases.testing import FakeCasesAPI

pytest_plugins = ["aiocases.testing.pytest_plugin"]

# CI replays the same examples every run (a landing must not hinge on luck);
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def client_for() -> Callable[..., CasesClient]:
    """A client of a fake, with fast, seeded retries unless told otherwise."""

    def make(api: FakeCasesAPI, **kwargs: object) -> CasesClient:
        max_retries = kwargs.pop("max_retries", 5)
        kwargs.setdefault(
            "retry_policy", RetryPolicy(max_retries=max_retries, base=0.01, cap=0.05, rng=random.Random(7))
        )
        return CasesClient(api.api_key, api.app_key, base_url=api.url, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def truth() -> FakeCasesAPI:
    """The same data the server process holds (same seed), never started."""
    return FakeCasesAPI(CASES, CELLS, seed=SEED)
