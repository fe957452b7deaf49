"""Incremental export: bookmarks, and the walk that fetches only what is new.

A :class:`Bookmark` says how far a case's timeline has been exported: the
``created_at`` of the newest cell exported and the ids of the cells exported
with exactly that time (cells rarely share a timestamp; when they do, the ids
tell the new from the old).  It is plain data: :meth:`Bookmark.to_json` and
:meth:`Bookmark.from_json` keep it in any JSON store.

:func:`walk_since` walks a timeline newest first and stops at the bookmark.
The rules, tested without sockets (``tests/test_sync.py``, with hypothesis):

1. The first page is small (``first_page`` cells, 10 by default), so a case
   with nothing new costs one request, and so does a case with a few new
   comments: the page holds them and the bookmarked cell.
2. A cell is new if it is newer than the bookmark, or as new but not one of
   its ids.  The walk ends at the first cell that is not new, at a page
   shorter than asked for, or past ``max_pages``.
3. Pages grow as the walk goes on, and stay aligned: after ``n`` cells the
   next page is the largest size up to ``max_page_size`` that divides ``n``,
   asked for as page ``n / size``, so it starts exactly where the last one
   ended (10, 10, 20, 40, 80, 80, 80, 80, 100...).
4. A comment posted during the walk lands at the front (newest first) and
   pushes every cell one place on: the next page then starts with a cell
   already seen, which is skipped.  Nothing is ever skipped: pages only
   move toward the end.
5. The new cells are given oldest first, in one list (a case's new cells are
   held in memory until it ends; the first export of a case, which has no
   bookmark, walks oldest first page by page as ``export`` does).

What a bookmark cannot see: a comment edited (``modified_at``) or deleted
(``deleted_at``) after it was exported keeps its place in the timeline and
is not new.  A full refresh (export everything again and rewrite the
bookmarks) picks those up.  A server that removed cells from a timeline
outright would move later cells toward the front during a walk; the fake
marks them deleted instead, as the schema's ``deleted_at`` suggests.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterable, Mapping
from datetime import datetime

from attrs import frozen

from aiocases.errors import CasesError, PageLimitExceeded
from aiocases.export import ExportEvent, TimelinePage
from aiocases.models import JSON, TimelineCell, format_timestamp, parse_timestamp
from aiocases.pagination import FetchPage

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

# Ids kept for the newest instant: more cells than this sharing one
# timestamp is not a timeline any server makes.
_MAX_IDS = 64


@frozen
class Bookmark:
    """How far a case has been exported: ``created_at`` of its newest cell
    exported (``None``: no cell yet, or cells without one) and the ``ids`` of
    the cells exported with that time; ``cells`` counts every cell exported."""

    created_at: datetime | None = None
    ids: frozenset[str] = frozenset()
    cells: int = 0

    def is_new(self, cell: TimelineCell) -> bool:
        """Whether ``cell`` was not exported yet (rule 2)."""
        if cell.id in self.ids:
            return False
        created = cell.attributes.created_at
        if self.created_at is None or created is None:
            return True
        return created >= self.created_at

    def to_json(self) -> dict[str, JSON]:
        """The bookmark as JSON, for :meth:`from_json`."""
        ids: list[JSON] = [*sorted(self.ids)]
        created = None if self.created_at is None else format_timestamp(self.created_at)
        return {"created_at": created, "ids": ids, "cells": self.cells}

    @classmethod
    def from_json(cls, value: object) -> Bookmark:
        """A bookmark from :meth:`to_json`'s JSON; :class:`ValueError` for anything else."""
        if not isinstance(value, dict):
            raise ValueError(f"a bookmark is a JSON object, got {type(value).__name__}")
        created, ids, cells = value.get("created_at"), value.get("ids"), value.get("cells", 0)
        if created is not None and not isinstance(created, str):
            raise ValueError("a bookmark's created_at is a timestamp string or null")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("a bookmark's ids are a list of strings")
        if type(cells) is not int or cells < 0:
            raise ValueError("a bookmark's cells is a count")
        return cls(None if created is None else parse_timestamp(created), frozenset(ids), cells)


def advance(bookmark: Bookmark | None, cells: Iterable[TimelineCell]) -> Bookmark:
    """The bookmark once ``cells`` (oldest first) are exported after ``bookmark``."""
    current = bookmark or Bookmark()
    newest, ids, count = current.created_at, set(current.ids), current.cells
    for cell in cells:
        count += 1
        created = cell.attributes.created_at
        if created is None:
            if newest is None:
                ids.add(cell.id)
            continue
        if newest is None or created > newest:
            newest, ids = created, {cell.id}
        elif created == newest:
            ids.add(cell.id)
    if len(ids) > _MAX_IDS:
        ids = set(sorted(ids)[-_MAX_IDS:])
    return Bookmark(newest, frozenset(ids), count)


def next_page_size(offset: int, max_page_size: int) -> int:
    """Rule 3: the largest size up to ``max_page_size`` that divides ``offset``."""
    for size in range(min(offset, max_page_size), 0, -1):
        if offset % size == 0:
            return size
    raise ValueError("offset must be positive")


async def walk_since(
    fetch_newest_first: FetchPage,
    bookmark: Bookmark,
    *,
    first_page: int = 10,
    max_page_size: int = 100,
    max_pages: int = 10_000,
    path: str = "",
) -> AsyncGenerator[list[TimelineCell], None]:
    """The cells newer than ``bookmark``, oldest first, as one list (nothing
    when there are none); ``fetch_newest_first(page_number, page_size)``
    gets a page of the timeline, newest first."""
    new: list[TimelineCell] = []
    seen: set[str] = set()
    offset, size = 0, first_page
    for _ in range(max_pages):
        page = await fetch_newest_first(offset // size, size)
        offset += size
        ended = len(page) < size
        for cell in page:
            if cell.id in seen:
                continue  # pushed here by a comment posted during the walk (rule 4)
            if not bookmark.is_new(cell):
                ended = True
                break
            seen.add(cell.id)
            new.append(cell)
        if ended:
            if new:
                yield _oldest_first(new)
            return
        size = next_page_size(offset, max_page_size)
    raise PageLimitExceeded(max_pages, method="GET", path=path)


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
    """A case of a sync ended: ``cells`` new cells were given in its
    :class:`~aiocases.export.TimelinePage` events, and ``bookmark`` is where
    it stands now (``None`` after an ``error``: keep the old bookmark, and
    discard the case's pages)."""

    case_id: str
    index: int
    cells: int
    bookmark: Bookmark | None
    error: CasesError | ValueError | None = None

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
            yield CaseSynced(event.case_id, event.index, event.cells, None if event.error else mark, event.error)
