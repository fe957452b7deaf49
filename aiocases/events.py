"""What a client reports to its ``on_event`` hook: each request answered,
each retry, each hold by the rate limit.

The hook is a plain callable, ``on_event(event)``, called on the event loop
as things happen; it should return quickly (hand slow work to a queue).  An
exception it raises is logged (logger ``aiocases``, WARNING) and does not
disturb the request.  Events carry the request's method, its path (case ids
included: ``/api/v2/cases/PROJ-1/timelines``), its rate-limit ``group`` (a
label of low cardinality for metrics: ``timelines``, ``watchers``,
``comment``, ``search``) and the ``X-RateLimit-*`` values the response
carried; never a credential or any other header.

``docs/events.md`` shows how to feed them to OpenTelemetry or Prometheus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TypeAlias

from attrs import field, frozen

__all__ = ["Event", "EventHook", "RequestDone", "Retrying", "Throttled", "emit", "rate_limit_headers"]

_log = logging.getLogger("aiocases")
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


@frozen
class RequestDone:
    """One try of a request ended: answered with ``status``, or failed on the
    way (``status`` is ``None`` and ``error`` names the failure, such as
    ``Timeout``).  ``duration`` is the seconds from sending to the last byte
    of the body (or to the failure); time held by the gate before sending is
    not in it (see :class:`Throttled`).  ``rate_limit`` holds the response's
    ``X-RateLimit-*`` values by their suffix (``limit``, ``period``,
    ``remaining``, ``reset``, ``name``)."""

    method: str
    path: str
    group: str
    status: int | None
    duration: float
    rate_limit: Mapping[str, str] = field(default=_NO_HEADERS, repr=False)
    error: str | None = None


@frozen
class Retrying:
    """A request failed and will be sent again after ``wait`` seconds;
    ``attempt`` counts the tries so far (1 after the first), ``reason`` is
    the failure as text, ``error`` its class name (``ServerError``, ...)."""

    method: str
    path: str
    group: str
    attempt: int
    wait: float
    reason: str
    error: str


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


def emit(hook: EventHook | None, event: Event) -> None:
    """Give ``event`` to ``hook``; a hook that raises is logged, never propagated."""
    if hook is None:
        return
    try:
        hook(event)
    except Exception:
        _log.warning("on_event hook raised on %s; the request goes on", type(event).__name__, exc_info=True)


_PREFIX = "x-ratelimit-"


def rate_limit_headers(headers: Mapping[str, str]) -> Mapping[str, str]:
    """The ``X-RateLimit-*`` values of ``headers``, keyed by their suffix in lower case."""
    found = {name.lower()[len(_PREFIX) :]: value for name, value in headers.items() if name.lower().startswith(_PREFIX)}
    return MappingProxyType(found) if found else _NO_HEADERS
