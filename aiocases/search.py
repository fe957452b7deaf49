""" "Search cases" for the paging engine (:mod:`aiocases.walk`): where its
pages start, and what its ``meta`` says.

Datadog's spec disagrees with itself: ``page[number]`` is documented with a
default of 0, while its pagination extension says pages start at 1, and the
recorded server answers ``page[number]=1`` with the first page and
``meta.page.current: 1``.  A walk that guesses wrong skips the first page or
yields it twice.  The adapter's rules (every other rule is the walk's):

1. The first request asks for page 0.
2. The server's numbering is learned from that first answer: a
   ``meta.page.current`` of 1 means it counts from 1 (it took 0 for its
   first page), else from 0.
3. A 400 for page 0, or a first page that is empty while ``meta`` counts
   cases, means the server has no page 0: page 1 is asked for instead, and
   pages count from 1.
4. Every later page must come back as the page asked for
   (``meta.page.current``, when present), or the walk raises
   :class:`~aiocases.errors.InconsistentPages`.
5. ``meta.total_cases`` is the walk's total: a walk that ends having met
   another number of cases raises.

Offsets shift when the result set changes during a walk.  Oldest first by
``created_at`` (the default) a new case lands at the end and is met; a case
that leaves the result set (closed during a walk over ``status:open``) moves
every later case one place back, and the totals then disagree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from attrs import frozen

from aiocases.errors import BadRequest, InconsistentPages
from aiocases.models import JSON, Case
from aiocases.operations import Request
from aiocases.parsing import structure_list
from aiocases.responses import data_of
from aiocases.walk import Ask, Page

__all__ = ["SearchPage", "SearchPages", "read_page"]


@frozen
class SearchPage:
    """One page of "Search cases": its cases, and what ``meta`` says
    (``None`` for what it leaves out): the page number the server served,
    its count of pages, and ``meta.total_cases``."""

    cases: list[Case]
    current: int | None = None
    total_pages: int | None = None
    total_cases: int | None = None

    @property
    def counts_cases(self) -> bool:
        """True when ``meta`` says the search has cases at all."""
        return bool(self.total_cases) or bool(self.total_pages)


def read_page(request: Request, document: JSON) -> SearchPage:
    """A "Search cases" document as a :class:`SearchPage`."""
    cases = structure_list(Case, data_of(request, document))
    meta = document.get("meta") if isinstance(document, dict) else None
    page = meta.get("page") if isinstance(meta, dict) else None
    page = page if isinstance(page, dict) else {}
    total_cases = meta.get("total_cases") if isinstance(meta, dict) else None
    return SearchPage(cases, _count(page.get("current")), _count(page.get("total")), _count(total_cases))


def _count(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


class SearchPages:
    """The pages of one search: ``fetch(number, size)`` gets the page the
    server numbers ``number``; :meth:`page` is the walk's fetch."""

    def __init__(self, fetch: Callable[[int, int], Awaitable[SearchPage]], path: str) -> None:
        self._fetch = fetch
        self._path = path
        self._start: int | None = None  # the number of the server's first page, once known

    async def page(self, ask: Ask) -> Page[Case]:
        """The page ``ask`` names, counted from the server's first."""
        if self._start is None:
            page = await self._first(ask.size)
        else:
            number = ask.number + self._start
            page = await self._fetch(number, ask.size)
            if page.current is not None and page.current != number:
                raise InconsistentPages(
                    f"asked for page {number}, the server says it served page {page.current}",
                    method="GET",
                    path=self._path,
                )
        return Page(page.cases, page.total_cases)

    async def _first(self, size: int) -> SearchPage:
        """Rules 1 to 3."""
        try:
            page = await self._fetch(0, size)
        except BadRequest:
            page = None
        if page is None or (not page.cases and page.counts_cases):
            self._start = 1
            return await self._fetch(1, size)
        self._start = 1 if page.current == 1 else 0
        return page
