"""Timeline cells and watchers: the documents of "Get case timeline",
"Comment case" and "List case watchers"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from attrs import frozen

from aiocases.models._base import JSON, Value, unlisted

__all__ = [
    "Author",
    "AuthorContent",
    "CellAttributes",
    "CellContent",
    "ResourceRef",
    "TimelineCell",
    "Watcher",
    "WatcherRelationships",
    "WatcherUser",
]


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class AuthorContent(Value):
    """Profile of the user who wrote a cell (``attributes.author.content``).

    The real API sends the user id as ``ID``; it is read into ``id`` either way.
    Cells with equal authors share one instance.
    """

    id: str | None = None
    name: str | None = None
    email: str | None = None
    handle: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class Author(Value):
    """``attributes.author``: ``type`` is ``"USER"`` today; others are kept as given."""

    type: str | None = None
    content: AuthorContent | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CellContent(Value):
    """``attributes.cell_content``: ``message`` (Markdown) for ``COMMENT`` cells."""

    message: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CellAttributes(Value):
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
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class TimelineCell(Value):
    """One event of a case's timeline (``data[]`` of "Get case timeline")."""

    id: str
    type: str
    attributes: CellAttributes
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class ResourceRef(Value):
    """A JSON:API resource identifier (``{"id": ..., "type": ...}``)."""

    id: str
    type: str
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class WatcherUser(Value):
    """``relationships.user`` of a watcher."""

    data: ResourceRef | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class WatcherRelationships(Value):
    """``relationships`` of a watcher."""

    user: WatcherUser | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class Watcher(Value):
    """One watcher of a case (``data[]`` of "List case watchers")."""

    id: str
    type: str
    relationships: WatcherRelationships | None = None
    extra: Mapping[str, JSON] = unlisted()

    @property
    def user_id(self) -> str | None:
        """The watching user's UUID, from ``relationships.user.data.id``."""
        rel = self.relationships
        if rel is None or rel.user is None or rel.user.data is None:
            return None
        return rel.user.data.id
