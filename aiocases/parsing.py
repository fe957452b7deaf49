"""From the API's JSON to models and back: the one structuring path, on cattrs.

Real responses differ from the reference pages (``shared/api/README.md``);
the rules, each tested in ``tests/test_models.py`` and, with hypothesis, in
``tests/test_parsing_properties.py``:

1. Lenient where the API is open: members a model does not list are kept in
   its ``extra``; enum-like values (cell and author types, statuses) are plain
   strings, values the client does not know included.
2. Wire names: the author's id arrives as ``ID``; it is read under either
   name and written back under the documented ``id``.
3. Open-shaped members (``author``, ``author.content``, ``cell_content``)
   that are not JSON objects are kept raw in ``extra``, not rejected.
4. A listed field that is absent or null is ``None`` (an empty tuple or
   mapping for arrays and objects); a required one (a resource's ``id``,
   ``type``, ``attributes``) missing, or any of the wrong type, is a
   :class:`~aiocases.errors.DecodeError` naming it
   (``data[3].attributes.created_at``).  Numbers are numbers, booleans
   booleans: ``"3"`` is no count, ``true`` no number.
5. Timestamps take ``Z`` or an offset and 0 to 9 fractional digits (digits
   past microseconds are dropped); one without an offset is UTC.
6. :func:`to_api_json` gives the API's JSON back (``None`` left out,
   timestamps with ``Z``, ``extra`` included), and :func:`from_api_json` of
   it gives an equal model.
7. Users: the ``included`` array real answers carry beside a case (the
   schema lists none) fills a :class:`~aiocases.models.Case`'s
   ``assignee``, ``created_by`` and ``modified_by`` (:func:`read_case`); an
   ``included`` member it cannot read is left out, never an error.

Each model's hook is cattrs' generated function for its listed fields,
wrapped by :func:`_model_hook` for rules 1 to 3.  Authors repeat from cell to
cell, so equal authors share one model (:func:`_shared_authors`).
"""

from __future__ import annotations

import copy
import re
import sys
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from aiocases.errors import DecodeError
from aiocases.models import JSON, MODELS, Author, AuthorContent, Case, CellAttributes, CustomValue, User
from aiocases.models._base import EMPTY

__all__ = [
    "format_timestamp",
    "from_api_json",
    "parse_timestamp",
    "read_case",
    "read_cases",
    "read_list",
    "read_one",
    "structure_list",
    "to_api_json",
]

_T = TypeVar("_T")
_EMPTY: Mapping[str, JSON] = MappingProxyType({})

# -- timestamps (rule 5) ------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d(?::\d\d)?)(?:[.,](\d{1,9}))?\s*([Zz]|[+-]\d\d(?::?\d\d)?)?\Z"
)


def _from_api_shape_310(text: str) -> datetime:
    # Python 3.10's fromisoformat takes neither "Z" nor more than six digits.
    return datetime.fromisoformat(text[:26] + "+00:00")


_from_api_shape = datetime.fromisoformat if sys.version_info >= (3, 11) else _from_api_shape_310


def parse_timestamp(text: str) -> datetime:
    """An aware ``datetime`` from an RFC 3339 timestamp as the API sends it
    (rule 5); :class:`ValueError` for anything else."""
    if len(text) == 30 and text[29] == "Z" and text[19] == ".":
        # The shape every real response uses: one C call.
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
    """An aware ``datetime`` as the API writes it (UTC as ``Z``)."""
    text = value.isoformat(timespec="microseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# -- JSON to models -----------------------------------------------------------

# Rule 2: field -> the key real responses use for it, where that differs.
_WIRE_NAMES: Mapping[type, Mapping[str, str]] = {AuthorContent: {"id": "ID"}}
# Rule 3: members of open shape, kept raw in ``extra`` when not an object.
_OPEN_MEMBERS: Mapping[type, tuple[str, ...]] = {Author: ("content",), CellAttributes: ("author", "cell_content")}


def _listed(cls: type) -> tuple[str, ...]:
    """The names of a model's fields its JSON holds (all but ``extra`` and those filled from ``included``)."""
    return tuple(
        a.name
        for a in attrs.fields(cast(type[attrs.AttrsInstance], cls))
        if a.name != "extra" and not a.metadata.get("included")
    )


def _included(cls: type) -> tuple[str, ...]:
    return tuple(a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)) if a.metadata.get("included"))


def _structure_str(value: object, _: type) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_optional_str(value: object, _: type) -> str | None:
    if value is None or type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _scalar(kinds: tuple[type, ...], what: str) -> Callable[[object, type], Any]:
    """A hook for an optional number or boolean of exactly ``kinds`` (``bool`` is no ``int`` here)."""

    def structure(value: object, _: type) -> Any:
        if value is None or type(value) in kinds:
            return value
        raise TypeError(f"expected {what}, got {type(value).__name__}")

    return structure


