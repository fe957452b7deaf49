"""Models of the Case Management JSON:API documents, and their (de)serialisation.

The classes mirror the documents of the reference pages ("Get case timeline",
"List case watchers") field for field.  Real responses differ from the pages
(see ``shared/api/README.md``), so parsing is lenient where the API is open
and strict where it promises a shape:

* the author's id arrives as ``ID``: read into ``id`` (``id`` is read too),
  and written back as the documented ``id``; the ``content`` string every
  real cell carries is a field of :class:`CellAttributes`;
* other fields the pages do not list (``active``, ...) are kept in each
  object's ``extra`` mapping, so :func:`to_api_json` gives them back and an
  export loses nothing;
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

import copy
import os
import re
import sys
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


# Models are values: no ``__weakref__`` slot.  Besides saving a word per
# object, that gives the cell classes the layout ``_builder`` needs below.
_model = frozen(weakref_slot=False, getstate_setstate=False)


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


# -- timestamps ---------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d(?::\d\d)?)(?:[.,](\d{1,9}))?\s*([Zz]|[+-]\d\d(?::?\d\d)?)?\Z"
)


def _from_api_shape_310(text: str) -> datetime:
    # Python 3.10's fromisoformat takes neither "Z" nor more than six digits.
    return datetime.fromisoformat(text[:26] + "+00:00")


_from_api_shape = datetime.fromisoformat if sys.version_info >= (3, 11) else _from_api_shape_310


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp as the API sends it into an aware ``datetime``.

    Accepts ``Z`` or a numeric offset and 0 to 9 fractional digits (the real
    API sends nine, which ``datetime.fromisoformat`` rejects on Python 3.10);
    digits past microseconds are dropped.  A timestamp without an offset is
    taken as UTC.  Raises :class:`ValueError` for anything else.
    """
    if len(text) == 30 and text[29] == "Z" and text[19] == ".":
        # The shape every real response uses: one C call (3.11 reads nine
        # fractional digits and drops the last three, as the rule below does).
        try:
            return _from_api_shape(text)
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
_OPEN_OBJECTS: Mapping[type, tuple[str, ...]] = {
    Author: ("content",),
    CellAttributes: ("author", "cell_content"),
}


def _structure_str(value: object, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_optional_str(value: object, _: type) -> str | None:
    if value is None or type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_timestamp(value: object, _: type) -> datetime | None:
    # Registered for ``datetime | None``.
    if type(value) is str:
        return parse_timestamp(value)
    if value is None:
        return None
    raise TypeError(f"expected a timestamp string, got {type(value).__name__}")


def _open_class_hook(converter: cattrs.Converter, cls: type[_T], nullable: bool) -> Callable[[object, type], _T | None]:
    """The structure hook of one model: cattrs' generated function for the
    listed fields, plus what it cannot do: keep unlisted keys in ``extra``,
    keep an open-shaped object that is not a JSON object raw, and read a key
    under its documented name when the wire name is absent."""
    wire = _WIRE_NAMES.get(cls, {})
    overrides = {name: override(rename=key) for name, key in wire.items()}
    generated = make_dict_structure_fn(cls, converter, extra=override(omit=True), **overrides)  # type: ignore[arg-type]
    fields = [a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)) if a.name != "extra"]
    keys = frozenset(wire.get(name, name) for name in fields)
    documented = {name: key for name, key in wire.items() if name != key}
    open_objects = _OPEN_OBJECTS.get(cls, ())

    def unusual(data: dict[str, JSON], unknown: set[str]) -> _T:
        return _structure_unusual(generated, cls, data, unknown, open_objects, documented)

    def structure(value: object, _: type) -> _T | None:
        if type(value) is not dict:
            if value is None and nullable:
                return None
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        for key in open_objects:
            raw = value.get(key)
            if raw is not None and type(raw) is not dict:
                return unusual(value, set(value.keys() - keys))
        unknown = value.keys() - keys
        if not unknown:
            return generated(value, cls)
        if documented and not unknown.isdisjoint(documented):
            return unusual(value, unknown)
        obj = generated(value, cls)
        object.__setattr__(obj, "extra", MappingProxyType({k: value[k] for k in unknown}))
        return obj

    return structure


def _structure_unusual(
    generated: Callable[[dict[str, JSON], type], _T],
    cls: type,
    data: dict[str, JSON],
    unknown: set[str],
    open_objects: tuple[str, ...],
    documented: Mapping[str, str],
) -> _T:
    """The rare shapes: an open-shaped member that is not an object (kept raw
    in ``extra``), or a key under its documented name rather than the wire's."""
    extra: dict[str, JSON] = {}
    for key in open_objects:
        raw = data.get(key)
        if raw is not None and type(raw) is not dict:
            extra[key] = raw
            data = {k: v for k, v in data.items() if k != key}
    for name, key in documented.items():
        if name in data and key not in data:
            data = {**data, key: data[name]}
            unknown.discard(name)
    extra.update((k, data[k]) for k in unknown if k in data)
    obj = generated(data, cls)
    if extra:
        object.__setattr__(obj, "extra", MappingProxyType(extra))  # frozen: the field cattrs omits
    return obj


