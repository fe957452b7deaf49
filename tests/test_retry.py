"""The retry policy as a pure decision, and the client's arguments that cannot go together."""

from __future__ import annotations

import random

import pytest

from aiocases import (
    BadRequest,
    CasesClient,
    ClientClosed,
    DecodeError,
    InvalidArgument,
    NotFound,
    RateLimited,
    ResponseTooLarge,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
    operations,
)
from aiocases.retry import may_have_acted

READ = operations.list_case_timeline("PROJ-1", 0, 10, True)
SET = operations.unwatch_case("PROJ-1", "8146583c-0b5f-11ec-abf8-da7ad0900001")
ONCE = operations.comment_case("PROJ-1", "hello")
CUREABLE = (ServerError(503, []), TransportError("reset"), Timeout("t"), DecodeError("cut", transient=True))
FINAL = (
    BadRequest(400, []),
    NotFound(404, []),
    DecodeError("wrong shape"),
    TransportError("redirect", retryable=False),
    ClientClosed(),
    ResponseTooLarge(10),
    InvalidArgument("bad id"),
    RateLimited(429, [], retry_after=900, too_long=True),
)


@pytest.mark.parametrize("request_", [READ, SET], ids=["read", "set"])
def test_what_another_try_may_cure_is_retried(request_: operations.Request) -> None:
    policy = RetryPolicy(max_retries=3, base=1.0, cap=3.0, rng=random.Random(1))
    for error in CUREABLE:
        waits = [policy.decide(request_, error, attempt) for attempt in range(4)]
        assert waits[3] is None  # max_retries spent
        for attempt, wait in enumerate(waits[:3]):
            ceiling = min(3.0, 2.0**attempt)
            assert wait is not None and ceiling / 2 <= wait <= ceiling
    assert 0 <= (policy.decide(request_, RateLimited(429, []), 0) or -1) <= 0.05  # the gate already held it
    for error in FINAL:
        assert policy.decide(request_, error, 0) is None


def test_what_acts_again_is_retried_only_when_it_cannot_have_acted() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    not_sent = TransportError("refused", request_sent=False)
    assert policy.decide(ONCE, RateLimited(429, []), 0) is not None
    assert policy.decide(ONCE, not_sent, 0) is not None
    for error in (*CUREABLE, *FINAL):
        assert policy.decide(ONCE, error, 0) is None
    acted = [error for error in (*CUREABLE, *FINAL, not_sent) if may_have_acted(error)]
    # An answer with a status is an outcome: only 5xx, failures after sending and unreadable successes may hide one.
    assert acted == [CUREABLE[0], CUREABLE[1], CUREABLE[2], CUREABLE[3], FINAL[2]]


def test_a_spent_window_is_waiting_for_budget_not_a_failure() -> None:
    policy = RetryPolicy(max_retries=2, max_refusals=3, rng=random.Random(1))
    spent = RateLimited(429, [], headers={"X-RateLimit-Remaining": "0"})
    hidden = RateLimited(429, [], headers={"X-RateLimit-Remaining": "5"})
    assert spent.spent and not hidden.spent and not RateLimited(429, []).spent
    assert not policy.counts(spent) and policy.counts(hidden) and policy.counts(ServerError(503, []))
    # Two retries spent on failures leave the 429s of spent windows their own count, and the other way round.
    assert [policy.decide(READ, spent, 2, refused) is not None for refused in range(4)] == [True, True, True, False]
    assert policy.decide(READ, hidden, 2, 0) is None
    assert policy.decide(READ, ServerError(503, []), 1, 3) is not None


def test_decide_is_reproducible_with_a_seed() -> None:
    first, second = (RetryPolicy(rng=random.Random(9)) for _ in range(2))
    error = ServerError(500, [])
    assert [first.decide(READ, error, n) for n in range(5)] == [second.decide(READ, error, n) for n in range(5)]


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
