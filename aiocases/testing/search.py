""" "Search cases" for the fake: its filter language, sorting and pages.

A filter is terms separated by spaces, all of which a case must match:
``status:open`` (the deprecated status, or the status name, any case),
``priority:P1``, ``project:PROJ`` or ``project_id:<uuid>``, ``key:PROJ-12``,
and bare words (or ``"quoted phrases"``), found in the title ignoring case.
Another ``name:`` is a 400, as an unknown field would be.

Pages count from ``page_start`` (1 as the recorded server does, or 0): the
first page is ``page[number]=page_start``, and a server counting from 1 takes
0 for its first page too.  ``meta.page`` is ``{current, size (cases on this
page), total (pages)}`` and ``meta.total_cases`` the count of matches, as in
the recordings; ``included`` lists the authors.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping

from aiocases.models import JSON
from aiocases.testing.data import FakeCase

__all__ = ["SearchError", "parse_filter", "search_document"]

# From the lowest priority to the highest: descending puts P1 first.
_PRIORITY_ORDER = {"NOT_DEFINED": 0, "P5": 1, "P4": 2, "P3": 3, "P2": 4, "P1": 5}
_STATUS_ORDER = {"OPEN": 0, "IN_PROGRESS": 1, "CLOSED": 2}
_SORTS: Mapping[str, Callable[[FakeCase], object]] = {
    "created_at": lambda case: str(case.attributes["created_at"]),
    "priority": lambda case: _PRIORITY_ORDER.get(str(case.attributes["priority"]), -1),
    "status": lambda case: _STATUS_ORDER.get(str(case.attributes["status"]), 9),
}
Predicate = Callable[[FakeCase], bool]


class SearchError(ValueError):
    """A search the API would refuse (400): an unknown filter field, a bad page."""


def parse_filter(text: str) -> list[Predicate]:
    """The predicates of a filter, one per term."""
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise SearchError(f"invalid filter: {exc}") from None
    return [_term(term) for term in terms]


def _term(term: str) -> Predicate:
    name, colon, value = term.partition(":")
    if not colon:
        needle = term.lower()
        return lambda case: needle in str(case.attributes.get("title", "")).lower()
    wanted = value.lower()
    if name == "status":
        return lambda case: (
            wanted in (str(case.attributes["status"]).lower(), str(case.attributes["status_name"]).lower())
        )
    if name == "priority":
        return lambda case: str(case.attributes["priority"]).lower() == wanted
    if name == "project":
        return lambda case: case.key.lower().split("-")[0] == wanted
    if name == "project_id":
        return lambda case: case.project.lower() == wanted
    if name == "key":
        return lambda case: case.key.lower() == wanted
    raise SearchError(f"invalid filter: unknown field {name!r}")


def search_document(
    cases: Iterable[FakeCase], query: Mapping[str, str], page_start: int, cap: int | None = None
) -> dict[str, JSON]:
    """The answer to a search with these query parameters; SearchError for a 400."""
    try:
        size = int(query.get("page[size]", "10"))
        number = int(query.get("page[number]", str(page_start)))
    except ValueError:
        raise SearchError("page[size] and page[number] must be integers") from None
    if not 1 <= size <= 100 or number < 0:
        raise SearchError("page[size] must be from 1 to 100 and page[number] at least 0")
    sort = query.get("sort[field]", "created_at")
    if sort not in _SORTS or query.get("sort[asc]", "false") not in ("true", "false"):
        raise SearchError("sort[field] must be created_at, priority or status, and sort[asc] true or false")
    if cap is not None:  # a server answering fewer than asked, silently
        size = min(size, cap)
    predicates = parse_filter(query.get("filter", ""))
    found = [case for case in cases if all(predicate(case) for predicate in predicates)]
    found.sort(key=lambda case: (_SORTS[sort](case), case.key), reverse=query.get("sort[asc]", "false") == "false")
    current = max(number, page_start)  # a server counting from 1 takes 0 for its first page
    index = current - page_start
    page = found[index * size : (index + 1) * size]
    authors = {}
    for case in page:
        author = case.attributes["created_by_author"]
        assert isinstance(author, dict) and isinstance(author["content"], dict)
        content = author["content"]
        authors[content["ID"]] = {"id": content["ID"], "type": "user",
                                  "attributes": {k: v for k, v in content.items() if k != "ID"}}  # fmt: skip
    return {
        "data": [case.document(search=True) for case in page],
        "meta": {
            "page": {"current": current, "size": len(page), "total": -(-len(found) // size)},
            "total_cases": len(found),
        },
        "included": list(authors.values()),
    }
