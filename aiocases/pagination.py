"""Walking a timeline page by page, and exporting many timelines at once.

"Get case timeline" pages are zero-based (``page[number]``) and the walk
ends at the first page shorter than ``page[size]``, so N cells take exactly
``N // page_size + 1`` requests.  Comments added while a walk runs shift
later pages (newest first is the default order); cells are therefore
de-duplicated by id, and a walk never yields one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable

from attrs import frozen

from aiocases.errors import CasesError, DecodeError
from aiocases.models import TimelineCell

__all__ = ["CaseIds", "CaseTimeline", "export", "walk_pages", "walk_timeline"]

#: Case ids for an export: any iterable or async iterable of strings.
CaseIds = Iterable[str] | AsyncIterable[str]
FetchPage = Callable[[int], Awaitable[list[TimelineCell]]]

# Full pages that bring nothing new before the walk calls the server broken
# (it would otherwise loop forever on a server that ignores page[number]).
_MAX_STALE_PAGES = 3


async def walk_pages(fetch_page: FetchPage, page_size: int) -> AsyncGenerator[list[TimelineCell], None]:
    """Yield the cells of the pages ``fetch_page(0)``, ``fetch_page(1)``, …
    that were not seen on an earlier page, stopping after the first page
    shorter than ``page_size``."""
    seen: set[str] = set()
    stale = 0
    page_number = 0
    while True:
        page = await fetch_page(page_number)
        # Cells shift onto the next page when comments arrive (newest first);
        # the usual page has none seen before and no id twice: set operations only.
        ids = [cell.id for cell in page]
        before = len(seen)
        fresh = page if seen.isdisjoint(ids) else []
        if fresh:
            seen.update(ids)
            if len(seen) - before != len(ids):
                fresh = _unique(page, set())
        elif page:
            fresh = _unique(page, seen)
        if fresh:
            yield fresh
        if len(page) < page_size:
            return
        stale = 0 if fresh else stale + 1
        if stale >= _MAX_STALE_PAGES:
            raise DecodeError(
                f"{stale} full pages in a row held only cells already seen (is page[number] ignored?);"
                f" stopped at page {page_number}"
            )
        page_number += 1


def _unique(cells: list[TimelineCell], seen: set[str]) -> list[TimelineCell]:
    """The cells whose ids are not in ``seen``, each once; adds them to ``seen``."""
    unique = []
    for cell in cells:
        if cell.id not in seen:
            seen.add(cell.id)
            unique.append(cell)
    return unique


async def walk_timeline(fetch_page: FetchPage, page_size: int) -> AsyncGenerator[TimelineCell, None]:
    """Yield each cell of the walk of :func:`walk_pages` once."""
    async with contextlib.aclosing(walk_pages(fetch_page, page_size)) as pages:
        async for page in pages:
            for cell in page:
                yield cell


@frozen
class CaseTimeline:
    """One case's result in an export: its cells in the order walked, or the
    error that stopped it (``cells`` is then empty: a case is all or nothing)."""

    case_id: str
    cells: tuple[TimelineCell, ...]
    error: CasesError | ValueError | None = None

    @property
    def ok(self) -> bool:
        """True when every cell was fetched."""
        return self.error is None


ExportOne = Callable[[str], Awaitable[CaseTimeline]]


async def _case_ids(case_ids: CaseIds) -> AsyncIterator[str]:
    if isinstance(case_ids, AsyncIterable):
        async for case_id in case_ids:
            yield case_id
    else:
        for case_id in case_ids:
            yield case_id


async def export(
    case_ids: CaseIds, export_one: ExportOne, concurrency: int, track: set[asyncio.Task[CaseTimeline]]
) -> AsyncGenerator[CaseTimeline, None]:
    """Run ``export_one`` over ``case_ids`` with at most ``concurrency`` cases
    in progress, pulling ids only as places free up, and yield each result as
    it finishes.  Closing or cancelling the generator cancels and awaits every
    case it started.  Each case's task is also in ``track`` while it runs, so
    whoever owns the connection can cancel it when closing."""
    source = _case_ids(case_ids).__aiter__()
    running: set[asyncio.Task[CaseTimeline]] = set()
    done: set[asyncio.Task[CaseTimeline]] = set()
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < concurrency:
                try:
                    case_id = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                task = asyncio.ensure_future(export_one(case_id))
                running.add(task)
                track.add(task)
                task.add_done_callback(track.discard)
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            while done:
                task = done.pop()
                if task.cancelled():
                    raise RuntimeError("the client was closed while this export was running")
                yield task.result()
    finally:
        for task in done:  # finished but never handed out: their errors are seen
            if not task.cancelled():
                task.exception()
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        await _aclose(source)


async def _aclose(iterator: AsyncIterator[str]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
