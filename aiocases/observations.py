"""What an answer says of its rate limit: Datadog's ``X-RateLimit-*``
headers (see ``shared/api/README.md``) read into an :class:`Observation`.

``X-RateLimit-Limit`` requests per ``X-RateLimit-Period`` seconds,
``X-RateLimit-Remaining`` left in the window, ``X-RateLimit-Reset`` seconds
until it resets, ``X-RateLimit-Name`` the limit's name (endpoint groups that
share a name share a budget).  Values that make no sense are ignored, never
obeyed: a limit below 1 would hold every request forever, a period outside
10 ms to a week breaks the window arithmetic, a negative count or wait is no
count or wait.
"""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from aiocases.responses import header_seconds, retry_after

__all__ = ["Observation", "observe"]

_MIN_PERIOD = 0.01
_MAX_PERIOD = 7 * 86400.0


@frozen
class Observation:
    """What one answer said of a group's limit (``None`` where it said
    nothing): ``X-RateLimit-Limit``, ``-Period`` and ``-Reset`` in seconds,
    ``-Remaining``, ``-Name``; for a 429 (``throttled``) the wait it asked for."""

    limit: int | None = None
    period: float | None = None
    remaining: int | None = None
    reset: float | None = None
    throttled: bool = False
    retry_after: float | None = None
    name: str | None = None
    #: Seconds since the answer came (the client's clock), when applied later
    #: than it came: a window rule applies ``remaining`` only to its own window.
    age: float = 0.0
    #: When the request was sent, on the clock of the budget told: the time of
    #: its reservation there, which the send followed (``None``: unknown).
    #: Where windows turn is learned from when answers were sent and came.
    sent: float | None = None

    @property
    def limited(self) -> bool:
        """Whether the answer carried its limit's headers (``Remaining`` or ``Reset``)."""
        return self.remaining is not None or self.reset is not None


def observe(status: int, headers: Mapping[str, str]) -> Observation:
    """What an answer of ``status`` with ``headers`` says."""
    throttled = status == 429
    wait = retry_after(headers) if throttled else None
    remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
    name = headers.get("X-RateLimit-Name") or None
    if remaining is None and reset is None:
        return Observation(throttled=throttled, retry_after=wait, name=name)
    period = header_seconds(headers.get("X-RateLimit-Period"))
    return Observation(
        limit=_count(headers.get("X-RateLimit-Limit"), minimum=1),
        period=period if period is not None and _MIN_PERIOD <= period <= _MAX_PERIOD else None,
        remaining=_count(remaining, minimum=0),
        reset=header_seconds(reset),
        throttled=throttled,
        retry_after=wait,
        name=name,
    )


def _count(value: str | None, *, minimum: int) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:  # also for the over-long digit strings int() refuses
        return None
    return number if number is not None and number >= minimum else None
