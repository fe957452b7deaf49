"""The retry policy as a pure decision, and the client's arguments that cannot go together."""

from __future__ import annotations

import random

import pytest

from aiocases import (
    BadRequest,
    CasesClient,
    ClientClosed,
    DecodeError,
    NotFound,
    RateLimited,
    ResponseTooLarge,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
)


def test_decide_retries_what_another_try_may_cure() -> None:
    policy = RetryPolicy(max_retries=3, base=1.0, cap=3.0, rng=random.Random(1))
    for error in (ServerError(503, []), TransportError("reset"), Timeout("t"), DecodeError("cut", transient=True)):
        waits = [policy.decide(error, attempt) for attempt in range(4)]
        assert waits[3] is None  # max_retries spent
        for attempt, wait in enumerate(waits[:3]):
            ceiling = min(3.0, 2.0**attempt)
            assert wait is not None and ceiling / 2 <= wait <= ceiling
    assert 0 <= (policy.decide(RateLimited(429, []), 0) or -1) <= 0.05  # the gate already held it
    for error in (
        BadRequest(400, []),
        NotFound(404, []),
        DecodeError("wrong shape"),
        TransportError("redirect", retryable=False),
        ClientClosed(),
        ResponseTooLarge(10),
        ValueError("bad id"),
    ):
        assert policy.decide(error, 0) is None


def test_decide_is_reproducible_with_a_seed() -> None:
    first, second = (RetryPolicy(rng=random.Random(9)) for _ in range(2))
    error = ServerError(500, [])
    assert [first.decide(error, n) for n in range(5)] == [second.decide(error, n) for n in range(5)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"retry_policy": RetryPolicy(), "max_retries": 2}, "retry_policy or max_retries"),
        ({"access_token": "token", "api_key": "k"}, "access_token or api_key"),
        ({"site": "datadoghq.eu", "base_url": "http://127.0.0.1:1"}, "site or base_url"),
    ],
)
def test_conflicting_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CasesClient(**{"api_key": "k", "app_key": "a", **kwargs})  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    client = CasesClient("k", "a", base_url="http://127.0.0.1:1")
    with pytest.raises(TypeError):
        client.iter_timeline("PROJ-1", 10)  # type: ignore[misc]
    with pytest.raises(TypeError):
        client.export_timelines(["PROJ-1"], 10)  # type: ignore[misc]
    with pytest.raises(TypeError):
        CasesClient("k", "a", "datadoghq.eu")  # type: ignore[misc]
