"""Case types and custom-attribute configurations
(``shared/api/case-management-operations.md`` sections 3.4 and 3.5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import frozen

from aiocases.models._base import JSON, Value, mapping, unlisted, values

__all__ = [
    "CaseType",
    "CaseTypeAttributes",
    "CustomAttributeConfig",
    "CustomAttributeConfigAttributes",
    "StatusGroupConfig",
    "StatusOption",
]


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class StatusOption(Value):
    """One status a case of the type may have (its ``status_name``)."""

    name: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class StatusGroupConfig(Value):
    """The statuses of one status group (``open``, ``in_progress``, ``closed``) and its default."""

    status_options: tuple[StatusOption, ...] = values()
    default: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseTypeAttributes(Value):
    """``attributes`` of a case type.  ``internal`` (built in) and
    ``statuses_config`` (the statuses its cases may have, by group) are not in
    the API's schema; real answers carry them.  A deleted type is still
    listed, with ``deleted_at``."""

    name: str | None = None
    description: str | None = None
    emoji: str | None = None
    deleted_at: datetime | None = None
    internal: bool | None = None
    statuses_config: Mapping[str, StatusGroupConfig] = mapping()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseType(Value):
    """A case type (Standard, Security, ... or one of the organization's)."""

    id: str
    type: str
    attributes: CaseTypeAttributes | None = None
    extra: Mapping[str, JSON] = unlisted()

    @property
    def name(self) -> str | None:
        """The type's name."""
        return None if self.attributes is None else self.attributes.name

    @property
    def deleted(self) -> bool:
        """Whether the type was deleted (the API still lists it)."""
        return self.attributes is not None and self.attributes.deleted_at is not None

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every ``status_name`` a case of this type may have, group by group."""
        config = {} if self.attributes is None else self.attributes.statuses_config
        return tuple(o.name for group in config.values() for o in group.status_options if o.name is not None)


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CustomAttributeConfigAttributes(Value):
    """``attributes`` of a custom-attribute configuration: its ``key`` (the
    name in search and in "Update case custom attribute"), ``type`` (``URL``,
    ``TEXT``, ``NUMBER``, ``SELECT``), ``is_multi``.  ``case_type`` is not in
    the schema; real answers carry it."""

    case_type_id: str | None = None
    display_name: str | None = None
    key: str | None = None
    type: str | None = None
    is_multi: bool | None = None
    description: str | None = None
    case_type: str | None = None
    type_data: Mapping[str, Any] = mapping()
    map_from: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CustomAttributeConfig(Value):
    """A custom attribute a case type's cases may carry."""

    id: str
    type: str
    attributes: CustomAttributeConfigAttributes | None = None
    extra: Mapping[str, JSON] = unlisted()

    @property
    def key(self) -> str | None:
        """The attribute's key."""
        return None if self.attributes is None else self.attributes.key
