"""Projects, notification rules, case types and custom-attribute
configurations: the calls that set an organization's Case Management up
(tiers (b) and (c) of the reference), named as the official Python client
names them.  Creations are sent once (retried only when they cannot have
been carried out); updates and deletions set a state and are retried."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiocases import arguments, operations
from aiocases.errors import InvalidArgument
from aiocases.lifecycle import Calls
from aiocases.models import (
    JSON,
    CaseType,
    CustomAttributeConfig,
    NotificationRecipient,
    NotificationRule,
    NotificationTrigger,
    Project,
    ProjectFavorite,
)
from aiocases.operations.request import given
from aiocases.parsing import read_list, read_one, to_api_json

__all__ = ["Admin"]


class Admin(Calls):
    """The project, case-type and custom-attribute calls of :class:`~aiocases.client.CasesClient`."""

    # -- projects ---------------------------------------------------------------------

    async def get_projects(self) -> list[Project]:
        """Every project."""
        return await self._call(operations.get_projects(), lambda doc: read_list(Project, doc))

    async def get_project(self, project_id: str) -> Project:
        """The project with this UUID."""
        return await self._call(operations.get_project(project_id), lambda doc: read_one(Project, doc))

    async def create_project(
        self,
        *,
        key: str,
        name: str,
        enabled_custom_case_types: Sequence[str] | None = None,
        team_uuid: str | None = None,
    ) -> Project:
        """A new project: ``key`` prefixes its cases' keys (``CASE`` is taken)."""
        if arguments.text("key", key).upper() == "CASE":
            raise InvalidArgument("key CASE is reserved by the API: choose another project key")
        attributes = given(
            key=key,
            name=arguments.string("name", name),
            enabled_custom_case_types=_strings("enabled_custom_case_types", enabled_custom_case_types),
            team_uuid=None if team_uuid is None else arguments.text("team_uuid", team_uuid),
        )
        return await self._call(operations.create_project(attributes), lambda doc: read_one(Project, doc))

    async def update_project(
        self,
        project_id: str,
        *,
        name: str | None = None,
        columns_config: Mapping[str, Any] | None = None,
        enabled_custom_case_types: Sequence[str] | None = None,
        settings: Mapping[str, Any] | None = None,
        team_uuid: str | None = None,
    ) -> Project:
        """Change what is given of the project (``settings`` and
        ``columns_config`` as the API's JSON; see the reference)."""
        attributes = given(
            name=None if name is None else arguments.string("name", name),
            columns_config=_json_object("columns_config", columns_config),
            enabled_custom_case_types=_strings("enabled_custom_case_types", enabled_custom_case_types),
            settings=_json_object("settings", settings),
            team_uuid=None if team_uuid is None else arguments.text("team_uuid", team_uuid),
        )
        _something("update_project", attributes)
        request = operations.update_project(project_id, attributes)
        return await self._call(request, lambda doc: read_one(Project, doc))

    async def delete_project(self, project_id: str) -> None:
        """Delete the project."""
        await self._call(operations.delete_project(project_id), _nothing)

    async def list_user_case_project_favorites(self) -> list[ProjectFavorite]:
        """The projects the calling user marked as favourites."""
        request = operations.list_user_case_project_favorites()
        return await self._call(request, lambda doc: read_list(ProjectFavorite, doc))

    async def favorite_case_project(self, project_id: str) -> None:
        """Mark the project as a favourite of the calling user."""
        await self._call(operations.favorite_case_project(project_id), _nothing)

    async def unfavorite_case_project(self, project_id: str) -> None:
        """No longer a favourite."""
        await self._call(operations.unfavorite_case_project(project_id), _nothing)

    # -- notification rules -----------------------------------------------------------

    async def get_project_notification_rules(self, project_id: str) -> list[NotificationRule]:
        """The project's notification rules."""
        request = operations.get_project_notification_rules(project_id)
        return await self._call(request, lambda doc: read_list(NotificationRule, doc))

    async def create_project_notification_rule(
        self,
        project_id: str,
        *,
        recipients: Sequence[NotificationRecipient | Mapping[str, Any]],
        triggers: Sequence[NotificationTrigger | Mapping[str, Any]],
        is_enabled: bool | None = None,
        query: str | None = None,
    ) -> NotificationRule:
        """A new rule: who to notify (``{"type": "EMAIL", "data": {"email": ...}}``)
        and when (``{"type": "CASE_CREATED"}``), for the cases ``query`` matches."""
        attributes = _rule(recipients, triggers, is_enabled, query)
        request = operations.create_project_notification_rule(project_id, attributes)
        return await self._call(request, lambda doc: read_one(NotificationRule, doc))

    async def update_project_notification_rule(
        self,
        project_id: str,
        rule_id: str,
        *,
        recipients: Sequence[NotificationRecipient | Mapping[str, Any]] | None = None,
        triggers: Sequence[NotificationTrigger | Mapping[str, Any]] | None = None,
        is_enabled: bool | None = None,
        query: str | None = None,
    ) -> None:
        """Change what is given of the rule (the API answers with no body)."""
        attributes = _rule(recipients, triggers, is_enabled, query)
        _something("update_project_notification_rule", attributes)
        await self._call(operations.update_project_notification_rule(project_id, rule_id, attributes), _nothing)

    async def delete_project_notification_rule(self, project_id: str, rule_id: str) -> None:
        """Delete the rule."""
        await self._call(operations.delete_project_notification_rule(project_id, rule_id), _nothing)

    # -- case types -------------------------------------------------------------------

    async def get_all_case_types(self) -> list[CaseType]:
        """Every case type, the deleted ones included (``case_type.deleted``)."""
        return await self._call(operations.get_all_case_types(), lambda doc: read_list(CaseType, doc))

    async def create_case_type(
        self, *, name: str, description: str | None = None, emoji: str | None = None
    ) -> CaseType:
        """A new case type (its cases' statuses: Open, In Progress, Closed)."""
        attributes = _type_attributes(name, description, emoji)
        return await self._call(operations.create_case_type(attributes), lambda doc: read_one(CaseType, doc))

    async def update_case_type(
        self, case_type_id: str, *, name: str, description: str | None = None, emoji: str | None = None
    ) -> CaseType:
        """Rename the type, and set its description and emoji."""
        request = operations.update_case_type(case_type_id, _type_attributes(name, description, emoji))
        return await self._call(request, lambda doc: read_one(CaseType, doc))

    async def delete_case_type(self, case_type_id: str) -> None:
        """Delete the type (it stays listed, with ``deleted_at``)."""
        await self._call(operations.delete_case_type(case_type_id), _nothing)

    # -- custom attributes ------------------------------------------------------------

    async def get_all_custom_attributes(self) -> list[CustomAttributeConfig]:
        """The custom-attribute configurations of every case type."""
        request = operations.get_all_custom_attributes()
        return await self._call(request, lambda doc: read_list(CustomAttributeConfig, doc))

    async def get_all_custom_attribute_configs_by_case_type(self, case_type_id: str) -> list[CustomAttributeConfig]:
        """The custom-attribute configurations of one case type."""
        request = operations.get_all_custom_attribute_configs_by_case_type(case_type_id)
        return await self._call(request, lambda doc: read_list(CustomAttributeConfig, doc))

    async def create_custom_attribute_config(
        self,
        case_type_id: str,
        *,
        key: str,
        display_name: str,
        type: str,
        is_multi: bool,
        description: str | None = None,
    ) -> CustomAttributeConfig:
        """A new custom attribute for the type's cases: ``type`` ``URL``,
        ``TEXT``, ``NUMBER`` or ``SELECT``; ``is_multi``: a list of values."""
        attributes = given(
            key=arguments.text("key", key),
            display_name=arguments.string("display_name", display_name),
            type=arguments.text("type", type),
            is_multi=arguments.flag("is_multi", is_multi),
            description=None if description is None else arguments.string("description", description),
        )
        request = operations.create_custom_attribute_config(case_type_id, attributes)
        return await self._call(request, lambda doc: read_one(CustomAttributeConfig, doc))

    async def update_custom_attribute_config(
        self,
        case_type_id: str,
        custom_attribute_id: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        type: str | None = None,
        options: Sequence[str] | None = None,
        map_from: str | None = None,
    ) -> CustomAttributeConfig:
        """Change what is given of the configuration (``options``: a ``SELECT``'s values)."""
        choices = _strings("options", options)
        attributes = given(
            display_name=None if display_name is None else arguments.string("display_name", display_name),
            description=None if description is None else arguments.string("description", description),
            type=None if type is None else arguments.text("type", type),
            type_data=None if choices is None else {"options": [{"value": choice} for choice in choices]},
            map_from=None if map_from is None else arguments.text("map_from", map_from),
        )
        _something("update_custom_attribute_config", attributes)
        request = operations.update_custom_attribute_config(case_type_id, custom_attribute_id, attributes)
        return await self._call(request, lambda doc: read_one(CustomAttributeConfig, doc))

    async def delete_custom_attribute_config(self, case_type_id: str, custom_attribute_id: str) -> None:
        """Delete the configuration."""
        await self._call(operations.delete_custom_attribute_config(case_type_id, custom_attribute_id), _nothing)