def _custom_value(value: object, _: type) -> CustomValue | None:
    """A custom attribute's value: a string, a number, or an array of them (as a tuple)."""
    if value is None or type(value) in (str, int, float):
        return value  # type: ignore[return-value]
    if type(value) is list and all(type(item) in (str, int, float) for item in value):
        return tuple(value)
    raise TypeError(f"expected a string, a number or an array of them, got {type(value).__name__}")


def _is_tuple(cls: Any) -> bool:
    args = typing.get_args(cls)
    return typing.get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(cls: Any) -> bool:
    return typing.get_origin(cls) in (Mapping, dict)


def _tuple_hook(converter: cattrs.Converter) -> Callable[[Any], Callable[[object, type], tuple[Any, ...]]]:
    def factory(cls: Any) -> Callable[[object, type], tuple[Any, ...]]:
        item = typing.get_args(cls)[0]
        hook = converter.get_structure_hook(item)

        def structure(value: object, _: type) -> tuple[Any, ...]:
            if value is None:
                return ()
            if type(value) is not list:
                raise TypeError(f"expected a JSON array, got {type(value).__name__}")
            return tuple(hook(element, item) for element in value)

        return structure

    return factory


def _mapping_hook(converter: cattrs.Converter) -> Callable[[Any], Callable[[object, type], Mapping[str, Any]]]:
    def factory(cls: Any) -> Callable[[object, type], Mapping[str, Any]]:
        item = typing.get_args(cls)[1]
        hook = converter.get_structure_hook(item)

        def structure(value: object, _: type) -> Mapping[str, Any]:
            if value is None:
                return EMPTY
            if type(value) is not dict:
                raise TypeError(f"expected a JSON object, got {type(value).__name__}")
            return {key: hook(element, item) for key, element in value.items()}

        return structure

    return factory


def _structure_timestamp(value: object, _: type) -> datetime | None:
    if type(value) is str:
        if len(value) == 30 and value[29] == "Z" and value[19] == ".":  # as every real answer: one C call
            try:
                return _from_api_shape(value)
            except ValueError:
                pass
        return parse_timestamp(value)
    if value is None:
        return None
    raise TypeError(f"expected a timestamp string, got {type(value).__name__}")


def _model_hook(converter: cattrs.Converter, cls: type[_T], nullable: bool) -> Callable[[object, type], _T | None]:
    """The hook of one model: cattrs' generated function for the listed
    fields, and rules 1 to 3 around it (``extra``, wire names, open members)."""
    wire = _WIRE_NAMES.get(cls, {})
    overrides = {name: override(omit=True) for name in ("extra", *_included(cls))}
    generated = make_dict_structure_fn(
        cls,
        converter,
        **overrides,  # type: ignore[arg-type]
        **{name: override(rename=key) for name, key in wire.items()},  # type: ignore[arg-type]
    )
    keys = frozenset(wire.get(name, name) for name in _listed(cls))
    documented = {name: key for name, key in wire.items() if name != key}  # read when the wire name is absent
    open_members = _OPEN_MEMBERS.get(cls, ())

    def structure(value: object, _: type) -> _T | None:
        if type(value) is dict and keys.issuperset(value):
            for key in open_members:
                if not (value.get(key) is None or type(value[key]) is dict):
                    break
            else:
                return generated(value, cls)  # the usual shape: nothing unlisted, open members are objects
        return unusual(value)

    def unusual(value: object) -> _T | None:
        if type(value) is not dict:
            if value is None and nullable:
                return None
            raise TypeError(f"expected a JSON object, got {type(value).__name__}")
        data, extra = dict(value), {}
        for key in open_members:
            raw = data.get(key)
            if raw is not None and type(raw) is not dict:
                extra[key] = data.pop(key)
        for name, key in documented.items():
            if name in data and key not in data:
                data[key] = data.pop(name)
        extra.update((k, data[k]) for k in data.keys() - keys)
        built = generated(data, cls)
        if extra:
            object.__setattr__(built, "extra", MappingProxyType(extra))  # the frozen field cattrs omits
        return built

    return structure


# Authors repeat from cell to cell (a case has a handful of commenters): equal
# author JSON gives equal frozen models, so one is shared.  Looked up by user
# id and confirmed by comparing the JSON.  Bounded.
_AUTHOR_CACHE_SIZE = 512


def _shared_authors(hook: Callable[[object, type], _T]) -> Callable[[object, type], _T]:
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
        cache[user] = (copy.deepcopy(value), result)  # type: ignore[arg-type]  # a copy: callers may change theirs
        return result

    return structure


