"""What a client reports to its ``on_event`` hook: each try answered or
failed, each retry, each hold by the rate limit.

The hook is a plain function, ``on_event(event)``, called on the event loop
as things happen; it should return quickly (hand slow work to a queue).  An
``async def`` hook is refused when the client is made: it would never run.
An exception the hook raises is logged (logger ``aiocases``, WARNING) and
does not disturb the request.  Events carry the operation, the method, the
path (case ids included: ``/api/v2/cases/PROJ-1/timelines``), the rate-limit
``group`` (a label of low cardinality for metrics: ``timelines``,
``watchers``, ``comment``, ``search``), the ``X-RateLimit-*`` values the
answer carried, and the exception itself where one ended a try; never a
credential or any other header.  ``docs/events.md`` feeds them to
OpenTelemetry or Prometheus.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeAlias

from attrs import field, frozen

from aiocases.errors import CasesError, InvalidArgument

__all__ = ["Event", "EventHook", "RequestDone", "Retrying", "Throttled", "checked_hook", "emit", "rate_limit_headers"]

_log = logging.getLogger("aiocases")
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@frozen
class RequestDone:
    """One try of a request ended: answered with ``status``, or failed on the
    way (``status`` is ``None`` and ``error`` is the failure, such as a
    :class:`~aiocases.errors.Timeout`).  ``duration`` is the seconds from
    sending to the last byte of the body (or to the failure); time held by
    the gate is not in it (see :class:`Throttled`).  ``rate_limit`` holds the
    answer's ``X-RateLimit-*`` values by their suffix (``limit``, ``period``,
    ``remaining``, ``reset``, ``name``)."""

    operation: str
    method: str
    path: str
    group: str
    status: int | None
    duration: float
    rate_limit: Mapping[str, str] = field(default=_NO_HEADERS, repr=False)
    error: CasesError | None = None


@frozen
class Retrying:
    """A request failed with ``error`` and will be sent again after ``wait``
    seconds; ``attempt`` counts the tries so far (1 after the first)."""

    operation: str
    method: str
    path: str
    group: str
    attempt: int
    wait: float
    error: CasesError


@frozen
class Throttled:
    """The gate held a request of ``group`` for ``wait`` seconds before
    sending it: the group's budget was spent, or the server answered 429."""

    group: str
    wait: float


#: Any event.
Event: TypeAlias = "RequestDone | Retrying | Throttled"
#: What ``CasesClient(on_event=...)`` takes.
EventHook: TypeAlias = "Callable[[Event], None]"


def checked_hook(hook: object) -> EventHook | None:
    """``hook`` if it can be one (``None`` stays ``None``);
    :class:`~aiocases.errors.InvalidArgument` otherwise."""
    if hook is None:
        return None
    if not callable(hook):
        raise InvalidArgument(f"on_event must be a function taking an event, got {type(hook).__name__}")
    if inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__):
        raise InvalidArgument(
            "on_event must be a plain function: an async def hook would never be awaited; put the events on an"
            " asyncio.Queue in a plain function and consume them in a task of your own"
        )
    return hook


def emit(hook: EventHook | None, event: Event) -> None:
    """Give ``event`` to ``hook``; whatever the hook raises is logged, never
    propagated (but an interrupt or an exit)."""
    if hook is None:
        return
    try:
        result: object = hook(event)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        _log.warning("on_event hook raised on %s; the request goes on", type(event).__name__, exc_info=True)
        return
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()
        _log.warning("on_event hook returned an awaitable, which is never awaited: make it a plain function")


_PREFIX = "x-ratelimit-"


def rate_limit_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The ``X-RateLimit-*`` values of ``headers``, keyed by their suffix in lower case."""
    found = {name.lower()[len(_PREFIX) :]: value for name, value in headers.items() if name.lower().startswith(_PREFIX)}
    return MappingProxyType(found) if found else _NO_HEADERS
