"""Projects, their favourites and notification rules
(``shared/api/case-management-operations.md`` sections 3.6 and 3.10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from aiocases.models._base import JSON, Value, mapping, unlisted, values

__all__ = [
    "NotificationRecipient",
    "NotificationRule",
    "NotificationRuleAttributes",
    "NotificationTrigger",
    "Project",
    "ProjectAttributes",
    "ProjectFavorite",
]


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class ProjectAttributes(Value):
    """``attributes`` of a project.  ``settings`` and ``columns_config`` are
    kept as the API's JSON (integrations, notifications, board columns: see
    the reference), read-only."""

    key: str | None = None
    name: str | None = None
    restricted: bool | None = None
    enabled_custom_case_types: tuple[str, ...] = values()
    settings: Mapping[str, Any] = mapping()
    columns_config: Mapping[str, Any] = mapping()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class Project(Value):
    """A project: the cases of a team, keyed ``KEY-123``."""

    id: str
    type: str
    attributes: ProjectAttributes
    relationships: Mapping[str, Any] = mapping()
    extra: Mapping[str, JSON] = unlisted()

    @property
    def key(self) -> str | None:
        """The project's key, the prefix of its cases' keys."""
        return self.attributes.key

    @property
    def name(self) -> str | None:
        """The project's name."""
        return self.attributes.name


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class ProjectFavorite(Value):
    """A project the calling user marked as a favourite (``id`` is the project's)."""

    id: str
    type: str
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class NotificationRecipient(Value):
    """Who a rule notifies: ``type`` such as ``SLACK_CHANNEL`` or ``EMAIL``, and its ``data``."""

    type: str | None = None
    data: Mapping[str, Any] = mapping()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class NotificationTrigger(Value):
    """When a rule fires: ``type`` such as ``CASE_CREATED`` or ``STATUS_TRANSITIONED``, and its ``data``."""

    type: str | None = None
    data: Mapping[str, Any] = mapping()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class NotificationRuleAttributes(Value):
    """``attributes`` of a notification rule."""

    is_enabled: bool | None = None
    query: str | None = None
    recipients: tuple[NotificationRecipient, ...] = values()
    triggers: tuple[NotificationTrigger, ...] = values()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class NotificationRule(Value):
    """A project's notification rule."""

    id: str
    type: str
    attributes: NotificationRuleAttributes
    extra: Mapping[str, JSON] = unlisted()
