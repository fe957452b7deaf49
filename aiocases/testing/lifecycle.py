"""Tier (a) of the fake: read a case, create one, change its fields, assign,
archive and move it, count and aggregate cases, update many at once.

The rules, as the recordings show them (``shared/api/case-management-operations.md``
sections 5.2 and 5.7):

1. Every answer is the whole case, with ``included`` holding the users its
   relationships name (creator, assignee, modifier); a user the
   organization does not know is inactive and nameless.
2. A change sets ``modified_at``, and ``modified_by`` to the caller's user,
   except a custom attribute's change, which sets ``modified_at`` only.
3. A change to what is already so (unassigning an unassigned case,
   unarchiving a live one, deleting a custom attribute never set) answers
   200 with the case as it was.
4. Timestamps that do not apply are left out, never ``null``:
   ``archived_at`` only while archived, ``closed_at`` only while closed.
5. ``status_name`` is one of the case type's statuses, the deprecated
   ``status`` one of the server's set, ``priority`` one of ``P1``-``P5`` or
   ``NOT_DEFINED``; anything else is a 400 ``Generic Error``.
6. A case id in the path is its UUID or its key; an unknown one is a 404
   ``case not found``; a document of another ``type`` a 400 naming it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from aiohttp import web

from aiocases.testing.data import STANDARD_TYPE, FakeCase
from aiocases.testing.jsonapi import (
    answer,
    attributes_of,
    bad_request,
    data_of,
    generic_error,
    is_uuid,
    not_found,
    wrong_type,
)
from aiocases.testing.org import CUSTOM_ATTRIBUTE_TYPES, legacy_type, status_group
from aiocases.testing.search import SearchError, parse_filter
from aiocases.testing.store import CaseStore

__all__ = ["PRIORITIES", "SERVER_STATUSES", "CaseHandlers"]

PRIORITIES = ("P1", "P2", "P3", "P4", "P5", "NOT_DEFINED")
#: The deprecated ``status`` values the server takes, in the order its 400 lists them.
SERVER_STATUSES = (
    "NOT_STARTED", "IN_PROGRESS", "CLOSED", "ACKNOWLEDGED", "TRIGGERED", "PENDING_APPROVAL", "COMPLETED",
    "CANCELLED", "DECLINED", "SUNKNOWN", "OPEN", "RESOLVED", "APPROVED", "IMPLEMENTING",
)  # fmt: skip
_GROUP_OF_STATUS = {
    **dict.fromkeys(("NOT_STARTED", "ACKNOWLEDGED", "TRIGGERED", "OPEN"), "open"),
    **dict.fromkeys(("IN_PROGRESS", "PENDING_APPROVAL", "APPROVED", "IMPLEMENTING"), "in_progress"),
    **dict.fromkeys(("CLOSED", "RESOLVED", "COMPLETED", "CANCELLED", "DECLINED"), "closed"),
}
_BULK_ACTIONS = ("priority", "status", "assign", "unassign", "archive", "unarchive", "jira", "servicenow",
                 "linear", "update_project")  # fmt: skip
Update = Callable[[FakeCase, dict[str, Any]], bool]


class CaseHandlers:
    """The handlers of tier (a) over a :class:`CaseStore`."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        self.org = store.org
        self._updates: dict[str, Update] = {
            "status": self._status,
            "priority": self._priority,
            "title": self._title,
            "description": self._description,
            "attributes": self._labels,
            "due_date": self._due_date,
            "resolved_reason": self._resolved_reason,
            "assign": self._assign,
            "unassign": lambda case, _: self._relate(case, "assignee", None),
            "archive": lambda case, _: self._stamp(case, "archived_at", True),
            "unarchive": lambda case, _: self._stamp(case, "archived_at", False),
        }

    def routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]]]]:
        """(method, path, handler) of every operation; those with fixed paths first."""
        base = "/api/v2/cases/{case_id:[^/]+}"
        return [
            ("POST", "/api/v2/cases", self.create),
            ("GET", "/api/v2/cases/count", self.count),
            ("POST", "/api/v2/cases/aggregate", self.aggregate),
            ("POST", "/api/v2/cases/bulk", self.bulk),
            ("GET", base, self.get),
            ("POST", base + "/{field:" + "|".join(self._updates) + "}", self.update),
            ("POST", base + "/custom_attributes/{key:[^/]+}", self.set_custom_attribute),
            ("DELETE", base + "/custom_attributes/{key:[^/]+}", self.delete_custom_attribute),
            ("PATCH", base + "/relationships/project", self.move),
        ]

    # -- what every handler does --------------------------------------------------------

    def case(self, request: web.Request) -> FakeCase:
        """The case the path names (rule 6)."""
        case = self.store.find(request.match_info["case_id"])
        if case is None:
            raise not_found("case not found")
        return case

    def answer(self, case: FakeCase, status: int = 200) -> web.Response:
        """The case, its users included (rule 1)."""
        users: list[str] = []
        for name in ("created_by", "assignee", "modified_by"):
            related = case.relationships.get(name)
            if isinstance(related, dict) and isinstance(related["data"], dict):
                user = str(related["data"]["id"])
                users += [] if user in users else [user]
        return answer({"data": case.document(), "included": [self.org.included(user) for user in users]}, status)

    def changed(self, case: FakeCase, *, by_user: bool = True) -> None:
        """Rule 2."""
        case.attributes["modified_at"] = self.store.generator.now()
        if by_user:
            case.relationships["modified_by"] = _user(str(self.store.generator.api_user["ID"]))

    # -- reading, creating, updating ------------------------------------------------------

    async def get(self, request: web.Request) -> web.Response:
        """GET /api/v2/cases/{case_id}."""
        return self.answer(self.case(request))

    async def update(self, request: web.Request) -> web.Response:
        """POST /api/v2/cases/{case_id}/{field}: every field update, assign, archive (rule 3)."""
        case = self.case(request)
        attributes = await attributes_of(request, "case")
        if self._updates[request.match_info["field"]](case, attributes):
            self.changed(case)
        return self.answer(case)

    async def create(self, request: web.Request) -> web.Response:
        """POST /api/v2/cases: 201, the new case."""
        data = await data_of(request, "case")
        attributes, relationships = data.get("attributes"), data.get("relationships")
        if not isinstance(attributes, dict) or not isinstance(relationships, dict) or "project" not in relationships:
            raise bad_request()
        project_id = _related(relationships["project"], "project")
        assignee = None if relationships.get("assignee") is None else _related(relationships["assignee"], "user")
        type_id = attributes.get("type_id")
        if type_id is None and attributes.get("type") == "STANDARD":  # as the API took it before type_id
            type_id = STANDARD_TYPE
        case_type = self.org.case_types.get(str(type_id))
        if case_type is None or case_type["attributes"].get("deleted_at"):
            raise not_found("case_type not found")
        project = self.org.projects.get(project_id)
        if project is None:
            raise not_found("project not found")
        title, priority = attributes.get("title"), attributes.get("priority", "NOT_DEFINED")
        if not isinstance(title, str) or not title:
            raise bad_request()
        _check_priority(priority)
        case = self.store.add_case(0, key=self.store.new_key(project["attributes"]["key"]))
        case.relationships = {"created_by": _user(str(self.store.generator.api_user["ID"])),
                              "project": {"data": {"id": project_id, "type": "project"}}}  # fmt: skip
        case.attributes.update(
            title=title, description=attributes.get("description", ""), priority=priority, type_id=case_type["id"],
            type=legacy_type(case_type["id"]), created_at=self.store.generator.now(), custom_attributes={},
            created_by_author={"type": "USER", "content": dict(self.store.generator.api_user)},
        )  # fmt: skip
        for name in ("modified_at", "closed_at"):
            case.attributes.pop(name, None)
        self._set_status(case, case_type["attributes"]["statuses_config"]["open"]["default"], "open")
        if attributes.get("status_name") is not None:
            self._status(case, {"status_name": attributes["status_name"]})
        for key, value in (attributes.get("custom_attributes") or {}).items():
            self._custom_attribute(case, key, value)
        if assignee is not None:
            self._relate(case, "assignee", assignee)
        return self.answer(case, 201)

    def _status(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        case_type = self.org.case_types[str(case.attributes["type_id"])]
        name, legacy = attributes.get("status_name"), attributes.get("status")
        if name is not None:
            group = status_group(case_type, name) if isinstance(name, str) else None
            if group is None:
                options = [o["name"] for c in case_type["attributes"]["statuses_config"].values()
                           for o in c["status_options"]]  # fmt: skip
                raise generic_error(f"invalid status name {name}. Must be one of {', '.join(options)}")
        elif legacy is not None:
            if legacy not in _GROUP_OF_STATUS:
                raise generic_error(f"invalid status {legacy}. Must be one of {', '.join(SERVER_STATUSES)}")
            group = _GROUP_OF_STATUS[legacy]
            name = case_type["attributes"]["statuses_config"][group]["default"]
        else:
            raise bad_request()
        if case.attributes.get("status_name") == name:
            return False
        self._set_status(case, name, group)
        return True

    def _set_status(self, case: FakeCase, name: str, group: str) -> None:
        case.attributes.update(status=group.upper(), status_name=name, status_group=f"SG_{group.upper()}")
        if group != "closed":
            case.attributes.pop("closed_at", None)
        elif "closed_at" not in case.attributes:
            case.attributes["closed_at"] = self.store.generator.now()

    def _priority(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        priority = attributes.get("priority")
        _check_priority(priority)
        return _set(case, "priority", priority)

    def _title(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        title = attributes.get("title")
        if not isinstance(title, str) or not title:
            raise bad_request()
        return _set(case, "title", title)

    def _description(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        description = attributes.get("description")
        if not isinstance(description, str):
            raise bad_request('error decoding attribute "description": invalid type')
        return _set(case, "description", description)

    def _labels(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        labels = attributes.get("attributes")
        if not isinstance(labels, dict):
            raise bad_request('error decoding attribute "attributes": invalid type')
        for values in labels.values():
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                raise bad_request('error decoding attribute "attributes": invalid type string')
        return _set(case, "attributes", labels)

    def _due_date(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        day = attributes.get("due_date")
        if day is None:
            return case.attributes.pop("due_date", None) is not None
        try:
            date.fromisoformat(day)
        except (TypeError, ValueError):
            raise bad_request('error decoding attribute "due_date": want YYYY-MM-DD') from None
        return _set(case, "due_date", day)

    def _resolved_reason(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        reason = attributes.get("security_resolved_reason")
        if not isinstance(reason, str) or not reason:
            raise bad_request()
        return _set(case, "security_resolved_reason", reason)

    def _assign(self, case: FakeCase, attributes: dict[str, Any]) -> bool:
        assignee = attributes.get("assignee_id")
        if not isinstance(assignee, str) or not is_uuid(assignee):
            raise bad_request()
        return self._relate(case, "assignee", assignee.lower())

    def _relate(self, case: FakeCase, name: str, user: str | None) -> bool:
        current = case.relationships.get(name)
        if user is None:
            return case.relationships.pop(name, None) is not None
        if current == _user(user):
            return False
        case.relationships[name] = _user(user)
        return True

    def _stamp(self, case: FakeCase, name: str, on: bool) -> bool:
        if on == (name in case.attributes):
            return False
        if on:
            case.attributes[name] = self.store.generator.now()
        else:
            del case.attributes[name]
        return True

    # -- custom attributes, moving ---------------------------------------------------------

    async def set_custom_attribute(self, request: web.Request) -> web.Response:
        """POST .../custom_attributes/{key}: the document's attributes are the value."""
        case = self.case(request)
        value = await attributes_of(request, "case")
        if self._custom_attribute(case, request.match_info["key"], value):
            self.changed(case, by_user=False)
        return self.answer(case)

    async def delete_custom_attribute(self, request: web.Request) -> web.Response:
        """DELETE .../custom_attributes/{key}: 200, the case (rule 3)."""
        case, key = self.case(request), request.match_info["key"]
        self._config(case, key, "RemoveCustomAttribute")
        values = case.attributes["custom_attributes"]
        assert isinstance(values, dict)
        if values.pop(key, None) is not None:
            self.changed(case, by_user=False)
        return self.answer(case)

    def _config(self, case: FakeCase, key: str, command: str) -> dict[str, Any]:
        for config in self.org.configs.values():
            attributes = config["attributes"]
            if attributes["key"] == key and attributes["case_type_id"] == case.attributes["type_id"]:
                return config
        raise not_found(
            f"failed to update batch: failed to apply command: failed to apply domain.{command} command: "
            "custom attribute configuration not found",
            key=key,
        )

    def _custom_attribute(self, case: FakeCase, key: str, value: Any) -> bool:
        config = self._config(case, key, "UpdateCustomAttribute")["attributes"]
        if not isinstance(value, dict) or value.get("type") not in CUSTOM_ATTRIBUTE_TYPES:
            raise bad_request()
        kind, multi, given = value["type"], value.get("is_multi"), value.get("value")
        items = given if isinstance(given, list) else [given]
        scalar = (int, float) if kind == "NUMBER" else str
        if (
            kind != config["type"]
            or multi is not isinstance(given, list)
            or not all(isinstance(item, scalar) and not isinstance(item, bool) for item in items)
        ):
            raise bad_request()
        stored = {"type": kind, "is_multi": multi, "value": given}
        values = case.attributes["custom_attributes"]
        assert isinstance(values, dict)
        if values.get(key) == stored:
            return False
        values[key] = stored
        return True

    async def move(self, request: web.Request) -> web.Response:
        """PATCH .../relationships/project: a bare relationship document."""
        case = self.case(request)
        data = await data_of(request, "project")
        project_id = data.get("id")
        if not isinstance(project_id, str) or project_id not in self.org.projects:
            raise not_found("project not found")
        if case.project != project_id:
            case.relationships["project"] = {"data": {"id": project_id, "type": "project"}}
            self.changed(case)
        return self.answer(case)

    # -- many cases at once ------------------------------------------------------------------

    async def count(self, request: web.Request) -> web.Response:
        """GET /api/v2/cases/count: counts by value of each field of ``group_bys``."""
        found = self._matching(request.query.get("query_filter", ""))
        fields = [name for name in request.query.get("group_bys", "").split(",") if name]
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError:
            raise bad_request() from None
        groups = []
        for name in fields:
            counts = Counter(str(case.attributes.get(name)) for case in found)
            values = [{"value": value, "count": count} for value, count in counts.most_common(limit)]
            groups.append({"group": name, "group_values": values})
        return answer({"data": {"id": "case_count", "type": "case_count", "attributes": {"groups": groups}}})

    async def aggregate(self, request: web.Request) -> web.Response:
        """POST /api/v2/cases/aggregate: a total, and a count per value of the fields grouped by."""
        attributes = await attributes_of(request, "aggregate")
        group_by = attributes.get("group_by")
        if not isinstance(group_by, dict) or not isinstance(group_by.get("groups"), list):
            raise bad_request()
        limit = group_by.get("limit")
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise bad_request()
        found = self._matching(str(attributes.get("query_filter", "")))
        counts = Counter(",".join(str(case.attributes.get(name)) for name in group_by["groups"]) for case in found)
        groups = [{"group": group, "value": [count]} for group, count in counts.most_common(limit)]
        document = {"id": "aggregate", "type": "aggregate", "attributes": {"total": len(found), "groups": groups}}
        return answer({"data": document})

    def _matching(self, query: str) -> list[FakeCase]:
        try:
            predicates = parse_filter(query)
        except SearchError as exc:
            raise bad_request(str(exc)) from None
        return [case for case in self.store.cases.values() if all(predicate(case) for predicate in predicates)]

    async def bulk(self, request: web.Request) -> web.Response:
        """POST /api/v2/cases/bulk: one action on many cases; 200, no body."""
        attributes = await attributes_of(request, "bulk")
        ids, action, payload = attributes.get("case_ids"), attributes.get("type"), attributes.get("payload") or {}
        if not isinstance(ids, list) or not ids or action not in _BULK_ACTIONS or not isinstance(payload, dict):
            raise bad_request()
        cases = [self.store.find(str(case_id)) for case_id in ids]
        if any(case is None for case in cases):
            raise not_found("case not found")
        for case in cases:
            assert case is not None
            if self._bulk_one(case, action, payload):
                self.changed(case)
        return web.Response(status=200)

    def _bulk_one(self, case: FakeCase, action: str, payload: dict[str, Any]) -> bool:
        if action == "update_project":
            if payload.get("project_id") not in self.org.projects:
                raise not_found("project not found")
            case.relationships["project"] = {"data": {"id": payload["project_id"], "type": "project"}}
            return True
        if action in ("jira", "servicenow", "linear"):
            return False  # tickets in other tools: not modelled by the fake
        return self._updates[action](case, payload)


def _user(user_id: str) -> dict[str, Any]:
    return {"data": {"id": user_id, "type": "user"}}


def _related(relationship: object, kind: str) -> str:
    """The id of a ``{"data": {"id", "type"}}`` relationship of type ``kind``."""
    data = relationship.get("data") if isinstance(relationship, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise bad_request()
    if data.get("type") != kind:
        raise wrong_type(data.get("type"), kind)
    return str(data["id"])


def _check_priority(priority: object) -> None:
    if priority not in PRIORITIES:
        raise generic_error(f"invalid priority {priority}. Must be one of {', '.join(PRIORITIES)}")


def _set(case: FakeCase, name: str, value: Any) -> bool:
    if case.attributes.get(name) == value:
        return False
    case.attributes[name] = value
    return True
