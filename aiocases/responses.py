"""Deciphering answers: a status, headers and a body into a JSON document or
a typed :class:`~aiocases.errors.CasesError` (pure: no I/O, no event loop,
as gidgethub's ``sansio`` makes it).
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable, Mapping

from aiocases.errors import (
    ApiError,
    BadRequest,
    CasesError,
    DecodeError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
)
from aiocases.models import JSON
from aiocases.operations import Request

__all__ = ["data_of", "decipher", "error_for", "header_seconds", "loads", "retry_after"]


def _orjson_loads() -> Callable[[bytes], JSON] | None:
    """orjson's ``loads`` when the ``fast`` extra is installed (it halves JSON
    decoding time); imported by name so that type checks pass without it."""
    try:
        module = importlib.import_module("orjson")
    except ImportError:
        return None
    decode: Callable[[bytes], JSON] = module.loads
    return decode


_fast_loads = _orjson_loads()


def loads(body: bytes) -> JSON:
    """Decode a JSON body: orjson when installed, else (and for what orjson
    refuses but JSON allows, such as a lone surrogate escape ``"\\ud83d"``)
    the standard library.  Raises :class:`ValueError` or :class:`RecursionError`."""
    if _fast_loads is not None:
        try:
            return _fast_loads(body)
        except ValueError:
            pass  # a body the standard library may still accept; it decides
    return json.loads(body)  # type: ignore[no-any-return]


def header_seconds(value: str | None) -> float | None:
    """A header's number of seconds; ``None`` when absent, not a number, not
    finite or negative (such values count as absent, never as a wait)."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and math.isfinite(seconds) and seconds >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a 429 asks for: ``X-RateLimit-Reset`` (seconds), else ``Retry-After``."""
    for name in ("X-RateLimit-Reset", "Retry-After"):
        seconds = header_seconds(headers.get(name))
        if seconds is not None:
            return seconds
    return None


def decipher(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> JSON:
    """The decoded JSON document of a successful answer (``None`` when the
    operation's success carries none), or the typed error for any other."""
    if not 200 <= status < 300:
        raise error_for(request, status, headers, body)
    if not request.document:
        return None
    if not body or body.isspace():
        raise DecodeError("empty body", transient=True, method=request.method, path=request.path)
    try:
        return loads(body)
    except RecursionError:
        raise DecodeError(
            "body is JSON nested too deeply to decode", method=request.method, path=request.path
        ) from None
    except ValueError:
        # Most often a body cut short on the wire: worth another try.
        raise DecodeError(
            f"body of {len(body)} bytes is not valid JSON", transient=True, method=request.method, path=request.path
        ) from None


_STATUS_ERRORS: Mapping[int, type[ApiError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound}


def error_for(request: Request, status: int, headers: Mapping[str, str], body: bytes) -> CasesError:
    """The :class:`CasesError` for an answer that is not a success."""
    method, path = request.method, request.path
    if 300 <= status < 400:
        # Never followed: credentials go only to the configured origin.
        return TransportError(
            f"unexpected redirect (HTTP {status}), not followed: credentials go only to the configured origin",
            method=method,
            path=path,
            retryable=False,
        )
    errors = _errors(body)
    if status == 429:
        wait = retry_after(headers)
        return RateLimited(status, errors, retry_after=wait, method=method, path=path, headers=headers, body=body)
    cls = ServerError if status >= 500 else _STATUS_ERRORS.get(status, ApiError)
    return cls(status, errors, method=method, path=path, headers=headers, body=body)


def _errors(body: bytes) -> list[object]:
    """An error body's ``errors`` as sent (objects or strings); a body that is
    not JSON gives its first 200 characters."""
    if not body or body.isspace():
        return []
    try:
        document = loads(body)
    except (ValueError, RecursionError):
        text = body[:200].decode("utf-8", "replace").strip()
        return [text] if text else []
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, (dict, str, int, float))]


def data_of(request: Request, document: JSON) -> JSON:
    """The ``data`` member of a JSON:API document."""
    if not isinstance(document, dict) or "data" not in document:
        raise DecodeError(
            "response is not a JSON:API document with 'data'", field="data", method=request.method, path=request.path
        )
    return document["data"]
