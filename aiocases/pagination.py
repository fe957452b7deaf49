"""Walking one timeline page by page.

"Get case timeline" pages are zero-based (``page[number]``) and the walk
ends at the first page shorter than ``page[size]``, so N cells take exactly
``N // page_size + 1`` requests.  Comments added while a walk runs shift
later pages when walking newest first; cells are therefore de-duplicated by
id, and a walk never yields one twice.

Oldest first, new comments land at the end and no page shifts, so only ids
near a page boundary could ever reappear: the walk remembers the last two
pages' ids, and its memory stays a few pages whatever the timeline's length.
Newest first, it remembers every id it has seen.

A walk is bounded: past ``max_pages`` pages it raises
:class:`~aiocases.errors.PageLimitExceeded` (a server that keeps answering
full pages of new ids would otherwise never end).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable

from aiocases.errors import DecodeError, PageLimitExceeded
from aiocases.models import TimelineCell

__all__ = ["FetchPage", "walk_pages", "walk_timeline"]

FetchPage = Callable[[int], Awaitable[list[TimelineCell]]]

# Full pages that bring nothing new before the walk calls the server broken
# (it would otherwise loop forever on a server that ignores page[number]).
_MAX_STALE_PAGES = 3
# Pages whose ids an oldest-first walk remembers.
_ASCENDING_MEMORY = 2


class _Seen:
    """The ids a walk has yielded: all of them, or only the last ``pages`` pages' worth."""

    def __init__(self, pages: int | None) -> None:
        self.ids: set[str] = set()
        self._pages: deque[list[str]] | None = None if pages is None else deque(maxlen=pages)

    def fresh(self, page: list[TimelineCell]) -> list[TimelineCell]:
        """The cells of ``page`` not seen before, each once; remembers them."""
        ids = [cell.id for cell in page]
        seen = self.ids
        if seen.isdisjoint(ids):  # the usual page: set operations only
            before = len(seen)
            seen.update(ids)
            fresh = page if len(seen) - before == len(ids) else _unique(page, set())
        else:
            fresh = _unique(page, seen)
        if self._pages is not None:
            self._pages.append(ids)
            self.ids = set().union(*self._pages)
        return fresh


def _unique(cells: list[TimelineCell], seen: set[str]) -> list[TimelineCell]:
    """The cells whose ids are not in ``seen``, each once; adds them to ``seen``."""
    unique = []
    for cell in cells:
        if cell.id not in seen:
            seen.add(cell.id)
            unique.append(cell)
    return unique


async def walk_pages(
    fetch_page: FetchPage, page_size: int, *, ascending: bool, max_pages: int, path: str = ""
) -> AsyncGenerator[list[TimelineCell], None]:
    """Yield the cells of the pages ``fetch_page(0)``, ``fetch_page(1)``, …
    that were not seen on an earlier page, stopping after the first page
    shorter than ``page_size``.  ``path`` names the walk in its errors."""
    seen = _Seen(_ASCENDING_MEMORY if ascending else None)
    stale = 0
    for page_number in range(max_pages):
        page = await fetch_page(page_number)
        fresh = seen.fresh(page) if page else page
        if fresh:
            yield fresh
        if len(page) < page_size:
            return
        stale = 0 if fresh else stale + 1
        if stale >= _MAX_STALE_PAGES:
            raise DecodeError(
                f"{stale} full pages in a row held only cells already seen (is page[number] ignored?);"
                f" stopped at page {page_number}",
                method="GET",
                path=path,
            )
    raise PageLimitExceeded(max_pages, method="GET", path=path)


async def walk_timeline(
    fetch_page: FetchPage, page_size: int, *, ascending: bool, max_pages: int, path: str = ""
) -> AsyncGenerator[TimelineCell, None]:
    """Yield each cell of the walk of :func:`walk_pages` once."""
    pages = walk_pages(fetch_page, page_size, ascending=ascending, max_pages=max_pages, path=path)
    async with contextlib.aclosing(pages):
        async for page in pages:
            for cell in page:
                yield cell
