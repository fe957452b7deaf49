"""What is retried, and how long to wait before the next try: one decision.

Reads, watching, unwatching, updating and deleting a comment are idempotent
(a repeated watch is still 201, a repeated unwatch 204), so every transient
failure of theirs is retried: 429, 5xx, connection errors, timeouts and bodies
cut short.  Answers that another try cannot change (400, 401, 403, 404, a body
of the wrong shape or too large, a redirect, a closed client) are not.

Adding a comment is not idempotent: sent twice, it posts twice.  It is retried
only when it cannot have been carried out: a 429 (refused before any work) or
a connection that could not be made (``TransportError.request_sent`` false).
Any other failure after it was sent (a timeout, a reset, a 5xx, a body cut
short or unreadable) may hide a comment that was added, so the client marks
it ``outcome_unknown`` and raises it at once.

:meth:`RetryPolicy.decide` is the whole policy, a pure function of the
failure and the attempt (as githubkit's ``retry.py`` makes it): seconds to
wait before the next try, or ``None`` to give up.  ``backoff`` is the engine
that calls it (see ``CasesClient``); the randomness of the waits comes from
one seeded ``rng``.
"""

from __future__ import annotations

import random

from attrs import field, frozen

from aiocases.errors import DecodeError, RateLimited, ServerError, TransportError

__all__ = ["RetryPolicy"]


@frozen
class RetryPolicy:
    """``max_retries`` tries after the first, with exponential waits from
    ``base`` seconds up to ``cap``, each jittered within its upper half
    ("equal jitter").  After a 429 the gate already holds the request for
    the server's wait, so the retry itself only adds a small positive jitter."""

    max_retries: int = 5
    base: float = 0.25
    cap: float = 10.0
    rng: random.Random = field(factory=random.Random, eq=False, repr=False)

    def decide(self, error: BaseException, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt`` (0-based) after
        ``error``, or ``None``: give up and raise it."""
        if attempt >= self.max_retries or not self.retryable(error):
            return None
        if isinstance(error, RateLimited):
            return self.rng.uniform(0.0, 0.05)
        ceiling = min(self.cap, self.base * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)

    @staticmethod
    def retryable(error: BaseException) -> bool:
        """True for failures another try may cure (never one whose outcome is unknown)."""
        if getattr(error, "outcome_unknown", False):
            return False
        if isinstance(error, (RateLimited, ServerError)):
            return True
        if isinstance(error, DecodeError):
            return error.transient
        if isinstance(error, TransportError):
            return error.retryable
        return False