# Authors repeat from cell to cell (a case has a handful of commenters), and
# two cells' authors that are equal JSON give equal frozen models: sharing one
# saves two objects per cell.  Looked up by user id and confirmed by comparing
# the JSON, which allocates nothing (allocations here feed the garbage
# collector, whose passes showed up as a tenth of an export's time).  Bounded.
_AUTHOR_CACHE_SIZE = 512


def _interning(hook: Callable[[object, type], _T]) -> Callable[[object, type], _T]:
    cache: dict[str, tuple[dict[str, JSON], _T]] = {}

    def structure(value: object, cls: type) -> _T:
        content = value.get("content") if type(value) is dict else None
        user = (content.get("ID") or content.get("id")) if type(content) is dict else None
        if type(user) is not str:
            return hook(value, cls)
        hit = cache.get(user)
        if hit is not None and hit[0] == value:
            return hit[1]
        result = hook(value, cls)
        if len(cache) >= _AUTHOR_CACHE_SIZE:
            cache.clear()
        cache[user] = (copy.deepcopy(value), result)  # type: ignore[arg-type]  # a copy: callers may mutate theirs
        return result

    return structure


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
    Relationship,
    CaseRelationships,
    CaseAttributes,
    Case,
)
# Field -> the key real responses use for it, where that differs from the
# reference page: the author's id arrives as "ID".  The documented name is
# read when the wire name is absent; exports use the documented name.
_WIRE_NAMES: Mapping[type, Mapping[str, str]] = {AuthorContent: {"id": "ID"}}


def _make_converter(detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    # Direct hooks skip cattrs' generic union dispatch on every optional field.
    converter.register_structure_hook(str | None, _structure_optional_str)
    converter.register_structure_hook(datetime | None, _structure_timestamp)
    # Generated functions bind the hooks of their fields when they are made:
    # _MODELS lists every class after the classes of its fields.
    for cls in _MODELS:
        converter.register_structure_hook(cls, _open_class_hook(converter, cls, nullable=False))
        optional = _open_class_hook(converter, cls, nullable=True)
        converter.register_structure_hook(
            cls | None, _interning(optional) if cls is Author and not detailed else optional
        )
    return converter


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


def _builder(cls: type[_T]) -> Callable[..., _T]:
    """A keyword constructor of a frozen model that skips its frozen ``__init__``.

    attrs' frozen ``__init__`` stores each field through ``object.__setattr__``
    (about 45 ns a field).  Here a plain class with the same ``__slots__`` fills
    them with ordinary stores, then the object becomes a ``cls``: assigning
    ``__class__`` is allowed between classes of one layout, and the model is
    then exactly what ``cls(...)`` gives.  Measured on an 8-field model: 175 ns
    against 460 for ``cls(...)``.  Should a future attrs lay ``cls`` out
    differently, the check below falls back to ``cls`` itself: slower, never wrong.
    """
    names = _names(cls)
    if "__slots__" not in cls.__dict__:
        return cls
    # Same bases, same slots: the one layout CPython lets ``__class__`` move between.
    building = type(f"_Building{cls.__name__}", cls.__bases__, {"__slots__": cls.__dict__["__slots__"]})
    namespace: dict[str, object] = {"_new": object.__new__, "_building": building, "_cls": cls}
    lines = [f"def build({', '.join(names)}):", "    o = _new(_building)"]
    lines += [f"    o.{name} = {name}" for name in names]
    lines += ["    o.__class__ = _cls", "    return o"]
    exec("\n".join(lines), namespace)  # code built from field names only
    build: Callable[..., _T] = namespace["build"]  # type: ignore[assignment]
    probe = {name: object() for name in names}
    try:
        built = build(**probe)
    except TypeError:  # the layouts differ
        return cls
    if type(built) is not cls or any(getattr(built, name) is not value for name, value in probe.items()):
        return cls  # pragma: no cover - a layout that assigns but does not match
    return build


def _names(cls: type) -> tuple[str, ...]:
    """The names of all a model's fields, ``extra`` included, in attrs' order."""
    return tuple(a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)))


def _listed(cls: type) -> tuple[str, ...]:
    """The names of a model's fields the API lists (all but ``extra``), in order;
    the fast path below takes its keys from here, never from a hand copy."""
    return tuple(a.name for a in attrs.fields(cls) if a.name != "extra")


def _plain_fields(*classes: type) -> None:
    """The fast path fills slots directly: a validator or converter added to a
    field would be bypassed, so refuse to import rather than build wrong models."""
    for cls in classes:
        for a in attrs.fields(cls):
            if a.validator is not None or a.converter is not None:
                raise TypeError(f"{cls.__name__}.{a.name} has a validator or converter the fast path would bypass")