def _converter(detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed)
    converter.register_structure_hook(str, _structure_str)
    # Direct hooks skip cattrs' union dispatch on every optional field.
    converter.register_structure_hook(str | None, _structure_optional_str)
    converter.register_structure_hook(datetime | None, _structure_timestamp)
    converter.register_structure_hook(int | None, _scalar((int,), "a whole number"))
    converter.register_structure_hook(float | None, _scalar((int, float), "a number"))
    converter.register_structure_hook(bool | None, _scalar((bool,), "true or false"))
    converter.register_structure_hook(CustomValue | None, _custom_value)
    converter.register_structure_hook_factory(_is_tuple, _tuple_hook(converter))
    converter.register_structure_hook_factory(_is_mapping, _mapping_hook(converter))
    # Generated functions bind their fields' hooks when made: MODELS lists
    # every class after the classes of its fields.
    for cls in MODELS:
        converter.register_structure_hook(cls, _model_hook(converter, cls, nullable=False))
        optional = _model_hook(converter, cls, nullable=True)
        converter.register_structure_hook(cls | None, _shared_authors(optional) if cls is Author else optional)
    return converter


# One converter for every document, and the same one with detailed validation,
# used only once the first has failed, to name the field at fault (rule 4).
_CONVERTER = _converter(detailed=False)
_LOCATOR = _converter(detailed=True)


def _locate(cls: type, value: object, where: str) -> DecodeError:
    try:
        _LOCATOR.structure(value, cls)
    except Exception as exc:
        messages = (
            cattrs.transform_error(exc, path=where) if isinstance(exc, cattrs.BaseValidationError) else [str(exc)]
        )
        first = messages[0] if messages else str(exc)
        text, _, path = first.rpartition(" @ ")
        return DecodeError(f"{path or where}: {text or first}", field=path or where)
    return DecodeError(f"{where}: not a valid {cls.__name__}", field=where)


def structure_list(cls: type[_T], data: object) -> list[_T]:
    """A JSON:API document's ``data`` array as ``cls`` models; a
    :class:`~aiocases.errors.DecodeError` naming the first field at fault."""
    if type(data) is not list:
        raise DecodeError(f"data: expected a JSON array, got {type(data).__name__}", field="data")
    hook: Callable[[object, type], _T] = _CONVERTER.get_structure_hook(cls)
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
    """One model from its API JSON (the inverse of :func:`to_api_json`)."""
    return structure_list(cls, [dict(value)])[0]


def _data(document: JSON) -> JSON:
    if type(document) is not dict or "data" not in document:
        raise DecodeError("response is not a JSON:API document with 'data'", field="data")
    return document["data"]


def read_one(cls: type[_T], document: JSON) -> _T:
    """The ``data`` object of a JSON:API document as a ``cls`` model."""
    data = _data(document)
    if type(data) is not dict:
        raise DecodeError(f"data: expected a JSON object, got {type(data).__name__}", field="data")
    try:
        return structure_list(cls, [data])[0]
    except DecodeError as exc:
        raise DecodeError(
            exc.message.replace("data[0]", "data", 1), field=(exc.field or "").replace("data[0]", "data", 1)
        ) from None


def read_list(cls: type[_T], document: JSON) -> list[_T]:
    """The ``data`` array of a JSON:API document as ``cls`` models."""
    return structure_list(cls, _data(document))


def read_case(document: JSON) -> Case:
    """The case of a document, its users resolved from ``included`` (rule 7)."""
    return _with_users([read_one(Case, document)], document)[0]


def read_cases(document: JSON) -> list[Case]:
    """The cases of a document, their users resolved from ``included`` (rule 7)."""
    return _with_users(read_list(Case, document), document)


def _with_users(cases: list[Case], document: JSON) -> list[Case]:
    users = _users(document.get("included") if type(document) is dict else None)
    if not users:
        return cases
    return [_resolved(case, users) for case in cases]


def _users(included: object) -> dict[str, User]:
    users: dict[str, User] = {}
    for member in included if type(included) is list else ():
        if type(member) is dict and member.get("type") == "user":
            try:
                user = _CONVERTER.structure(member, User)
            except Exception:  # rule 7: an unreadable member is left out
                continue
            users[user.id] = user
    return users


def _resolved(case: Case, users: Mapping[str, User]) -> Case:
    assignee, created_by, modified_by = (users.get(case.related(name) or "") for name in _USERS)
    if assignee is None and created_by is None and modified_by is None:
        return case
    return attrs.evolve(case, assignee=assignee, created_by=created_by, modified_by=modified_by)


_USERS = ("assignee", "created_by", "modified_by")


# -- models to JSON -----------------------------------------------------------

_FIELD_NAMES: dict[type, tuple[str, ...]] = {cls: _listed(cls) for cls in MODELS}


def to_api_json(model: object) -> dict[str, JSON]:
    """A model as the API's JSON (rule 6), its ``extra`` members included."""
    try:
        names = _FIELD_NAMES[type(model)]
    except KeyError:
        raise TypeError(f"not an aiocases model: {type(model).__name__}") from None
    out: dict[str, JSON] = {}
    for name in names:
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
    if isinstance(value, (tuple, list)):
        return [_dump(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _dump(item) for key, item in value.items()}
    return value  # type: ignore[return-value]
