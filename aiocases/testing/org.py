"""The fake's organization: its users, projects, case types, custom-attribute
configurations, notification rules and favourite projects, in the shapes
real answers have (``shared/api/case-management-operations.md`` section 5).

The built-in case types are those the recordings list (``internal``, ids
``00000000-0000-0000-0000-00000000000N``), Change Request with its own
statuses; a type created through the API gets Open, In Progress and Closed.
"""

from __future__ import annotations

import copy
from typing import Any

from attrs import define, field

from aiocases.models import JSON
from aiocases.testing.data import STANDARD_TYPE, Generator

__all__ = ["CUSTOM_ATTRIBUTE_TYPES", "STANDARD_TYPE", "Organization", "legacy_type", "status_group", "statuses_config"]

#: The types a custom attribute may have (its configuration's, and its value's on a case).
CUSTOM_ATTRIBUTE_TYPES = ("URL", "TEXT", "NUMBER", "SELECT")

_GROUPS = ("open", "in_progress", "closed")
_BUILT_IN = {
    1: ("Standard", None),
    2: ("Event Management", None),
    3: ("Security", None),
    4: (
        "Change Request",
        (("Open",), ("Pending Approval", "Approved", "Implementing"), ("Completed", "Cancelled", "Declined")),
    ),
    5: ("Error Tracking", None),
    7: ("Logs Optimization Insights", None),
}


def statuses_config(groups: tuple[tuple[str, ...], ...] | None = None) -> dict[str, JSON]:
    """``statuses_config`` of a case type: its statuses by group, the first of each the default."""
    groups = groups or (("Open",), ("In Progress",), ("Closed",))
    return {
        group: {"status_options": [{"name": name} for name in names], "default": names[0]}
        for group, names in zip(_GROUPS, groups, strict=True)
    }


def status_group(case_type: dict[str, Any], name: str) -> str | None:
    """The group (``open``, ``in_progress``, ``closed``) of a status of the type, or ``None``."""
    for group, config in case_type["attributes"]["statuses_config"].items():
        if any(option["name"] == name for option in config["status_options"]):
            return str(group)
    return None


def legacy_type(type_id: str) -> str:
    """The deprecated ``type`` a case of this type carries, as recorded."""
    if type_id == STANDARD_TYPE:
        return "STANDARD"
    return "ERROR_TRACKING_ISSUE" if type_id.endswith("-000000000005") else "TUNKNOWN"


@define
class Organization:
    """What one organization has besides its cases; ``generator`` makes ids."""

    generator: Generator
    users: dict[str, dict[str, JSON]] = field(factory=dict)
    projects: dict[str, dict[str, Any]] = field(factory=dict)
    favorites: list[str] = field(factory=list)
    rules: dict[str, dict[str, dict[str, Any]]] = field(factory=dict)
    case_types: dict[str, dict[str, Any]] = field(factory=dict)
    configs: dict[str, dict[str, Any]] = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        for number, (name, groups) in _BUILT_IN.items():
            type_id = f"00000000-0000-0000-0000-{number:012d}"
            self.case_types[type_id] = {
                "id": type_id,
                "type": "case_type",
                "attributes": {"internal": True, "name": name, "statuses_config": statuses_config(groups)},
            }

    def new_id(self) -> str:
        """A fresh UUID."""
        return self.generator.user_uuid()

    def user(self, author: dict[str, JSON]) -> None:
        """Know the user of an author's ``content`` (``ID``, ``name``, ...)."""
        attributes = {k: v for k, v in author.items() if k != "ID"}
        self.users[str(author["ID"])] = {"id": author["ID"], "type": "user", "attributes": attributes}

    def included(self, user_id: str) -> dict[str, JSON]:
        """The ``included`` member of a user: one never seen is inactive, without a name (as recorded)."""
        known = self.users.get(user_id)
        if known is not None:
            return copy.deepcopy(known)
        return {"id": user_id, "type": "user",
                "attributes": {"active": False, "email": "", "handle": user_id, "name": ""}}  # fmt: skip

    def project(self, key: str, name: str | None = None, project_id: str | None = None) -> dict[str, Any]:
        """The project of this key, made if new."""
        for project in self.projects.values():
            if project["attributes"]["key"] == key:
                return project
        project_id = project_id or self.generator.project_id(key)
        events = (
            "assignment",
            "unassignment",
            "closed",
            "priority_change",
            "comment",
            "comment_mention",
            "status_change",
        )
        notification = {"enabled": True, "destinations": [1], **{f"notify_on_case_{e}": True for e in events}}
        attributes = {"key": key, "name": name or f"{key.title()} project", "restricted": False}
        attributes["settings"] = {"notification": notification}
        self.projects[project_id] = {"id": project_id, "type": "project", "attributes": attributes}
        return self.projects[project_id]
