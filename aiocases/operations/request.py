"""What every operation builds: a :class:`Request`, and the JSON:API
request document (``{"data": {"type": ..., "attributes": ...}}``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs
from attrs import field, frozen

from aiocases import arguments

__all__ = ["CASES", "Effect", "Request", "case_path", "document", "given", "segment"]

Effect = Literal["read", "set", "once"]

#: Where every operation's path starts.
CASES: Final = "/api/v2/cases"
_NO_HEADERS: Mapping[str, str] = {}


@frozen
class Request:
    """One API call (see :mod:`aiocases.operations`).  ``body`` is JSON, sent
    as ``application/json``; ``document`` says whether a success carries a
    JSON document the caller reads; ``gone_is_done`` that a 404 after a try
    that may have acted means the earlier try did the job (a delete).
    ``headers`` never show in ``repr``."""

    operation: str
    method: str
    path: str
    query: str
    group: str
    expected: int
    body: bytes = field(default=b"", repr=False)
    document: bool = True
    effect: Effect = "read"
    gone_is_done: bool = False
    origin: str = ""
    headers: Mapping[str, str] = field(default=_NO_HEADERS, repr=False)

    @property
    def target(self) -> str:
        """Path and query as sent (no origin)."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def url(self) -> str:
        """Where the request goes: origin, path and query."""
        return self.origin + self.target

    def to(self, origin: str, headers: Mapping[str, str]) -> Request:
        """This request bound for ``origin`` with ``headers`` (credentials among them)."""
        return attrs.evolve(self, origin=origin, headers=headers)


def segment(name: str, value: object) -> str:
    """An id in a path (a UUID, a key), as one encoded segment (see :mod:`aiocases.arguments`)."""
    return arguments.segment(name, value)


def case_path(case_id: str, *tail: str) -> str:
    """``/api/v2/cases/{case_id}`` and what follows it."""
    return "/".join((CASES, arguments.case_id(case_id), *tail))


def document(kind: str, attributes: Mapping[str, Any] | None = None, **members: Any) -> bytes:
    """A request document: ``data`` of type ``kind`` with ``attributes`` (left
    out when ``None``) and ``members`` (``relationships``, ``id``) that are not
    ``None``.  ASCII-escaped: a lone surrogate in a text becomes a valid
    ``\\uXXXX`` escape."""
    data: dict[str, Any] = {"type": kind}
    if attributes is not None:
        data["attributes"] = attributes
    data.update((name, value) for name, value in members.items() if value is not None)
    return json.dumps({"data": data}, separators=(",", ":")).encode()


def given(**attributes: Any) -> dict[str, Any]:
    """The attributes that are not ``None``: what an update sends."""
    return {name: value for name, value in attributes.items() if value is not None}
