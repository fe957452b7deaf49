"""The gate every request of a client passes before it is sent.

``async with gate.slot("timelines") as ticket`` admits one request, and
``gate.record(ticket, status, headers)`` tells the gate its answer.  The gate

* keeps at most ``max_concurrency`` requests in flight, fewer after 429s the
  rate-limit headers do not explain (:mod:`aiocases.concurrency`);
* counts every send in one budget, by the rules of :mod:`aiocases.windows`:
  its own :class:`~aiocases.budget.LocalBudget`, or a budget it shares with
  other clients (``share``).  A spent window or a 429 is a wait, not an
  error: the request is held until the budget has room;
* with a shared budget, hands it each group's latest answer with the next
  reservation (one round trip a request), and a 429, or a group's first
  answer (the limit the others wait to learn), at once; a shared budget that
  fails is left aside for a second (one WARNING), the gate counting in its
  own meanwhile, whose windows have seen every answer.

A speculative request (a page read ahead, ``slot(group, speculative=True)``)
has the lowest priority: it goes only at once, while no other request
waits, and when the budget has room to spare (rule 5 of
:mod:`aiocases.windows`); else :class:`~aiocases.errors.Declined`.

A request the budget would hold longer than ``max_wait`` raises
:class:`~aiocases.errors.RateLimited` at once (``too_long``).  ``clock`` and
``sleep`` are injectable, so tests drive time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType

import attrs
from attrs import frozen

from aiocases.budget import Budget, BudgetUnavailable, LocalBudget, Reservation
from aiocases.concurrency import ConcurrencyLimit
from aiocases.errors import ClientClosed, Declined, RateLimited
from aiocases.events import EventHook, Throttled, emit
from aiocases.observations import Observation, observe
from aiocases.stats import Stats
from aiocases.windows import DECLINED, NOTHING, PROBE

__all__ = ["Gate", "Ticket"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
_log = logging.getLogger("aiocases")
# Once a shared budget fails, it is asked again after this many seconds.
_SHARED_RETRY = 1.0


@frozen
class Ticket:
    """One request's pass through the gate: its group, the concurrency epoch
    and level it was sent at, when (the gate's clock; ``reserved``: the shared
    budget's, when it counted the send), and whether it went as a window's
    turn probe (its answer is told to a shared budget at once)."""

    group: str
    epoch: int
    level: int
    sent: float = 0.0
    reserved: float | None = None
    probe: bool = False


class Gate:
    """Admits the requests of one client (see the module's docstring)."""

    def __init__(
        self,
        max_concurrency: int,
        *,
        namespace: str = "",
        stats: Stats | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_wait: float = 300.0,
        on_event: EventHook | None = None,
        probe_interval: float = 30.0,
    ) -> None:
        self.stats = stats if stats is not None else Stats()
        self.concurrency = ConcurrencyLimit(max_concurrency, clock=clock, probe_interval=probe_interval)
        self.max_wait = max_wait
        self._namespace = namespace
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._on_event = on_event
        self._own = LocalBudget(clock=clock)
        self._sharing: _Sharing | None = None
        self._names: dict[str, str] = {}  # group -> the name of its limit, once an answer said it
        self._in_flight = 0
        self._waiting = 0  # requests waiting for a place or held: speculative ones do not go meanwhile
        self._holding = 0  # requests held, and since when one has been
        self._hold_started = 0.0
        self._generation = 0
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._news = asyncio.Event()  # set when a group's first answer came: held probes ask again
        self._answered: set[str] = set()

    def share(self, budget: Budget | None) -> None:
        """Count in ``budget`` with other clients from now on (``None``: alone)."""
        if self._sharing is not None:
            self._sharing.close()
        self._sharing = None if budget is None else _Sharing(budget, self._namespace, self._clock)

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet released."""
        return self._in_flight

    def slot(self, group: str, *, speculative: bool = False) -> _Slot:
        """An async context manager admitting one request of ``group``."""
        return _Slot(self, group, speculative)

    def close(self) -> None:
        """Wake every waiting request with :class:`ClientClosed`."""
        if self._sharing is not None:
            self._sharing.close()
        self._generation += 1
        self._changed.set()
        self._closing.set()
        # Made anew: an asyncio.Event binds to the loop that first waits on it.
        self._changed, self._closing = asyncio.Event(), asyncio.Event()

    async def acquire(self, group: str, *, speculative: bool = False) -> Ticket:
        """Wait until a request of ``group`` may be sent, and count it (a
        ``speculative`` one goes at once or raises :class:`Declined`)."""
        generation = self._generation
        while True:
            if generation != self._generation:
                raise ClientClosed("the client was closed while this request waited to be sent")
            if speculative and (self._waiting or self._in_flight >= self.concurrency.allowed):
                raise Declined
            if self._in_flight >= self.concurrency.allowed:
                self._changed.clear()
                await self._waited(self._changed.wait())
                continue
            self._in_flight += 1  # before asking a shared budget: no other request takes this place meanwhile
            try:
                wait, reserved = await self._reserve(group, speculative)
                if generation != self._generation:
                    raise ClientClosed("the client was closed while this request waited to be sent")
            except BaseException:
                self.release(None)
                raise
            if wait == DECLINED:
                self.release(None)
                raise Declined
            if wait <= 0:
                level, now = self._in_flight, self._clock()
                return Ticket(group, self.concurrency.epoch, level, now, reserved, wait == PROBE)
            self.release(None)
            await self._waited(self._hold(group, wait))

    async def _waited(self, waiting: Awaitable[object]) -> None:
        self._waiting += 1
        try:
            await waiting
        finally:
            self._waiting -= 1

    async def _reserve(self, group: str, speculative: bool) -> tuple[float, float | None]:
        """The wait, and when the shared budget counted the send (``None``: this gate did)."""
        name = self._names.get(group)
        if self._sharing is not None:
            reservation = await self._sharing.reserve(group, name, speculative)
            if reservation is not None:
                return reservation.wait, reservation.at
        return self._own.run(self._namespace, group, name, NOTHING, take=True, speculative=speculative), None

    async def _hold(self, group: str, delay: float) -> None:
        if delay > self.max_wait:
            raise RateLimited(
                429,
                [f"the rate limit asks to wait {delay:,.1f}s, longer than max_wait ({self.max_wait:g}s)"],
                retry_after=delay,
                too_long=True,
            )
        # Positive jitter only: never earlier than the budget said.
        delay += self._rng.uniform(0.0, min(0.25, 0.1 * delay + 0.01))
        self.stats.rate_limit_wait += delay
        emit(self._on_event, Throttled(group, delay))
        if not self._holding:
            self._hold_started = self._clock()
        self._holding += 1
        waits = [asyncio.ensure_future(w) for w in (self._sleep(delay), self._closing.wait(), self._news.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            self._holding -= 1
            if not self._holding:
                self.stats.rate_limit_held += self._clock() - self._hold_started

    def record(self, ticket: Ticket, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer's status and ``X-RateLimit-*`` headers."""
        observed = observe(status, headers)
        group = ticket.group
        if observed.name is not None:
            self._names[group] = observed.name
        name = self._names.get(group)
        self._own.run(self._namespace, group, name, attrs.evolve(observed, sent=ticket.sent), take=False)
        if self._sharing is not None:
            observed = attrs.evolve(observed, sent=ticket.reserved)
            self._sharing.share(group, name, observed, at_once=ticket.probe)
        if group not in self._answered or ticket.probe:  # requests held for this answer ask again now
            self._answered.add(group)
            self._news.set()
            self._news = asyncio.Event()
        if status == 429:
            self.stats.throttled += 1
            if observed.remaining != 0:  # not the window's doing: a limit the headers do not show
                self.concurrency.on_throttled(ticket.epoch, ticket.level, hidden=observed.remaining is not None)
        elif status < 500 and self.concurrency.on_success(ticket.epoch):
            self._changed.set()

    def unanswered(self, ticket: Ticket) -> None:
        """A request got no answer (no connection, a timeout): a group's
        first request, its probe, lets the next go at once (rule 6)."""
        if ticket.group not in self._answered:
            self._own.unanswered(self._namespace, ticket.group, self._names.get(ticket.group))
            self._news.set()
            self._news = asyncio.Event()

    def release(self, ticket: Ticket | None) -> None:
        """A request is over (answered or failed): free its place."""
        self._in_flight -= 1
        self._changed.set()


class _Sharing:
    """A gate's link to a shared budget: each group's latest answer, handed
    over with the next reservation; a 429, and a group's first answer, told
    at once; after a failure, a second with the gate's own count."""

    def __init__(self, budget: Budget, namespace: str, clock: Clock) -> None:
        self._budget = budget
        self._namespace = namespace
        self._clock = clock
        self._observed: dict[str, tuple[Observation, float]] = {}  # each limit's latest answer, and when
        self._published: set[str] = set()  # limits whose first answer the others were told
        self._publishing: set[asyncio.Task[None]] = set()
        self._down_until: float | None = None  # while set, the budget is not asked

    async def reserve(self, group: str, name: str | None, speculative: bool) -> Reservation | None:
        """The budget's answer for one send of ``group`` (``None`` while it is unavailable)."""
        if self._down_until is not None and self._clock() < self._down_until:
            return None
        latest = self._observed.pop(name or group, None)
        observed = None if latest is None else attrs.evolve(latest[0], age=self._clock() - latest[1])
        try:
            reservation = await self._budget.reserve(
                self._namespace, group, observed, name=name, speculative=speculative
            )
        except BudgetUnavailable as exc:
            self._failed(exc)
            return None
        if self._down_until is not None:
            self._down_until = None
            _log.warning("the shared rate budget is back: counting with the other processes again")
        return reservation

    def share(self, group: str, name: str | None, observed: Observation, *, at_once: bool = False) -> None:
        """Keep an answer for the next reservation of its limit, or tell it at
        once (a 429, a limit's first answer, a turn probe's)."""
        key = name or group
        if not observed.throttled and not at_once and key in self._published:
            self._observed[key] = (observed, self._clock())
        elif self._down_until is None:
            self._published.add(key)
            task = asyncio.ensure_future(self._publish(group, name, observed))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    def close(self) -> None:
        """Stop telling."""
        for task in self._publishing:
            task.cancel()

    async def _publish(self, group: str, name: str | None, observed: Observation) -> None:
        try:
            await self._budget.observe(self._namespace, group, observed, name=name)
        except BudgetUnavailable as exc:
            self._failed(exc)

    def _failed(self, exc: BudgetUnavailable) -> None:
        if self._down_until is None:
            _log.warning("the shared rate budget is unavailable (%s): this process counts alone until it is back", exc)
        self._down_until = self._clock() + _SHARED_RETRY


class _Slot:
    def __init__(self, gate: Gate, group: str, speculative: bool) -> None:
        self._gate = gate
        self._group = group
        self._speculative = speculative
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        self._ticket = await self._gate.acquire(self._group, speculative=self._speculative)
        return self._ticket

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ticket is not None:
            self._gate.release(self._ticket)
