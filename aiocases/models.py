"""Models of the Case Management JSON:API documents: frozen attrs classes.

The classes mirror the documents of the reference pages field for field;
:mod:`aiocases.parsing` builds them from JSON and back, leniently where the
API is open (unlisted members go to each object's ``extra``, enum-like values
stay strings) and strictly where it promises a shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TypeAlias, cast

import attrs
from attrs import field, frozen

__all__ = [
    "MODELS",
    "Author",
    "AuthorContent",
    "Case",
    "CaseAttributes",
    "CaseRelationships",
    "CellAttributes",
    "CellContent",
    "JSON",
    "Relationship",
    "ResourceRef",
    "TimelineCell",
    "Watcher",
    "WatcherRelationships",
    "WatcherUser",
]

#: A decoded JSON value.
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"
_EMPTY: Mapping[str, JSON] = MappingProxyType({})


def _extra() -> Mapping[str, JSON]:
    # Fields the reference pages do not list; compared, never hashed.
    return field(default=_EMPTY, hash=False, kw_only=True)


class _Value:
    """What every model shares: it pickles and deep-copies (its ``extra``, a
    read-only view, travels as a plain dict), so results cross processes
    (multiprocessing, arq) and ``copy.deepcopy`` works."""

    __slots__ = ()

    def __getstate__(self) -> dict[str, object]:
        state = {name: getattr(self, name) for name in _names(type(self))}
        state["extra"] = dict(cast(Mapping[str, JSON], state["extra"]))
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, MappingProxyType(value) if name == "extra" else value)  # type: ignore[arg-type]


# Without slots: a frozen class with slots stores each field through
# ``object.__setattr__`` (about 80 ns a field), one with a ``__dict__``
# through a plain dict store; cells are what an export is made of.
_model = frozen(slots=False, getstate_setstate=False)


@_model
class AuthorContent(_Value):
    """Profile of the user who wrote a cell (``attributes.author.content``).

    The real API sends the user id as ``ID``; it is read into ``id`` either way.
    Cells with equal authors share one instance.
    """

    id: str | None = None
    name: str | None = None
    email: str | None = None
    handle: str | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class Author(_Value):
    """``attributes.author``: ``type`` is ``"USER"`` today; others are kept as given."""

    type: str | None = None
    content: AuthorContent | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class CellContent(_Value):
    """``attributes.cell_content``: ``message`` (Markdown) for ``COMMENT`` cells."""

    message: str | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class CellAttributes(_Value):
    """``data[].attributes`` of a timeline cell; timestamps are timezone-aware.

    ``content`` is not on the reference page, but real responses carry it (a
    plain-text copy of the comment)."""

    author: Author | None = None
    cell_content: CellContent | None = None
    content: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    deleted_at: datetime | None = None
    type: str | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class TimelineCell(_Value):
    """One event of a case's timeline (``data[]`` of "Get case timeline")."""

    id: str
    type: str
    attributes: CellAttributes
    extra: Mapping[str, JSON] = _extra()


@_model
class ResourceRef(_Value):
    """A JSON:API resource identifier (``{"id": ..., "type": ...}``)."""

    id: str
    type: str
    extra: Mapping[str, JSON] = _extra()


@_model
class WatcherUser(_Value):
    """``relationships.user`` of a watcher."""

    data: ResourceRef | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class WatcherRelationships(_Value):
    """``relationships`` of a watcher."""

    user: WatcherUser | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class Watcher(_Value):
    """One watcher of a case (``data[]`` of "List case watchers")."""

    id: str
    type: str
    relationships: WatcherRelationships | None = None
    extra: Mapping[str, JSON] = _extra()

    @property
    def user_id(self) -> str | None:
        """The watching user's UUID, from ``relationships.user.data.id``."""
        rel = self.relationships
        if rel is None or rel.user is None or rel.user.data is None:
            return None
        return rel.user.data.id


@_model
class Relationship(_Value):
    """A JSON:API relationship: ``{"data": {"id": ..., "type": ...}}`` (``data`` may be null)."""

    data: ResourceRef | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class CaseRelationships(_Value):
    """``relationships`` of a case: the users it is assigned to, created and
    modified by, and its project."""

    assignee: Relationship | None = None
    created_by: Relationship | None = None
    modified_by: Relationship | None = None
    project: Relationship | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class CaseAttributes(_Value):
    """``attributes`` of a case ("Search cases").  ``public_id`` and
    ``created_by_author`` are not in Datadog's schema but real responses
    carry them; every other member (``comment_count``, ``insights``,
    ``custom_attributes``, ...) is kept in ``extra``.  ``status`` is the
    deprecated three-value field (``OPEN``, ``IN_PROGRESS``, ``CLOSED``);
    ``status_name`` the current one."""

    key: str | None = None
    public_id: str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    status_name: str | None = None
    priority: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    closed_at: datetime | None = None
    created_by_author: Author | None = None
    extra: Mapping[str, JSON] = _extra()


@_model
class Case(_Value):
    """One case (``data[]`` of "Search cases"), with its most used fields at
    hand: ``case.key``, ``case.title``, ``case.project`` (the project's id),
    ``case.author`` and so on read ``attributes`` and ``relationships``."""

    id: str
    type: str
    attributes: CaseAttributes
    relationships: CaseRelationships | None = None
    extra: Mapping[str, JSON] = _extra()

    @property
    def key(self) -> str | None:
        """The case's key, such as ``PROJ-123``."""
        return self.attributes.key

    @property
    def public_id(self) -> str | None:
        """The case's public number (real responses carry it; the schema does not list it)."""
        return self.attributes.public_id

    @property
    def title(self) -> str | None:
        """The case's title."""
        return self.attributes.title

    @property
    def status(self) -> str | None:
        """``status_name`` where the response has it (``Open``, ``Closed``, ...), else the deprecated ``status``."""
        return self.attributes.status_name or self.attributes.status

    @property
    def priority(self) -> str | None:
        """``P1`` to ``P5``, or ``NOT_DEFINED``."""
        return self.attributes.priority

    @property
    def created_at(self) -> datetime | None:
        """When the case was created."""
        return self.attributes.created_at

    @property
    def modified_at(self) -> datetime | None:
        """When the case was last modified."""
        return self.attributes.modified_at

    @property
    def project(self) -> str | None:
        """The id of the case's project, from ``relationships.project``."""
        relationships = self.relationships
        if relationships is None or relationships.project is None or relationships.project.data is None:
            return None
        return relationships.project.data.id

    @property
    def author(self) -> Author | None:
        """Who created the case (``attributes.created_by_author``)."""
        return self.attributes.created_by_author


def _names(cls: type) -> tuple[str, ...]:
    """The names of all a model's fields, ``extra`` included, in attrs' order."""
    return tuple(a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)))


#: Every model, each after the models of its fields (the order :mod:`aiocases.parsing` builds hooks in).
MODELS: tuple[type, ...] = (
    AuthorContent,
    Author,
    CellContent,
    CellAttributes,
    TimelineCell,
    ResourceRef,
    WatcherUser,
    WatcherRelationships,
    Watcher,
    Relationship,
    CaseRelationships,
    CaseAttributes,
    Case,
)
