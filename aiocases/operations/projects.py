"""Projects, favourite projects and notification rules (tier (b) of
``shared/api/case-management-operations.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiocases.operations.request import CASES, Request, document, segment

__all__ = [
    "create_project",
    "create_project_notification_rule",
    "delete_project",
    "delete_project_notification_rule",
    "favorite_case_project",
    "get_project",
    "get_project_notification_rules",
    "get_projects",
    "list_user_case_project_favorites",
    "unfavorite_case_project",
    "update_project",
    "update_project_notification_rule",
]

_PROJECTS = f"{CASES}/projects"


def _project(project_id: str, *tail: str) -> str:
    return "/".join((_PROJECTS, segment("project_id", project_id), *tail))


def get_projects() -> Request:
    """``GET /api/v2/cases/projects``."""
    return Request("get_projects", "GET", _PROJECTS, "", "projects", 200)


def get_project(project_id: str) -> Request:
    """``GET /api/v2/cases/projects/{project_id}``."""
    return Request("get_project", "GET", _project(project_id), "", "projects", 200)


def create_project(attributes: Mapping[str, Any]) -> Request:
    """``POST /api/v2/cases/projects``: 201, the new project."""
    body = document("project", attributes)
    return Request("create_project", "POST", _PROJECTS, "", "projects", 201, body, effect="once")


def update_project(project_id: str, attributes: Mapping[str, Any]) -> Request:
    """``PATCH /api/v2/cases/projects/{project_id}``: the attributes given change."""
    body = document("project", attributes)
    return Request("update_project", "PATCH", _project(project_id), "", "projects", 200, body, effect="set")


def delete_project(project_id: str) -> Request:
    """``DELETE /api/v2/cases/projects/{project_id}``: 204."""
    path = _project(project_id)
    return Request(
        "delete_project", "DELETE", path, "", "projects", 204, document=False, effect="set", gone_is_done=True
    )


def list_user_case_project_favorites() -> Request:
    """``GET /api/v2/cases/projects/favorites``: the calling user's favourite projects."""
    return Request("list_user_case_project_favorites", "GET", f"{_PROJECTS}/favorites", "", "projects", 200)


def favorite_case_project(project_id: str) -> Request:
    """``POST /api/v2/cases/projects/{project_id}/favorites``: 204."""
    path = _project(project_id, "favorites")
    return Request("favorite_case_project", "POST", path, "", "projects", 204, document=False, effect="set")


def unfavorite_case_project(project_id: str) -> Request:
    """``DELETE /api/v2/cases/projects/{project_id}/favorites``: 204."""
    path = _project(project_id, "favorites")
    return Request("unfavorite_case_project", "DELETE", path, "", "projects", 204, document=False, effect="set")


def get_project_notification_rules(project_id: str) -> Request:
    """``GET /api/v2/cases/projects/{project_id}/notification_rules``."""
    path = _project(project_id, "notification_rules")
    return Request("get_project_notification_rules", "GET", path, "", "projects", 200)


def create_project_notification_rule(project_id: str, attributes: Mapping[str, Any]) -> Request:
    """``POST /api/v2/cases/projects/{project_id}/notification_rules``: 201, the new rule."""
    path = _project(project_id, "notification_rules")
    body = document("notification_rule", attributes)
    return Request("create_project_notification_rule", "POST", path, "", "projects", 201, body, effect="once")


def update_project_notification_rule(project_id: str, rule_id: str, attributes: Mapping[str, Any]) -> Request:
    """``PUT /api/v2/cases/projects/{project_id}/notification_rules/{rule_id}``: 204, no body."""
    path = _project(project_id, "notification_rules", segment("rule_id", rule_id))
    body = document("notification_rule", attributes)
    return Request(
        "update_project_notification_rule", "PUT", path, "", "projects", 204, body, document=False, effect="set"
    )


def delete_project_notification_rule(project_id: str, rule_id: str) -> Request:
    """``DELETE /api/v2/cases/projects/{project_id}/notification_rules/{rule_id}``: 204."""
    path = _project(project_id, "notification_rules", segment("rule_id", rule_id))
    return Request(
        "delete_project_notification_rule", "DELETE", path, "", "projects", 204,
        document=False, effect="set", gone_is_done=True,
    )  # fmt: skip
