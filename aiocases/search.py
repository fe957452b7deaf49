"""Walking "Search cases" page by page, whichever number its pages start at.

Datadog's spec disagrees with itself: ``page[number]`` is documented with a
default of 0, while the pagination extension says pages start at 1, and the
recorded server answers ``page[number]=1`` with the first page and
``meta.page.current: 1``.  A walk that guesses wrong skips the first page (a
server counting from 0, asked for 1) or yields it twice (a server taking 0 and
1 for the same page).  The rules, each tested without sockets
(``tests/test_search.py``):

1. The first request asks for page 0.
2. The next page asked for is one past the page the server says it served
   (``meta.page.current``, when that is the page asked for or the one after),
   else one past the page asked for: a server counting from 1 that took 0 for
   its first page reports 1, and the walk goes on at 2.
3. A first page that is empty while ``meta`` counts cases, or a 400 for page
   0, means the server has no page 0: the walk starts again at page 1.
4. Cases seen on the last two pages are not yielded again: a server that
   serves its first page for both 0 and 1 repeats it, and a case created
   during a newest-first walk pushes the others one place on.
5. The walk ends at an empty page or one shorter than the size asked for
   (``page[size]`` is at most 100, the documented maximum, so a short page is
   the last); ``meta.page.total`` is not trusted to end it, since which
   numbering it counts in is the very question.  Three full pages in a row
   with nothing new end it too (a server ignoring ``page[number]``), and
   ``max_pages`` bounds it.

Offsets shift when the result set changes during a walk.  Oldest first by
``created_at`` (the default) a new case lands at the end and is met; a case
that leaves the result set (closed during a walk over ``status:open``) moves
every later case one place back, so one of them can be missed: walk again
when that matters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable

from attrs import frozen

from aiocases.errors import BadRequest, PageLimitExceeded
from aiocases.models import JSON, Case, structure_list
from aiocases.pagination import unique
from aiocases.sansio import Request, data_of

__all__ = ["SearchPage", "read_page", "walk_search"]

# Full pages that bring nothing new before the walk stops.
_MAX_STALE_PAGES = 3
# Pages whose case ids the walk remembers.
_MEMORY = 2


@frozen
class SearchPage:
    """One page of "Search cases": its cases, and what ``meta.page`` says
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


FetchSearchPage = Callable[[int], Awaitable[SearchPage]]


async def walk_search(fetch: FetchSearchPage, page_size: int, max_pages: int) -> AsyncGenerator[Case, None]:
    """Every case of a search, each once, by the rules above; ``fetch(n)``
    gets the page numbered ``n`` as the server counts."""
    number, page = await _first_page(fetch)
    recent: deque[set[str]] = deque(maxlen=_MEMORY)
    stale = pages = 0
    while True:
        pages += 1
        ids = {case.id for case in page.cases}
        fresh = [case for case in page.cases if not any(case.id in seen for seen in recent)]
        recent.append(ids)
        for case in unique(fresh, set()):
            yield case
        if len(page.cases) < page_size:
            return
        stale = 0 if fresh else stale + 1
        if stale >= _MAX_STALE_PAGES:
            return
        if pages >= max_pages:
            raise PageLimitExceeded(max_pages, path="/api/v2/cases")
        number = _served(number, page.current) + 1
        page = await fetch(number)


async def _first_page(fetch: FetchSearchPage) -> tuple[int, SearchPage]:
    """Page 0, unless the server shows it has none (rule 3): then page 1."""
    try:
        page = await fetch(0)
    except BadRequest:
        return 1, await fetch(1)
    if not page.cases and page.counts_cases:
        return 1, await fetch(1)
    return 0, page


def _served(asked: int, current: int | None) -> int:
    """The page number the server served, for counting on from it: its
    ``current`` when that is the page asked for or the one after (a server
    counting from 1 asked for 0), else the page asked for."""
    return current if current in (asked, asked + 1) else asked
