"""Search: the ``Case`` model on real responses, and ``search_cases`` against
the fake (its page rules without sockets: tests/test_walk.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aiocases import BadRequest, CasesClient, InconsistentPages, NotFound
from aiocases.models import Case, CaseAttributes
from aiocases.parsing import structure_list, to_api_json
from aiocases.testing import FakeCasesAPI

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "real-responses"


def recorded(name: str) -> dict[str, object]:
    path = RECORDED / name
    if not path.exists():
        pytest.skip("../shared/real-responses is not here")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_recorded_search_pages_are_cases_with_nothing_lost() -> None:
    first = recorded("search_cases_returns_ok_response_with_pagination__0.json")
    document = first["response"]["json"]  # type: ignore[index]
    cases = structure_list(Case, document["data"])
    assert [c.key for c in cases] == ["ET-3", "ET-2"]
    case = cases[0]
    assert (case.public_id, case.status, case.priority) == ("89979", "Closed", "NOT_DEFINED")
    assert case.title is not None and case.title.startswith("require-trusted-types-for")
    assert case.project == "384521ba-dc5f-481f-942d-15bd48428029"
    assert case.author is not None and case.author.content is not None and case.author.content.name == "CI Account"
    assert case.created_at is not None and case.created_at.year == 2025
    assert case.attributes.closed_at is not None
    # Members the schema does not list, as real answers carry them: fields, and back out unchanged.
    attributes = case.attributes
    assert (attributes.comment_count, attributes.merge_status, attributes.creation_source) == (
        0,
        "NOT_MERGED",
        "ERROR_TRACKING",
    )
    assert attributes.insights[0].type == "ERROR_TRACKING" and attributes.attributes == {
        "service": ("synthetics-browser",)
    }
    assert attributes.extra == {}
    raw = document["data"][0]
    out = to_api_json(case)
    for name in ("insights", "attributes", "custom_attributes", "comment_count", "internal_id", "type_id"):
        assert out["attributes"][name] == raw["attributes"][name]  # type: ignore[index]
    assert out["relationships"] == raw["relationships"]


def test_a_case_of_another_shape_is_kept_not_refused() -> None:
    (case,) = structure_list(Case, [{"id": "c", "type": "case", "attributes": {"status": "OPEN", "new": [1]}}])
    assert case.status == "OPEN" and case.project is None and case.author is None
    assert case.attributes == CaseAttributes(status="OPEN", extra={"new": [1]})


# -- against the fake ----------------------------------------------------------------


def truth(api: FakeCasesAPI, keep: Callable[[dict[str, object]], bool], reverse: bool = False) -> list[str]:
    found = [c for c in api.cases.values() if keep(c.attributes)]
    found.sort(key=lambda c: (str(c.attributes["created_at"]), c.key), reverse=reverse)
    return [c.id for c in found]


@pytest.mark.parametrize("page_start", [0, 1])
@pytest.mark.parametrize("page_size", [1, 7, 100])
async def test_search_cases_matches_the_fakes_ground_truth(
    page_start: int, page_size: int, client_for: Callable[..., CasesClient]
) -> None:
    async with FakeCasesAPI(23, 1, seed=3, search_page_start=page_start) as api, client_for(api) as client:
        everything = [c.id async for c in client.search_cases(page_size=page_size)]
        assert everything == truth(api, lambda a: True)
        newest = [c.id async for c in client.search_cases(ascending=False, page_size=page_size)]
        assert newest == truth(api, lambda a: True, reverse=True)
        closed = [c.id async for c in client.search_cases("status:closed", page_size=page_size)]
        assert closed and closed == truth(api, lambda a: a["status"] == "CLOSED")
        requests = api.counters.requests
    assert len([r for r in requests if r.raw_path == "/api/v2/cases"]) <= 3 * (23 // page_size + 3)


async def test_filters_of_the_fake(client_for: Callable[..., CasesClient]) -> None:
    async with FakeCasesAPI(40, 0, seed=4) as api, client_for(api) as client:

        async def keys(query: str, **kwargs: object) -> list[str]:
            return [c.key or "" async for c in client.search_cases(query, **kwargs)]  # type: ignore[arg-type]

        some = next(iter(api.cases.values()))
        assert await keys(f"key:{some.key}") == [some.key]
        project = some.key.split("-")[0]
        by_project = await keys(f"project:{project}")
        assert by_project and all(k.startswith(project + "-") for k in by_project)
        assert await keys(f"project_id:{some.project}") == by_project
        p1 = await keys("priority:P1 status:open")
        assert all(api.find(k).attributes["priority"] == "P1" for k in p1)  # type: ignore[union-attr]
        leak = await keys('"memory leak"')
        assert leak and all("Memory leak" in str(api.find(k).attributes["title"]) for k in leak)  # type: ignore[union-attr]
        by_priority = [c.priority async for c in client.search_cases(sort="priority", ascending=False)]
        order = ["P1", "P2", "P3", "P4", "P5", "NOT_DEFINED"]  # highest first (it had sorted P1 last)
        assert by_priority == sorted(by_priority, key=order.index) and by_priority[0] == "P1"
        with pytest.raises(BadRequest, match="unknown field 'colour'"):
            await keys("colour:blue")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query": ""},
        {"query": "  "},
        {"query": 5},
        {"page_size": 0},
        {"page_size": 101},
        {"sort": "title"},
        {"ascending": "yes"},
    ],
)
async def test_bad_search_arguments_are_refused_before_sending(kwargs: dict[str, object]) -> None:
    async with FakeCasesAPI(1, 0) as api:
        async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
            with pytest.raises(ValueError):
                client.search_cases(**kwargs)  # type: ignore[arg-type]
        assert api.counters.requests == []


async def test_a_case_created_during_a_newest_first_walk_is_not_yielded_twice_nor_missed_silently(
    client_for: Callable[..., CasesClient],
) -> None:
    async with FakeCasesAPI(12, 0, seed=5) as api, client_for(api) as client:
        before = set(api.cases)
        seen: list[str] = []
        with pytest.raises(InconsistentPages, match="the server counts 14 items but the walk met 12"):
            async for case in client.search_cases(ascending=False, page_size=3):
                seen.append(case.id)
                if len(seen) in (2, 5):
                    api.add_case(0)  # the newest: pushes every case one place on
        assert len(seen) == len(set(seen)) and before <= set(seen)


async def test_search_errors_are_typed(client_for: Callable[..., CasesClient]) -> None:
    async with FakeCasesAPI(0, 0) as api, client_for(api) as client:
        assert [c async for c in client.search_cases()] == []
        with pytest.raises(NotFound):
            await client.add_comment("PROJ-1", "no such case")
