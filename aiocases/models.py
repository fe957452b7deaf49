"""Models of the Case Management JSON:API documents, and their (de)serialisation.

The classes mirror the documents of the reference pages ("Get case timeline",
"List case watchers") field for field.  Real responses differ from the pages
(see ``shared/api/README.md``), so parsing is lenient where the API is open
and strict where it promises a shape:

* fields the pages do not list (``active``, a ``content`` string, ``ID``) are
  kept in each object's ``extra`` mapping, so :func:`to_api_json` gives them
  back and an export loses nothing;
* fields the pages list but a response omits are ``None``;
* enum-like values (cell ``type``, author ``type``) are plain strings, since
  the API announces more types are coming; objects whose shape is open
  (``author``, ``author.content``, ``cell_content``) are kept raw in ``extra``
  when they are not JSON objects;
* timestamps accept ``Z`` or an offset and 0-9 fractional digits; Python's
  ``datetime`` holds microseconds, so digits past the sixth are dropped;
* a required field (a cell's ``id``, ``type``, ``attributes``) that is missing
  or of the wrong type is a :class:`~aiocases.errors.DecodeError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TypeAlias, TypeVar, cast

import attrs
import cattrs
from attrs import field, frozen
from cattrs.gen import make_dict_structure_fn, override

from aiocases.errors import DecodeError

__all__ = [
    "Author",
    "AuthorContent",
    "CellAttributes",
    "CellContent",
    "JSON",
    "ResourceRef",
    "TimelineCell",
    "Watcher",
    "WatcherRelationships",
    "WatcherUser",
    "format_timestamp",
    "from_api_json",
    "parse_timestamp",
    "to_api_json",
]

#: A decoded JSON value.
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"
_EMPTY: Mapping[str, JSON] = MappingProxyType({})


def _extra() -> Mapping[str, JSON]:
    # Fields the reference pages do not list; compared, never hashed.
    return field(default=_EMPTY, hash=False, kw_only=True)


@frozen
class AuthorContent:
    """Profile of the user who wrote a cell (``attributes.author.content``).

    The real API sends the user id as ``ID``; it is read into ``id`` either way.
    """

    id: str | None = None
    name: str | None = None
    email: str | None = None
    handle: str | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class Author:
    """``attributes.author``: ``type`` is ``"USER"`` today; others are kept as given."""

    type: str | None = None
    content: AuthorContent | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class CellContent:
    """``attributes.cell_content``: ``message`` (Markdown) for ``COMMENT`` cells."""

    message: str | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class CellAttributes:
    """``data[].attributes`` of a timeline cell; timestamps are timezone-aware."""

    author: Author | None = None
    cell_content: CellContent | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    deleted_at: datetime | None = None
    type: str | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class TimelineCell:
    """One event of a case's timeline (``data[]`` of "Get case timeline")."""

    id: str
    type: str
    attributes: CellAttributes
    extra: Mapping[str, JSON] = _extra()


@frozen
class ResourceRef:
    """A JSON:API resource identifier (``{"id": ..., "type": ...}``)."""

    id: str
    type: str
    extra: Mapping[str, JSON] = _extra()


@frozen
class WatcherUser:
    """``relationships.user`` of a watcher."""

    data: ResourceRef | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class WatcherRelationships:
    """``relationships`` of a watcher."""

    user: WatcherUser | None = None
    extra: Mapping[str, JSON] = _extra()


@frozen
class Watcher:
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


