"""Nothing lost in sync and search (the items of the "nothing lost" issue):
cells sharing an instant with the bookmark, many cells of one instant, cells
without a time, orders that change between requests, searches that cap,
loop or shift; in memory where the server's order is the point, against the
fake and through the command line otherwise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Server, fake_in_a_thread, run

from aiocases import CasesClient, InconsistentPages, Request, Response
from aiocases.export import TimelinePage
from aiocases.sync import Bookmark, CaseSynced
from aiocases.testing import FakeCasesAPI, MockTransport, json_response

T = "2026-03-01T10:00:00.000000000Z"


def at(second: int) -> str:
    return f"2026-03-01T10:00:{second:02d}.000000000Z"


class Timeline:
    """One case's cells, served ordered by time then id (as a server that
    breaks ties by id does), newest first when asked."""

    def __init__(self, cells: list[tuple[str, str | None]]) -> None:
        self.cells = list(cells)  # (id, created_at)
        self.requests = 0

    def add(self, cell_id: str, created_at: str | None) -> None:
        self.cells.append((cell_id, created_at))

    def handler(self, request: Request) -> Response:
        self.requests += 1
        query = dict(part.split("=") for part in request.query.split("&"))
        size, number = int(query["page%5Bsize%5D"]), int(query["page%5Bnumber%5D"])
        ordered = sorted(self.cells, key=lambda cell: (cell[1] or "~", cell[0]))  # a cell without a time: newest
        if query["sort%5Bascending%5D"] == "false":
            ordered.reverse()
        page = ordered[number * size : (number + 1) * size]
        data = [{"id": i, "type": "timeline_cell", "attributes": {"type": "COMMENT"} | ({"created_at": c} if c else {})}
                for i, c in page]  # fmt: skip
        return json_response(200, {"data": data})


async def sync(timeline: Timeline, marks: dict[str, Bookmark]) -> tuple[list[str], Bookmark]:
    """One sync of case C-1: the cells it gave, and its new bookmark."""
    got: list[str] = []
    async with CasesClient(transport=MockTransport(timeline.handler)) as client:
        async for event in client.sync_timelines(["C-1"], marks):
            if isinstance(event, TimelinePage):
                got += [cell.id for cell in event.cells]
            else:
                assert isinstance(event, CaseSynced) and event.ok and event.bookmark is not None, event
                marks["C-1"] = event.bookmark
    return got, marks["C-1"]


async def test_new_cells_of_the_bookmarks_instant_are_exported() -> None:
    """Item 2: the walk had stopped at the first bookmarked cell, though later cells of its instant were new."""
    timeline = Timeline([(f"old-{n}", at(n)) for n in range(20)] + [("m", T.replace("00.0", "30.0"))])
    marks: dict[str, Bookmark] = {}
    first, _ = await sync(timeline, marks)
    assert len(first) == 21
    for new in ("a", "b", "c", "z"):  # the same instant as the bookmarked cell; three sort before it
        timeline.add(new, T.replace("00.0", "30.0"))
    second, _ = await sync(timeline, marks)
    assert sorted(second) == ["a", "b", "c", "z"]
    third, _ = await sync(timeline, marks)
    assert third == []


async def test_more_than_64_cells_of_one_instant_are_exported_once() -> None:
    """Item 3: only 64 ids of an instant were kept; the others counted as new on every run."""
    timeline = Timeline([(f"c{n:03d}", T) for n in range(100)])
    marks: dict[str, Bookmark] = {}
    first, mark = await sync(timeline, marks)
    assert len(first) == 100 and len(mark.ids) == 100
    again, _ = await sync(timeline, marks)
    assert again == []


async def test_a_newest_cell_without_a_time_is_exported_once() -> None:
    """Item 4: a cell without created_at counted as new on every run."""
    timeline = Timeline([("a", at(1)), ("b", at(2))])
    marks: dict[str, Bookmark] = {}
    await sync(timeline, marks)
    timeline.add("untimed", None)  # the newest cell, without a time
    second, mark = await sync(timeline, marks)
    assert second == ["untimed"] and mark.untimed == {"untimed"}
    third, _ = await sync(timeline, marks)
    assert third == []


def many_of_one_instant(api: FakeCasesAPI, count: int) -> str:
    """A case whose cells 90 to 90 + count share one instant (across page boundaries of 10 and 100)."""
    case = api.add_case(90, key="SAME-1")
    for _ in range(count):
        api.add_comment(case.key, created_at=T.replace("2026", "2031"))
    for _ in range(40):
        api.add_comment(case.key)
    return case.key


async def test_an_order_that_changes_between_requests_fails_the_case_never_short() -> None:
    """Item 5: 22 cells of one instant across a page boundary, in a new order per request: cells were in
    no file and the run succeeded.  An oldest-first walk that meets an id twice raises; the case fails alone."""
    async with FakeCasesAPI(unstable_order=True) as api:
        key = many_of_one_instant(api, 22)
        other = api.add_case(30, key="OK-1").key
        async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
            results = {r.case_id: r async for r in client.export_timelines([key, other], page_size=10)}
    assert results[other].ok and len(results[other].cells) == 30, results[other].error
    assert not results[key].ok and type(results[key].error).__name__ == "InconsistentPages"


def test_sync_never_succeeds_short_on_an_unstable_order(tmp_path: Path) -> None:
    """Item 5 through the command line: the case is reported failed (exit 1), nothing of it is written,
    and it has no bookmark, so the next run exports it whole."""
    with fake_in_a_thread(unstable_order=True) as api:
        key = many_of_one_instant(api, 22)
        other = api.add_case(30, key="OK-1").key
        state = tmp_path / "state"
        result = run("sync", "--state", str(state), key, other, "--base-url", api.url, env={
            "DD_API_KEY": api.api_key, "DD_APP_KEY": api.app_key})  # fmt: skip
    assert result.returncode == 1 and f"failed {key}: InconsistentPages" in result.stderr, result.stderr
    lines = (state / "000001.jsonl").read_text().splitlines()
    assert {json.loads(line)["case_id"] for line in lines} == {other} and len(lines) == 30
    assert set(json.loads((state / "bookmarks.json").read_text())["cases"]) == {other}


# -- search ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capped() -> Iterator[Server]:
    """A fake whose search answers at most 10 cases a page, with 188 cases."""
    server = Server("--cases", "188", "--cells", "1", "--seed", "3", "--search-page-cap", "10")
    yield server
    server.stop()


def test_export_and_sync_by_query_get_every_case_of_a_capped_search(capped: Server, tmp_path: Path) -> None:
    """Item 8: against a search capped at 10 a page, both exited 0 after 10 of 188 cases."""
    out = tmp_path / "all.jsonl"
    exported = run("export", "--all-cases", "--output", str(out), "--base-url", capped.url)
    assert exported.returncode == 0, exported.stderr
    assert len({json.loads(line)["case_id"] for line in out.read_text().splitlines()}) == 188
    synced = run("sync", "--state", str(tmp_path / "state"), "--all-cases", "--base-url", capped.url)
    assert synced.returncode == 0, synced.stderr
    assert len((tmp_path / "state" / "000001.jsonl").read_text().splitlines()) == 188
    listed = run("cases", "--json", "--base-url", capped.url)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 188


async def test_a_case_whose_sort_key_changes_mid_walk_is_yielded_once_and_nothing_missed_silently() -> None:
    """Item 9: a case moved by a priority change during a --sort priority walk was yielded twice.
    It is yielded once; the case its move pushed past a page boundary makes the walk raise."""
    async with FakeCasesAPI(40, 0, seed=4) as api:
        async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
            seen: list[str] = []
            with pytest.raises(InconsistentPages, match="counts 40 items but the walk met 39"):
                async for case in client.search_cases(sort="priority", page_size=5):
                    seen.append(case.id)
                    if len(seen) == 3:  # the first case seen becomes the last by priority
                        api.cases[seen[0]].attributes["priority"] = "P1"
        assert len(seen) == len(set(seen)) == 39


@pytest.mark.parametrize("query", ["", " "])
@pytest.mark.parametrize("command", ["export", "sync"])
def test_a_blank_query_is_refused_and_leaves_nothing(command: str, query: str, tmp_path: Path) -> None:
    """Item 10: exit 0 with 0 cases, and a journal or state directory left behind."""
    where = ["--output", str(tmp_path / "out.jsonl")] if command == "export" else ["--state", str(tmp_path / "s")]
    result = run(command, "--query", query, *where, "--base-url", "http://127.0.0.1:9")
    assert result.returncode == 2 and "query" in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