_plain_fields(TimelineCell, CellAttributes, CellContent)
_new_cell = _builder(TimelineCell)
_new_attributes = _builder(CellAttributes)
_new_content = _builder(CellContent)
# Unpacking fails at import if a model gains or loses a listed field.
_ID, _TYPE, _ATTRIBUTES = _listed(TimelineCell)
_AUTHOR, _CELL_CONTENT, _CONTENT, _CREATED, _MODIFIED, _DELETED, _KIND = _listed(CellAttributes)
(_MESSAGE,) = _listed(CellContent)
_ATTRIBUTE_KEYS = frozenset(_listed(CellAttributes))
_STRUCTURE_AUTHOR = _FAST.get_structure_hook(Author | None)


def _cell_fast(raw: object) -> TimelineCell | None:
    """The cell shape real responses have, built directly; ``None`` for any
    other shape, which the generated cattrs functions then handle.

    Measured on 250-cell pages of the fake, gc off: the generated path costs
    ~4.5 µs a cell (a hook, a generated function and a frozen ``__init__`` per
    object), this one ~2.5 µs, its C build (``_speedups``, used when built)
    ~1.5 µs; cells are what an export is made of.  Nothing here allocates
    beyond the models (no key views or sets: allocations are what the garbage
    collector's passes follow).  ``tests/test_parsing_properties.py`` checks
    with hypothesis that all three give equal models, and that real
    responses take the fast paths.
    """
    if type(raw) is not dict or len(raw) != 3:
        return None
    cell_id, cell_type, attributes = raw.get(_ID), raw.get(_TYPE), raw.get(_ATTRIBUTES)
    if type(cell_id) is not str or type(cell_type) is not str or type(attributes) is not dict:
        return None
    get = attributes.get
    author, content, text, kind = get(_AUTHOR), get(_CELL_CONTENT), get(_CONTENT), get(_KIND)
    created, modified, deleted = get(_CREATED), get(_MODIFIED), get(_DELETED)
    if (
        (author is not None and type(author) is not dict)
        or (kind is not None and type(kind) is not str)
        or (text is not None and type(text) is not str)
        or (created is not None and type(created) is not str)
    ):
        return None
    if content is not None:
        # Exactly {"message": ...}; any other key takes the generated path.
        message = content.get(_MESSAGE, 0) if type(content) is dict and len(content) == 1 else 0
        if message is not None and type(message) is not str:
            return None
        content = _new_content(message=message, extra=_EMPTY)
    try:
        created = None if created is None else parse_timestamp(created)
        modified = None if modified is None else _structure_timestamp(modified, datetime)
        deleted = None if deleted is None else _structure_timestamp(deleted, datetime)
    except (TypeError, ValueError):
        return None  # the generated path names the culprit
    given = (
        (author is not None) + (content is not None) + (text is not None) + (kind is not None)
        + (created is not None) + (modified is not None) + (deleted is not None)
    )  # fmt: skip
    extra = _EMPTY
    if len(attributes) != given:  # an unlisted key, or a listed one that is null: look closer
        unlisted = {k: v for k, v in attributes.items() if k not in _ATTRIBUTE_KEYS}
        extra = MappingProxyType(unlisted) if unlisted else _EMPTY
    author = None if author is None else _STRUCTURE_AUTHOR(author, Author)
    built = _new_attributes(
        author=author,
        cell_content=content,
        content=text,
        created_at=created,
        modified_at=modified,
        deleted_at=deleted,
        type=kind,
        extra=extra,
    )
    return _new_cell(id=cell_id, type=cell_type, attributes=built, extra=_EMPTY)


def _speedups() -> Callable[[object], TimelineCell | None] | None:
    """The C build of :func:`_cell_fast` (``aiocases/_speedups.c``), set up
    from the same ``attrs.fields`` as the Python one; ``None`` when it was
    not built or ``AIOCASES_NO_EXTENSIONS`` is set.  Besides running without
    a Python frame per object, it takes each cell's new models off the cyclic
    collector's lists (they are immutable values and can form no cycle), so
    the collections an export triggers no longer walk every cell in memory."""
    if os.environ.get("AIOCASES_NO_EXTENSIONS"):
        return None
    try:
        from aiocases import _speedups
    except ImportError:
        return None
    cell, attributes, content = (_names(cls) for cls in (TimelineCell, CellAttributes, CellContent))
    _speedups.configure(
        TimelineCell, CellAttributes, CellContent, Author, datetime, cell, attributes, content,
        _EMPTY, _from_api_shape, parse_timestamp, _structure_timestamp, _STRUCTURE_AUTHOR,
    )  # fmt: skip
    fast: Callable[[object], TimelineCell | None] = _speedups.cell_fast
    return fast


#: The fast path in use: C when built, else Python.
_CELL_FAST: Callable[[object], TimelineCell | None] = _speedups() or _cell_fast


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
        if cls is TimelineCell:
            fast = _CELL_FAST
            return [fast(item) or hook(item, cls) for item in data]  # type: ignore[misc]
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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {cls: _listed(cls) for cls in _MODELS}


def _field_names(cls: type) -> tuple[str, ...]:
    try:
        return _FIELD_NAMES[cls]
    except KeyError:
        raise TypeError(f"not an aiocases model: {cls.__name__}") from None
