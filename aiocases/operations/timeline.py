"""Timelines, watchers and comments."""

from __future__ import annotations

from aiocases import arguments
from aiocases.operations.request import Request, case_path, document

__all__ = [
    "comment_case",
    "delete_case_comment",
    "list_case_timeline",
    "list_case_watchers",
    "unwatch_case",
    "update_case_comment",
    "watch_case",
]


def list_case_timeline(case_id: str, page_number: int, page_size: int, ascending: bool) -> Request:
    """``GET /api/v2/cases/{case_id}/timelines``: one page, zero-based."""
    path = case_path(case_id, "timelines")
    arguments.page(page_number, page_size, ascending)
    order = "true" if ascending else "false"
    query = f"page%5Bsize%5D={page_size}&page%5Bnumber%5D={page_number}&sort%5Bascending%5D={order}"
    return Request("list_case_timeline", "GET", path, query, "timelines", 200)


def list_case_watchers(case_id: str) -> Request:
    """``GET /api/v2/cases/{case_id}/watchers``."""
    return Request("list_case_watchers", "GET", case_path(case_id, "watchers"), "", "watchers", 200)


def watch_case(case_id: str, user_uuid: str) -> Request:
    """``POST /api/v2/cases/{case_id}/watchers/{user_uuid}``: 201, no body."""
    path = case_path(case_id, "watchers", arguments.user_uuid(user_uuid))
    return Request("watch_case", "POST", path, "", "watchers", 201, document=False, effect="set")


def unwatch_case(case_id: str, user_uuid: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/watchers/{user_uuid}``: 204."""
    path = case_path(case_id, "watchers", arguments.user_uuid(user_uuid))
    return Request("unwatch_case", "DELETE", path, "", "watchers", 204, document=False, effect="set")


def _comment(message: str) -> bytes:
    return document("case", {"comment": arguments.message(message)})


def comment_case(case_id: str, message: str) -> Request:
    """``POST /api/v2/cases/{case_id}/comment``: 200, the new cell as ``data[0]``."""
    path = case_path(case_id, "comment")
    return Request("comment_case", "POST", path, "", "comment", 200, _comment(message), effect="once")


def update_case_comment(case_id: str, cell_id: str, message: str) -> Request:
    """``PUT /api/v2/cases/{case_id}/comment/{cell_id}``: 200, whatever body it has not read."""
    path = case_path(case_id, "comment", arguments.cell_id(cell_id))
    body = _comment(message)
    return Request("update_case_comment", "PUT", path, "", "comment", 200, body, document=False, effect="set")


def delete_case_comment(case_id: str, cell_id: str) -> Request:
    """``DELETE /api/v2/cases/{case_id}/comment/{cell_id}``: 204."""
    path = case_path(case_id, "comment", arguments.cell_id(cell_id))
    return Request(
        "delete_case_comment", "DELETE", path, "", "comment", 204, document=False, effect="set", gone_is_done=True
    )
