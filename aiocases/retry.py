"""What is retried, and how long to sleep before the next try.

All four operations are idempotent (a repeated watch is still 201, a repeated
unwatch 204, reads are reads), so every transient failure is retried: 429,
5xx, connection errors, timeouts and bodies cut short.  Answers that another
try cannot change (400, 401, 403, 404, a body of the wrong shape, a redirect)
are not.  The decision is :meth:`RetryPolicy.should_retry`; the sleep is
:meth:`RetryPolicy.delay`, the one place with randomness, seeded for tests.
"""

from __future__ import annotations

import random
from collections.abc import Generator

from attrs import field, frozen

from aiocases.errors import CasesError, DecodeError, RateLimited, ServerError, TransportError

__all__ = ["RetryPolicy"]


@frozen
class RetryPolicy:
    """Retry decision and delays: ``max_retries`` tries after the first, with
    exponential delays from ``base`` seconds up to ``cap``, each jittered
    within its upper half ("equal jitter").  After a 429 the gate already
    holds the request for the server's wait, so the retry itself only adds a
    small positive jitter."""

    max_retries: int = 5
    base: float = 0.25
    cap: float = 10.0
    rng: random.Random = field(factory=random.Random, eq=False, repr=False)

    def should_retry(self, error: BaseException) -> bool:
        """True for failures another try may cure."""
        if isinstance(error, (RateLimited, ServerError)):
            return True
        if isinstance(error, DecodeError):
            return error.transient
        if isinstance(error, TransportError):
            return error.retryable
        return False

    def delay(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to sleep before retry number ``attempt`` (0-based)."""
        if isinstance(error, RateLimited):
            return self.rng.uniform(0.0, 0.05)
        ceiling = min(self.cap, self.base * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    def waits(self) -> Generator[float, BaseException | None, None]:
        """A ``backoff`` wait generator: receives each failure, yields its delay."""
        attempt = 0
        error = yield 0.0  # primed by backoff before the first failure
        while True:
            error = yield self.delay(attempt, error)
            attempt += 1

    def giveup(self, error: Exception) -> bool:
        """``backoff``'s giveup predicate."""
        return not (isinstance(error, CasesError) and self.should_retry(error))