# -- timestamps ---------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d(?::\d\d)?)(?:[.,](\d{1,9}))?\s*([Zz]|[+-]\d\d(?::?\d\d)?)?\Z"
)


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp as the API sends it into an aware ``datetime``.

    Accepts ``Z`` or a numeric offset and 0 to 9 fractional digits (the real
    API sends nine, which ``datetime.fromisoformat`` rejects on Python 3.10);
    digits past microseconds are dropped.  A timestamp without an offset is
    taken as UTC.  Raises :class:`ValueError` for anything else.
    """
    if len(text) == 30 and text[29] == "Z" and text[19] == ".":
        # The shape every real response uses: one slice, one C call.
        try:
            return datetime.fromisoformat(text[:26] + "+00:00")
        except ValueError:
            pass
    match = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r:.60}")
    date, clock, fraction, offset = match.groups()
    if len(clock) == 5:
        clock += ":00"
    if offset is None or offset in "Zz":
        offset = "+00:00"
    elif len(offset) == 3:
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    micros = f".{(fraction or '').ljust(6, '0')[:6]}"
    return datetime.fromisoformat(f"{date}T{clock}{micros}{offset}")


def format_timestamp(value: datetime) -> str:
    """Format an aware ``datetime`` the way the API does (UTC as ``Z``)."""
    text = value.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text


# -- structuring --------------------------------------------------------------

_T = TypeVar("_T")
# Fields whose JSON:API value is an object of open shape: anything else there
# is kept raw in ``extra`` rather than rejected.
_OPEN_OBJECTS = {
    Author: ("content",),
    CellAttributes: ("author", "cell_content"),
}


def _structure_str(value: object, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_timestamp(value: object, _: type) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected a timestamp string, got {type(value).__name__}")
    return parse_timestamp(value)


def _open_class_hook(
    converter: cattrs.Converter, cls: type[_T], renames: Mapping[str, str]
) -> Callable[[object, type], _T]:
    """A structure hook for ``cls`` that keeps unlisted keys in ``extra``."""
    names = frozenset(a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)) if a.name != "extra")
    open_objects = _OPEN_OBJECTS.get(cls, ())
    generated = make_dict_structure_fn(cls, converter, extra=override(omit=True))

    def lenient(data: dict[str, JSON]) -> _T:
        extra = {k: v for k, v in data.items() if k not in names}
        for key in open_objects:
            raw = data.get(key)
            if raw is not None and type(raw) is not dict:
                extra[key] = raw
                data = {k: v for k, v in data.items() if k != key}
        for alias, name in renames.items():
            if alias in data and name not in data:
                data = {**data, name: data[alias]}
        obj = generated(data, cls)
        if extra:
            # Frozen classes: set the one field cattrs was told to omit.
            object.__setattr__(obj, "extra", extra)
        return obj

    def structure(value: object, _: type) -> _T:
        if type(value) is not dict:
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        if value.keys() <= names and not open_objects:
            return generated(value, cls)
        return lenient(value)

    return structure


def _structure_optional_str(value: object, _: type) -> str | None:
    if value is None or type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_optional_timestamp(value: object, _: type) -> datetime | None:
    return None if value is None else _structure_timestamp(value, datetime)


_MODELS: tuple[type, ...] = (
    AuthorContent,
    Author,
    CellContent,
    CellAttributes,
    TimelineCell,
    ResourceRef,
    WatcherUser,
    WatcherRelationships,
    Watcher,
)
_RENAMES: Mapping[type, Mapping[str, str]] = {AuthorContent: {"ID": "id"}}


def _make_converter(detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(datetime, _structure_timestamp)
    # Direct hooks for the optional scalars skip cattrs' generic union dispatch.
    converter.register_structure_hook(str | None, _structure_optional_str)
    converter.register_structure_hook(datetime | None, _structure_optional_timestamp)
    for cls in _MODELS:
        hook: Callable[[object, type], object] = _open_class_hook(converter, cls, _RENAMES.get(cls, {}))
        converter.register_structure_hook(cls, hook)
        converter.register_structure_hook(cls | None, _optional(hook))
    return converter


def _optional(hook: Callable[[object, type], _T]) -> Callable[[object, type], _T | None]:
    # cattrs' own Optional handling dispatches on every call; this does not.
    def structure(value: object, cls: type) -> _T | None:
        return None if value is None else hook(value, cls)

    return structure


# Two private converters, built once: a fast one for the hot path, and one with
# detailed validation used only to name the field once the fast one has failed.
_FAST = _make_converter(detailed=False)
_DETAILED = _make_converter(detailed=True)
_STRUCTURE_CELL = _FAST.get_structure_hook(TimelineCell)
_STRUCTURE_WATCHER = _FAST.get_structure_hook(Watcher)


def _locate(cls: type, value: object, where: str) -> DecodeError:
    """Re-structure ``value`` with detailed validation to name the bad field."""
    try:
        _DETAILED.structure(value, cls)
    except Exception as exc:
        messages = (
            cattrs.transform_error(exc, path=where) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        )
        first = messages[0] if messages else str(exc)
        text, _, path = first.rpartition(" @ ")
        return DecodeError(f"{path or where}: {text or first}", field=path or where)
    return DecodeError(f"{where}: not a valid {cls.__name__}", field=where)


def structure_list(cls: type[_T], data: object) -> list[_T]:
    """Structure a JSON:API document's ``data`` array into ``cls`` objects."""
    if type(data) is not list:
        raise DecodeError(f"data: expected a JSON array, got {type(data).__name__}", field="data")
    hook: Callable[[object, type], _T] = (
        _STRUCTURE_CELL
        if cls is TimelineCell
        else _STRUCTURE_WATCHER
        if cls is Watcher
        else _FAST.get_structure_hook(cls)
    )
    try:
        return [hook(item, cls) for item in data]
    except Exception:
        pass
    for index, item in enumerate(data):
        try:
            hook(item, cls)
        except Exception:
            raise _locate(cls, item, f"data[{index}]") from None
    raise DecodeError("data: could not be structured", field="data")  # pragma: no cover - unreachable


def from_api_json(cls: type[_T], value: Mapping[str, JSON]) -> _T:
    """Build one model from its API JSON shape (the inverse of :func:`to_api_json`)."""
    return structure_list(cls, [dict(value)])[0]


# -- unstructuring ------------------------------------------------------------


def to_api_json(model: object) -> dict[str, JSON]:
    """Turn a model back into the API's JSON shape, unlisted fields included.

    Fields that are ``None`` are left out (the API omits them too); timestamps
    are written as RFC 3339 with ``Z`` for UTC.  ``from_api_json`` of the
    result gives an equal model.
    """
    out: dict[str, JSON] = {}
    for name in _field_names(type(model)):
        value = getattr(model, name)
        if value is not None:
            out[name] = _dump(value)
    extra: Mapping[str, JSON] = getattr(model, "extra", _EMPTY)
    for key, value in extra.items():
        out.setdefault(key, value)
    return out


def _dump(value: object) -> JSON:
    if isinstance(value, datetime):
        return format_timestamp(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if attrs.has(type(value)):
        return to_api_json(value)
    return value  # type: ignore[return-value]


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(a.name for a in attrs.fields(cls) if a.name != "extra") for cls in _MODELS
}


def _field_names(cls: type) -> tuple[str, ...]:
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        raise TypeError(f"not an aiocases model: {cls.__name__}") from None
