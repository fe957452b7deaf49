"""Exceptions survive pickling and copying (arq and multiprocessing carry them
across processes), and read well in a traceback."""

from __future__ import annotations

import asyncio
import copy
import pickle

import pytest

from aiocases import (
    ApiError,
    BadRequest,
    CasesError,
    ClientClosed,
    DecodeError,
    Forbidden,
    NotFound,
    PageLimitExceeded,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)

WHERE = {"method": "GET", "path": "/api/v2/cases/PROJ-1/timelines"}
ERRORS = [
    CasesError("something", **WHERE),
    ApiError(418, ["teapot"], headers={"X-A": "1"}, body=b"{}", **WHERE),
    BadRequest(400, ["Bad Request"], **WHERE),
    Unauthorized(401, [], **WHERE),
    Forbidden(403, ["Forbidden"], **WHERE),
    NotFound(404, ["Not Found: no such case"], headers={"Content-Type": "application/json"}, body=b"x", **WHERE),
    RateLimited(429, [], retry_after=12.5, headers={"X-RateLimit-Reset": "12"}, **WHERE),
    ServerError(503, ["Service Unavailable"], **WHERE),
    TransportError("connection reset", retryable=False, **WHERE),
    Timeout("timed out", **WHERE),
    ClientClosed(**WHERE),
    DecodeError("data[3]: expected a string", field="data[3].id", transient=True, **WHERE),
    ResponseTooLarge(1024, **WHERE),
    PageLimitExceeded(10, **WHERE),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("duplicate", [lambda e: pickle.loads(pickle.dumps(e)), copy.copy, copy.deepcopy])
def test_errors_pickle_and_copy(error: CasesError, duplicate: object) -> None:
    twin = duplicate(error)  # type: ignore[operator]
    assert type(twin) is type(error)
    assert twin.__dict__ == error.__dict__
    assert str(twin) == str(error) and repr(twin) == repr(error)
    assert twin.args == error.args


def test_repr_names_the_request() -> None:
    assert repr(ERRORS[5]) == "NotFound('GET /api/v2/cases/PROJ-1/timelines: HTTP 404: Not Found: no such case')"
    assert isinstance(pickle.loads(pickle.dumps(Timeout("t"))), asyncio.TimeoutError)
