"""The one window model: how a rate limit's budget is counted, by every
implementation (the gate's own count, :class:`~aiocases.budget.LocalBudget`
and the Lua script of :class:`~aiocases.redisbudget.RedisBudget`, which
receives the constants below from Python).  One table of scenarios in
``tests/test_windows.py`` runs against each.

The clock is the budget's: this host's for a count kept in memory, Redis's
``TIME`` for one kept in Redis (never the hosts' clocks, which drift apart).
An answer is placed on it by when its request was reserved there (``sent``:
the send came after) and how long ago it came (``age``, measured when the
client asked: applied later, it only places the answer later): it was sent
no earlier than ``sent`` and came no later than ``now - age``.  Rule 7 only
ever widens what it learns by that uncertainty.  The rules:

1. Names.  A group counts under its limit's name (``X-RateLimit-Name``) once
   an answer gave one, and the group remembers the name, so that a client
   yet to see an answer, which knows only its request group, counts there.
   What the group counted before it learned the name moves to the name.
2. Windows.  Window ``k`` covers ``[phase + k * period, phase + (k + 1) *
   period)`` of the budget's clock (rule 7 learns ``phase``; until then it is
   0: Datadog's windows are calendar aligned, on the server's clock).  Sends
   made before any answer told the limit are counted in the window the limit
   is first learned in (many may be in flight when the first answer comes).
3. Remaining.  An answer's ``Remaining`` counts every client's sends (and
   other programs' on the key): ``used = max(used, limit - remaining)``,
   applied only when the answer came in the current window.
4. A 429 holds the group.  With ``Remaining: 0`` in a window whose turn is
   trusted (rule 8) it holds to the window's end, when that agrees with
   ``Reset`` within ``ALIGN_TOLERANCE``, else for ``Reset``; in a window not
   trusted yet, until the next turn probe.  Without ``Remaining: 0``, for
   ``Retry-After``, or ``DEFAULT_HOLD``.  Its window counts as spent.  A hold
   never lasts longer than it was set for, whatever the clock does.
5. A reservation waits while the group is held; in a window whose budget is
   spent, or in its last ``BOUNDARY_MARGIN`` plus the phase's uncertainty (a
   quarter of the period at most), until the window's end plus
   ``BOUNDARY_MARGIN``: a send reserved just before a boundary may arrive
   after it and be counted in the next window.  Otherwise the send is counted.
   A speculative send (a page read ahead) is declined (:data:`DECLINED`,
   nothing counted) unless it would be counted at once, an answer of the
   group came, and more than ``SPARE`` of the window's budget (one send at
   least) would be left after it, when the limit is known.
6. Until an answer of the group came, nothing is known of the limit: one
   send goes every ``PROBE_INTERVAL`` (a probe), so that requests starting
   together (of one client or many) do not spend a window blind, one left
   spent by a run just before, say.  In a count kept in memory, a probe that
   failed without an answer (a connection refused) lets the next go at once;
   a shared one waits the interval (the prober may be gone).  An answer with
   no limit in it opens the group.
7. Phase.  A turnover is two answers, the second sent after the first came
   back and with more ``Remaining``: a window turned between the first's
   sending and the second's coming.  A count begun before the first was sent
   is the old window's: the second's says the new one's.  The phase is where
   the latest such intervals overlap (mod the period), its uncertainty their
   overlap's width; a turnover that does not overlap them starts afresh (the
   server's clock moved); one wider than half a period says nothing.
   ``Reset`` (whole seconds, rounded up) places the window's end within the
   second before ``arrival + Reset``, which says something of periods of over
   two seconds.  Windows end at the latest moment the phase allows, so a
   window that has begun by this clock has begun on the server's.  Learning
   the phase renumbers the windows; it never starts a new one.  Other
   programs spending the key only ever lower ``Remaining``: they can never
   pass for a turnover.  A 429 saying spent in the first quarter of a window
   that had room, and into which no turnover was seen, says the server's
   windows moved: the phase is learned again (rule 8 meanwhile).  Into which
   one was seen, another consumer spent it: a wait to its end.
8. Trusted turns.  Until the phase is learned, a window's turn is not
   trusted: the new window goes on counting the last one's sends (it may not
   have begun on the server's clock), until an answer shows the turnover
   (then ``used`` is the server's count).  When that count reaches the limit,
   one send goes alone (a turn probe, whose answer the client reports at
   once); the others wait for it.  An answer to it showing the old window
   still there puts the next probe ``TURN_STEP`` later; none within
   ``TURN_TIMEOUT`` lets another go.
"""

from __future__ import annotations

import math

from attrs import define, field

from aiocases.observations import Observation

__all__ = [
    "ALIGN_TOLERANCE",
    "BOUNDARY_MARGIN",
    "DECLINED",
    "DEFAULT_HOLD",
    "NOTHING",
    "PROBE",
    "PROBE_INTERVAL",
    "SPARE",
    "TURN_TIMEOUT",
    "Window",
    "Windows",
    "turn_step",
]

