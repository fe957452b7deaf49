"""Walking timelines and exporting many of them, against the fake API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from aiocases import CasesClient, ClientClosed, NotFound
from aiocases.testing import FakeCasesAPI, Faults

MakeClient = Callable[..., CasesClient]


def client_tasks() -> list[asyncio.Task[object]]:
    """Tasks still running, other than this test and the fake server's handlers."""
    return [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and not t.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
    ]


def timeline_requests(api: FakeCasesAPI) -> list[str]:
    return [r.query for r in api.requests if r.raw_path.endswith("/timelines")]


@pytest.mark.parametrize(
    ("cells", "size"), [(0, 10), (1, 10), (9, 10), (10, 10), (11, 10), (30, 10), (31, 1), (5, 100)]
)
@pytest.mark.parametrize("ascending", [False, True])
async def test_walk_boundaries(client_for: MakeClient, cells: int, size: int, ascending: bool) -> None:
    async with FakeCasesAPI(cases=1, cells=cells) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api) as client:
            got = [c.id async for c in client.iter_timeline(case.key, page_size=size, ascending=ascending)]
            wasted = client.stats.prefetch_wasted  # read ahead past the last page (oldest first only)
        assert got == [c["id"] for c in api.cells(case.id, ascending=ascending)]
        queries = timeline_requests(api)
        assert cells // size + 1 <= len(queries) <= cells // size + 1 + wasted
        assert wasted == 0 if not ascending else wasted <= 15
        order = "true" if ascending else "false"
        expected = [f"page[size]={size}&page[number]={n}&sort[ascending]={order}" for n in range(len(queries))]
        assert sorted(queries, key=expected.index) == expected  # each page once (read ahead: answered in any order)


async def test_comments_arriving_mid_walk_do_not_duplicate(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=50, faults=Faults(seed=4, insert=1.0)) as api:
        case = next(iter(api.cases.values()))
        original = [c["id"] for c in api.cells(case.id)]
        async with client_for(api) as client:
            got = [c.id async for c in client.iter_timeline(case.key, page_size=10)]
        assert len(got) == len(set(got))
        assert set(original) <= set(got)
        assert len(api.cells(case.id)) > len(original)


async def test_export_yields_every_case_and_isolates_failures(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=12, cells=23) as api:
        ids = [case.key for case in api.cases.values()]
        async with client_for(api, max_concurrency=4) as client:
            results = {r.case_id: r async for r in client.export_timelines([*ids, "NOPE-1", "bad/id"], page_size=10)}
        assert api.peak_in_flight <= 4
    assert set(results) == {*ids, "NOPE-1", "bad/id"}
    for key in ids:
        assert results[key].ok
        assert [c.id for c in results[key].cells] == [c["id"] for c in api.cells(key)]
    assert isinstance(results["NOPE-1"].error, NotFound) and results["NOPE-1"].cells == ()
    assert isinstance(results["bad/id"].error, ValueError)


async def test_export_pulls_case_ids_lazily(client_for: MakeClient) -> None:
    pulled = 0

    async with FakeCasesAPI(cases=3, cells=2) as api:
        keys = [case.key for case in api.cases.values()]

        def endless() -> Iterator[str]:
            nonlocal pulled
            while True:
                pulled += 1
                yield keys[pulled % len(keys)]

        async with client_for(api) as client:
            count = 0
            async with contextlib.aclosing(client.export_timelines(endless(), concurrency=5)) as results:
                async for result in results:
                    assert result.ok
                    count += 1
                    if count == 50:
                        break
    # Never more than the cases in progress plus the one being started.
    assert 50 <= pulled <= 50 + 5 + 1


async def test_export_from_an_async_iterable(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=5, cells=3) as api:

        async def ids() -> AsyncIterator[str]:
            for case in api.cases.values():
                await asyncio.sleep(0)
                yield case.id

        async with client_for(api) as client:
            results = [r async for r in client.export_timelines(ids())]
    assert sorted(r.case_id for r in results) == sorted(api.cases)


async def test_breaking_out_cancels_the_cases_in_progress(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=20, cells=5, latency=0.05) as api, client_for(api) as client:
        async with contextlib.aclosing(client.export_timelines(list(api.cases), concurrency=8)) as results:
            async for _ in results:
                break
        assert client.gate.in_flight == 0
        assert client_tasks() == []


async def test_cancelling_an_export_from_outside(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=30, cells=5, latency=0.05) as api, client_for(api) as client:

        async def run() -> int:
            return len([r async for r in client.export_timelines(list(api.cases), concurrency=6)])

        task = asyncio.create_task(run())
        await asyncio.sleep(0.12)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert client.gate.in_flight == 0
        assert client_tasks() == []


async def test_closing_the_client_stops_its_exports(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=20, cells=5, latency=0.05) as api:
        client = client_for(api)
        async with client:
            results = client.export_timelines(list(api.cases), concurrency=6)
            first = await results.__anext__()
            assert first.ok
        # Closed with cases in progress: they were cancelled, nothing runs on.
        assert client_tasks() == [] or all("RequestHandler" in repr(t) for t in client_tasks())
        with pytest.raises(ClientClosed, match="closed"):  # never a NotFound or a silent stop
            async for _ in results:  # cases finished before the close come first
                pass
        await results.aclose()


async def test_breaking_out_of_a_walk(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=100) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api) as client:
            async with contextlib.aclosing(client.iter_timeline(case.key, page_size=10, prefetch=1)) as cells:
                async for _ in cells:
                    break
            assert len(timeline_requests(api)) == 1
            async with contextlib.aclosing(client.iter_timeline(case.key, page_size=10)) as cells:
                async for _ in cells:
                    break
            assert client.gate.in_flight == 0  # the pages read ahead were cancelled
        assert len(timeline_requests(api)) <= 1 + 2


@pytest.mark.parametrize("prefetch", [2, 4, 16])
async def test_read_ahead_keeps_order_and_bounds_waste(client_for: MakeClient, prefetch: int) -> None:
    async with FakeCasesAPI(cases=1, cells=1234, latency=0.01) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api) as client:
            got = [c.id async for c in client.iter_timeline(case.key, page_size=50, prefetch=prefetch)]
            wasted = client.stats.prefetch_wasted
        assert got == [c["id"] for c in api.cells(case.id)]
        assert 1 < api.peak_in_flight <= prefetch
        assert 1234 // 50 + 1 <= len(timeline_requests(api)) <= 1234 // 50 + 1 + wasted and wasted <= prefetch - 1


async def test_newest_first_walks_stay_sequential(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=300, latency=0.01) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api) as client:
            got = [c.id async for c in client.iter_timeline(case.key, page_size=50, ascending=False, prefetch=16)]
        assert got == [c["id"] for c in api.cells(case.id, ascending=False)]
        assert api.peak_in_flight == 1
