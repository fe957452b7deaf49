"""Tiers (b) and (c) of the fake: projects, favourite projects, notification
rules, case types and custom-attribute configurations.

The rules, as the recordings show them (``shared/api/case-management-operations.md``
sections 5.4, 5.5 and 5.7):

1. A creation answers 201 with the new resource; an update of a project,
   a case type or a configuration 200 with it; a notification rule's update
   and every deletion 204 with no body.
2. Deleting a case type marks it deleted (``deleted_at``); it stays listed,
   and deleting it again is a 204 again.  A configuration's deletion is a
   204 whether or not it was there (no 404 is documented).
3. An id in the path that is not a UUID is a 400 ``Invalid Parameter``
   where recorded (configurations); an unknown one a 404 ``<kind> not
   found``.
4. A case type made through the API has Open, In Progress and Closed; a
   configuration carries ``case_type: "TUNKNOWN"``.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from aiocases.testing.jsonapi import answer, attributes_of, bad_request, data_of, invalid_parameter, is_uuid, not_found
from aiocases.testing.org import CUSTOM_ATTRIBUTE_TYPES, Organization, statuses_config

__all__ = ["AdminHandlers"]

Handler = Callable[[web.Request], Awaitable[web.Response]]


class AdminHandlers:
    """The handlers of tiers (b) and (c) over an :class:`Organization`."""

    def __init__(self, org: Organization) -> None:
        self.org = org

    def routes(self) -> list[tuple[str, str, Handler]]:
        """(method, path, handler) of every operation; fixed paths before those with ids."""
        projects, types = "/api/v2/cases/projects", "/api/v2/cases/types"
        project, rules = projects + "/{project_id:[^/]+}", projects + "/{project_id:[^/]+}/notification_rules"
        case_type, configs = types + "/{case_type_id:[^/]+}", types + "/{case_type_id:[^/]+}/custom_attributes"
        return [
            ("GET", projects, self.get_projects),
            ("POST", projects, self.create_project),
            ("GET", projects + "/favorites", self.favorites),
            ("GET", project, self.get_project),
            ("PATCH", project, self.update_project),
            ("DELETE", project, self.delete_project),
            ("POST", project + "/favorites", self.favorite),
            ("DELETE", project + "/favorites", self.favorite),
            ("GET", rules, self.get_rules),
            ("POST", rules, self.create_rule),
            ("PUT", rules + "/{rule_id:[^/]+}", self.update_rule),
            ("DELETE", rules + "/{rule_id:[^/]+}", self.delete_rule),
            ("GET", types, self.get_case_types),
            ("POST", types, self.create_case_type),
            ("GET", types + "/custom_attributes", self.get_all_configs),
            ("PUT", case_type, self.update_case_type),
            ("DELETE", case_type, self.delete_case_type),
            ("GET", configs, self.get_configs),
            ("POST", configs, self.create_config),
            ("PUT", configs + "/{config_id:[^/]+}", self.update_config),
            ("DELETE", configs + "/{config_id:[^/]+}", self.delete_config),
        ]

    # -- projects -----------------------------------------------------------------------

    def project(self, request: web.Request, title: str = "project not found") -> dict[str, Any]:
        project = self.org.projects.get(request.match_info["project_id"])
        if project is None:
            raise not_found(title)
        return project

    async def get_projects(self, request: web.Request) -> web.Response:
        return answer({"data": list(self.org.projects.values())})

    async def get_project(self, request: web.Request) -> web.Response:
        return answer({"data": self.project(request)})

    async def create_project(self, request: web.Request) -> web.Response:
        attributes = await attributes_of(request, "project")
        key, name = attributes.get("key"), attributes.get("name")
        if not isinstance(key, str) or not key or key.upper() == "CASE" or not isinstance(name, str) or not name:
            raise bad_request()
        if any(p["attributes"]["key"] == key for p in self.org.projects.values()):
            raise bad_request(f"project key {key} already exists")
        project = self.org.project(key, name, self.org.new_id())
        _copy(attributes, project["attributes"], "enabled_custom_case_types")
        return answer({"data": project}, 201)

    async def update_project(self, request: web.Request) -> web.Response:
        project = self.project(request, "failed to get project: project not found")
        attributes = await attributes_of(request, "project")
        if "name" in attributes and (not isinstance(attributes["name"], str) or not attributes["name"]):
            raise bad_request()
        _copy(attributes, project["attributes"], "name", "columns_config", "enabled_custom_case_types", "settings")
        return answer({"data": project})

    async def delete_project(self, request: web.Request) -> web.Response:
        self.project(request)
        del self.org.projects[request.match_info["project_id"]]
        return answer(None, 204)

    async def favorites(self, request: web.Request) -> web.Response:
        return answer({"data": [{"id": project, "type": "project_favorite"} for project in self.org.favorites]})

    async def favorite(self, request: web.Request) -> web.Response:
        """POST adds the project to the caller's favourites, DELETE removes it; 204 both."""
        project = self.project(request)["id"]
        if request.method == "POST" and project not in self.org.favorites:
            self.org.favorites.append(project)
        elif request.method == "DELETE" and project in self.org.favorites:
            self.org.favorites.remove(project)
        return answer(None, 204)

    # -- notification rules ---------------------------------------------------------------

    def _rules(self, request: web.Request) -> dict[str, dict[str, Any]]:
        return self.org.rules.setdefault(self.project(request)["id"], {})

    async def get_rules(self, request: web.Request) -> web.Response:
        return answer({"data": list(self._rules(request).values())})

    async def create_rule(self, request: web.Request) -> web.Response:
        rules = self._rules(request)
        attributes = _rule_attributes(await attributes_of(request, "notification_rule"), creating=True)
        rule_id = self.org.new_id()
        rule = {"id": rule_id, "type": "notification_rule", "attributes": {"is_enabled": True, **attributes}}
        rules[rule_id] = rule
        return answer({"data": rule}, 201)

    async def update_rule(self, request: web.Request) -> web.Response:
        rule = self._rule(request)
        rule["attributes"].update(_rule_attributes(await attributes_of(request, "notification_rule"), creating=False))
        return answer(None, 204)

    async def delete_rule(self, request: web.Request) -> web.Response:
        rules, rule = self._rules(request), self._rule(request)
        del rules[rule["id"]]
        return answer(None, 204)

    def _rule(self, request: web.Request) -> dict[str, Any]:
        rule = self._rules(request).get(request.match_info["rule_id"])
        if rule is None:
            raise not_found("notification_rule not found")
        return rule

    # -- case types ---------------------------------------------------------------------------

    def case_type(self, request: web.Request) -> dict[str, Any]:
        case_type = self.org.case_types.get(request.match_info["case_type_id"])
        if case_type is None or case_type["attributes"].get("deleted_at"):
            raise not_found("case_type not found")
        return case_type

    async def get_case_types(self, request: web.Request) -> web.Response:
        return answer({"data": list(self.org.case_types.values())})

    async def create_case_type(self, request: web.Request) -> web.Response:
        attributes = _case_type_attributes(await attributes_of(request, "case_type"))
        type_id = self.org.new_id()
        attributes.update(internal=False, statuses_config=statuses_config())
        self.org.case_types[type_id] = {"id": type_id, "type": "case_type", "attributes": attributes}
        return answer({"data": self.org.case_types[type_id]}, 201)

    async def update_case_type(self, request: web.Request) -> web.Response:
        case_type = self.case_type(request)
        data = await data_of(request, "case_type")
        if "attributes" in data:
            case_type["attributes"].update(_case_type_attributes(data["attributes"]))
        return answer({"data": case_type})

    async def delete_case_type(self, request: web.Request) -> web.Response:
        """Rule 2: 204, the type kept with ``deleted_at``."""
        case_type = self.org.case_types.get(request.match_info["case_type_id"])
        if case_type is not None and not case_type["attributes"].get("internal"):
            case_type["attributes"].setdefault("deleted_at", self.org.generator.now())
        return answer(None, 204)

    # -- custom-attribute configurations --------------------------------------------------------

    async def get_all_configs(self, request: web.Request) -> web.Response:
        return answer({"data": list(self.org.configs.values())})

    async def get_configs(self, request: web.Request) -> web.Response:
        type_id = request.match_info["case_type_id"]
        if not is_uuid(type_id):
            raise invalid_parameter("CaseTypeId")
        configs = [c for c in self.org.configs.values() if c["attributes"]["case_type_id"] == type_id]
        return answer({"data": configs})

    async def create_config(self, request: web.Request) -> web.Response:
        case_type = self.case_type(request)
        attributes = await attributes_of(request, "custom_attribute")
        key, name = attributes.get("key"), attributes.get("display_name")
        if not isinstance(key, str) or not key or not isinstance(name, str) or not name:
            raise bad_request()
        if attributes.get("type") not in CUSTOM_ATTRIBUTE_TYPES or not isinstance(attributes.get("is_multi"), bool):
            raise bad_request()
        if any(c["attributes"]["key"] == key and c["attributes"]["case_type_id"] == case_type["id"]
               for c in self.org.configs.values()):  # fmt: skip
            raise bad_request(f"custom attribute {key} already exists")
        config_id = self.org.new_id()
        stored = {"case_type": "TUNKNOWN", "case_type_id": case_type["id"], "display_name": name,
                  "is_multi": attributes["is_multi"], "key": key, "type": attributes["type"]}  # fmt: skip
        _copy(attributes, stored, "description")
        self.org.configs[config_id] = {"id": config_id, "type": "custom_attribute", "attributes": stored}
        return answer({"data": self.org.configs[config_id]}, 201)

    async def update_config(self, request: web.Request) -> web.Response:
        config = self._config(request)
        if config is None:
            raise not_found("custom_attribute not found")
        attributes = await attributes_of(request, "custom_attribute")
        if "type" in attributes and attributes["type"] not in CUSTOM_ATTRIBUTE_TYPES:
            raise bad_request()
        _copy(attributes, config["attributes"], "display_name", "description", "type", "type_data", "map_from")
        return answer({"data": config})

    async def delete_config(self, request: web.Request) -> web.Response:
        """Rule 2: 204 whether or not it was there."""
        config = self._config(request)
        if config is not None:
            del self.org.configs[config["id"]]
        return answer(None, 204)

    def _config(self, request: web.Request) -> dict[str, Any] | None:
        config_id = request.match_info["config_id"]
        if not is_uuid(config_id):
            raise invalid_parameter("CustomAttributeId")
        config = self.org.configs.get(config_id)
        if config is None or config["attributes"]["case_type_id"] != request.match_info["case_type_id"]:
            return None
        return config


def _copy(source: dict[str, Any], target: dict[str, Any], *names: str) -> None:
    for name in names:
        if name in source:
            target[name] = copy.deepcopy(source[name])


def _case_type_attributes(attributes: object) -> dict[str, Any]:
    """``name`` (required), ``description``, ``emoji`` (an emoji: no ASCII letter in it)."""
    if not isinstance(attributes, dict) or not isinstance(attributes.get("name"), str) or not attributes["name"]:
        raise bad_request()
    emoji = attributes.get("emoji")
    if emoji is not None and (not isinstance(emoji, str) or not emoji or any(c.isascii() for c in emoji)):
        raise bad_request()
    out: dict[str, Any] = {"name": attributes["name"]}
    _copy(attributes, out, "description", "emoji")
    return out


def _rule_attributes(attributes: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    for name in ("recipients", "triggers"):
        if (creating or name in attributes) and not isinstance(attributes.get(name), list):
            raise bad_request()
    if "is_enabled" in attributes and not isinstance(attributes["is_enabled"], bool):
        raise bad_request()
    out: dict[str, Any] = {}
    _copy(attributes, out, "is_enabled", "query", "recipients", "triggers")
    return out