def _nothing(document: JSON) -> None:
    return None


def _something(call: str, attributes: Mapping[str, Any]) -> None:
    if not attributes:
        raise InvalidArgument(f"{call} needs at least one thing to change")


def _strings(name: str, values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else arguments.strings(name, values)


def _json_object(name: str, value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{name} must be a JSON object (a mapping), got {type(value).__name__}")
    return dict(value)


def _rule(recipients: Any, triggers: Any, is_enabled: bool | None, query: str | None) -> dict[str, Any]:
    return given(
        recipients=None if recipients is None else _members("recipients", recipients, NotificationRecipient),
        triggers=None if triggers is None else _members("triggers", triggers, NotificationTrigger),
        is_enabled=None if is_enabled is None else arguments.flag("is_enabled", is_enabled),
        query=None if query is None else arguments.string("query", query),
    )


def _members(name: str, values: Any, model: type) -> list[JSON]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidArgument(f"{name} must be a list of {model.__name__} or JSON objects, got {values!r:.80}")
    out: list[JSON] = []
    for value in values:
        if isinstance(value, model):
            out.append(to_api_json(value))
        elif isinstance(value, Mapping):
            out.append(dict(value))
        else:
            raise InvalidArgument(f"{name} must be a list of {model.__name__} or JSON objects, got {value!r:.80}")
    return out


def _type_attributes(name: str, description: str | None, emoji: str | None) -> dict[str, Any]:
    return given(
        name=arguments.string("name", name),
        description=None if description is None else arguments.string("description", description),
        emoji=None if emoji is None else arguments.string("emoji", emoji),
    )
