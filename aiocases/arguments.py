"""Checking what callers pass, before anything is sent.

Every check raises :class:`~aiocases.errors.InvalidArgument` (also a
:class:`ValueError`) naming the argument and what was wrong, never echoing
more than 80 characters of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Final, TypeGuard
from urllib.parse import quote

from aiocases.errors import InvalidArgument

__all__ = [
    "case_id",
    "cell_id",
    "count",
    "flag",
    "is_uuid",
    "labels",
    "message",
    "page",
    "seconds",
    "segment",
    "string",
    "strings",
    "text",
    "user_uuid",
]

_MAX_ID_LENGTH: Final = 512
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def case_id(value: object) -> str:
    """A case UUID or key (``PROJ-123``) as one encoded path segment.

    Anything that could change the request's path or query (``/``, ``?``,
    ``#``, ``\\``, dot segments, control or invisible characters, blank) is
    refused; every other character is percent-encoded."""
    return segment("case_id", value, "a case UUID or key")


def cell_id(value: object) -> str:
    """A timeline cell's id (a comment's UUID), checked as :func:`case_id`."""
    return segment("cell_id", value, "a timeline cell's id")


def segment(name: str, value: object, what: str = "an id") -> str:
    """Any id in a path (a project's, a type's, a custom attribute's key),
    checked as :func:`case_id`: the server says whether it exists."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string ({what}), got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgument(f"{name} must not be empty or blank")
    if len(value) > _MAX_ID_LENGTH:
        raise InvalidArgument(f"{name} is {len(value)} characters long; at most {_MAX_ID_LENGTH} are accepted")
    if value in (".", ".."):
        raise InvalidArgument(f"{name} must not be a dot segment: {value!r}")
    for forbidden in "/?#\\":
        if forbidden in value:
            raise InvalidArgument(f"{name} must not contain {forbidden!r}: {value!r:.80}")
    if not value.isprintable():
        raise InvalidArgument(f"{name} must not contain control or invisible characters: {value!r:.80}")
    return quote(value, safe="")


def string(name: str, value: object) -> str:
    """A text the API takes as it is (a title, a description): a string."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string, got {type(value).__name__}")
    return value


def text(name: str, value: object) -> str:
    """A value the API names something by (an id, a key, a priority): a string that is not blank."""
    if not string(name, value).strip():
        raise InvalidArgument(f"{name} must not be empty or blank")
    return value  # type: ignore[return-value]


def strings(name: str, value: object) -> list[str]:
    """A list of strings (a tuple or a list; a lone string is refused, as is an item that is not a string)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidArgument(f"{name} must be a list of strings, got {value!r:.80}")
    for item in value:
        if not isinstance(item, str):
            raise InvalidArgument(f"{name} must hold strings only, got {item!r:.80}")
    return list(value)


def labels(name: str, value: object) -> dict[str, list[str]]:
    """A case's labels: a mapping of names to lists of strings (``{"service": ["checkout"]}``)."""
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{name} must map label names to lists of strings, got {value!r:.80}")
    return {text(f"a key of {name}", key): strings(f"{name}[{key!r}]", items) for key, items in value.items()}


def flag(name: str, value: object) -> bool:
    """True or False (not 1, not "yes")."""
    if type(value) is not bool:
        raise InvalidArgument(f"{name} must be True or False, got {value!r:.80}")
    return value


def message(value: object) -> str:
    """A comment's text (Markdown): a string that is not blank."""
    if not isinstance(value, str):
        raise InvalidArgument(f"message must be a string (the comment's Markdown), got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgument("message must not be empty or blank: the API refuses an empty comment")
    return value


def is_uuid(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a UUID written as the API writes them (36 characters, hyphens, any case)."""
    return isinstance(value, str) and _UUID.match(value) is not None


def user_uuid(value: object) -> str:
    """A user UUID (``8146583c-0b5f-11ec-abf8-da7ad0900001``), in lower case."""
    if not is_uuid(value):
        raise InvalidArgument(
            f"user_uuid must be a UUID such as 8146583c-0b5f-11ec-abf8-da7ad0900001, got {value!r:.80}"
        )
    return value.lower()


def page(page_number: object, page_size: object, ascending: object) -> None:
    """``page[number]`` (>= 0), ``page[size]`` (>= 1) and an order (a bool)."""
    count("page_number", page_number, 0)
    count("page_size", page_size, 1)
    if type(ascending) is not bool:
        raise InvalidArgument(f"ascending must be True or False, got {ascending!r:.80}")


def count(name: str, value: object, minimum: int) -> int:
    """A whole number of at least ``minimum`` (not a bool)."""
    if type(value) is not int or value < minimum:
        raise InvalidArgument(f"{name} must be an int >= {minimum}, got {value!r:.80}")
    return value


def seconds(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A finite number of seconds above 0 (or at least 0)."""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number) or not (number >= 0 if allow_zero else number > 0):
        bound = ">=" if allow_zero else ">"
        raise InvalidArgument(f"{name} must be a finite number of seconds {bound} 0, got {value!r:.80}")
    return float(number)
