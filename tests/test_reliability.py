"""Proof under faults and hostile input: fault soak, property-based walks,
limits the headers do not show, the retry budget, hostile ids, credential
hygiene and cancellation.  Everything runs against the fake over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import traceback
from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiocases import CasesClient, CasesError, Forbidden, NotFound, RetryPolicy, ServerError
from aiocases.testing import FakeCasesAPI, Faults

MakeClient = Callable[..., CasesClient]


# -- fault soak -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12, 13])
async def test_fault_soak(client_for: MakeClient, seed: int) -> None:
    faults = Faults(
        seed=seed, server_error=0.04, reset=0.03, cut=0.03, truncated=0.03, slow=0.03, slow_seconds=0.05, stall=0.02
    )
    async with FakeCasesAPI(cases=56, cells=45, seed=seed, faults=faults) as api:
        keys = [case.key for case in api.cases.values()]
        # Cases that can never succeed, each for a different reason.
        api.fail_cases.update({keys[0]: 404, keys[1]: 403, keys[2]: 503})
        async with client_for(api, timeout=0.5, max_retries=6) as client:
            export = client.export_timelines(keys, page_size=10, concurrency=12, fail_fast=False)
            results = {r.case_id: r async for r in export}
        injected = sum(api.counters.faults.values())
        total = len(api.requests)
    assert set(results) == set(keys)
    assert 0.10 <= injected / total <= 0.25, (injected, total)
    assert isinstance(results[keys[0]].error, NotFound)
    assert isinstance(results[keys[1]].error, Forbidden)
    assert isinstance(results[keys[2]].error, ServerError)
    for key in keys[3:]:
        result = results[key]
        assert result.ok, f"{key}: {result.error!r}"
        assert [c.id for c in result.cells] == [c["id"] for c in api.cells(key)]
    for key in keys[:3]:
        assert results[key].cells == () and str(results[key].error)


# -- property-based pagination -----------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.integers(0, 260),
    page_size=st.integers(1, 60),
    ascending=st.booleans(),
    inserts=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_walk_properties(cells: int, page_size: int, ascending: bool, inserts: bool, seed: int) -> None:
    if inserts:
        # One comment per request: a page of one could never get ahead of them.
        page_size = max(page_size, 2)
    faults = Faults(seed=seed, insert=0.3) if inserts else None

    async def walk() -> tuple[list[str], list[str], int, int, list[str]]:
        async with FakeCasesAPI(cases=1, cells=cells, seed=seed, faults=faults) as api:
            case = next(iter(api.cases.values()))
            original = [c["id"] for c in api.cells(case.id, ascending)]
            async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
                got = [c.id async for c in client.iter_timeline(case.key, page_size=page_size, ascending=ascending)]
                wasted = client.stats.prefetch_wasted
            return original, got, len(api.requests), wasted, [c["id"] for c in api.cells(case.id, ascending)]

    original, got, requests, wasted, final = asyncio.run(walk())
    assert len(got) == len(set(got)), "a cell was yielded twice"
    assert set(original) <= set(got), "an original cell was lost"
    assert set(got) <= set(final), "a cell the server never had"
    # Yielded in the server's order (comments that arrived mid-walk aside).
    assert [i for i in final if i in set(got)] == got
    if not inserts:
        assert got == original
        # Pages read ahead past the end are cancelled, some before they are sent: at most `wasted` more.
        assert cells // page_size + 1 <= requests <= cells // page_size + 1 + wasted


# -- limits the headers do not show ----------------------------------------------------


async def test_hidden_concurrency_limit_is_learned(client_for: MakeClient) -> None:
    latency, limit = 0.04, 4
    async with FakeCasesAPI(cases=80, cells=150, max_in_flight=limit, latency=latency) as api:
        async with client_for(api, max_concurrency=16) as client:
            start = time.monotonic()
            results = [r async for r in client.export_timelines(list(api.cases), page_size=100)]
            elapsed = time.monotonic() - start
            learned = client.gate.concurrency.allowed
        by_status = api.requests_by_status
    assert all(r.ok for r in results)
    requests = by_status[200] + by_status[429]
    assert by_status[200] == 160
    assert by_status[429] / requests < 0.15, by_status
    assert api.peak_in_flight <= 16
    ideal = 160 * latency / limit
    # What K allows, plus the one reset (1 s) the first 429s ask everyone to wait.
    assert elapsed < ideal * 1.5 + 1.5, (elapsed, ideal)
    assert learned <= limit


# -- retry budget ------------------------------------------------------------------------


async def test_retry_budget_is_bounded_and_isolated(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=6, cells=30) as api:
        keys = [case.key for case in api.cases.values()]
        api.fail_cases[keys[0]] = 502
        policy = RetryPolicy(max_retries=4, base=0.05, cap=0.2)
        async with client_for(api, retry_policy=policy) as client:
            start = time.monotonic()
            results = {r.case_id: r async for r in client.export_timelines(keys, page_size=10)}
            elapsed = time.monotonic() - start
    failing = results[keys[0]]
    assert isinstance(failing.error, ServerError) and failing.error.status == 502
    assert sum(1 for r in api.requests if keys[0] in r.raw_path) == 5
    # Four sleeps of at most 0.05, 0.1, 0.2, 0.2 s: bounded, whatever the jitter.
    assert elapsed < 0.55 + 1.0
    assert all(results[key].ok and len(results[key].cells) == 30 for key in keys[1:])


# -- hostile input -----------------------------------------------------------------------

HOSTILE = [
    "../../admin",
    "..",
    ".",
    "a/b",
    "PROJ-1?page[size]=1",
    "PROJ-1#x",
    "PROJ-1%2F..%2Fadmin",
    "%2e%2e",
    "%3F",
    "PROJ 1",
    "{case}",
    "proj-1;x=1",
    "ünï-cødé-✓",
    "a\r\nX-Injected: 1",
    "tab\there",
    "\x00",
    "\u202egnp.exe",
    "x" * 511,
    "x" * 513,
    "",
    "   ",
]


@pytest.mark.parametrize("case_id", HOSTILE)
async def test_hostile_case_ids(fake_cases_api: FakeCasesAPI, cases_client: CasesClient, case_id: str) -> None:
    await assert_exact_route_or_value_error(fake_cases_api, cases_client, case_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case_id=st.text(max_size=40) | st.from_regex(r"[A-Z]{2,5}-[0-9]{1,6}", fullmatch=True))
def test_any_case_id_is_refused_or_routed_exactly(case_id: str) -> None:
    async def check() -> None:
        async with FakeCasesAPI() as api:
            async with CasesClient(api.api_key, api.app_key, base_url=api.url, max_retries=0) as client:
                await assert_exact_route_or_value_error(api, client, case_id)

    asyncio.run(check())


async def assert_exact_route_or_value_error(api: FakeCasesAPI, client: CasesClient, case_id: str) -> None:
    before = len(api.requests)
    try:
        await client.list_watchers(case_id)
    except ValueError:
        assert len(api.requests) == before, "a refused id must not reach the server"
        return
    except NotFound:
        pass
    (request,) = api.requests[before:]
    assert request.raw_path == f"/api/v2/cases/{quote(case_id, safe='')}/watchers"
    assert request.case_id == case_id  # what the server decoded is exactly what was asked for


@pytest.mark.parametrize(
    "user", ["../x", "8146583c-0b5f-11ec-abf8-da7ad0900001/../x", "8146583c-0b5f-11ec-abf8-da7ad090000?", "", "ü" * 36]
)
async def test_hostile_user_uuids(fake_cases_api: FakeCasesAPI, cases_client: CasesClient, user: str) -> None:
    with pytest.raises(ValueError, match="user_uuid"):
        await cases_client.watch_case("PROJ-1", user)
    assert fake_cases_api.requests == []


# -- credential hygiene ------------------------------------------------------------------

API_KEY, APP_KEY, TOKEN = "hygiene-api-key-A1B2C3D4E5", "hygiene-app-key-F6G7H8I9J0", "hygiene-oauth-token-K1L2M3"


def secrets_in(text: str) -> list[str]:
    fragments = [API_KEY, APP_KEY, TOKEN, API_KEY[-8:], APP_KEY[-8:], TOKEN[-8:]]
    return [fragment for fragment in fragments if fragment in text]


async def test_no_key_material_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def record(exc: BaseException) -> None:
        seen.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
        seen.extend(str(v) for v in vars(exc).values())

    faults = Faults(seed=5, server_error=0.2, truncated=0.1, reset=0.1, stall=0.05)
    async with FakeCasesAPI(cases=4, cells=30, api_key=API_KEY, app_key=APP_KEY, faults=faults) as api:
        keys = [case.key for case in api.cases.values()]
        api.fail_cases[keys[3]] = 429
        user = api.generator.user_uuid()
        for client in (
            CasesClient(API_KEY, APP_KEY, base_url=api.url, timeout=0.3, max_retries=2),
            CasesClient(API_KEY, "wrong-" + APP_KEY, base_url=api.url, max_retries=0),
            CasesClient(access_token=TOKEN, base_url=api.url, max_retries=0),
        ):
            seen += [repr(client), str(client)]
            async with client:
                calls = [
                    client.watch_case(keys[0], user),
                    client.list_watchers(keys[0]),
                    client.unwatch_case(keys[0], user),
                    client.get_timeline_page(keys[1], page_size=7),
                    client.get_timeline_page("NOPE-1"),
                    client.get_timeline_page(keys[3]),
                ]
                for call in calls:
                    try:
                        await call
                    except CasesError as exc:
                        record(exc)
                ids = [keys[2], "bad/id", "NOPE-2"]
                async for result in client.export_timelines(ids, page_size=5, fail_fast=False):
                    if result.error is not None:
                        record(result.error)
                seen.append(repr(client.stats))
        async with FakeCasesAPI(api_key=API_KEY, app_key=APP_KEY) as stranger:
            async with FakeCasesAPI(redirect_to=stranger.url) as redirector:
                async with CasesClient(API_KEY, APP_KEY, base_url=redirector.url) as client:
                    with pytest.raises(CasesError) as info:
                        await client.list_watchers("PROJ-1")
                    record(info.value)
            assert stranger.requests == [], "a redirect carried the keys to another origin"
    seen.append(caplog.text)
    assert len(caplog.records) > 10
    leaks = [(fragment, text[:200]) for text in seen for fragment in secrets_in(text)]
    assert leaks == []


# -- cancellation -------------------------------------------------------------------------


async def test_cancel_and_break_leave_nothing_behind(client_for: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeCasesAPI(cases=40, cells=30, latency=0.03) as api:
        client = client_for(api, max_concurrency=8)
        async with client:

            async def consume() -> None:
                async for _ in client.export_timelines(list(api.cases), page_size=10):
                    pass

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.15)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            case = next(iter(api.cases.values()))
            async with contextlib.aclosing(client.iter_timeline(case.key, page_size=5)) as cells:
                async for _ in cells:
                    break
            async with contextlib.aclosing(client.export_timelines(list(api.cases))) as results:
                async for _ in results:
                    break
            assert client.gate.in_flight == 0
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert [t for t in others if "RequestHandler" not in repr(t.get_coro())] == []
    gc.collect()
    await asyncio.sleep(0)
    assert "Unclosed" not in caplog.text and "never retrieved" not in caplog.text
