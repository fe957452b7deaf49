"""The rate budget everything using one credential spends: the interface, its rules, and the in-process implementation.

Datadog counts its limits per organization.  A :class:`Budget` counts the
sends of each rate-limit group for every client of one credential
(``namespace``: ``Credentials.fingerprint()``): the gate asks it before each
send, on top of its own count of this client's sends, which it goes on with
alone while the budget is unavailable (:class:`BudgetUnavailable`).  Two
implementations follow the same rules:

* :class:`LocalBudget`: in this process's memory, for clients of one process;
* :class:`~aiocases.redisbudget.RedisBudget`: in Redis, one atomic Lua script,
  for processes on many hosts.

The rules (the clock is the budget's: Redis ``TIME``, never the hosts' clocks,
which drift apart; or this host's wall clock for :class:`LocalBudget`):

1. A group counts under its limit's name (``X-RateLimit-Name``) once an answer
   gave one, and remembers it, so that a client yet to see an answer, which
   knows only its request group, counts in the same place.
2. Windows are calendar aligned, as Datadog's are: window ``floor(now / period)``;
   a new window starts with nothing used.
3. An answer's ``Remaining`` counts every client's sends (and other programs'
   using the key): ``used = max(used, limit - remaining)``, applied only when
   the answer belongs to the current window (``now - age`` in it: an answer
   can be applied late).
4. A 429 holds the group for every client.  With ``Remaining: 0`` it holds
   to the end of the window the answer was counted in: ``Reset`` (whole
   seconds), sharpened to the calendar boundary when the two agree within
   1.05 s, plus 30 ms; otherwise for ``Retry-After`` (1 s without one).
5. A reservation waits while the group is held; in a window whose budget is
   spent, or in its last 30 ms (a quarter of the period at most), until the
   window's end plus 30 ms: a send reserved just before a boundary may arrive
   after it and be counted in the next window, and sends answered late in the
   window just ended must not meet the first sends of the next.  Else it is
   counted.
6. Until a client has had an answer of the group, nothing is known of the
   limit: one send a second goes (a probe), so that clients starting together
   do not spend a window blind.  An answer with no limit in it opens the group.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol

from attrs import define, field, frozen

__all__ = ["Budget", "BudgetUnavailable", "LocalBudget", "Observation"]

# Rule 4's tolerance, and rules 4 and 5's margin around a window's end, in seconds.
ALIGN_TOLERANCE = 1.05
BOUNDARY_MARGIN = 0.03
# Rule 6: seconds between probes; rule 4: a 429's hold without Retry-After.
PROBE_INTERVAL = 1.0
DEFAULT_HOLD = 1.0


@frozen
class Observation:
    """What one response said of a group's limit (``None`` where it said
    nothing): ``X-RateLimit-Limit``, ``-Period`` and ``-Reset`` in seconds,
    ``-Remaining``, and for a 429 the wait it asked for."""

    limit: int | None = None
    period: float | None = None
    remaining: int | None = None
    reset: float | None = None
    throttled: bool = False
    retry_after: float | None = None
    #: Seconds since the response came (measured on the client's monotonic
    #: clock): rule 3 applies ``remaining`` only to the window it was counted in.
    age: float = 0.0


class BudgetUnavailable(Exception):
    """A budget did not answer in time, or failed: the gate goes on with its own count."""


class Budget(Protocol):
    """Counts of sends shared by every client of one credential (``namespace``),
    following the rules above."""

    async def reserve(
        self, namespace: str, group: str, observed: Observation | None = None, *, name: str | None = None
    ) -> float:
        """Apply ``observed`` (this client's latest answer of the group), then
        count a send of ``group`` (0.0) or say how many seconds to wait before
        asking again.  ``name``: the limit's ``X-RateLimit-Name``, once known."""

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """Apply one answer at once (a 429, or the first answer of a group)."""

    async def close(self) -> None:
        """Release what the budget holds open."""


@define
class _Count:
    """One group's budget (rule numbers from the module docstring)."""

    limit: int | None = None
    period: float | None = None
    window: int | None = None
    used: int = 0
    held: float = 0.0
    seen: bool = False
    probe: float = 0.0

    def apply(self, observed: Observation, now: float) -> None:
        """Rules 2 and 3, and rule 4's spent window, for one answer (an empty Observation: none)."""
        self.limit = observed.limit if observed.limit is not None else self.limit
        self.period = observed.period if observed.period is not None else self.period
        if self.period is None:
            return
        then = math.floor((now - observed.age) / self.period)
        window = math.floor(now / self.period)
        if window != self.window:
            self.window, self.used = window, 0
        if self.limit is not None and observed.remaining is not None and then == window:
            self.used = max(self.used, self.limit - observed.remaining)
        if observed.throttled and self.limit is not None and then == window:
            self.used = max(self.used, self.limit)

    def hold(self, observed: Observation, now: float) -> None:
        """Rule 4: a 429."""
        wait = DEFAULT_HOLD if observed.retry_after is None else observed.retry_after
        if observed.remaining == 0 and observed.reset is not None:
            wait = observed.reset
            if self.period is not None:
                end = (math.floor((now - observed.age) / self.period) + 1) * self.period - now
                if abs(end - observed.reset) <= ALIGN_TOLERANCE:
                    wait = end + BOUNDARY_MARGIN
        self.held = max(self.held, now + wait)

    def take(self, now: float) -> float:
        """Rules 5 and 6: count a send (0.0) or the seconds to wait."""
        if self.held > now:
            return self.held - now
        if self.limit is not None and self.period is not None and self.window is not None:
            end = (self.window + 1) * self.period - now
            if self.used >= self.limit or end <= min(BOUNDARY_MARGIN, self.period / 4):
                return end + BOUNDARY_MARGIN
            self.used += 1
        elif not self.seen:
            if self.probe > now:
                return self.probe - now
            self.probe = now + PROBE_INTERVAL
        return 0.0


@define
class _Namespace:
    counts: dict[str, _Count] = field(factory=dict)
    aliases: dict[str, str] = field(factory=dict)

    def count(self, group: str, name: str | None) -> _Count:
        """Rule 1."""
        if name is not None and name != group:
            self.aliases[group] = name
        key = name or self.aliases.get(group, group)
        found = self.counts.get(key)
        if found is None:
            found = self.counts[key] = _Count()
        return found


_NOTHING = Observation()


class LocalBudget:
    """The budget in this process's memory: give one to several clients of a
    credential in one process (``CasesClient(budget=LocalBudget())``) and
    they spend one budget.  ``clock`` is the wall clock windows follow.
    Clients of one event loop may share it; it takes no lock for threads."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._namespaces: dict[str, _Namespace] = {}

    def __repr__(self) -> str:
        return f"LocalBudget(groups={sum(len(n.counts) for n in self._namespaces.values())})"

    async def reserve(
        self, namespace: str, group: str, observed: Observation | None = None, *, name: str | None = None
    ) -> float:
        """See :meth:`Budget.reserve`."""
        return self._run(namespace, group, name, observed or _NOTHING, take=True)

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """See :meth:`Budget.observe`."""
        self._run(namespace, group, name, observed, take=False)

    async def close(self) -> None:
        """Nothing to release."""

    def _run(self, namespace: str, group: str, name: str | None, observed: Observation, *, take: bool) -> float:
        now = self._clock()
        count = self._namespaces.setdefault(namespace, _Namespace()).count(group, name)
        count.seen = count.seen or observed is not _NOTHING
        count.apply(observed, now)
        if observed.throttled:
            count.hold(observed, now)
        return count.take(now) if take else 0.0
