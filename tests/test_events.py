"""The ``on_event`` hook: one event per try answered or failed, per retry and
per rate-limit hold, with what tracing and metrics need and no credential."""

from __future__ import annotations

import logging
import random

import pytest

from aiocases import CasesClient, RetryPolicy, TransportError
from aiocases.events import Event, RequestDone, Retrying, Throttled
from aiocases.testing import FakeCasesAPI, MockTransport, json_response, scripted

PAGE = {"data": [{"id": "c1", "type": "timeline_cell", "attributes": {"type": "COMMENT"}}]}
LIMITS = {"X-RateLimit-Limit": "30", "X-RateLimit-Period": "10", "X-RateLimit-Remaining": "29",
          "X-RateLimit-Reset": "7", "X-RateLimit-Name": "cases_timelines"}  # fmt: skip


def client(transport: MockTransport, events: list[Event]) -> CasesClient:
    policy = RetryPolicy(max_retries=3, base=0.001, cap=0.002, rng=random.Random(1))
    return CasesClient(transport=transport, retry_policy=policy, rng=random.Random(2), on_event=events.append)


async def test_an_answered_request_reports_its_status_duration_and_limits() -> None:
    events: list[Event] = []
    async with client(scripted(json_response(200, PAGE, LIMITS)), events) as api:
        await api.get_timeline_page("PROJ-1", page_size=10)
    (done,) = events
    assert isinstance(done, RequestDone)
    assert (done.method, done.path, done.group, done.status, done.error) == (
        "GET", "/api/v2/cases/PROJ-1/timelines", "timelines", 200, None
    )  # fmt: skip
    assert 0 <= done.duration < 5
    assert dict(done.rate_limit) == {"limit": "30", "period": "10", "remaining": "29", "reset": "7",
                                     "name": "cases_timelines"}  # fmt: skip


async def test_failures_and_retries_are_reported_in_order() -> None:
    events: list[Event] = []
    transport = scripted(
        TransportError("connection reset by peer"), json_response(503, {"errors": ["busy"]}), json_response(200, PAGE)
    )
    async with client(transport, events) as api:
        assert [c.id for c in await api.get_timeline_page("PROJ-1")] == ["c1"]
    kinds = [(type(e).__name__, getattr(e, "status", None), type(getattr(e, "error", None)).__name__) for e in events]
    assert kinds == [
        ("RequestDone", None, "TransportError"),
        ("Retrying", None, "TransportError"),
        ("RequestDone", 503, "NoneType"),
        ("Retrying", None, "ServerError"),
        ("RequestDone", 200, "NoneType"),
    ]
    first, second = (e for e in events if isinstance(e, Retrying))
    assert (first.attempt, second.attempt) == (1, 2)
    assert "connection reset" in str(first.error) and second.error.status == 503  # type: ignore[attr-defined]
    assert events[0].error is first.error  # type: ignore[union-attr]  # the exception itself
    assert {e.operation for e in events if not isinstance(e, Throttled)} == {"list_case_timeline"}
    assert first.wait > 0 and first.path == "/api/v2/cases/PROJ-1/timelines"


async def test_a_rate_limit_hold_is_reported_with_its_group_and_wait() -> None:
    events: list[Event] = []
    transport = scripted(json_response(429, {"errors": ["slow down"]}, {"X-RateLimit-Reset": "0.05"}),
                         json_response(200, PAGE))  # fmt: skip
    async with client(transport, events) as api:
        await api.get_timeline_page("PROJ-1")
    holds = [e for e in events if isinstance(e, Throttled)]
    assert len(holds) == 1 and holds[0].group == "timelines" and holds[0].wait >= 0.05
    assert [e.status for e in events if isinstance(e, RequestDone)] == [429, 200]


async def test_a_hook_that_raises_is_logged_and_the_request_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    def hook(event: Event) -> None:
        raise RuntimeError("broken exporter")

    transport = scripted(json_response(200, PAGE))
    with caplog.at_level(logging.WARNING, logger="aiocases"):
        async with CasesClient(transport=transport, on_event=hook) as api:
            assert len(await api.get_timeline_page("PROJ-1")) == 1
    assert "on_event hook raised on RequestDone" in caplog.text and "broken exporter" in caplog.text


async def test_events_over_http_carry_no_credential(fake_cases_api: FakeCasesAPI) -> None:
    events: list[Event] = []
    case = next(iter(fake_cases_api.cases.values()))
    async with CasesClient(
        fake_cases_api.api_key, fake_cases_api.app_key, base_url=fake_cases_api.url, on_event=events.append
    ) as api:
        assert [c async for c in api.iter_timeline(case.id, page_size=7)]
    assert events and all(isinstance(e, RequestDone) and e.status == 200 for e in events)
    text = repr(events) + repr([dict(e.rate_limit) for e in events if isinstance(e, RequestDone)])
    assert fake_cases_api.api_key not in text and fake_cases_api.app_key not in text
