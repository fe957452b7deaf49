"""Incremental export: bookmarks, and the walk that fetches only what is new.

A :class:`Bookmark` says how far a case's timeline has been exported: the
``created_at`` of the newest cell exported, the ids of every cell exported
with exactly that time (cells can share a timestamp; the ids tell the new
from the old), and the ids of cells exported without one.  It is plain data:
:meth:`Bookmark.to_json` and :meth:`Bookmark.from_json` keep it in any JSON
store.

:func:`walk_since` walks a timeline newest first, through the paging engine
(:mod:`aiocases.walk`, whose rules hold too), down to the bookmark.  The
rules, tested without sockets (``tests/test_sync.py``, with hypothesis):

1. The first page is small (``first_page_size`` cells, 10 by default), so a
   case with nothing new costs one request, and so does a case with a few
   new comments: the page holds them and the bookmarked cell.
2. A cell is new unless the bookmark holds its id, or it is older than the
   bookmark's time.  The walk ends at the first cell older than the
   bookmark's time (cells of that very time are looked at one by one), at a
   short page, or past ``max_pages``.
3. Pages grow as the walk goes on, and stay aligned: after ``n`` cells the
   next page is the largest size up to ``max_page_size`` that divides ``n``,
   asked for as page ``n / size``, so it starts exactly where the last one
   ended (10, 10, 20, 40, 80, 80, 80, 80, 100...).
4. A comment posted during the walk lands at the front (newest first) and
   pushes every cell one place on: the next page then starts with a cell
   already met, which the walk skips.  Nothing is skipped: pages only move
   toward the end.
5. The new cells are given oldest first, in one list (a case's new cells are
   held in memory until it ends; the first export of a case, which has no
   bookmark, walks oldest first page by page as ``export`` does).

What a bookmark cannot see: a comment edited (``modified_at``) or deleted
(``deleted_at``) after it was exported keeps its place in the timeline and
is not new, and a new cell stamped older than the bookmark (a server clock
that stepped back) is taken for an old one.  A full refresh (export
everything again and rewrite the bookmarks) picks those up.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterable, Mapping
from datetime import datetime

from attrs import frozen

from aiocases.errors import CasesError
from aiocases.export import ExportEvent, TimelinePage
from aiocases.models import JSON, TimelineCell
from aiocases.parsing import format_timestamp, parse_timestamp
from aiocases.walk import Endpoint, Fetch, Walk, pages

__all__ = [
    "Bookmark",
    "CaseSynced",
    "SyncEvent",
    "advance",
    "bookmarks_from_json",
    "next_page_size",
    "synced",
    "walk_since",
]


@frozen
class Bookmark:
    """How far a case has been exported: ``created_at`` of its newest cell
    exported (``None``: no cell with a time yet), the ``ids`` of the cells
    exported with that time, the ``untimed`` ids of cells exported without
    one, and ``cells``, the count of every cell exported."""

    created_at: datetime | None = None
    ids: frozenset[str] = frozenset()
    cells: int = 0
    untimed: frozenset[str] = frozenset()

    def is_new(self, cell: TimelineCell) -> bool:
        """Whether ``cell`` was not exported yet (rule 2)."""
        if cell.id in self.ids or cell.id in self.untimed:
            return False
        created = cell.attributes.created_at
        return self.created_at is None or created is None or created >= self.created_at

    def is_older(self, cell: TimelineCell) -> bool:
        """Whether ``cell`` is older than the bookmark's time: the walk ends there (rule 2)."""
        created = cell.attributes.created_at
        return self.created_at is not None and created is not None and created < self.created_at

    def to_json(self) -> dict[str, JSON]:
        """The bookmark as JSON, for :meth:`from_json`."""
        created = None if self.created_at is None else format_timestamp(self.created_at)
        document: dict[str, JSON] = {"created_at": created, "ids": [*sorted(self.ids)], "cells": self.cells}
        if self.untimed:
            document["untimed"] = [*sorted(self.untimed)]
        return document

    @classmethod
    def from_json(cls, value: object) -> Bookmark:
        """A bookmark from :meth:`to_json`'s JSON; :class:`ValueError` for anything else."""
        if not isinstance(value, dict):
            raise ValueError(f"a bookmark is a JSON object, got {type(value).__name__}")
        created, cells = value.get("created_at"), value.get("cells", 0)
        if created is not None and not isinstance(created, str):
            raise ValueError("a bookmark's created_at is a timestamp string or null")
        if type(cells) is not int or cells < 0:
            raise ValueError("a bookmark's cells is a count")
        ids, untimed = _ids(value.get("ids"), "ids"), _ids(value.get("untimed", []), "untimed")
        return cls(None if created is None else parse_timestamp(created), ids, cells, untimed)