#: Rule 4: how closely ``Reset`` and the window's end must agree, in seconds.
ALIGN_TOLERANCE = 1.05
#: Rules 4 and 5: the margin around a window's end, in seconds.
BOUNDARY_MARGIN = 0.03
#: Rule 6: seconds between probes.
PROBE_INTERVAL = 1.0
#: Rule 4: a 429's hold when it says nothing of how long.
DEFAULT_HOLD = 1.0
#: Rule 8: seconds a turn probe's answer is awaited before another may go.
TURN_TIMEOUT = 1.0
#: What a reservation answers for a send that goes as a turn probe (rule 8).
PROBE = -1.0
#: Rule 5: the share of a window's budget speculative sends leave to the others.
SPARE = 0.25
#: What a reservation answers for a speculative send it declines (rule 5).
DECLINED = -2.0

#: No answer: what a reservation without news applies.
NOTHING = Observation()


def turn_step(period: float) -> float:
    """Rule 8: seconds between turn probes in a period of ``period`` seconds."""
    return min(period / 8, 1.0)


@define
class Window:
    """One limit's count (rules 2 to 8), on the budget's clock ``now``."""

    limit: int | None = None
    period: float | None = None
    window: int | None = None  # the window ``used`` counts in
    used: int = 0
    since: float = 0.0  # when ``used`` last started afresh
    held: float = 0.0  # held until then
    hold: float = 0.0  # for so long, when set
    seen: bool = False
    probe: float = 0.0
    phase: float = 0.0  # rule 7: where windows turn, mod the period
    width: float | None = None  # the phase's uncertainty; None: not learned
    last: tuple[float, float, int] | None = None  # the latest answer: sent, came, Remaining
    trusted: int | None = None  # rule 8: the latest window whose turn is trusted
    turned: int | None = None  # rule 7: the latest window a turnover was seen into
    turn_probe: float = 0.0  # when the turn probe went (0: none out)
    turn_base: tuple[float, float, int] | None = None  # the latest answer when it went
    turn_next: float = 0.0  # no turn probe before then

    def index(self, moment: float) -> int:
        """The window ``moment`` falls in (rule 2)."""
        assert self.period is not None
        return math.floor((moment - self.phase) / self.period)

    def end(self, index: int) -> float:
        """When window ``index`` ends."""
        assert self.period is not None
        return self.phase + (index + 1) * self.period

    def apply(self, observed: Observation, now: float) -> None:
        """Rules 2 to 4, 7 and 8 for one answer (:data:`NOTHING`: none, only time passing)."""
        self.seen = self.seen or observed is not NOTHING
        self.limit = observed.limit if observed.limit is not None else self.limit
        self.period = observed.period if observed.period is not None else self.period
        came = now - observed.age
        sent = observed.sent
        remaining = observed.remaining
        if self.period is not None:
            self._drift(observed, came)
            self._learn(observed, sent, came, remaining)
            self._roll(now)
            own = self.index(came) == self.window
            if own and self.limit is not None and remaining is not None:
                self.used = max(self.used, self.limit - remaining)
            if own and self.limit is not None and observed.throttled:
                self.used = max(self.used, self.limit)
        if observed.throttled:
            wait = self._hold(observed, came, now)
            if now + wait > self.held:
                self.held, self.hold = now + wait, wait

    def _learn(self, observed: Observation, sent: float | None, came: float, remaining: int | None) -> None:
        """Rules 7 and 8: turnovers (the phase, trusted turns) and turn probes' answers."""
        if remaining is None or sent is None:
            return
        base = self.turn_base if self.turn_probe and sent >= self.turn_probe else self.last
        if base is not None and sent >= base[1] and remaining > base[2]:
            self._narrow(base[0], came)
            if self.since <= base[0]:  # the count began before the turn: the server's count replaces it
                self.used, self.since = (self.limit or 0) - remaining, came
            seen = self.turned = self.index(came)
            if self.trusted is None or seen > self.trusted:
                self.trusted = self.window = seen
            self.turn_probe = 0.0
        elif self.turn_probe and sent >= self.turn_probe:  # the old window still there: probe again later
            self.turn_probe, self.turn_next = 0.0, came + turn_step(self.period or 1.0)
        if observed.reset is not None:  # whole seconds, rounded up
            self._narrow(sent + observed.reset - 1, came + observed.reset)
        if self.last is None or came >= self.last[1]:
            self.last = (sent, came, remaining)

    def _narrow(self, start: float, finish: float) -> None:
        """Rule 7: a boundary lies in ``[start, finish]``."""
        assert self.period is not None
        if finish - start > self.period / 2:
            return
        if self.width is not None:  # the known interval, moved next to the new one
            low = self.phase - self.width
            low += math.floor((start - low) / self.period + 0.5) * self.period
            if max(start, low) <= min(finish, low + self.width):  # else disjoint: the server's clock moved
                start, finish = max(start, low), min(finish, low + self.width)
        middle = None if self.window is None else self.end(self.window) - self.period / 2
        self.phase, self.width = finish % self.period, finish - start
        if middle is not None and self.window is not None:  # the same window, numbered by the new phase
            moved = self.index(middle) - self.window
            self.window += moved
            self.trusted = None if self.trusted is None else self.trusted + moved
            self.turned = None if self.turned is None else self.turned + moved

    def _drift(self, observed: Observation, came: float) -> None:
        """Rule 7: a 429 saying spent early in a window the phase says has begun, and had room,
        with no turnover seen into it: the server's windows moved; its turns are not trusted
        until seen again (rule 8).  Seen, another consumer spent it."""
        if (
            observed.throttled
            and observed.remaining == 0
            and self.width is not None
            and self.window is not None
            and self.turned != self.window
            and self.limit is not None
            and self.used < self.limit
            and self.index(came) == self.window
            and came - self.end(self.window - 1) < (self.period or 1.0) / 4
        ):
            self.width, self.trusted = None, self.window - 1

    def _roll(self, now: float) -> None:
        """Rules 2 and 8: the window of ``now``; a new one starts empty once its turn is trusted."""
        current = self.index(now)
        if self.window is None:
            self.window = self.trusted = current  # the first: the sends counted so far are its
        elif current != self.window:
            if self.width is not None:
                self.trusted = current  # a learned phase ends windows at the latest moment they can
            if self.trusted is not None and current <= self.trusted:
                self.used, self.since = 0, now
            self.window = current

    def _hold(self, observed: Observation, came: float, now: float) -> float:
        """Rule 4: how long a 429 holds the group, from ``now``."""
        if observed.remaining != 0 or observed.reset is None or self.period is None:
            return DEFAULT_HOLD if observed.retry_after is None else observed.retry_after
        if self.trusted is None or self.index(came) > self.trusted:  # the turn not seen: the next turn probe
            return max(0.0, self.turn_next - now)
        wait = observed.reset - observed.age
        end = self.end(self.index(came)) - now
        return end + BOUNDARY_MARGIN if abs(end - wait) <= ALIGN_TOLERANCE else wait

    def take(self, now: float, *, speculative: bool = False) -> float:
        """Rules 5, 6 and 8: count a send (0.0, or :data:`PROBE` for a turn
        probe), or the seconds to wait before asking again; a ``speculative``
        one that would wait, or leave too little, is :data:`DECLINED`."""
        short = self.limit is not None and self.limit - self.used <= max(1.0, self.limit * SPARE)
        if speculative and (short or not self.seen):
            return DECLINED
        wait = self._take(now)
        return DECLINED if speculative and wait != 0.0 else wait

    def unanswered(self) -> None:
        """Rule 6: a send got no answer; if it was a probe, the next goes at once."""
        if not self.seen:
            self.probe = 0.0

    def _take(self, now: float) -> float:
        if self.held > now:
            self.held = min(self.held, now + self.hold)  # a clock stepped back: no longer than it was set for
            return self.held - now
        if self.limit is not None and self.period is not None and self.window is not None:
            end = self.end(self.window) - now
            if end <= min(BOUNDARY_MARGIN + (self.width or 0.0), self.period / 4):
                return end + BOUNDARY_MARGIN
            if self.used < self.limit:
                self.used += 1
                return 0.0
            if self.trusted is not None and self.window <= self.trusted:
                return end + BOUNDARY_MARGIN  # spent
            return self._turn_probe(now)
        if not self.seen:
            if self.probe > now:
                self.probe = min(self.probe, now + PROBE_INTERVAL)
                return self.probe - now
            self.probe = now + PROBE_INTERVAL
        self.used += 1  # counted in the window the limit will be learned in
        return 0.0

    def _turn_probe(self, now: float) -> float:
        """Rule 8: one send goes alone to see whether the window turned."""
        if self.turn_probe and now < self.turn_probe + TURN_TIMEOUT:
            return min(self.turn_probe + TURN_TIMEOUT - now, turn_step(self.period or 1.0))
        if now < self.turn_next:
            return self.turn_next - now
        self.turn_probe, self.turn_base = now, self.last
        return PROBE


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
        self,
        group: str,
        name: str | None,
        observed: Observation,
        now: float,
        *,
        take: bool,
        speculative: bool = False,
    ) -> float:
        """Apply ``observed`` (an answer of ``group``, whose limit is ``name``
        when known), then reserve a send if ``take``."""
        window = self.of(group, name or observed.name)
        window.apply(observed, now)
        return window.take(now, speculative=speculative) if take else 0.0
