"""Cases: get, create, every field update, assignment, archiving, moving,
searching, counting, aggregating and bulk updates (tier (a) of
``shared/api/case-management-operations.md``).  Every case update is a
``POST`` to a sub-resource of the case, answered 200 with the whole case."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote, urlencode

from aiocases import arguments
from aiocases.errors import InvalidArgument
from aiocases.operations.request import CASES, Request, case_path, document, given, segment

__all__ = [
    "AGGREGATE_MAX_LIMIT",
    "SEARCH_MAX_PAGE_SIZE",
    "SEARCH_SORT_FIELDS",
    "aggregate_cases",
    "archive_case",
    "assign_case",
    "bulk_update_cases",
    "count_cases",
    "create_case",
    "delete_case_custom_attribute",
    "get_case",
    "move_case_to_project",
    "search_cases",
    "unarchive_case",
    "unassign_case",
    "update_attributes",
    "update_case",
    "update_case_custom_attribute",
    "update_case_description",
    "update_case_due_date",
    "update_case_resolved_reason",
    "update_case_title",
    "update_priority",
    "update_status",
]

#: The fields "Search cases" sorts by.
SEARCH_SORT_FIELDS: Final = ("created_at", "priority", "status")
#: The largest ``page[size]`` "Search cases" documents.
SEARCH_MAX_PAGE_SIZE: Final = 100
#: The most groups "Aggregate cases" takes.
AGGREGATE_MAX_LIMIT: Final = 1000


def get_case(case_id: str) -> Request:
    """``GET /api/v2/cases/{case_id}`` (a UUID or a key)."""
    return Request("get_case", "GET", case_path(case_id), "", "cases", 200)


def create_case(attributes: Mapping[str, Any], project_id: str, assignee_id: str | None = None) -> Request:
    """``POST /api/v2/cases``: 201, the new case.  ``attributes`` hold ``title``
    and ``type_id`` at least (checked by the caller)."""
    relationships: dict[str, Any] = {"project": _ref("project", project_id, "project_id")}
    if assignee_id is not None:
        relationships["assignee"] = _ref("user", assignee_id, "assignee_id")
    body = document("case", attributes, relationships=relationships)
    return Request("create_case", "POST", CASES, "", "cases", 201, body, effect="once")


def _ref(kind: str, value: str, name: str) -> dict[str, Any]:
    arguments.text(name, value)
    return {"data": {"id": value, "type": kind}}


def update_case(operation: str, case_id: str, tail: str, attributes: Mapping[str, Any] | None) -> Request:
    """``POST /api/v2/cases/{case_id}/{tail}`` with ``attributes`` (``None``:
    none, as unassign, archive and unarchive send): every field update, by
    the official client's name of it (``update_priority``)."""
    body = document("case", attributes)
    return Request(operation, "POST", case_path(case_id, tail), "", "cases", 200, body, effect="set")


def update_status(case_id: str, status_name: str | None, status: str | None) -> Request:
    """``POST /api/v2/cases/{case_id}/status``: ``status_name`` (one of the case
    type's statuses), or the deprecated ``status``."""
    return update_case("update_status", case_id, "status", given(status_name=status_name, status=status))


def update_priority(case_id: str, priority: str) -> Request:
    """``POST /api/v2/cases/{case_id}/priority`` (``P1`` to ``P5``, ``NOT_DEFINED``)."""
    return update_case("update_priority", case_id, "priority", {"priority": arguments.text("priority", priority)})


def update_case_title(case_id: str, title: str) -> Request:
    """``POST /api/v2/cases/{case_id}/title``."""
    return update_case("update_case_title", case_id, "title", {"title": arguments.text("title", title)})


def update_case_description(case_id: str, description: str) -> Request:
    """``POST /api/v2/cases/{case_id}/description``."""
    text = arguments.string("description", description)
    return update_case("update_case_description", case_id, "description", {"description": text})


def update_case_due_date(case_id: str, due_date: str | None) -> Request:
    """``POST /api/v2/cases/{case_id}/due_date`` (``YYYY-MM-DD``; ``None`` clears it)."""
    return update_case("update_case_due_date", case_id, "due_date", {"due_date": due_date})


def update_case_resolved_reason(case_id: str, reason: str) -> Request:
    """``POST /api/v2/cases/{case_id}/resolved_reason`` (``FALSE_POSITIVE``, ...: security cases)."""
    attributes = {"security_resolved_reason": arguments.text("reason", reason)}
    return update_case("update_case_resolved_reason", case_id, "resolved_reason", attributes)


def assign_case(case_id: str, assignee_id: str) -> Request:
    """``POST /api/v2/cases/{case_id}/assign``."""
    return update_case("assign_case", case_id, "assign", {"assignee_id": arguments.text("assignee_id", assignee_id)})


