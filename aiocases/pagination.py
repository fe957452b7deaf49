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

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Protocol, TypeVar

from attrs import field, frozen

from aiocases.errors import DecodeError, PageLimitExceeded
from aiocases.models import TimelineCell
from aiocases.tasks import cancel_and_wait

__all__ = ["TRUSTED_PAGE_SIZE", "FetchPage", "PageSizes", "Walk", "unique", "walk_pages", "walk_timeline"]

_log = logging.getLogger("aiocases")

#: Fetches one page: ``fetch_page(page_number, page_size)``.
FetchPage = Callable[[int, int], Awaitable[list[TimelineCell]]]

# Full pages that bring nothing new before the walk calls the server broken
# (it would otherwise loop forever on a server that ignores page[number]).
_MAX_STALE_PAGES = 3
# Pages whose ids an oldest-first walk remembers.
_ASCENDING_MEMORY = 2


class _Seen:
    """The ids a walk has yielded: all of them, or only the last ``pages`` pages' worth."""

    def __init__(self, pages: int | None) -> None:
        self._all: set[str] | None = set() if pages is None else None
        self._recent: deque[set[str]] = deque(maxlen=pages or 1)

    def fresh(self, page: list[TimelineCell]) -> list[TimelineCell]:
        """The cells of ``page`` not seen before, each once; remembers them."""
        ids = {cell.id for cell in page}
        seen = self._all
        if seen is None:  # bounded: only the recent pages' ids count
            new = len(ids) == len(page) and all(recent.isdisjoint(ids) for recent in self._recent)
            fresh = page if new else unique(page, set().union(*self._recent))
            self._recent.append(ids)
            return fresh
        # The usual page has no id seen before and none twice: set operations only.
        if len(ids) == len(page) and seen.isdisjoint(ids):
            seen.update(ids)
            return page
        return unique(page, seen)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_I = TypeVar("_I", bound=_HasId)


def unique(items: list[_I], seen: set[str]) -> list[_I]:
    """The items (cells, cases) whose ids are not in ``seen``, each once, in order; adds them to ``seen``."""
    kept = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            kept.append(item)
    return kept


class PageSizes:
    """What a client has learned of its server's page sizes (one origin per
    client), per endpoint: the sizes it has seen honoured (a full page of that
    size came back) and the size it caps larger requests to.  Shared by the
    client's walks.

    The rules (see the module's docstring of the walk below):

    * a size up to :data:`TRUSTED_PAGE_SIZE`, or one seen honoured, is trusted:
      a page shorter than it is the last;
    * past a learned cap, a walk asks for the cap's size from its first page.
    """

    def __init__(self) -> None:
        self._honoured: dict[str, set[int]] = {}
        self._caps: dict[str, int] = {}

    def first(self, endpoint: str, size: int) -> int:
        """The size a walk asking for ``size`` starts with."""
        cap = self._caps.get(endpoint)
        return size if cap is None else min(size, cap)

    def trusted(self, endpoint: str, size: int) -> bool:
        """Whether a page shorter than ``size`` is the last one."""
        cap = self._caps.get(endpoint)
        return (
            size <= TRUSTED_PAGE_SIZE or size in self._honoured.get(endpoint, ()) or (cap is not None and size <= cap)
        )

    def honoured(self, endpoint: str, size: int) -> None:
        """A full page of ``size`` came back."""
        self._honoured.setdefault(endpoint, set()).add(size)

    def capped(self, endpoint: str, requested: int, cap: int) -> None:
        """The server answered ``cap`` cells to a request for ``requested`` and had more."""
        if self._caps.get(endpoint) != cap:
            _log.warning(
                "the server caps page[size] at %d on %s (asked for %d): later walks ask for %d",
                cap,
                endpoint,
                requested,
                cap,
            )
        self._caps[endpoint] = cap


#: Page sizes up to this are trusted without proof: the reference pages' maximum for "Search cases".
TRUSTED_PAGE_SIZE = 100


def _ignore_waste(requests: int) -> None:
    return None


@frozen
class Walk:
    """How to walk one timeline: ``page_size`` asked for, order, the bound
    ``max_pages``, ``path`` (names the walk in errors), ``prefetch`` (pages
    in flight at most, read-ahead; oldest-first walks only), what the client
    knows of page ``sizes``, and ``wasted``, told how many requests read
    ahead past the last page."""

    page_size: int
    ascending: bool
    max_pages: int
    path: str = ""
    prefetch: int = 1
    sizes: PageSizes = field(factory=PageSizes)
    endpoint: str = "timelines"
    wasted: Callable[[int], None] = _ignore_waste


