"""Building requests: one pure function per API operation (no I/O, as
gidgethub's ``sansio`` makes them).

A :class:`Request` names its operation (the official Python client's method
name), its method, percent-encoded path and query, the rate-limit group it
counts against, the status its success has, and its ``effect``, which is what
a retry of it may do (see :mod:`aiocases.retry`):

* ``"read"``: nothing changes, however often it is sent;
* ``"set"``: it sets a state (watch, unwatch, edit or delete a comment):
  sent again, it sets the same state;
* ``"once"``: it acts again each time it is sent (adding a comment).

The client sets where the request goes (``origin``) and its credentials
(``headers``) before handing it to the transport, as httpx applies auth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final, Literal
from urllib.parse import quote, urlencode

import attrs
from attrs import field, frozen

from aiocases import arguments
from aiocases.errors import InvalidArgument

__all__ = [
    "SEARCH_MAX_PAGE_SIZE",
    "SEARCH_SORT_FIELDS",
    "Effect",
    "Request",
    "comment_case",
    "delete_case_comment",
    "list_case_timeline",
    "list_case_watchers",
    "search_cases",
    "unwatch_case",
    "update_case_comment",
    "watch_case",
]

Effect = Literal["read", "set", "once"]

_CASES: Final = "/api/v2/cases"
_NO_HEADERS: Mapping[str, str] = {}


@frozen
class Request:
    """One API call (see the module's docstring).  ``body`` is JSON, sent as
    ``application/json``; ``document`` says whether a success carries a JSON
    document the caller reads; ``gone_is_done`` that a 404 after a try that
    may have acted means the earlier try did the job (deleting a comment).
    ``headers`` never show in ``repr``."""

    operation: str
    method: str
    path: str
    query: str
    group: str
    expected: int
    body: bytes = field(default=b"", repr=False)
    document: bool = True
    effect: Effect = "read"
    gone_is_done: bool = False
    origin: str = ""
    headers: Mapping[str, str] = field(default=_NO_HEADERS, repr=False)

    @property
    def target(self) -> str:
        """Path and query as sent (no origin)."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def url(self) -> str:
        """Where the request goes: origin, path and query."""
        return self.origin + self.target

    def to(self, origin: str, headers: Mapping[str, str]) -> Request:
        """This request bound for ``origin`` with ``headers`` (credentials among them)."""
        return attrs.evolve(self, origin=origin, headers=headers)


def _case(case_id: str) -> str:
    return f"{_CASES}/{arguments.case_id(case_id)}"


def _comment_body(message: str) -> bytes:
    # ASCII-escaped: a lone surrogate in the text becomes a valid \\uXXXX escape.
    document = {"data": {"attributes": {"comment": arguments.message(message)}, "type": "case"}}
    return json.dumps(document, separators=(",", ":")).encode()


def list_case_timeline(case_id: str, page_number: int, page_size: int, ascending: bool) -> Request:
    """``GET /api/v2/cases/{case_id}/timelines``: one page, zero-based."""
    path = _case(case_id) + "/timelines"
    arguments.page(page_number, page_size, ascending)
    order = "true" if ascending else "false"
    query = f"page%5Bsize%5D={page_size}&page%5Bnumber%5D={page_number}&sort%5Bascending%5D={order}"
    return Request("list_case_timeline", "GET", path, query, "timelines", 200)


def list_case_watchers(case_id: str) -> Request:
    """``GET /api/v2/cases/{case_id}/watchers``."""
    return Request("list_case_watchers", "GET", _case(case_id) + "/watchers", "", "watchers", 200)


def watch_case(case_id: str, user_uuid: str) -> Request:
    """``POST /api/v2/cases/{case_id}/watchers/{user_uuid}``: 201, no body."""
    path = f"{_case(case_id)}/watchers/{arguments.user_uuid(user_uuid)}"
    return Request("watch_case", "POST", path, "", "watchers", 201, document=False, effect="set")


def unwatch_case(case_id: str, user_uuid: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/watchers/{user_uuid}``: 204."""
    path = f"{_case(case_id)}/watchers/{arguments.user_uuid(user_uuid)}"
    return Request("unwatch_case", "DELETE", path, "", "watchers", 204, document=False, effect="set")


def comment_case(case_id: str, message: str) -> Request:
    """``POST /api/v2/cases/{case_id}/comment``: 200, the new cell as ``data[0]``."""
    path = _case(case_id) + "/comment"
    return Request("comment_case", "POST", path, "", "comment", 200, _comment_body(message), effect="once")


def update_case_comment(case_id: str, cell_id: str, message: str) -> Request:
    """``PUT /api/v2/cases/{case_id}/comment/{cell_id}``: 200, whatever body it has not read."""
    path = f"{_case(case_id)}/comment/{arguments.cell_id(cell_id)}"
    body = _comment_body(message)
    return Request("update_case_comment", "PUT", path, "", "comment", 200, body, document=False, effect="set")


def delete_case_comment(case_id: str, cell_id: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/comment/{cell_id}``: 204."""
    path = f"{_case(case_id)}/comment/{arguments.cell_id(cell_id)}"
    return Request(
        "delete_case_comment", "DELETE", path, "", "comment", 204, document=False, effect="set", gone_is_done=True
    )


#: The fields "Search cases" sorts by.
SEARCH_SORT_FIELDS: Final = ("created_at", "priority", "status")
#: The largest ``page[size]`` "Search cases" documents.
SEARCH_MAX_PAGE_SIZE: Final = 100


def search_cases(query: str | None, page_number: int, page_size: int, sort: str, ascending: bool) -> Request:
    """``GET /api/v2/cases``: one page of a search (``filter``, such as
    ``status:open project_id:...``; ``None``: every case)."""
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise InvalidArgument(
            f"query must be a non-blank string (such as 'status:open'), or None for all cases: {query!r:.80}"
        )
    if type(page_size) is not int or not 1 <= page_size <= SEARCH_MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"page_size must be an int from 1 to {SEARCH_MAX_PAGE_SIZE} for a search, got {page_size!r:.80}"
        )
    arguments.page(page_number, page_size, ascending)
    if sort not in SEARCH_SORT_FIELDS:
        raise InvalidArgument(f"sort must be one of {', '.join(SEARCH_SORT_FIELDS)}, got {sort!r:.80}")
    params = [("page[size]", str(page_size)), ("page[number]", str(page_number)), ("sort[field]", sort),
              ("sort[asc]", "true" if ascending else "false")]  # fmt: skip
    if query is not None:
        params.append(("filter", query))
    return Request("search_cases", "GET", _CASES, urlencode(params, quote_via=quote), "search", 200)
