"""The exceptions aiocases raises for what the API or the network does.

Everything aiocases raises for what the API, the network or the arguments do
is a :class:`CasesError`: invalid arguments are :class:`InvalidArgument`,
also a :class:`ValueError`, raised before anything is sent.  Messages name
the request (method and path) and what came back, never a credential.  Every
error pickles with its attributes (it crosses processes: arq, multiprocessing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

__all__ = [
    "ApiError",
    "BadRequest",
    "CasesError",
    "ClientClosed",
    "DecodeError",
    "Forbidden",
    "InconsistentPages",
    "InvalidArgument",
    "NotFound",
    "PageLimitExceeded",
    "RateLimited",
    "ResponseTooLarge",
    "ServerError",
    "Timeout",
    "TransportError",
    "Unauthorized",
]


class CasesError(Exception):
    """Root of everything aiocases raises for a request that did not succeed.

    ``method`` and ``path`` name the request (path only: no host, no query
    credentials exist in this API, and headers are never included).

    ``outcome_unknown`` is true when a request that must not be sent twice
    (adding a comment) failed after it was sent: the server may have acted
    on it.  It is never retried, and its text says so.
    """

    outcome_unknown: bool = False

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        text = f"{self.method} {self.path}: {self.message}" if self.method else self.message
        if self.outcome_unknown:
            text += (
                "; the request was sent and may have been carried out (outcome unknown): check before sending it again"
            )
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its state, not by calling __init__ again with ``args``
        # (which hold only the message): pickle and copy keep every attribute,
        # for every subclass, so errors cross process boundaries (arq, multiprocessing).
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[CasesError], args: tuple[object, ...], state: dict[str, object]) -> CasesError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidArgument(CasesError, ValueError):
    """An argument (or a credential, a site, an option) the client refuses,
    before anything is sent; also a :class:`ValueError`."""


class ApiError(CasesError):
    """The API answered with an error status.

    ``errors`` holds the body's ``errors`` whole, as sent: JSON:API error
    objects (``status``, ``title``, ``detail``, ``code``: what the real API
    sends) or the plain strings the reference pages document; the message
    renders each.  ``headers`` are the response headers (a copy), ``body``
    the raw body.
    """

    def __init__(
        self,
        status: int,
        errors: Sequence[object] = (),
        *,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        summary = "; ".join(_render(error) for error in errors) or "(no error detail in the body)"
        super().__init__(f"HTTP {status}: {summary}", method=method, path=path)
        self.status = status
        self.errors = list(errors)
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body


def _render(error: object) -> str:
    """One error object as text: its title and detail (and code), or the string itself."""
    if isinstance(error, dict):
        parts = [str(error[k])[:500] for k in ("title", "detail") if isinstance(error.get(k), (str, int, float))]
        text = ": ".join(parts) or "(an error object without title or detail)"
        return f"{text} ({error['code']})" if isinstance(error.get("code"), str) else text
    return str(error)[:500]


class BadRequest(ApiError):
    """400: the API rejected the request's parameters."""


class Unauthorized(ApiError):
    """401: the credentials were missing or not accepted."""


class Forbidden(ApiError):
    """403: the credentials lack access (or, as Datadog answers, are invalid)."""


class NotFound(ApiError):
    """404: no such case (or watcher)."""


class RateLimited(ApiError):
    """429: over a rate limit; ``retry_after`` is the wait in seconds the server
    asked for (``X-RateLimit-Reset``), or ``None`` when it gave none.

    ``too_long`` is true when the client itself refused to wait that long
    (longer than its ``max_wait``) and sent nothing: not retried."""

    def __init__(
        self,
        status: int,
        errors: Sequence[object] = (),
        *,
        retry_after: float | None = None,
        too_long: bool = False,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(status, errors, method=method, path=path, headers=headers, body=body)
        self.retry_after = retry_after
        self.too_long = too_long

    @property
    def spent(self) -> bool:
        """True when the answer said the window's budget is spent
        (``X-RateLimit-Remaining: 0``): the next window will have room."""
        return self.headers.get("X-RateLimit-Remaining", "").strip() == "0"

    def waits_longer_than(self, seconds: float) -> bool:
        """True when the server asked for a wait longer than ``seconds``
        (a client's ``max_wait``): neither retrying nor waiting will do."""
        return self.retry_after is not None and self.retry_after > seconds


class ServerError(ApiError):
    """5xx: the API failed; retried before it reaches the caller."""


class TransportError(CasesError):
    """The request did not complete: connection refused or reset, body cut
    short, a timeout (see :class:`Timeout`), or a redirect, which is never
    followed (``retryable`` is false for that one).  ``request_sent`` is
    false when it failed before any of the request left (no connection could
    be made): the server cannot have acted on it."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", retryable: bool = True, request_sent: bool = True
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.retryable = retryable
        self.request_sent = request_sent


class Timeout(TransportError, asyncio.TimeoutError):
    """The request timed out; also an :class:`asyncio.TimeoutError` so
    ``except TimeoutError`` in the caller's code keeps working."""


class DecodeError(CasesError):
    """The response body could not be decoded into the documented shape.

    ``field`` names the offending field (``data[3].attributes.created_at``)
    when the body was JSON of the wrong shape; ``transient`` is true when the
    body was not JSON at all (typically a body cut short), which is retried.
    """

    def __init__(
        self, message: str, *, field: str | None = None, transient: bool = False, method: str = "", path: str = ""
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.field = field
        self.transient = transient


class ClientClosed(TransportError):
    """The client was closed while this request was waiting or in flight
    (never retried: nothing can succeed on a closed client)."""

    def __init__(
        self, message: str = "the client was closed", *, method: str = "", path: str = "", request_sent: bool = False
    ) -> None:
        super().__init__(message, method=method, path=path, retryable=False, request_sent=request_sent)


class ResponseTooLarge(CasesError):
    """The response body (counted after decompression) passed the client's
    ``max_response_bytes``; the rest was not read, and it is not retried."""

    def __init__(self, limit: int, *, method: str = "", path: str = "") -> None:
        super().__init__(f"response body larger than max_response_bytes ({limit:,} bytes)", method=method, path=path)
        self.limit = limit


class Declined(Exception):
    """Internal, never raised to a caller: the gate did not send a
    speculative request (a page read ahead); the walk asks for the page again
    when it needs it (rule 8 of :mod:`aiocases.walk`)."""


class InconsistentPages(CasesError):
    """A walk's pages do not add up (see :mod:`aiocases.walk`): the same full
    pages again and again, an item met twice where the order cannot move, a
    total the items do not reach, or page numbers the server contradicts."""


class PageLimitExceeded(CasesError):
    """A walk passed the client's ``max_pages`` without reaching its
    last page (a server that keeps answering full pages would never end)."""

    def __init__(self, max_pages: int, *, method: str = "", path: str = "") -> None:
        super().__init__(
            f"walk passed max_pages ({max_pages:,} pages) without reaching a short page",
            method=method,
            path=path,
        )
        self.max_pages = max_pages
