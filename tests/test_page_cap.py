"""A server that silently caps page[size] never makes a walk come back short."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from aiocases import CasesClient
from aiocases.testing import FakeCasesAPI, Faults

MakeClient = Callable[..., CasesClient]


def timeline_queries(api: FakeCasesAPI) -> list[str]:
    return [r.query for r in api.requests if r.raw_path.endswith("/timelines")]


@pytest.mark.parametrize("offsets", ["capped", "requested"])
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("cells", [0, 50, 100, 101, 150, 200, 250, 431])
@pytest.mark.parametrize("inserts", [False, True])
async def test_no_cell_lost_to_a_silent_cap(
    client_for: MakeClient, offsets: str, ascending: bool, cells: int, inserts: bool
) -> None:
    faults = Faults(seed=cells, insert=0.5) if inserts else None
    async with FakeCasesAPI(cases=1, cells=cells, page_cap=100, page_cap_offsets=offsets, faults=faults) as api:
        case = next(iter(api.cases.values()))
        original = [c["id"] for c in api.cells(case.id, ascending=ascending)]
        async with client_for(api) as client:
            got = [c.id async for c in client.iter_timeline(case.key, page_size=200, ascending=ascending)]
    assert len(got) == len(set(got))
    if inserts:
        assert set(original) <= set(got)
    else:
        assert got == original


async def test_the_cap_is_learned_once_and_logged_once(
    client_for: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiocases")
    async with FakeCasesAPI(cases=2, cells=250, page_cap=100, page_cap_offsets="requested") as api:
        first, second = (case.key for case in api.cases.values())
        async with client_for(api) as client:
            assert len([c async for c in client.iter_timeline(first, page_size=200)]) == 250
            before = len(timeline_queries(api))
            assert len([c async for c in client.iter_timeline(second, page_size=200, prefetch=1)]) == 250
        # The second walk asks for 100 from the start: 250 // 100 + 1 requests.
        assert timeline_queries(api)[before:] == [
            f"page[size]=100&page[number]={n}&sort[ascending]=true" for n in range(3)
        ]
    warnings = [r for r in caplog.records if "caps page[size] at 100" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_proven_size_costs_no_extra_request(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=450) as api:
        big = next(iter(api.cases.values())).key
        async with client_for(api) as client:
            assert len([c async for c in client.iter_timeline(big, page_size=200, prefetch=1)]) == 450
            assert len(timeline_queries(api)) == 450 // 200 + 1  # a full page of 200 proved the size
            api.add_case(150, key="SMALL-1")
            before = len(timeline_queries(api))
            assert len([c async for c in client.iter_timeline("SMALL-1", page_size=200, prefetch=1)]) == 150
            assert len(timeline_queries(api)) - before == 1  # proven: the short page is the last
    async with FakeCasesAPI(cases=1, cells=150) as api, client_for(api) as client:
        case = next(iter(api.cases.values()))
        assert len([c async for c in client.iter_timeline(case.key, page_size=200, prefetch=1)]) == 150
        assert len(timeline_queries(api)) == 2  # unproven: one request more, to be sure


@pytest.mark.parametrize("offsets", ["capped", "requested"])
async def test_exports_are_whole_under_a_cap(client_for: MakeClient, offsets: str) -> None:
    async with FakeCasesAPI(cases=6, cells=260, page_cap=100, page_cap_offsets=offsets) as api:
        async with client_for(api) as client:
            results = {r.case_id: r async for r in client.export_timelines(list(api.cases), page_size=200)}
    for case_id, result in results.items():
        assert [c.id for c in result.cells] == [c["id"] for c in api.cells(case_id)]
