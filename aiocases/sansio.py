"""The pure core: building requests and deciphering responses.

Nothing here does I/O or needs an event loop (the split gidgethub's
``sansio`` module makes): a :class:`Request` is built from validated
arguments, and :func:`decipher` turns a status, headers and body into a
decoded document or a typed :class:`~aiocases.errors.CasesError`.
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Final
from urllib.parse import quote, urlencode

from attrs import field, frozen

from aiocases.errors import (
    ApiError,
    BadRequest,
    CasesError,
    DecodeError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from aiocases.models import JSON

__all__ = [
    "SEARCH_MAX_PAGE_SIZE",
    "SEARCH_SORT_FIELDS",
    "Request",
    "comment_request",
    "data_of",
    "delete_comment_request",
    "decipher",
    "error_for",
    "error_messages",
    "header_seconds",
    "list_watchers_request",
    "loads",
    "retry_after",
    "search_request",
    "timeline_request",
    "unwatch_request",
    "update_comment_request",
    "validate_case_id",
    "validate_cell_id",
    "validate_message",
    "validate_page",
    "validate_user_uuid",
    "watch_request",
]

_PREFIX: Final = "/api/v2/cases/"
_MAX_ID_LENGTH: Final = 512
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def _orjson_loads() -> Callable[[bytes], JSON] | None:
    """orjson's ``loads`` when the ``fast`` extra is installed (it halves JSON
    decoding time); imported by name so that type checks pass without it."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    decode: Callable[[bytes], JSON] = module.loads
    return decode


_fast_loads = _orjson_loads()
# What decoding a hostile body can raise: invalid JSON or UTF-8 (ValueError),
# or nesting deeper than the interpreter's stack (RecursionError).
_JSON_ERRORS: tuple[type[Exception], ...] = (ValueError, RecursionError)


def loads(body: bytes) -> JSON:
    """Decode a JSON body: orjson when installed, else (and for what orjson
    refuses but JSON allows, such as a lone surrogate escape ``"\\ud83d"``)
    the standard library.  Raises :class:`ValueError` or :class:`RecursionError`."""
    if _fast_loads is not None:
        try:
            return _fast_loads(body)
        except ValueError:
            pass  # a body the standard library may still accept; it decides
    return json.loads(body)  # type: ignore[no-any-return]


@frozen
class Request:
    """One API call: method, the percent-encoded path and query, the rate
    limit group it counts against, and the success status it expects.

    ``body`` is a JSON body (sent as ``application/json``); ``document`` says
    whether a success carries a JSON document the caller reads (an empty one
    is then an error); ``replayable`` is false for a request that acts again
    each time it is sent (adding a comment): it is retried only when it
    cannot have reached the server (see :mod:`aiocases.retry`)."""

    method: str
    path: str
    query: str
    group: str
    expected: int
    body: bytes = field(default=b"", repr=False)
    document: bool = True
    replayable: bool = True

    @property
    def target(self) -> str:
        """Path and query as sent (no host)."""
        return f"{self.path}?{self.query}" if self.query else self.path


def validate_case_id(case_id: object) -> str:
    """Check a case UUID or key (``PROJ-123``) and return it as one encoded path segment.

    The reference pages take ``case_id`` as a path parameter: anything that
    could change the request's path or query (``/``, ``?``, ``#``, dot
    segments, control or invisible characters, blank) raises
    :class:`ValueError`; every other character is percent-encoded.
    """
    return _segment("case_id", case_id, "a case UUID or key")


def validate_cell_id(cell_id: object) -> str:
    """Check a timeline cell's id (a comment's UUID) as :func:`validate_case_id`
    checks a case id, and return it as one encoded path segment."""
    return _segment("cell_id", cell_id, "a timeline cell's id")


