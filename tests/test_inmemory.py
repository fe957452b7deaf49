"""The client's logic without a server: walks, retries and the gate, over
``aiocases.testing.MockTransport`` (as gidgethub tests its ``abc`` against a
mock).  What needs real HTTP (bodies cut on the wire, redirects, gzip) stays
in the loopback tests."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest

from aiocases import (
    CasesClient,
    Forbidden,
    NotFound,
    RateLimited,
    Request,
    Response,
    RetryPolicy,
    TimelinePage,
    TransportError,
)
from aiocases.testing import MockTransport, VirtualClock, json_response, scripted


def cell(n: int) -> dict[str, object]:
    return {"id": f"c{n}", "type": "timeline_cell", "attributes": {"type": "COMMENT", "content": f"comment {n}"}}


def timelines(cells: int) -> Callable[[Request], Response]:
    """A handler serving ``cells`` cells, oldest first, for any case."""

    def handler(request: Request) -> Response:
        query = dict(part.split("=") for part in request.query.split("&"))
        size, number = int(query["page%5Bsize%5D"]), int(query["page%5Bnumber%5D"])
        return json_response(200, {"data": [cell(n) for n in range(number * size, min(cells, (number + 1) * size))]})

    return handler


def client(transport: MockTransport, **kwargs: object) -> CasesClient:
    kwargs.setdefault("retry_policy", RetryPolicy(max_retries=3, base=0.001, cap=0.002, rng=random.Random(1)))
    return CasesClient(transport=transport, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cells", "size"), [(0, 10), (9, 10), (10, 10), (25, 10), (3, 1)])
async def test_walk_in_memory(cells: int, size: int) -> None:
    for prefetch in (1, 4):
        transport = MockTransport(timelines(cells))
        async with client(transport) as api:
            got = [c.id async for c in api.iter_timeline("PROJ-1", page_size=size, prefetch=prefetch)]
            wasted = api.stats.prefetch_wasted
        assert got == [f"c{n}" for n in range(cells)]
        assert cells // size + 1 <= len(transport.requests) <= cells // size + 1 + wasted
        assert wasted <= prefetch - 1
        assert [r.path for r in transport.requests] == ["/api/v2/cases/PROJ-1/timelines"] * len(transport.requests)


async def test_transient_failures_are_retried_then_given_up() -> None:
    answers = iter([503, 502, 200])

    def flaky(request: Request) -> Response:
        status = next(answers)
        return json_response(status, {"data": [cell(1)]} if status == 200 else {"errors": ["Unavailable"]})

    async with client(MockTransport(flaky)) as api:
        assert [c.id for c in await api.get_timeline_page("PROJ-1")] == ["c1"]
        assert api.stats.retries == 2 and api.stats.requests == 3

    def unreachable(request: Request) -> Response:
        raise TransportError("connection refused")

    down = MockTransport(unreachable)
    async with client(down) as api:
        with pytest.raises(TransportError, match="connection refused"):
            await api.list_watchers("PROJ-1")
    assert len(down.requests) == 4  # the first try and max_retries=3


async def test_the_gate_holds_a_group_after_a_429() -> None:
    clock = VirtualClock()
    calls: list[float] = []

    async def limited(request: Request) -> Response:
        calls.append(clock.now)
        if len(calls) == 1:
            return Response(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})
        return json_response(200, {"data": []})

    async with client(MockTransport(limited), clock=clock.time, sleep=clock.sleep) as api:
        await asyncio.gather(api.get_timeline_page("A-1"), api.get_timeline_page("A-2"))
        assert api.stats.throttled == 1
    assert calls[-1] - calls[0] >= 1.0  # the retry and the other request waited out the hold
    # ... and a wait past max_wait is refused at once, without a retry.
    sent = []

    def day_long(request: Request) -> Response:
        sent.append(request)
        return Response(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "86400"})

    async with client(MockTransport(day_long), max_wait=10, clock=clock.time, sleep=clock.sleep) as api:
        with pytest.raises(RateLimited) as info:
            await api.get_timeline_page("A-1")
    assert info.value.retry_after == pytest.approx(86400) and len(sent) == 1


async def test_a_request_rides_out_more_spent_windows_than_max_retries() -> None:
    """Windows spent by another program on the key, again and again: the
    request waits for budget through every 429, however many."""
    clock = VirtualClock()
    spent = {"X-RateLimit-Limit": "1", "X-RateLimit-Period": "1", "X-RateLimit-Remaining": "0",
             "X-RateLimit-Reset": "1"}  # fmt: skip
    transport = scripted(*[Response(429, spent)] * 4, json_response(200, {"data": []}))
    policy = RetryPolicy(max_retries=1, rng=random.Random(1))
    async with client(transport, retry_policy=policy, clock=clock.time, sleep=clock.sleep) as api:
        assert await api.get_timeline_page("A-1") == []
        assert api.stats.throttled == 4 and api.stats.retries == 4
    # A 429 the window does not explain is a failure: max_retries of them at most.
    hidden = {**spent, "X-RateLimit-Remaining": "1"}
    async with client(scripted(*[Response(429, hidden)] * 2), retry_policy=policy, clock=clock.time,
                      sleep=clock.sleep) as api:  # fmt: skip
        with pytest.raises(RateLimited):
            await api.get_timeline_page("A-1")


async def test_stream_and_fail_fast_in_memory() -> None:
    def handler(request: Request) -> Response:
        if "NOPE" in request.path:
            return json_response(404, {"errors": [{"title": "Not Found"}]})
        if "LOCKED" in request.path:
            return json_response(403, {"errors": [{"title": "Forbidden"}]})
        return timelines(12)(request)

    async with client(MockTransport(handler)) as api:
        events = [e async for e in api.stream_timelines(["A-1", "NOPE-1", "B-2"], page_size=5, concurrency=1)]
        pages = [e for e in events if isinstance(e, TimelinePage)]
        expected = [("A-1", 5), ("A-1", 5), ("A-1", 2), ("B-2", 5), ("B-2", 5), ("B-2", 2)]
        assert [(p.case_id, len(p.cells)) for p in pages] == expected
        assert isinstance(events[4].error, NotFound)  # type: ignore[union-attr]
        with pytest.raises(Forbidden):
            async for _ in api.export_timelines(["A-1", "LOCKED-1", "B-2"], concurrency=1):
                pass


async def test_an_injected_transport_is_given_the_credentials_and_the_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    """As httpx applies auth before its transport: keys and a site work with any transport."""
    for name in ("DD_API_KEY", "DD_APP_KEY", "DD_APPLICATION_KEY", "DD_SITE", "AIOCASES_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    transport = MockTransport(timelines(0))
    async with CasesClient("api-key-1", "app-key-2", site="datadoghq.eu", transport=transport) as api:
        await api.get_timeline_page("PROJ-1")
    (sent,) = transport.requests
    assert sent.url.startswith("https://api.datadoghq.eu/api/v2/cases/PROJ-1/timelines?")
    assert sent.headers == {"DD-API-KEY": "api-key-1", "DD-APPLICATION-KEY": "app-key-2"}
    assert "api-key-1" not in repr(sent) and "app-key-2" not in repr(sent)
    async with CasesClient(transport=transport) as anonymous:  # no keys anywhere: the transport brings its own
        await anonymous.get_timeline_page("PROJ-1")
    assert transport.requests[-1].headers == {}


async def test_readme_mock_transport_example_runs() -> None:
    import ast
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"```python\n(from aiocases import CasesClient, Request, Response\n.*?)```", readme, re.S)
    assert example is not None
    code = compile(example.group(1), "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, {})  # the example's top-level await
    if result is not None:
        await result
