"""What every model shares: frozen attrs classes that keep what the API
sends beyond what they list (``extra``), pickle and deep-copy."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeAlias, cast

import attrs
from attrs import field

__all__ = ["EMPTY", "JSON", "Value", "included", "mapping", "names", "unlisted", "values"]

#: A decoded JSON value.
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"
EMPTY: Mapping[str, Any] = MappingProxyType({})


def unlisted() -> Any:
    """The ``extra`` field: members the reference pages do not list; compared, never hashed."""
    return field(default=EMPTY, hash=False, kw_only=True)


def mapping() -> Any:
    """A field holding a JSON object (read-only, compared, never hashed); empty when absent."""
    return field(default=EMPTY, hash=False, converter=_read_only)


def values() -> Any:
    """A field holding a JSON array as a tuple; empty when absent."""
    return field(default=(), converter=tuple)


def included() -> Any:
    """A field filled from the document's ``included`` resources, not from the
    resource itself: never read from its JSON nor written back (see :mod:`aiocases.parsing`)."""
    return field(default=None, kw_only=True, metadata={"included": True})


def _read_only(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None or value is EMPTY:
        return EMPTY
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


class Value:
    """Models pickle and deep-copy (read-only mappings travel as plain
    dicts), so results cross processes (multiprocessing, arq) and
    ``copy.deepcopy`` works."""

    __slots__ = ()

    def __getstate__(self) -> dict[str, object]:
        state = {name: getattr(self, name) for name in names(type(self))}
        return {k: dict(v) if isinstance(v, MappingProxyType) else v for k, v in state.items()}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, MappingProxyType(value) if isinstance(value, dict) else value)


# Every model is ``@frozen(slots=False, getstate_setstate=False)``, written
# out on each (mypy's attrs plugin knows no alias of it).  Without slots: a
# frozen class with slots stores each field through ``object.__setattr__``
# (about 80 ns a field), one with a ``__dict__`` through a plain dict store;
# cells are what an export is made of.  Its own getstate: :class:`Value`'s.


def names(cls: type) -> tuple[str, ...]:
    """The names of all a model's fields, ``extra`` included, in attrs' order."""
    return tuple(a.name for a in attrs.fields(cast(type[attrs.AttrsInstance], cls)))
