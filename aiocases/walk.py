"""The one paging engine: every walk over pages (timelines in both orders,
"Search cases", the sync walk) is a :class:`Walk` driven by :func:`pages`.

A walk asks for pages by offset: page ``n`` of size ``s`` holds the items
``[n * s, (n + 1) * s)``, and the offset is how many items the server has
handed so far.  An endpoint adapter turns a page number and size into a
request and the answer into a :class:`Page` (its items, and the total the
server states, if it states one).  The rules, tested as one table of scenarios
in ``tests/test_walk.py``:

1. Sizes.  A walk asks for ``size`` items a page, or what its ``plan`` says
   for the offset reached (the sync walk grows its pages).  A size is trusted
   when the endpoint trusts it without proof (timelines: up to 100; search:
   none), or once a full page of it came back; never above a cap the endpoint
   learned (rule 3), where later walks start.
2. The end.  A walk ends at an empty page, at a short page of a trusted size,
   once it has seen the total the server states, or where its ``until``
   says (the sync walk: the first cell older than its bookmark).
3. Probing.  A short page that is not the end (a size not trusted, or a total
   not yet reached) is probed: the next page is asked at the size that came
   back, ``k``.  Empty, the walk ends; items, the server caps pages at ``k``,
   which the endpoint remembers (logged once at WARNING).
4. Duplicates.  An item whose id the walk has met is not yielded again.
   Walks whose pages shift legitimately remember every id: newest first (a
   new comment pushes the others on) and search (a case's sort key may
   change).  Oldest-first timelines, where new cells land at the end,
   remember the last two pages, and an id met twice there means the server's
   order changed between requests, so cells may have been skipped:
   :class:`~aiocases.errors.InconsistentPages`.
5. Progress.  Three full pages in a row with nothing new raise
   :class:`~aiocases.errors.InconsistentPages` (``page[number]`` ignored,
   pages looping).
6. Totals.  A walk that ends having met fewer items than the total the
   server stated raises :class:`~aiocases.errors.InconsistentPages` rather
   than succeed short: an item added ahead of the walk while it ran, or one
   that moved (its sort key changed), pushes another past a page boundary.
7. Bounds.  No walk asks for more than ``max_pages`` pages:
   :class:`~aiocases.errors.PageLimitExceeded`.
8. Read-ahead (``read_ahead`` above 1, oldest-first timelines at a trusted
   size, no plan): nothing is asked ahead until a full page came back, so a
   case that fits in one page costs one request.  With ``f`` full pages back,
   up to ``min(read_ahead - 1, 15, max(1, (f + 1) // 2))`` pages are asked
   past the next one: the requests past the last page never exceed half of
   those the walk needed, nor 15.  Pages still come out in order; those asked
   past the last are cancelled and counted (``wasted``).  Asks past the next
   page are *speculative*: the gate sends them only while no other request
   waits and the window has budget to spare, else declines them
   (:class:`~aiocases.errors.Declined`), and the page is asked for again,
   as any other, when the walk needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from attrs import frozen

from aiocases.errors import Declined, InconsistentPages, PageLimitExceeded
from aiocases.tasks import cancel_and_wait

__all__ = ["Ask", "Endpoint", "Page", "Walk", "pages"]

_log = logging.getLogger("aiocases")


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)

# Rule 5: full pages in a row with nothing new.
_MAX_STALE_PAGES = 3
# Rule 4: pages whose ids an oldest-first timeline walk remembers.
_RECENT_PAGES = 2
# Rule 8: pages asked past the next one, at most.
_MAX_AHEAD = 15


@frozen
class Page(Generic[T]):
    """One page as the endpoint adapter read it: its items, and how many
    items the whole walk should see when the server states it."""

    items: Sequence[T]
    total: int | None = None


@frozen
class Ask:
    """A page to ask for: page ``number`` at ``size`` items a page (so it
    starts at item ``number * size``); ``speculative`` when read ahead of the
    page the walk needs next (rule 8)."""

    number: int
    size: int
    speculative: bool = False


class Endpoint:
    """What a client has learned of one endpoint's page sizes (rules 1 and 3),
    shared by its walks: the sizes seen honoured and the cap, if any.
    ``trusted``: sizes up to this are trusted without proof (0: none)."""

    def __init__(self, name: str, trusted: int) -> None:
        self.name = name
        self.trusted = trusted
        self.cap: int | None = None
        self._honoured: set[int] = set()

    def first(self, size: int) -> int:
        """The size a walk asking for ``size`` starts with."""
        return size if self.cap is None else min(size, self.cap)

    def trusts(self, size: int) -> bool:
        """Whether a page shorter than ``size`` can be the last."""
        if self.cap is not None and size > self.cap:
            return False
        return size <= self.trusted or size in self._honoured

    def honoured(self, size: int) -> None:
        """A full page of ``size`` came back."""
        self._honoured.add(size)

    def capped(self, asked: int, cap: int) -> None:
        """The server answered ``cap`` items to a page of ``asked`` and had more."""
        if self.cap != cap:
            _log.warning(
                "the server caps page[size] at %d on %s (asked for %d): later walks ask for %d",
                cap,
                self.name,
                asked,
                cap,
            )
        self.cap = cap


class _Seen:
    """The ids a walk has met (rule 4): all, or those of the last pages."""

    def __init__(self, everything: bool, path: str) -> None:
        self._all: set[str] | None = set() if everything else None
        self._recent: deque[set[str]] = deque(maxlen=_RECENT_PAGES)
        self._path = path

    def fresh(self, items: Sequence[T]) -> list[T]:
        """The items not met before, each once; remembers them."""
        ids = {item.id for item in items}
        seen = self._all
        if seen is None:
            if len(ids) != len(items) or not all(recent.isdisjoint(ids) for recent in self._recent):
                raise InconsistentPages(
                    f"{self._repeated(items)!r:.80} came twice in an oldest-first walk: the server's order changed"
                    " between requests, so items may have been skipped; walk again",
                    method="GET",
                    path=self._path,
                )
            self._recent.append(ids)
            return list(items)
        if len(ids) == len(items) and seen.isdisjoint(ids):  # the usual page: set operations only
            seen |= ids
            return list(items)
        kept = []
        for item in items:
            if item.id not in seen:
                seen.add(item.id)
                kept.append(item)
        return kept

    def _repeated(self, items: Sequence[T]) -> str:
        met: set[str] = set()
        for item in items:
            if item.id in met or any(item.id in recent for recent in self._recent):
                return item.id
            met.add(item.id)
        return ""  # pragma: no cover - called only when there is one


class Walk(Generic[T]):
    """The state of one walk, by the rules above; no I/O.

    ``size``: items a page asked for; ``plan(offset)``: the size of the page
    at ``offset`` instead (rule 1); ``everything``: remember every id (rule
    4); ``until(item)``: the walk ends before this item (rule 2);
    ``read_ahead``: pages in flight at most (rule 8); ``path`` names the walk
    in errors."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        size: int,
        max_pages: int,
        path: str,
        everything: bool,
        plan: Callable[[int], int] | None = None,
        until: Callable[[T], bool] | None = None,
        read_ahead: int = 1,
    ) -> None:
        self.endpoint = endpoint
        self.path = path
        self.done = False
        self.wasted = 0  # asks past the last page (rule 8)
        self._asked_size = size
        self._plan = plan
        self._until = until
        self._max_pages = max_pages
        self._seen: _Seen = _Seen(everything, path)
        self._size = endpoint.first(size if plan is None else plan(0))
        self._offset = 0  # items the server handed so far
        self._received = 0  # pages received
        self._full = 0  # full pages received, none short before them (rule 8)
        self._stale = 0
        self._count = 0  # items yielded
        self._total: int | None = None
        self._probing = False
        self._ahead = read_ahead - 1 if plan is None and not everything and endpoint.trusts(self._size) else 0

    def asks(self, in_flight: int) -> list[Ask]:
        """The pages to ask for now, ``in_flight`` being asked already (the
        pages from the next one needed on)."""
        if self.done:
            return []
        first = self._offset // self._size  # the page needed next
        ahead = min(self._ahead, _MAX_AHEAD, max(1, (self._full + 1) // 2)) if self._full else 0
        last = first + min(ahead, self._max_pages - self._received - 1)
        return [Ask(number, self._size, number > first) for number in range(first + in_flight, last + 1)]

    def receive(self, ask: Ask, page: Page[T]) -> list[T]:
        """The items of ``ask``'s page to yield; sets :attr:`done` at the end.

        Pages must be given in the order asked."""
        items = page.items
        self._received += 1
        if page.total is not None:
            self._total = page.total
        if self._probing and items:
            self.endpoint.capped(self._asked_size, ask.size)
        self._probing = False
        whole = len(items)
        stop = False
        if self._until is not None:
            for index, item in enumerate(items):
                if self._until(item):
                    items, stop = items[:index], True
                    break
        fresh = self._seen.fresh(items)
        self._count += len(fresh)
        self._offset += whole
        self.done = stop or self._ended(ask.size, whole, bool(fresh))
        if self.done:
            self._check_total()
        elif self._received >= self._max_pages:
            raise PageLimitExceeded(self._max_pages, method="GET", path=self.path)
        return fresh

    def _ended(self, size: int, whole: int, anything_new: bool) -> bool:
        """Rules 1, 2, 3 and 5 for a page of ``whole`` items asked at ``size``."""
        reached = self._total is not None and self._count >= self._total
        if whole == 0 or reached:
            return True
        if whole == size:
            self.endpoint.honoured(size)
            self._full += 1 if self._full == self._received - 1 else 0
            self._stale = 0 if anything_new else self._stale + 1
            if self._stale >= _MAX_STALE_PAGES:
                raise InconsistentPages(
                    f"{self._stale} full pages in a row held nothing new (is page[number] ignored, or do the"
                    f" pages loop?); stopped after {self._received} pages",
                    method="GET",
                    path=self.path,
                )
            if self._plan is not None:
                self._resize(self._plan(self._offset))
            return False
        if self.endpoint.trusts(size) and self._total is None:
            return True
        self._probing = True  # rule 3: short, and not trusted to be the last
        self._resize(whole)
        return False

    def _resize(self, size: int) -> None:
        if size != self._size:
            if self._offset % size:
                raise InconsistentPages(
                    f"the next page starts at item {self._offset}, which no page of {size} items starts at",
                    method="GET",
                    path=self.path,
                )
            self._size, self._ahead = size, 0

    def _check_total(self) -> None:
        if self._total is not None and self._total > self._count:
            raise InconsistentPages(
                f"the server counts {self._total} items but the walk met {self._count}: the pages do not add up"
                " (or the results changed during the walk); walk again",
                method="GET",
                path=self.path,
            )


#: Gets one page: ``fetch(ask)``.
Fetch = Callable[[Ask], Awaitable[Page[T]]]


async def pages(walk: Walk[T], fetch: Fetch[T]) -> AsyncGenerator[list[T], None]:
    """The items of ``walk``, page by page, each list once (empty pages are
    not yielded); pages asked ahead stay in flight while the consumer works."""
    in_flight: deque[tuple[Ask, asyncio.Future[Page[T]]]] = deque()
    started: set[int] = set()  # pages read ahead whose request has begun

    async def ahead(ask: Ask) -> Page[T]:
        started.add(ask.number)
        try:
            return await fetch(ask)
        except Declined:
            started.discard(ask.number)
            raise

    try:
        while not walk.done:
            asks = walk.asks(len(in_flight))
            if len(asks) == 1 and not in_flight:  # one page at a time: no task needed
                ask, page = asks[0], await fetch(asks[0])
            else:
                in_flight.extend((ask, asyncio.ensure_future(ahead(ask))) for ask in asks)
                ask, task = in_flight.popleft()
                try:
                    page = await task
                except Declined:  # not sent: needed now
                    ask = Ask(ask.number, ask.size)
                    page = await fetch(ask)
            items = walk.receive(ask, page)
            if items:
                yield items
        walk.wasted += sum(ask.number in started for ask, _ in in_flight)
    finally:
        await cancel_and_wait(task for _, task in in_flight)
