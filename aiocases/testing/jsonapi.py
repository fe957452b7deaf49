"""The JSON:API documents the fake reads and answers with, in the shapes
recorded from the real API (``shared/api/case-management-operations.md``
sections 0 and 5.6).

A request body is ``{"data": {"type": ..., "attributes": ...}}``; a wrong
``type`` is a 400 naming it, a body that is not such a document a plain 400.
An answer is a document, or one of the four kinds of error body recorded:

- a 404 is ``{"code": "resource_not_found", "title": "case not found"}``,
  no ``status`` (custom attributes add ``meta.key``);
- a 400 for a body the server cannot take is ``{"status": "400", "title":
  "Bad Request"}``, sometimes with a ``detail`` (``got type "project"
  expected one of "case"``);
- a 400 for an id in the path that is not a UUID is ``"Invalid Parameter"``;
- a 400 for a value the server rejects is ``{"title": "Generic Error",
  "detail": ...}``, no ``status``.

Handlers raise :class:`Refusal`; the application turns it into the answer.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from aiocases.arguments import is_uuid

__all__ = [
    "CONTENT_TYPE",
    "Refusal",
    "answer",
    "attributes_of",
    "bad_request",
    "data_of",
    "generic_error",
    "invalid_parameter",
    "is_uuid",
    "not_found",
    "wrong_type",
]

CONTENT_TYPE = "application/vnd.api+json"


async def data_of(request: web.Request, kind: str) -> dict[str, Any]:
    """The ``data`` member of the request's document, of type ``kind``."""
    try:
        document = json.loads(await request.read())
    except ValueError:
        raise bad_request() from None
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise bad_request()
    if data.get("type") != kind:
        raise wrong_type(data.get("type"), kind)
    return data


async def attributes_of(request: web.Request, kind: str) -> dict[str, Any]:
    """The ``attributes`` of the request's document of type ``kind`` (``{}`` when absent)."""
    attributes = (await data_of(request, kind)).get("attributes", {})
    if not isinstance(attributes, dict):
        raise bad_request()
    return attributes


class Refusal(Exception):
    """An error answer: ``status`` and one JSON:API error object."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(status, error)
        self.status = status
        self.error = error

    def response(self) -> web.Response:
        return answer({"errors": [self.error]}, self.status)


def answer(document: Any, status: int = 200) -> web.Response:
    """A JSON:API document (``None``: an empty body, as 204s have)."""
    if document is None:
        return web.Response(status=status)
    return web.Response(status=status, body=json.dumps(document).encode(), content_type=CONTENT_TYPE)


def not_found(title: str, **meta: str) -> Refusal:
    """404 ``resource_not_found`` (``title``: ``case not found``, ...)."""
    error: dict[str, Any] = {"code": "resource_not_found", "title": title}
    if meta:
        error["meta"] = meta
    return Refusal(404, error)


def bad_request(detail: str | None = None) -> Refusal:
    """400 ``Bad Request``, with a ``detail`` when the server gives one."""
    error = {"status": "400", "title": "Bad Request"}
    if detail is not None:
        error["detail"] = detail
    return Refusal(400, error)


def wrong_type(got: object, expected: str) -> Refusal:
    """400 for a document whose ``type`` is not the one the operation takes."""
    return bad_request(f'got type "{got}" expected one of "{expected}"')


def invalid_parameter(name: str) -> Refusal:
    """400 for an id in the path that is not a UUID (``name`` as the server calls it)."""
    return Refusal(400, {"status": "400", "title": "Invalid Parameter",
                         "detail": f'invalid parameter "{name}" in "path"; expected type "uuid"'})  # fmt: skip


def generic_error(detail: str) -> Refusal:
    """400 ``Generic Error``: a value the server does not take (a priority, a status)."""
    return Refusal(400, {"title": "Generic Error", "detail": detail})
