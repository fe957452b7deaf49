"""Seeded fault injection for the fake: what each fault is, and how it acts.

Each request draws once (from the seed, its method and target, and how often
that target was asked before, so a run reproduces whatever the interleaving)
and gets at most one fault.  A fault is a small function that takes the place
of the handler for that request; :data:`ACTIONS` maps each name to its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, cast

from aiohttp import web
from attrs import frozen

__all__ = ["ACTIONS", "DROPPED", "FaultContext", "Faults", "drop_connection", "request_key"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_key(name: str) -> str:
    """A key for state kept on a request: aiohttp's typed ``RequestKey`` where
    it has one (newer versions warn about plain strings), else the name."""
    factory = getattr(web, "RequestKey", None)
    return name if factory is None else cast(str, factory(name, object))


#: Set on a request whose connection a fault dropped (recorded as status -1).
DROPPED = request_key("aiocases.dropped")
_NAMES = ("server_error", "reset", "lost", "cut", "truncated", "slow", "stall", "insert")


@frozen
class Faults:
    """Rates of each fault, as fractions of requests: ``server_error``
    (500/502/503), ``reset`` (connection closed before any response, the
    request never handled), ``lost`` (the request handled, then the
    connection closed before the answer: what a client cannot tell from a
    reset), ``cut``
    (connection closed mid-body), ``truncated`` (a complete response whose
    JSON is cut short), ``slow`` (``slow_seconds`` of delay), ``stall``
    (``stall_seconds`` of delay: past a client's timeout), ``insert`` (a new
    comment added to the case just before a timeline page is served)."""

    seed: int = 0
    server_error: float = 0.0
    reset: float = 0.0
    lost: float = 0.0
    cut: float = 0.0
    truncated: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.5
    stall: float = 0.0
    stall_seconds: float = 5.0
    insert: float = 0.0

    def draw(self, key: str, nth: int) -> tuple[str | None, float]:
        """Which fault (or None) request number ``nth`` of ``key`` gets, and a uniform value."""
        digest = hashlib.blake2b(f"{self.seed}|{key}|{nth}".encode(), digest_size=8).digest()
        roll = int.from_bytes(digest, "big") / 2**64
        edge = 0.0
        for name in _NAMES:
            rate = float(getattr(self, name))
            edge += rate
            if roll < edge:
                return name, (edge - roll) / rate
        return None, roll


class FaultContext(Protocol):
    """What a fault may use of the fake."""

    faults: Faults

    def error(self, status: int, title: str) -> web.Response:
        """An error response in the fake's error style."""

    def add_comment(self, case_id: str) -> None:
        """Add a comment to a case (a no-op for an unknown case)."""


def drop_connection(request: web.Request) -> web.Response:
    """Close the connection without answering; the request is recorded as dropped (status -1)."""
    request[DROPPED] = True
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)  # never sent: the connection is gone


async def _server_error(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    return fake.error(int(500 + 3 * value) if value < 0.67 else 502, "Internal Server Error")


async def _reset(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    return drop_connection(request)


async def _lost(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    await handler(request)
    return drop_connection(request)


async def _slow(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    await asyncio.sleep(fake.faults.slow_seconds)
    return await handler(request)


async def _stall(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    await asyncio.sleep(fake.faults.stall_seconds)
    return await handler(request)


async def _insert(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    if request.path.endswith("/timelines"):
        fake.add_comment(request.match_info.get("case_id", ""))
    return await handler(request)


def _body(response: web.StreamResponse) -> bytes:
    body = response.body if isinstance(response, web.Response) else None
    return body if isinstance(body, bytes) else b""


async def _truncated(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    response = await handler(request)
    body = _body(response)
    if not body:
        return response
    # A well-formed HTTP response whose JSON stops halfway.
    return web.Response(status=response.status, body=body[: max(1, len(body) // 2)], headers=response.headers)


async def _cut(fake: FaultContext, request: web.Request, handler: Handler, value: float) -> web.StreamResponse:
    response = await handler(request)
    body = _body(response)
    if not body:
        return response
    # The whole length announced, half of it sent, then the connection closed.
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    await stream.write(body[: max(1, len(body) // 2)])
    return drop_connection(request)


Action = Callable[[FaultContext, web.Request, Handler, float], Awaitable[web.StreamResponse]]
#: Each fault's action, in place of the handler.
ACTIONS: Mapping[str, Action] = {
    "server_error": _server_error,
    "reset": _reset,
    "lost": _lost,
    "cut": _cut,
    "truncated": _truncated,
    "slow": _slow,
    "stall": _stall,
    "insert": _insert,
}
