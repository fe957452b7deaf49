"""Datadog-style rate limits for the fake, on an injected clock.

Rules:

* A :class:`RateLimitRule` allows ``limit`` requests per ``period`` seconds,
  in windows aligned to the calendar (window ``n`` covers
  ``[n * period, (n + 1) * period)`` of the wall clock), counted per rule
  ``name``, so endpoint groups that share a name share a budget.
* Every answer of a limited group carries ``X-RateLimit-Limit``, ``-Period``,
  ``-Remaining``, ``-Reset`` (whole seconds to the window's end, at least 1)
  and ``-Name``; past the budget the answer is 429 with an empty body.
* A hidden in-flight limit (``max_in_flight``) answers 429 to requests over
  it with ``Remaining: 1``: a limit the headers do not show.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from attrs import define, frozen

__all__ = ["RateLimitRule", "RateLimiter"]

Clock = Callable[[], float]


@frozen
class RateLimitRule:
    """A Datadog-style limit: ``limit`` requests per calendar-aligned
    ``period`` seconds, named ``name`` in ``X-RateLimit-Name``."""

    limit: int
    period: int = 1
    name: str = "cases"


@define
class _Window:
    index: int = -1
    used: int = 0


class RateLimiter:
    """The budgets of the groups in ``rules`` (group -> rule); ``clock`` is the wall clock."""

    def __init__(self, rules: Mapping[str, RateLimitRule], *, clock: Clock = time.time) -> None:
        self.rules = dict(rules)
        self.clock = clock  # what the windows follow; the fake's counts by second too
        self._windows: dict[str, _Window] = {}

    def admit(self, group: str) -> tuple[bool, dict[str, str]]:
        """Whether a request of ``group`` is within its budget now, and the headers to answer with."""
        rule = self.rules.get(group)
        if rule is None:
            return True, {}
        now = self.clock()
        index = math.floor(now / rule.period)
        window = self._windows.setdefault(rule.name, _Window())
        if window.index != index:
            window.index, window.used = index, 0
        allowed = window.used < rule.limit
        if allowed:
            window.used += 1
        reset = max(1, math.ceil((index + 1) * rule.period - now))
        return allowed, {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Period": str(rule.period),
            "X-RateLimit-Remaining": str(max(0, rule.limit - window.used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Name": rule.name,
        }

    def reset(self) -> None:
        """Forget every window's count."""
        self._windows.clear()
