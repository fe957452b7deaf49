"""Whether to retry, and how long to wait first: one decision,
:meth:`RetryPolicy.decide`, a pure function of the request, the failure and
the attempt (as githubkit's ``retry.py`` makes it).  ``backoff`` is the loop
that asks it (``CasesClient``).  The rules:

1. A failure another try cannot change is not retried: an error status but
   429 and 5xx (400, 401, 403, 404, ...), a body of the wrong shape or too
   large, a redirect, a closed client, a rate-limit wait longer than
   ``max_wait``.
2. A request whose effect is ``"read"`` or ``"set"`` (see
   :mod:`aiocases.operations`) is retried after any other failure: a 429, a
   5xx, a connection failure, a timeout, a body cut short.
3. A request whose effect is ``"once"`` (adding a comment) is retried only
   when it cannot have been carried out: a 429 (refused before any work), or
   a connection never made.  After any other failure it may have acted
   (:func:`may_have_acted`): the client raises it with ``outcome_unknown``.
4. The wait before retry ``n`` (0-based) is exponential from ``base`` up to
   ``cap`` seconds, jittered within its upper half; after a 429 the gate
   already holds the group for the server's wait, so only a small jitter.
5. At most ``max_retries`` retries.  A 429 saying the window is spent
   (``Remaining: 0``, :attr:`RateLimited.spent`) is waiting for budget, not a
   failure: it is not counted there (the gate holds the request until the
   window turns), and a request rides out at most ``max_refusals`` of them.
"""

from __future__ import annotations

import random

from attrs import field, frozen

from aiocases.errors import ApiError, ClientClosed, DecodeError, RateLimited, ServerError, TransportError
from aiocases.operations import Request

__all__ = ["RetryPolicy", "may_have_acted"]


def may_have_acted(error: BaseException) -> bool:
    """Whether the server may have carried out a request that failed with
    ``error``: not after an error status but 5xx (a refusal is an outcome),
    nor when no connection was made or the client refused to send."""
    if isinstance(error, ApiError):
        return isinstance(error, ServerError)
    if isinstance(error, TransportError):
        # A redirect, the one transport error but a closed client not retried, is an answer: nothing acted.
        return error.request_sent and (error.retryable or isinstance(error, ClientClosed))
    return isinstance(error, DecodeError)  # answered 2xx with a body it cannot read: it acted


def _transient(error: BaseException) -> bool:
    """Rule 1's complement: another try may cure it."""
    if isinstance(error, RateLimited):
        return not error.too_long
    if isinstance(error, ServerError):
        return True
    if isinstance(error, DecodeError):
        return error.transient
    if isinstance(error, TransportError):
        return error.retryable
    return False


@frozen
class RetryPolicy:
    """``max_retries`` retries after the first try, waiting as rule 4 says,
    and ``max_refusals`` 429s of spent windows (rule 5); ``rng`` draws the
    jitter (seed it for reproducible tests)."""

    max_retries: int = 5
    base: float = 0.25
    cap: float = 10.0
    max_refusals: int = 100
    rng: random.Random = field(factory=random.Random, eq=False, repr=False)

    @staticmethod
    def counts(error: BaseException) -> bool:
        """Whether ``error`` counts as a failure in ``max_retries`` (rule 5)."""
        return not (isinstance(error, RateLimited) and error.spent)

    def decide(self, request: Request, error: BaseException, attempt: int, refused: int = 0) -> float | None:
        """Seconds to wait before retrying ``request`` after ``error``, or
        ``None``: give up and raise it.  ``attempt``: the failures that
        :meth:`counts` before this one; ``refused``: the others."""
        tries, most = (attempt, self.max_retries) if self.counts(error) else (refused, self.max_refusals)
        if tries >= most or not _transient(error):
            return None
        if request.effect == "once" and may_have_acted(error):
            return None
        if isinstance(error, RateLimited):
            return self.rng.uniform(0.0, 0.05)
        ceiling = min(self.cap, self.base * 2.0**attempt)
        return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