def unassign_case(case_id: str) -> Request:
    """``POST /api/v2/cases/{case_id}/unassign``."""
    return update_case("unassign_case", case_id, "unassign", None)


def archive_case(case_id: str) -> Request:
    """``POST /api/v2/cases/{case_id}/archive``."""
    return update_case("archive_case", case_id, "archive", None)


def unarchive_case(case_id: str) -> Request:
    """``POST /api/v2/cases/{case_id}/unarchive``."""
    return update_case("unarchive_case", case_id, "unarchive", None)


def update_attributes(case_id: str, attributes: Mapping[str, Sequence[str]]) -> Request:
    """``POST /api/v2/cases/{case_id}/attributes``: the case's labels, all of them."""
    labels = arguments.labels("attributes", attributes)
    return update_case("update_attributes", case_id, "attributes", {"attributes": labels})


def update_case_custom_attribute(case_id: str, key: str, value: Mapping[str, Any]) -> Request:
    """``POST /api/v2/cases/{case_id}/custom_attributes/{key}``: ``value`` is a
    CustomAttributeValue (``type``, ``is_multi``, ``value``)."""
    path = case_path(case_id, "custom_attributes", segment("key", key))
    body = document("case", value)
    return Request("update_case_custom_attribute", "POST", path, "", "cases", 200, body, effect="set")


def delete_case_custom_attribute(case_id: str, key: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/custom_attributes/{key}``: 200, the case."""
    path = case_path(case_id, "custom_attributes", segment("key", key))
    return Request("delete_case_custom_attribute", "DELETE", path, "", "cases", 200, effect="set")


def move_case_to_project(case_id: str, project_id: str) -> Request:
    """``PATCH /api/v2/cases/{case_id}/relationships/project``: a bare relationship document."""
    path = case_path(case_id, "relationships", "project")
    body = document("project", id=arguments.text("project_id", project_id))
    return Request("move_case_to_project", "PATCH", path, "", "cases", 200, body, effect="set")


def search_cases(query: str | None, page_number: int, page_size: int, sort: str, ascending: bool) -> Request:
    """``GET /api/v2/cases``: one page of a search (``filter``, such as
    ``status:open project_id:...``; ``None``: every case)."""
    _query(query)
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
    return Request("search_cases", "GET", CASES, urlencode(params, quote_via=quote), "search", 200)


def _query(query: object) -> None:
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise InvalidArgument(
            f"query must be a non-blank string (such as 'status:open'), or None for all cases: {query!r:.80}"
        )


def count_cases(query: str | None, group_by: Sequence[str], limit: int | None) -> Request:
    """``GET /api/v2/cases/count``: how many cases match, by value of each field in ``group_by``."""
    _query(query)
    groups = arguments.strings("group_by", group_by)
    params = [] if query is None else [("query_filter", query)]
    if groups:
        params.append(("group_bys", ",".join(groups)))
    if limit is not None:
        params.append(("limit", str(arguments.count("limit", limit, 1))))
    return Request("count_cases", "GET", f"{CASES}/count", urlencode(params, quote_via=quote), "search", 200)


def aggregate_cases(query: str, group_by: Sequence[str], limit: int) -> Request:
    """``POST /api/v2/cases/aggregate``: a read, though a ``POST``."""
    _query(query)
    if query is None:
        raise InvalidArgument("query must be a non-blank string (such as 'status:open')")
    groups = arguments.strings("group_by", group_by)
    if type(limit) is not int or not 1 <= limit <= AGGREGATE_MAX_LIMIT:
        raise InvalidArgument(f"limit must be an int from 1 to {AGGREGATE_MAX_LIMIT}, got {limit!r:.80}")
    attributes = {"query_filter": query, "group_by": {"groups": groups, "limit": limit}}
    body = document("aggregate", attributes)
    return Request("aggregate_cases", "POST", f"{CASES}/aggregate", "", "search", 200, body)


def bulk_update_cases(case_ids: Sequence[str], action: str, payload: Mapping[str, str] | None) -> Request:
    """``POST /api/v2/cases/bulk``: one ``action`` (``priority``, ``status``,
    ``assign``, ``archive``, ...) on many cases; 200, no body read."""
    ids = arguments.strings("case_ids", case_ids)
    if not ids:
        raise InvalidArgument("case_ids must name at least one case")
    attributes = given(case_ids=ids, type=arguments.text("action", action), payload=_payload(payload))
    body = document("bulk", attributes)
    return Request("bulk_update_cases", "POST", f"{CASES}/bulk", "", "cases", 200, body, document=False, effect="once")


def _payload(payload: Mapping[str, str] | None) -> dict[str, str] | None:
    if payload is None:
        return None
    if not isinstance(payload, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in payload.items()
    ):
        raise InvalidArgument(
            f"payload must map strings to strings (such as {{'priority': 'P1'}}), got {payload!r:.80}"
        )
    return dict(payload)