def _ids(value: object, name: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise ValueError(f"a bookmark's {name} are a list of strings")
    return frozenset(value)


def advance(bookmark: Bookmark | None, cells: Iterable[TimelineCell]) -> Bookmark:
    """The bookmark once ``cells`` (oldest first) are exported after ``bookmark``."""
    current = bookmark or Bookmark()
    newest, ids, count, untimed = current.created_at, set(current.ids), current.cells, set(current.untimed)
    for cell in cells:
        count += 1
        created = cell.attributes.created_at
        if created is None:
            untimed.add(cell.id)
        elif newest is None or created > newest:
            newest, ids = created, {cell.id}
        elif created == newest:
            ids.add(cell.id)
    return Bookmark(newest, frozenset(ids), count, frozenset(untimed))


def next_page_size(offset: int, max_page_size: int) -> int:
    """Rule 3: the largest size up to ``max_page_size`` that divides ``offset``."""
    for size in range(min(offset, max_page_size), 0, -1):
        if offset % size == 0:
            return size
    raise ValueError("offset must be positive")


async def walk_since(
    fetch_newest_first: Fetch[TimelineCell],
    bookmark: Bookmark,
    endpoint: Endpoint,
    *,
    first_page_size: int = 10,
    max_page_size: int = 100,
    max_pages: int = 10_000,
    path: str = "",
) -> AsyncGenerator[list[TimelineCell], None]:
    """The cells newer than ``bookmark``, oldest first, as one list (nothing
    when there are none); ``fetch_newest_first(ask)`` gets a page of the
    timeline, newest first."""

    def plan(offset: int) -> int:
        return first_page_size if offset == 0 else next_page_size(offset, max_page_size)

    walk = Walk(
        endpoint,
        size=first_page_size,
        plan=plan,
        until=bookmark.is_older,
        everything=True,
        max_pages=max_pages,
        path=path,
    )
    new: list[TimelineCell] = []
    async with contextlib.aclosing(pages(walk, fetch_newest_first)) as found:
        async for page in found:
            new.extend(cell for cell in page if bookmark.is_new(cell))
    if new:
        yield _oldest_first(new)


def _oldest_first(newest_first: list[TimelineCell]) -> list[TimelineCell]:
    """Cells collected newest first, oldest first.  A comment posted during
    the walk is met after older ones (on a later page), so order by time,
    not only by reversing; equal times keep the server's order."""
    cells = newest_first[::-1]
    if all(cell.attributes.created_at is not None for cell in cells):
        cells.sort(key=lambda cell: cell.attributes.created_at)  # type: ignore[arg-type,return-value]
    return cells


def bookmarks_from_json(value: Mapping[str, object]) -> dict[str, Bookmark]:
    """Bookmarks by case id from a JSON object of :meth:`Bookmark.to_json` values."""
    return {case_id: Bookmark.from_json(mark) for case_id, mark in value.items()}


@frozen
class CaseSynced:
    """A case of a sync ended: ``cell_count`` new cells were given in its
    :class:`~aiocases.export.TimelinePage` events, and ``bookmark`` is where
    it stands now (``None`` after an ``error``: keep the old bookmark, and
    discard the case's pages)."""

    case_id: str
    index: int
    cell_count: int
    bookmark: Bookmark | None
    error: CasesError | None = None

    @property
    def ok(self) -> bool:
        """True when every new cell was fetched."""
        return self.error is None


SyncEvent = TimelinePage | CaseSynced


async def synced(
    events: AsyncGenerator[ExportEvent, None], bookmarks: Mapping[str, Bookmark], full_refresh: bool
) -> AsyncGenerator[SyncEvent, None]:
    """An export's events, each case's end carrying its new bookmark."""
    marks: dict[int, Bookmark] = {}
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, TimelinePage):
                start = marks.get(event.index)
                if start is None and not full_refresh:
                    start = bookmarks.get(event.case_id)
                marks[event.index] = advance(start, event.cells)
                yield event
                continue
            mark = marks.pop(event.index, None)
            if mark is None and event.error is None:  # no new cell: where it stood
                mark = (None if full_refresh else bookmarks.get(event.case_id)) or Bookmark()
            yield CaseSynced(event.case_id, event.index, event.cell_count, None if event.error else mark, event.error)
