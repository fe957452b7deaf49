"""The paging engine (aiocases/walk.py): its rules as one table of scenarios,
each a server behaviour and what a walk over it must give, with no sockets;
then "Search cases" through its adapter (aiocases/search.py), over servers
numbering pages every way seen, and hostile ones."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from attrs import define, field, frozen

from aiocases.errors import BadRequest, Declined, InconsistentPages, PageLimitExceeded
from aiocases.models import Case, CaseAttributes
from aiocases.search import SearchPage, SearchPages
from aiocases.sync import next_page_size
from aiocases.walk import Ask, Endpoint, Page, Walk, pages


@frozen
class Item:
    id: str


@define
class Server:
    """Serves ``items`` by page number and size, misbehaving as told."""

    items: list[Item]
    cap: int | None = None  # answers at most this many a page
    offsets: str = "capped"  # a capped server counts offsets by the size it gives, or by the size asked
    ignore_number: bool = False  # serves page 0 whatever is asked
    loop: int | None = None  # page numbers wrap after this many pages
    shuffle: bool = False  # a new order of the items on every request
    total: int | None = None  # states this total on every page
    insert_front: int = 0  # items added at the front before each page is served (newest first)
    asked: list[tuple[int, int]] = field(factory=list)

    def page(self, number: int, size: int) -> Page[Item]:
        self.asked.append((number, size))
        for _ in range(self.insert_front):
            self.items.insert(0, Item(f"new-{len(self.items)}"))
        if self.shuffle:
            random.Random(len(self.asked)).shuffle(self.items)
        if self.ignore_number:
            number = 0
        if self.loop is not None:
            number %= self.loop
        given = size if self.cap is None else min(size, self.cap)
        start = number * (given if self.offsets == "capped" else size)
        return Page(self.items[start : start + given], self.total)


def items(count: int) -> list[Item]:
    return [Item(f"i{n}") for n in range(count)]


async def walk(server: Server, endpoint: Endpoint | None = None, **settings: Any) -> list[str]:
    settings.setdefault("size", 100)
    settings.setdefault("max_pages", 1000)
    settings.setdefault("everything", False)
    engine: Walk[Item] = Walk(endpoint or Endpoint("timelines", 100), path="/p", **settings)

    async def fetch(ask: Ask) -> Page[Item]:
        return server.page(ask.number, ask.size)

    return [item.id async for page in pages(engine, fetch) for item in page]


@frozen
class Scenario:
    name: str
    server: Callable[[], Server]
    settings: dict[str, Any]
    expected: Sequence[str] | type[Exception]
    requests: int | None = None  # exactly this many, when set


TABLE = [
    # Rules 1 and 2: the end at a short page of a trusted size, at an empty page.
    Scenario("empty", lambda: Server(items(0)), {}, [], 1),
    Scenario("one short page", lambda: Server(items(5)), {}, [f"i{n}" for n in range(5)], 1),
    Scenario("exact pages", lambda: Server(items(200)), {}, [f"i{n}" for n in range(200)], 3),
    Scenario("pages of 7", lambda: Server(items(30)), {"size": 7}, [f"i{n}" for n in range(30)], 5),
    # Rule 3: a short page of an untrusted size is probed; a silent cap is learned.
    Scenario("untrusted short page", lambda: Server(items(150)), {"size": 200}, [f"i{n}" for n in range(150)], 2),
    Scenario("silent cap", lambda: Server(items(431), cap=100), {"size": 200}, [f"i{n}" for n in range(431)], 5),
    Scenario(
        "silent cap counting offsets by the size asked",
        lambda: Server(items(431), cap=100, offsets="requested"),
        {"size": 200},
        [f"i{n}" for n in range(431)],
        5,
    ),
    # Rule 4: duplicates.
    Scenario(
        "newest first, items pushed on",
        lambda: Server(items(25), insert_front=1),
        {"size": 10, "everything": True},
        [f"i{n}" for n in range(25)],  # checked as a subset below: new ones come too
    ),
    Scenario(
        "oldest first, an unstable order", lambda: Server(items(40), shuffle=True), {"size": 10}, InconsistentPages
    ),
    # Rule 5: no progress.
    Scenario(
        "page number ignored",
        lambda: Server(items(50), ignore_number=True),
        {"size": 10, "everything": True},
        InconsistentPages,
        4,
    ),
    Scenario("pages looping", lambda: Server(items(90), loop=3), {"size": 10, "everything": True}, InconsistentPages),
    # Rule 6: totals.
    Scenario(
        "total reached on a full page", lambda: Server(items(200), total=200), {}, [f"i{n}" for n in range(200)], 2
    ),
    Scenario("total short of the items", lambda: Server(items(250), total=450), {}, InconsistentPages),
    Scenario(
        "short page, the total says more",
        lambda: Server(items(45), cap=10, total=45),
        {},
        [f"i{n}" for n in range(45)],
        5,
    ),
    # Rule 7: bounds.
    Scenario("max_pages", lambda: Server(items(1000)), {"size": 10, "max_pages": 5}, PageLimitExceeded, 5),
]


@pytest.mark.parametrize("scenario", TABLE, ids=lambda s: s.name)
async def test_rules(scenario: Scenario) -> None:
    server = scenario.server()
    if isinstance(scenario.expected, type):
        with pytest.raises(scenario.expected):
            await walk(server, **scenario.settings)
    else:
        got = await walk(server, **scenario.settings)
        assert len(got) == len(set(got))
        if scenario.server().insert_front:
            assert set(scenario.expected) <= set(got)
        else:
            assert got == list(scenario.expected)
    if scenario.requests is not None:
        assert len(server.asked) == scenario.requests, server.asked


async def test_the_cap_is_kept_for_later_walks_of_the_endpoint() -> None:
    endpoint = Endpoint("timelines", 100)
    await walk(Server(items(250), cap=100), endpoint, size=200)
    later = Server(items(250), cap=100)
    assert len(await walk(later, endpoint, size=200)) == 250
    assert later.asked == [(0, 100), (1, 100), (2, 100)]
    assert not endpoint.trusts(200) and endpoint.trusts(100)


async def test_a_proven_size_is_trusted() -> None:
    endpoint = Endpoint("timelines", 100)
    await walk(Server(items(450)), endpoint, size=200)  # full pages of 200 came back
    proven = Server(items(150))
    await walk(proven, endpoint, size=200)
    assert len(proven.asked) == 1


async def test_until_ends_the_walk_before_its_item() -> None:
    server = Server(items(50))
    got = await walk(server, size=10, until=lambda item: item.id == "i23")
    assert got == [f"i{n}" for n in range(23)] and len(server.asked) == 3


async def test_a_plan_grows_pages_aligned() -> None:
    server = Server(items(400))

    def plan(offset: int) -> int:
        return 10 if offset == 0 else next_page_size(offset, 100)

    got = await walk(server, size=10, plan=plan, everything=True)
    assert got == [f"i{n}" for n in range(400)]
    assert server.asked == [(0, 10), (1, 10), (1, 20), (1, 40), (1, 80), (2, 80), (3, 80), (4, 80), (4, 100)]


# -- rule 8: read-ahead -----------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 5, 50, 99, 100, 101, 150, 199, 250, 500, 1000, 2000, 5000])
@pytest.mark.parametrize("prefetch", [16, 4, 1])
async def test_read_ahead_never_costs_more_than_it_may(count: int, prefetch: int) -> None:
    server = Server(items(count))
    engine: Walk[Item] = Walk(Endpoint("timelines", 100), size=100, max_pages=1000, path="/p", everything=False,
                              read_ahead=prefetch)  # fmt: skip

    async def fetch(ask: Ask) -> Page[Item]:
        return server.page(ask.number, ask.size)

    got = [item.id async for page in pages(engine, fetch) for item in page]
    assert got == [f"i{n}" for n in range(count)]
    need = count // 100 + 1
    sent = len(server.asked)
    assert sent - engine.wasted == need
    if count < 100:
        assert sent == 1  # a case that fits in its first page costs one request
    assert sent <= need + max(1, need // 2) and sent <= need + 15
    assert engine.wasted <= prefetch - 1


async def test_a_page_read_ahead_the_gate_declines_is_asked_again_when_needed() -> None:
    server = Server(items(1000))
    engine: Walk[Item] = Walk(Endpoint("timelines", 100), size=100, max_pages=1000, path="/p", everything=False,
                              read_ahead=16)  # fmt: skip
    declined = []

    async def fetch(ask: Ask) -> Page[Item]:
        if ask.speculative and ask.number % 3:  # the gate declines two asked ahead in three
            declined.append(ask.number)
            raise Declined
        return server.page(ask.number, ask.size)

    got = [item.id async for page in pages(engine, fetch) for item in page]
    assert got == [f"i{n}" for n in range(1000)]
    asked = [number for number, _ in server.asked]
    assert declined and len(asked) == len(set(asked))  # declined pages were asked again when needed, once
    assert len(asked) - engine.wasted == 11


# -- "Search cases" through its adapter -----------------------------------------------

CASES = [Case(id=f"case-{n}", type="case", attributes=CaseAttributes(key=f"P-{n}")) for n in range(450)]


@define
class SearchServer:
    """A search over ``total`` cases, numbering pages as ``convention`` says."""

    total: int
    convention: str = "one-clamp"
    cap: int | None = None
    empty_from: int | None = None  # pages from this index on are empty
    ahead: bool = False  # says it served the page after the one it served
    asked: list[int] = field(factory=list)

    async def fetch(self, number: int, size: int) -> SearchPage:
        self.asked.append(number)
        size = size if self.cap is None else min(size, self.cap)
        pages = -(-self.total // size)
        cases = CASES[: self.total]
        if self.convention == "zero":
            index, current = number, number
        elif self.convention == "one-clamp":  # as recorded: counts from 1, takes 0 for 1
            index, current = max(number, 1) - 1, max(number, 1)
        elif self.convention == "one-echo":  # counts from 1, serves page 1 for 0 and says 0
            index, current = max(number, 1) - 1, number
        elif self.convention == "one-empty":  # counts from 1, page 0 is empty
            if number == 0:
                return SearchPage([], 0, pages, self.total)
            index, current = number - 1, number
        elif self.convention == "one-400":
            if number == 0:
                raise BadRequest(400, ["page[number] must be at least 1"])
            index, current = number - 1, number
        else:  # "silent": no meta at all, counts from 0
            return SearchPage(cases[number * size : (number + 1) * size])
        if self.empty_from is not None and index >= self.empty_from:
            return SearchPage([], current, pages, self.total)
        return SearchPage(cases[index * size : (index + 1) * size], current + self.ahead, pages, self.total)


async def search(server: SearchServer, size: int = 100, endpoint: Endpoint | None = None) -> list[str]:
    engine: Walk[Case] = Walk(
        endpoint or Endpoint("search", 0), size=size, max_pages=1000, path="/api/v2/cases", everything=True
    )
    return [case.id async for page in pages(engine, SearchPages(server.fetch, "/api/v2/cases").page) for case in page]


@pytest.mark.parametrize("total", [0, 1, 6, 7, 40, 450])
@pytest.mark.parametrize("size", [1, 7, 100])
@pytest.mark.parametrize("convention", ["zero", "one-clamp", "one-echo", "one-empty", "one-400", "silent"])
async def test_every_case_once_whichever_way_pages_are_numbered(total: int, size: int, convention: str) -> None:
    server = SearchServer(total, convention)
    assert await search(server, size) == [f"case-{n}" for n in range(total)]
    need = -(-total // size) if convention != "silent" else total // size + 1
    assert len(server.asked) <= max(need, 1) + 2


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        (SearchServer(450, cap=10), None),  # capped at 10 a page: every case, the cap learned
        (SearchServer(450, empty_from=2), InconsistentPages),  # page 2 empty: 200 of 450 is no success
        (SearchServer(450, empty_from=0), InconsistentPages),  # every page empty, though 450 match
        (SearchServer(450, ahead=True), InconsistentPages),  # meta.page.current one ahead of what it served
    ],
    ids=["cap 10", "empty page 2", "every page empty", "current one ahead"],
)
async def test_hostile_search_servers_never_succeed_short(
    server: SearchServer, problem: type[Exception] | None
) -> None:
    if problem is None:
        endpoint = Endpoint("search", 0)
        assert await search(server, endpoint=endpoint) == [f"case-{n}" for n in range(450)]
        assert endpoint.cap == 10
    else:
        with pytest.raises(problem):
            await search(server)
