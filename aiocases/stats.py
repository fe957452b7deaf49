"""What one client counts of its requests, for logging and progress lines."""

from __future__ import annotations

from attrs import define

__all__ = ["Stats"]


@define
class Stats:
    """Counters of one client: requests sent, retries made, 429 answers seen,
    seconds requests spent held by the rate limit (``rate_limit_wait``, summed
    over requests, so with many waiting it can exceed the wall time), seconds
    of wall time during which at least one request was held
    (``rate_limit_held``), and requests read ahead past the last page of a
    walk (``prefetch_wasted``)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    rate_limit_wait: float = 0.0
    rate_limit_held: float = 0.0
    prefetch_wasted: int = 0
