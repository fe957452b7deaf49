"""Incremental export: bookmarks, the newest-first walk down to them (its
rules proven with hypothesis over inserts during the walk), and
``sync_timelines`` against the fake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aiocases import CasesClient
from aiocases.export import TimelinePage
from aiocases.models import CellAttributes, TimelineCell
from aiocases.sync import Bookmark, CaseSynced, advance, next_page_size, walk_since
from aiocases.testing import FakeCasesAPI
from aiocases.walk import Ask, Endpoint, Page

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def cell(n: int, at: int | None = None) -> TimelineCell:
    created = None if at is None else T0 + timedelta(seconds=at)
    return TimelineCell(id=f"c{n}", type="timeline_cell", attributes=CellAttributes(type="COMMENT", created_at=created))


class Timeline:
    """A timeline served newest first, that grows while it is walked."""

    def __init__(self, cells: int, inserts: list[int]) -> None:
        self.cells = [cell(n, n) for n in range(cells)]  # oldest first
        self.inserts = list(inserts)
        self.requests: list[tuple[int, int]] = []

    async def fetch(self, ask: Ask) -> Page[TimelineCell]:
        number, size = ask.number, ask.size
        self.requests.append((number, size))
        newest_first = self.cells[::-1][number * size : (number + 1) * size]
        for _ in range(self.inserts.pop(0) if self.inserts else 0):  # comments posted as this page is answered
            n = len(self.cells)
            self.cells.append(cell(n, n))
        return Page(newest_first)


async def since(timeline: Timeline, bookmark: Bookmark, **kwargs: int) -> list[TimelineCell]:
    pages = [page async for page in walk_since(timeline.fetch, bookmark, Endpoint("timelines", 100), **kwargs)]
    assert len(pages) <= 1 and all(pages)
    return pages[0] if pages else []


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 400),
    st.data(),
    st.integers(1, 30),
    # Above the most comments posted per page: pages of fewer cells than arrive as each is
    # served make no progress, which the walk raises after three (tests/test_walk.py).
    st.integers(4, 100),
    st.lists(st.integers(0, 3), max_size=12),
)
async def test_only_the_new_cells_none_skipped_whatever_the_page_sizes(
    total: int, data: st.DataObject, first_page: int, max_page_size: int, inserts: list[int]
) -> None:
    # The first page too must be larger than the most comments posted while one page is served.
    assume(first_page > max(inserts, default=0))
    exported = data.draw(st.integers(0, total), label="exported")
    timeline = Timeline(total, inserts)
    bookmark = advance(None, timeline.cells[:exported])
    got = await since(timeline, bookmark, first_page_size=first_page, max_page_size=max(first_page, max_page_size))
    ids = [c.id for c in got]
    # Every cell that existed past the bookmark, oldest first, each once; then
    # maybe some posted during the walk (they are newer still).
    assert ids[: total - exported] == [f"c{n}" for n in range(exported, total)]
    assert ids == [f"c{n}" for n in range(exported, exported + len(ids))]
    # Pages aligned: each starts where the cells asked for so far end.
    offset = 0
    for number, size in timeline.requests:
        assert number * size == offset
        offset += size
    # The next sync, from the new bookmark, finds exactly what was posted after.
    timeline.inserts.clear()
    later = await since(timeline, advance(bookmark, got), first_page_size=first_page)
    assert [c.id for c in later] == [f"c{n}" for n in range(exported + len(ids), len(timeline.cells))]


@pytest.mark.parametrize("new", [0, 1, 5, 8, 9])
async def test_a_case_with_few_new_comments_costs_one_request(new: int) -> None:
    timeline = Timeline(250, [])
    bookmark = advance(None, timeline.cells[: 250 - new])
    assert len(await since(timeline, bookmark)) == new
    # The first page holds the new cells and the bookmarked one; a cell older
    # than it ends the walk (cells of the bookmark's very time may be new), so
    # nine new cells, which leave no older one on the page, cost a second page.
    assert timeline.requests == ([(0, 10)] if new < 9 else [(0, 10), (1, 10)])


def test_page_sizes_grow_and_stay_aligned() -> None:
    sizes, offset = [10], 10
    for _ in range(8):
        sizes.append(next_page_size(offset, 100))
        offset += sizes[-1]
    assert sizes == [10, 10, 20, 40, 80, 80, 80, 80, 100]


def test_bookmarks_round_trip_through_json_and_refuse_garbage() -> None:
    mark = advance(None, [cell(1, 5), cell(2, 7), cell(3, 7)])
    assert mark == Bookmark(T0 + timedelta(seconds=7), frozenset({"c2", "c3"}), 3)
    assert Bookmark.from_json(mark.to_json()) == mark
    assert Bookmark.from_json(Bookmark().to_json()) == Bookmark()
    for bad in ([], {"ids": "c1"}, {"ids": [1]}, {"ids": [], "created_at": 5}, {"ids": [], "cells": -1},
                {"ids": [], "created_at": "yesterday"}):  # fmt: skip
        with pytest.raises(ValueError):
            Bookmark.from_json(bad)


def test_cells_without_a_timestamp_are_told_apart_by_id() -> None:
    mark = advance(None, [cell(1), cell(2)])
    assert mark.created_at is None and mark.untimed == {"c1", "c2"}
    assert not mark.is_new(cell(2)) and mark.is_new(cell(3))
    later = advance(mark, [cell(4, 1), cell(5)])
    assert later.ids == {"c4"} and later.untimed == {"c1", "c2", "c5"}  # never forgotten: never new again
    assert not later.is_new(cell(5)) and Bookmark.from_json(later.to_json()) == later


# -- against the fake ----------------------------------------------------------------


async def sync(
    client: CasesClient, ids: list[str], bookmarks: dict[str, Bookmark], **kwargs: object
) -> tuple[dict[str, list[str]], dict[str, Bookmark]]:
    cells: dict[str, list[str]] = {}
    marks = dict(bookmarks)
    async for event in client.sync_timelines(ids, bookmarks, **kwargs):  # type: ignore[arg-type]
        if isinstance(event, TimelinePage):
            cells.setdefault(event.case_id, []).extend(c.id for c in event.cells)
        else:
            assert isinstance(event, CaseSynced) and event.ok and event.bookmark is not None
            marks[event.case_id] = event.bookmark
    return cells, marks


async def test_sync_then_only_what_is_new(client_for: Callable[..., CasesClient]) -> None:
    async with FakeCasesAPI(12, 130, seed=8) as api, client_for(api) as client:
        ids = [c.id for c in api.cases.values()]
        first, marks = await sync(client, ids, {})
        assert first == {i: [c["id"] for c in api.cells(i)] for i in ids}
        changed = ids[:3]
        added = {i: [api.add_comment(i)["id"] for _ in range(n + 1)] for n, i in enumerate(changed)}
        before = client.stats.requests
        second, marks = await sync(client, ids, marks)
        assert second == added  # cases with nothing new give no page at all
        assert client.stats.requests - before == len(ids)  # one request a case
        third, _ = await sync(client, ids, marks)
        assert third == {}
        again, _ = await sync(client, ids, marks, full_refresh=True)
        assert again == {i: [c["id"] for c in api.cells(i)] for i in ids}


async def test_a_failed_case_keeps_its_old_bookmark(client_for: Callable[..., CasesClient]) -> None:
    async with FakeCasesAPI(2, 5, seed=9) as api, client_for(api, max_retries=0) as client:
        ids = [c.id for c in api.cases.values()]
        _, marks = await sync(client, ids, {})
        api.add_comment(ids[0])
        api.fail_cases[ids[0]] = 500
        results = [e async for e in client.sync_timelines(ids, marks) if isinstance(e, CaseSynced)]
        failed = next(e for e in results if e.case_id == ids[0])
        assert failed.error is not None and failed.bookmark is None
        assert next(e for e in results if e.case_id == ids[1]).bookmark == marks[ids[1]]
