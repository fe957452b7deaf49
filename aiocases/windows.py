"""The one window model: how a rate limit's budget is counted, by every
implementation (the gate's own count, :class:`~aiocases.budget.LocalBudget`
and the Lua script of :class:`~aiocases.redisbudget.RedisBudget`, which
receives the constants below from Python).  One table of scenarios in
``tests/test_windows.py`` runs against each.

The clock is the budget's: this host's for a count kept in memory, Redis's
``TIME`` for one kept in Redis (never the hosts' clocks, which drift apart).
The rules:

1. Names.  A group counts under its limit's name (``X-RateLimit-Name``) once
   an answer gave one, and the group remembers the name, so that a client
   yet to see an answer, which knows only its request group, counts there.
   What the group counted before it learned the name moves to the name.
2. Windows.  Window ``k`` covers ``[k * period, (k + 1) * period)`` of the
   budget's clock, as Datadog's calendar-aligned windows do; a new window
   starts with nothing used.  Sends made before any answer told the limit
   are counted in the window the limit is first learned in (many may be in
   flight when the first answer comes).
3. Remaining.  An answer's ``Remaining`` counts every client's sends (and
   other programs' on the key): ``used = max(used, limit - remaining)``,
   applied only when the answer came in the current window (``age`` says how
   long ago it came).
4. A 429 holds the group.  With ``Remaining: 0`` it holds to the end of the
   window it came in: ``Reset`` (whole seconds), sharpened to the window's
   end when the two agree within ``ALIGN_TOLERANCE``, plus
   ``BOUNDARY_MARGIN``; otherwise for ``Retry-After``, or ``DEFAULT_HOLD``
   without one.  Its window counts as spent.  A hold never lasts longer than
   it was set for, whatever the clock does (a clock stepped back an hour must
   not hold the group an hour more).
5. A reservation waits while the group is held; in a window whose budget is
   spent, or in its last ``BOUNDARY_MARGIN`` (a quarter of the period at
   most), until the window's end plus ``BOUNDARY_MARGIN``: a send reserved
   just before a boundary may arrive after it and be counted in the next
   window.  Otherwise the send is counted.
6. In a budget shared by several clients, until an answer of the group came,
   nothing is known of the limit: one send goes every ``PROBE_INTERVAL`` (a
   probe), so that clients starting together do not spend a window blind.
   An answer with no limit in it opens the group.  A gate counting alone
   sends what its concurrency allows.
"""

from __future__ import annotations

import math

from attrs import define, field

from aiocases.observations import Observation

__all__ = [
    "ALIGN_TOLERANCE",
    "BOUNDARY_MARGIN",
    "DEFAULT_HOLD",
    "PROBE_INTERVAL",
    "NOTHING",
    "Window",
    "Windows",
]

#: Rule 4: how closely ``Reset`` and the window's end must agree, in seconds.
ALIGN_TOLERANCE = 1.05
#: Rules 4 and 5: the margin around a window's end, in seconds.
BOUNDARY_MARGIN = 0.03
#: Rule 6: seconds between probes.
PROBE_INTERVAL = 1.0
#: Rule 4: a 429's hold when it says nothing of how long.
DEFAULT_HOLD = 1.0

#: No answer: what a reservation without news applies.
NOTHING = Observation()


@define
class Window:
    """One limit's count (rules 2 to 6), on the budget's clock ``now``."""

    limit: int | None = None
    period: float | None = None
    window: int | None = None
    used: int = 0
    held: float = 0.0  # held until then
    hold: float = 0.0  # for so long, when set
    seen: bool = False
    probe: float = 0.0

    def apply(self, observed: Observation, now: float) -> None:
        """Rules 2 to 4 for one answer (:data:`NOTHING`: none, only time passing)."""
        self.seen = self.seen or observed is not NOTHING
        self.limit = observed.limit if observed.limit is not None else self.limit
        self.period = observed.period if observed.period is not None else self.period
        came = now - observed.age
        if self.period is not None:
            current = math.floor(now / self.period)
            if self.window is None:
                self.window = current  # the sends counted so far are this window's
            elif current != self.window:
                self.window, self.used = current, 0
            own = math.floor(came / self.period) == current
            if own and self.limit is not None and observed.remaining is not None:
                self.used = max(self.used, self.limit - observed.remaining)
            if own and self.limit is not None and observed.throttled:
                self.used = max(self.used, self.limit)
        if observed.throttled:
            wait = self._hold(observed, came, now)
            if now + wait > self.held:
                self.held, self.hold = now + wait, wait

    def _hold(self, observed: Observation, came: float, now: float) -> float:
        """Rule 4: how long a 429 holds the group, from ``now``."""
        if observed.remaining != 0 or observed.reset is None:
            return DEFAULT_HOLD if observed.retry_after is None else observed.retry_after
        wait = observed.reset - observed.age
        if self.period is not None:
            end = (math.floor(came / self.period) + 1) * self.period - now
            if abs(end - wait) <= ALIGN_TOLERANCE:
                return end + BOUNDARY_MARGIN
        return wait

    def take(self, now: float, *, probe: bool = True) -> float:
        """Rules 5 and 6 (``probe``: shared): count a send (0.0), or the seconds to wait before asking again."""
        if self.held > now:
            self.held = min(self.held, now + self.hold)  # a clock stepped back: no longer than it was set for
            return self.held - now
        if self.limit is not None and self.period is not None and self.window is not None:
            end = (self.window + 1) * self.period - now
            if self.used >= self.limit or end <= min(BOUNDARY_MARGIN, self.period / 4):
                return end + BOUNDARY_MARGIN
            self.used += 1
            return 0.0
        if probe and not self.seen:
            if self.probe > now:
                self.probe = min(self.probe, now + PROBE_INTERVAL)
                return self.probe - now
            self.probe = now + PROBE_INTERVAL
        self.used += 1  # counted in the window the limit will be learned in
        return 0.0


@define
class Windows:
    """The windows of one credential's limits, by name (rule 1)."""

    windows: dict[str, Window] = field(factory=dict)
    aliases: dict[str, str] = field(factory=dict)

    def of(self, group: str, name: str | None) -> Window:
        """The window ``group`` counts in (under ``name``, once known)."""
        if name is not None and name != group and self.aliases.get(group) != name:
            self.aliases[group] = name
            counted = self.windows.pop(group, None)
            if counted is not None:
                named = self.windows.setdefault(name, counted)
                if named is not counted:
                    named.used += counted.used
        key = name or self.aliases.get(group, group)
        found = self.windows.get(key)
        if found is None:
            found = self.windows[key] = Window()
        return found

    def run(
        self, group: str, name: str | None, observed: Observation, now: float, *, take: bool, probe: bool = True
    ) -> float:
        """Apply ``observed`` (an answer of ``group``, whose limit is ``name``
        when known), then reserve a send if ``take`` (rule 6 if ``probe``)."""
        window = self.of(group, name or observed.name)
        window.apply(observed, now)
        return window.take(now, probe=probe) if take else 0.0