def _segment(name: str, value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string ({what}), got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    if len(value) > _MAX_ID_LENGTH:
        raise ValueError(f"{name} is {len(value)} characters long; at most {_MAX_ID_LENGTH} are accepted")
    if value in (".", ".."):
        raise ValueError(f"{name} must not be a dot segment: {value!r}")
    for forbidden in "/?#\\":
        if forbidden in value:
            raise ValueError(f"{name} must not contain {forbidden!r}: {value!r:.80}")
    if not value.isprintable():
        raise ValueError(f"{name} must not contain control or invisible characters: {value!r:.80}")
    return quote(value, safe="")


def validate_message(message: object) -> str:
    """Check a comment's text (Markdown): a string that is not blank."""
    if not isinstance(message, str):
        raise ValueError(f"message must be a string (the comment's Markdown), got {type(message).__name__}")
    if not message.strip():
        raise ValueError("message must not be empty or blank: the API refuses an empty comment")
    return message


def validate_user_uuid(user_uuid: object) -> str:
    """Check a user UUID (``8146583c-0b5f-11ec-abf8-da7ad0900001``); raise :class:`ValueError` otherwise."""
    if not isinstance(user_uuid, str) or not _UUID.match(user_uuid):
        raise ValueError(
            f"user_uuid must be a UUID such as 8146583c-0b5f-11ec-abf8-da7ad0900001, got {user_uuid!r:.80}"
        )
    return user_uuid.lower()


def validate_page(page_number: object, page_size: object, ascending: object) -> None:
    """Check ``page[number]`` (>= 0), ``page[size]`` (>= 1) and ``sort[ascending]`` (a bool)."""
    if type(page_number) is not int or page_number < 0:
        raise ValueError(f"page_number must be an int >= 0 (pages are zero-based), got {page_number!r}")
    if type(page_size) is not int or page_size < 1:
        raise ValueError(f"page_size must be an int >= 1, got {page_size!r}")
    if type(ascending) is not bool:
        raise ValueError(f"ascending must be True or False, got {ascending!r}")


def timeline_request(case_id: str, page_number: int, page_size: int, ascending: bool) -> Request:
    """``GET /api/v2/cases/{case_id}/timelines`` ("Get case timeline") for one page."""
    segment = validate_case_id(case_id)
    validate_page(page_number, page_size, ascending)
    order = "true" if ascending else "false"
    query = f"page%5Bsize%5D={page_size}&page%5Bnumber%5D={page_number}&sort%5Bascending%5D={order}"
    return Request("GET", f"{_PREFIX}{segment}/timelines", query, "timelines", 200)


def watch_request(case_id: str, user_uuid: str) -> Request:
    """``POST /api/v2/cases/{case_id}/watchers/{user_uuid}`` ("Watch a case"), 201 Created."""
    return Request("POST", _watcher_path(case_id, user_uuid), "", "watchers", 201, document=False)


def unwatch_request(case_id: str, user_uuid: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/watchers/{user_uuid}`` ("Unwatch a case"), 204 No Content."""
    return Request("DELETE", _watcher_path(case_id, user_uuid), "", "watchers", 204, document=False)


def comment_request(case_id: str, message: str) -> Request:
    """``POST /api/v2/cases/{case_id}/comment`` ("Comment on a case"): 200 with
    the new cell as ``data[0]``.  Not replayable: sent twice, it posts twice."""
    path = f"{_PREFIX}{validate_case_id(case_id)}/comment"
    return Request("POST", path, "", "comment", 200, _comment_body(message), replayable=False)


def update_comment_request(case_id: str, cell_id: str, message: str) -> Request:
    """``PUT /api/v2/cases/{case_id}/comment/{cell_id}`` ("Update a comment"): 200;
    whatever body comes with it is not read."""
    path = f"{_PREFIX}{validate_case_id(case_id)}/comment/{validate_cell_id(cell_id)}"
    return Request("PUT", path, "", "comment", 200, _comment_body(message), document=False)


def delete_comment_request(case_id: str, cell_id: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/comment/{cell_id}`` ("Delete a comment"): 204 No Content."""
    path = f"{_PREFIX}{validate_case_id(case_id)}/comment/{validate_cell_id(cell_id)}"
    return Request("DELETE", path, "", "comment", 204, document=False)


def _comment_body(message: str) -> bytes:
    # ASCII-escaped: a lone surrogate in the text becomes a valid \\uXXXX escape.
    document = {"data": {"attributes": {"comment": validate_message(message)}, "type": "case"}}
    return json.dumps(document, separators=(",", ":")).encode()


def list_watchers_request(case_id: str) -> Request:
    """``GET /api/v2/cases/{case_id}/watchers`` ("List case watchers")."""
    return Request("GET", f"{_PREFIX}{validate_case_id(case_id)}/watchers", "", "watchers", 200)


def _watcher_path(case_id: str, user_uuid: str) -> str:
    return f"{_PREFIX}{validate_case_id(case_id)}/watchers/{validate_user_uuid(user_uuid)}"


#: The fields "Search cases" sorts by.
SEARCH_SORT_FIELDS: Final = ("created_at", "priority", "status")
#: The largest ``page[size]`` "Search cases" documents.
SEARCH_MAX_PAGE_SIZE: Final = 100


def search_request(query: str | None, page_number: int, page_size: int, sort: str, ascending: bool) -> Request:
    """``GET /api/v2/cases`` ("Search cases") for one page: ``filter`` is the
    query (``status:open project_id:...``), pages counted as the caller says
    (see :mod:`aiocases.search` on where they start)."""
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise ValueError(
            f"query must be a non-blank string (such as 'status:open'), or None for all cases: {query!r:.80}"
        )
    if type(page_size) is not int or not 1 <= page_size <= SEARCH_MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be an int from 1 to {SEARCH_MAX_PAGE_SIZE} for a search, got {page_size!r}")
    validate_page(page_number, page_size, ascending)
    if sort not in SEARCH_SORT_FIELDS:
        raise ValueError(f"sort must be one of {', '.join(SEARCH_SORT_FIELDS)}, got {sort!r}")
    params = [("page[size]", str(page_size)), ("page[number]", str(page_number)), ("sort[field]", sort),
              ("sort[asc]", "true" if ascending else "false")]  # fmt: skip
    if query is not None:
        params.append(("filter", query))
    return Request("GET", "/api/v2/cases", urlencode(params, quote_via=quote), "search", 200)


# -- responses ----------------------------------------------------------------

_STATUS_ERRORS: Mapping[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


def error_messages(body: bytes) -> list[str]:
    """Render an error body's ``errors``: plain strings (as the reference pages
    document) or JSON:API error objects (as the API really sends)."""
    if not body or body.isspace():
        return []
    try:
        doc = loads(body)
    except _JSON_ERRORS:
        text = body[:200].decode("utf-8", "replace").strip()
        return [text] if text else []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return []
    rendered = []
    for item in errors:
        if isinstance(item, dict):
            parts = [str(item[k])[:500] for k in ("title", "detail") if isinstance(item.get(k), (str, int, float))]
            rendered.append(": ".join(parts) or "(an error object without title or detail)")
        elif isinstance(item, (str, int, float)):
            rendered.append(str(item)[:500])
    return rendered


def header_seconds(value: str | None) -> float | None:
    """A header's number of seconds; ``None`` when absent, not a number, not
    finite or negative (such values count as absent, never as a wait)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a 429 asks for: ``X-RateLimit-Reset`` (seconds), else ``Retry-After``."""
    for name in ("X-RateLimit-Reset", "Retry-After"):
        seconds = header_seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None


def decipher(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> JSON:
    """The decoded JSON document of a successful response (``None`` for an
    empty 201/204), or the typed error for any other outcome."""
    if 200 <= status < 300:
        if not request.document:
            return None
        if not body or body.isspace():
            raise DecodeError("empty body", transient=True, method=request.method, path=request.path)
        try:
            return loads(body)
        except RecursionError:
            raise DecodeError(
                "body is JSON nested too deeply to decode", method=request.method, path=request.path
            ) from None
        except ValueError:
            # Most often a body cut short on the wire: worth another try.
            raise DecodeError(
                f"body of {len(body)} bytes is not valid JSON", transient=True, method=request.method, path=request.path
            ) from None
    raise error_for(request, status, headers, body)


def error_for(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> CasesError:
    """The :class:`CasesError` for a response that is not a success."""
    method, path = request.method, request.path
    if 300 <= status < 400:
        # Never followed: credentials go only to the configured origin.
        return TransportError(
            f"unexpected redirect (HTTP {status}), not followed: credentials go only to the configured origin",
            method=method,
            path=path,
            retryable=False,
        )
    messages = error_messages(body)
    if status == 429:
        wait = retry_after(headers)
        return RateLimited(status, messages, retry_after=wait, method=method, path=path, headers=headers, body=body)
    cls = ServerError if status >= 500 else _STATUS_ERRORS.get(status, ApiError)
    return cls(status, messages, method=method, path=path, headers=headers, body=body)


def data_of(request: Request, document: JSON) -> JSON:
    """The ``data`` member of a JSON:API document (a list for both list endpoints)."""
    if not isinstance(document, dict) or "data" not in document:
        raise DecodeError(
            "response is not a JSON:API document with 'data'", field="data", method=request.method, path=request.path
        )
    return document["data"]