# (page number, page, whether it is the last)
_Pages = AsyncGenerator[tuple[int, list[TimelineCell], bool], None]


async def walk_pages(fetch_page: FetchPage, walk: Walk) -> AsyncGenerator[list[TimelineCell], None]:
    """Yield the cells of the pages ``fetch_page(0, size)``, ``fetch_page(1, size)``, …
    that were not seen on an earlier page, stopping after the first page
    shorter than a trusted size.

    A server may return fewer cells than asked without saying so.  A short
    page of a size not yet trusted (``walk.sizes``) is therefore not taken as
    the last: the walk asks for the next page at the size that came back,
    ``k`` (page 1 of size ``k`` starts right after what was seen, whether the
    server counts offsets from the size asked or the size it gave).  Empty,
    the walk is done (one request more than otherwise); cells, the server
    capped the size at ``k``: the walk goes on at ``k``, and the cap is
    remembered.

    Oldest first, at a trusted size, with ``prefetch`` above 1, pages are read
    ahead: one page ahead, doubling while pages come back full, up to
    ``prefetch`` in flight.  Pages still come out in order; the requests past
    the last page (at most ``prefetch - 1``) are cancelled and reported to
    ``walk.wasted``.
    Newest first, pages shift as comments arrive, and the walk stays sequential."""
    seen = _Seen(_ASCENDING_MEMORY if walk.ascending else None)
    size = walk.sizes.first(walk.endpoint, walk.page_size)
    ahead = walk.ascending and walk.prefetch > 1 and walk.sizes.trusted(walk.endpoint, size)
    pages = _read_ahead(fetch_page, walk, size) if ahead else _one_by_one(fetch_page, walk, size)
    stale = 0
    async with contextlib.aclosing(pages):
        async for page_number, page, last in pages:
            fresh = seen.fresh(page) if page else page
            if fresh:
                yield fresh
            if last:
                return
            stale = 0 if fresh else stale + 1
            if stale >= _MAX_STALE_PAGES:
                raise DecodeError(
                    f"{stale} full pages in a row held only cells already seen (is page[number] ignored?);"
                    f" stopped at page {page_number}",
                    method="GET",
                    path=walk.path,
                )
    raise PageLimitExceeded(walk.max_pages, method="GET", path=walk.path)


async def _one_by_one(fetch_page: FetchPage, walk: Walk, size: int) -> _Pages:
    """Pages one request at a time, learning the server's page sizes on the way."""
    sizes, endpoint = walk.sizes, walk.endpoint
    probing = False
    for page_number in range(walk.max_pages):
        page = await fetch_page(page_number, size)
        if probing and page:
            sizes.capped(endpoint, walk.page_size, size)
        probing = False
        if len(page) == size:
            sizes.honoured(endpoint, size)
            yield page_number, page, False
        elif not page or sizes.trusted(endpoint, size):
            yield page_number, page, True
        else:  # short, at a size the server has not shown it honours: capped, or the last page
            yield page_number, page, False
            size, probing = len(page), True


async def _read_ahead(fetch_page: FetchPage, walk: Walk, size: int) -> _Pages:
    """Pages of a trusted ``size``, several in flight, in order."""
    in_flight: deque[asyncio.Task[list[TimelineCell]]] = deque()
    window, requested = 1, 0
    try:
        for page_number in range(walk.max_pages):
            while len(in_flight) <= window and requested < walk.max_pages:
                in_flight.append(asyncio.ensure_future(fetch_page(requested, size)))
                requested += 1
            page = await in_flight.popleft()
            last = len(page) < size
            if last:  # the requests past the end are cancelled, not waited for
                walk.wasted(len(in_flight))
                await cancel_and_wait(in_flight)
                in_flight.clear()
            else:
                window = min(walk.prefetch - 1, window * 2)
            yield page_number, page, last
    finally:
        await cancel_and_wait(in_flight)


async def walk_timeline(fetch_page: FetchPage, walk: Walk) -> AsyncGenerator[TimelineCell, None]:
    """Yield each cell of the walk of :func:`walk_pages` once."""
    pages = walk_pages(fetch_page, walk)
    async with contextlib.aclosing(pages):
        async for page in pages:
            for cell in page:
                yield cell
