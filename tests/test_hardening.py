"""The library against servers that misbehave on purpose: each test serves one
misbehaviour from a tiny aiohttp app on 127.0.0.1 (or the fake), and checks
that nothing is lost, nothing hangs, and nothing but a typed error escapes."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import random
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from cli_helpers import fake_in_a_thread
from hypothesis import given, settings
from hypothesis import strategies as st

from aiocases import (
    CasesClient,
    CasesError,
    ClientClosed,
    DecodeError,
    Forbidden,
    NotFound,
    PageLimitExceeded,
    RateLimited,
    ResponseTooLarge,
    RetryPolicy,
    TimelinePage,
    TransportError,
    Unauthorized,
)
from aiocases.budget import LocalBudget
from aiocases.observations import observe
from aiocases.testing import FakeCasesAPI
from aiocases.windows import NOTHING

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSONAPI = "application/vnd.api+json"


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` for every path on a free loopback port; yields the base URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def client(url: str, **kwargs: object) -> CasesClient:
    kwargs.setdefault("retry_policy", RetryPolicy(max_retries=2, base=0.01, cap=0.02, rng=random.Random(1)))
    return CasesClient("api-key", "app-key", base_url=url, **kwargs)  # type: ignore[arg-type]


def cell(cell_id: str, message: object = "hello") -> dict[str, object]:
    return {
        "id": cell_id,
        "type": "timeline_cell",
        "attributes": {
            "type": "COMMENT",
            "created_at": "2024-01-02T03:04:05.123456789Z",
            "cell_content": {"message": message},
        },
    }


def page(*cells: dict[str, object]) -> web.Response:
    return web.Response(body=json.dumps({"data": list(cells)}).encode(), content_type=JSONAPI)


def case_of(request: web.Request) -> str:
    return request.path.split("/")[4]


# -- hostile bodies end in the case's typed error, never in the loss of other cases ----------


def nested(depth: int) -> bytes:
    return b'{"data":[{"id":"x","type":"t","attributes":{"deep":' + b"[" * depth + b"]" * depth + b"}}]}"


@pytest.mark.parametrize("depth", [990, 1100, 100_000])
async def test_deeply_nested_body_is_one_cases_decode_error(depth: int) -> None:
    async def handler(request: web.Request) -> web.Response:
        if case_of(request) == "DEEP-1":
            return web.Response(body=nested(depth), content_type=JSONAPI)
        return page(cell("a"), cell("b"))

    async with serve(handler) as url, client(url) as api:
        results = {r.case_id: r async for r in api.export_timelines(["OK-1", "DEEP-1", "OK-2"], fail_fast=False)}
    assert [c.id for c in results["OK-1"].cells] == ["a", "b"] == [c.id for c in results["OK-2"].cells]
    deep = results["DEEP-1"]
    # Either decoded faithfully or a typed error for that case alone.
    assert deep.ok or isinstance(deep.error, DecodeError), repr(deep.error)


async def test_lone_surrogate_is_kept_as_is() -> None:
    body = b'{"data":[{"id":"s","type":"t","attributes":{"type":"COMMENT","cell_content":{"message":"\\ud83d"}}}]}'

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=JSONAPI)

    async with serve(handler) as url, client(url) as api:
        cells = [c async for c in api.iter_timeline("SUR-1")]
    assert cells[0].attributes.cell_content is not None
    assert cells[0].attributes.cell_content.message == "\ud83d"


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "X-RateLimit-Limit",
                "X-RateLimit-Period",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "X-RateLimit-Name",
                "Retry-After",
            ]
        ),
        st.one_of(
            st.sampled_from(["0", "-1", "1e-300", "1e300", "inf", "-inf", "nan", "", "9" * 5000, "1.5", "3"]),
            st.text(max_size=12),
        ),
    ),
    st.sampled_from([200, 429, 500]),
)
def test_any_rate_limit_headers_are_survived(headers: dict[str, str], status: int) -> None:
    """Whatever the headers say, the window model neither raises nor computes
    a wait that is not a finite number; nonsense values count as absent."""
    budget = LocalBudget(clock=time.time)
    budget.run("ns", "timelines", None, observe(status, headers), take=False)
    delay = budget.run("ns", "timelines", None, NOTHING, take=True)
    assert delay >= 0 and delay == delay and delay != float("inf")


async def test_tiny_period_and_zero_limit_are_ignored() -> None:
    sent = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal sent
        sent += 1
        response = page(cell(f"c{sent}"))
        response.headers.update(
            {
                "X-RateLimit-Limit": "0",
                "X-RateLimit-Period": "1e-300",
                "X-RateLimit-Remaining": "5",
                "X-RateLimit-Reset": "1",
                "X-RateLimit-Name": "cases",
            }
        )
        return response

    async with serve(handler) as url, client(url) as api:
        started = time.monotonic()
        for _ in range(5):
            await asyncio.wait_for(api.get_timeline_page("OK-1"), 2)
    assert sent == 5 and time.monotonic() - started < 2


# -- rate-limit waits are bounded ---------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "86400"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1e9"},
        {"Retry-After": "1e9"},
    ],
)
async def test_a_wait_longer_than_max_wait_fails_at_once(headers: dict[str, str]) -> None:
    sent = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal sent
        sent += 1
        return web.Response(status=429, headers=headers)

    async with serve(handler) as url, client(url, max_wait=30) as api:
        started = time.monotonic()
        with pytest.raises(RateLimited) as info:
            await asyncio.wait_for(api.get_timeline_page("OK-1"), 5)
        # Later requests of the group are refused without being sent.
        with pytest.raises(RateLimited, match="max_wait"):
            await asyncio.wait_for(api.get_timeline_page("OK-2"), 5)
    assert time.monotonic() - started < 2
    assert info.value.retry_after is not None and info.value.retry_after > 30
    assert sent == 1


async def test_non_finite_reset_counts_as_absent() -> None:
    answers = iter([429, 200])

    async def handler(request: web.Request) -> web.Response:
        if next(answers) == 429:
            return web.Response(status=429, headers={"X-RateLimit-Reset": "inf", "Retry-After": "nan"})
        return page(cell("a"))

    async with serve(handler) as url, client(url, max_wait=30) as api:
        cells = await asyncio.wait_for(api.get_timeline_page("OK-1"), 5)  # held the default 1 s, then retried
    assert [c.id for c in cells] == ["a"]


async def test_close_wakes_held_requests_at_once() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "5"})

    async with serve(handler) as url:
        api = client(url)
        async with api:
            held = [asyncio.ensure_future(api.get_timeline_page(f"OK-{n}")) for n in range(4)]
            await asyncio.sleep(0.3)  # the first 429 holds the group for 5 s
            started = time.monotonic()
        results = await asyncio.wait_for(asyncio.gather(*held, return_exceptions=True), 1)
        assert time.monotonic() - started < 1
        assert all(isinstance(r, ClientClosed) for r in results), results


# -- walks and exports end --------------------------------------------------------------------


async def test_a_server_that_never_ends_a_walk_is_cut_off() -> None:
    served = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal served
        size = int(request.query["page[size]"])
        served += 1
        return page(*(cell(f"p{served}-{n}") for n in range(size)))

    async with serve(handler) as url, client(url, max_pages=25) as api:
        with pytest.raises(PageLimitExceeded, match="max_pages") as info:
            async for _ in api.iter_timeline("LOOP-1", page_size=10):
                pass
        assert "/timelines" in info.value.path
        results = [r async for r in api.export_timelines(["LOOP-2"], page_size=10)]
    assert served == 50
    assert isinstance(results[0].error, PageLimitExceeded) and results[0].cells == ()


async def test_a_slow_id_source_does_not_hold_back_finished_cases() -> None:
    async with FakeCasesAPI(cases=3, cells=5) as fake:
        keys = [case.key for case in fake.cases.values()]
        resume = asyncio.Event()

        async def ids() -> AsyncIterator[str]:
            yield keys[0]
            yield keys[1]
            await resume.wait()  # stalls, as a slow pipe would
            yield keys[2]

        async with CasesClient(fake.api_key, fake.app_key, base_url=fake.url) as api:
            results = api.export_timelines(ids())
            first = await asyncio.wait_for(results.__anext__(), 2)
            second = await asyncio.wait_for(results.__anext__(), 2)
            assert {first.case_id, second.case_id} == set(keys[:2])
            resume.set()
            third = await asyncio.wait_for(results.__anext__(), 2)
            assert third.case_id == keys[2] and third.ok
            await results.aclose()


async def test_a_failing_id_source_lets_the_cases_started_finish() -> None:
    async with FakeCasesAPI(cases=2, cells=30, latency=0.02) as fake:
        keys = [case.key for case in fake.cases.values()]

        async def ids() -> AsyncIterator[str]:
            yield keys[0]
            yield keys[1]
            raise OSError("the id source broke")

        finished = []
        async with CasesClient(fake.api_key, fake.app_key, base_url=fake.url) as api:
            with pytest.raises(OSError, match="broke"):
                async for result in api.export_timelines(ids(), page_size=10):
                    finished.append(result)
    assert sorted(r.case_id for r in finished) == sorted(keys) and all(r.ok for r in finished)


async def test_stream_yields_pages_then_the_cases_end() -> None:
    async with FakeCasesAPI(cases=4, cells=23) as fake:
        keys = [case.key for case in fake.cases.values()]
        async with CasesClient(fake.api_key, fake.app_key, base_url=fake.url) as api:
            events = [e async for e in api.stream_timelines([*keys, "NOPE-1"], page_size=10, concurrency=2)]
    for key in keys:
        pages = [e for e in events if isinstance(e, TimelinePage) and e.case_id == key]
        assert [len(p.cells) for p in pages] == [10, 10, 3]
        assert [c.id for p in pages for c in p.cells] == [c["id"] for c in fake.cells(key)]
        done = [e for e in events if not isinstance(e, TimelinePage) and e.case_id == key]
        assert len(done) == 1 and done[0].ok and done[0].cell_count == 23
        assert events.index(done[0]) > max(events.index(p) for p in pages)
    (missing,) = [e for e in events if e.case_id == "NOPE-1"]
    assert isinstance(missing.error, NotFound)  # type: ignore[union-attr]


# -- fail fast on what is not about one case ---------------------------------------------------


@pytest.mark.parametrize(("status", "error"), [(401, Unauthorized), (403, Forbidden)])
async def test_refused_credentials_stop_the_export(status: int, error: type[CasesError]) -> None:
    sent = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal sent
        sent += 1
        return web.Response(status=status, body=b'{"errors":["Forbidden"]}', content_type=JSONAPI)

    async with serve(handler) as url, client(url, max_concurrency=4) as api:
        with pytest.raises(error):
            async for _ in api.export_timelines([f"CASE-{n}" for n in range(200)]):
                pass
    assert sent <= 4 + 1


async def test_an_unreachable_host_stops_the_export() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client(f"http://127.0.0.1:{port}", max_concurrency=4) as api:
        started = time.monotonic()
        with pytest.raises(TransportError):
            async for _ in api.export_timelines([f"CASE-{n}" for n in range(200)]):
                pass
        assert api.stats.requests <= 4 * 3 + 3
    assert time.monotonic() - started < 5


async def test_without_fail_fast_every_case_reports_its_error() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=403, body=b'{"errors":["Forbidden"]}', content_type=JSONAPI)

    async with serve(handler) as url, client(url) as api:
        results = [r async for r in api.export_timelines(["A-1", "A-2", "A-3"], fail_fast=False)]
    assert len(results) == 3 and all(isinstance(r.error, Forbidden) for r in results)


# -- responses are bounded --------------------------------------------------------------------


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"[" + b" " * (1 << 30) + b"]", compresslevel=9)  # 1 GiB of JSON in about 1 MB
    sent = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal sent
        sent += 1
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": JSONAPI})

    before = peak_rss_mib()
    async with serve(handler) as url, client(url, max_response_bytes=8 << 20) as api:
        with pytest.raises(ResponseTooLarge, match="max_response_bytes"):
            await api.get_timeline_page("BOMB-1")
    assert sent == 1  # not retried
    assert peak_rss_mib() - before < 100


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_huge_body_is_refused(chunked: bool) -> None:
    size = 12 << 20

    async def handler(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=b"x" * size, content_type=JSONAPI)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(size >> 16):
                await response.write(b"x" * (1 << 16))
        return response

    async with serve(handler) as url, client(url, max_response_bytes=4 << 20) as api:
        with pytest.raises(ResponseTooLarge):
            await api.get_timeline_page("BIG-1")


async def test_gzip_bodies_within_the_limit_are_read() -> None:
    async def handler(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"data": [cell("z")]}).encode())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": JSONAPI})

    async with serve(handler) as url, client(url) as api:
        assert [c.id for c in await api.get_timeline_page("GZ-1")] == ["z"]


# -- credentials are checked where they are given ---------------------------------------------


@pytest.mark.parametrize("bad", ["key\x01x", "key\tx", "key x", "k\u00e9y", "key\udcffx", "key\x7f"])
def test_credentials_with_characters_no_key_has_are_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        CasesClient(bad, "app")
    assert bad not in str(info.value)
    with pytest.raises(ValueError, match="app_key"):
        CasesClient("api", bad)
    monkeypatch.setenv("DD_API_KEY", "good")
    monkeypatch.setenv("DD_APP_KEY", bad)
    with pytest.raises(ValueError, match="DD_APP_KEY") as info:
        CasesClient()
    assert bad not in str(info.value)
    with pytest.raises(ValueError, match="access_token"):
        CasesClient(access_token=bad)


# -- a client outlives its event loop ----------------------------------------------------------


def test_a_client_made_outside_any_loop_is_used_under_one_and_refused_after() -> None:
    """Made before ``asyncio.run`` (nothing is bound to a loop until it is
    opened), used under a loop, then refused under the next: closed is final."""
    with fake_in_a_thread(cases=6, cells=12, latency=0.01) as fake:
        api = CasesClient(fake.api_key, fake.app_key, base_url=fake.url, max_concurrency=2)

        async def export() -> int:
            async with api:
                return sum([len(r.cells) async for r in api.export_timelines(list(fake.cases), concurrency=6)])

        assert asyncio.run(export()) == 72
        with pytest.raises(ClientClosed, match="make a new CasesClient"):
            asyncio.run(export())
