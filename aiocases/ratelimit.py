"""The rate-limit-aware gate every request of a client passes.

Datadog describes its limits in response headers (see ``shared/api/README.md``):
``X-RateLimit-Limit`` requests per ``X-RateLimit-Period`` seconds, windows
calendar aligned, ``X-RateLimit-Remaining`` left in this window,
``X-RateLimit-Reset`` seconds until it resets, and ``X-RateLimit-Name``, the
endpoint group the limit applies to.  The gate

* keeps at most ``max_concurrency`` requests in flight (fewer after 429s:
  :class:`ConcurrencyLimit`);
* counts its own sends against each group's budget and holds new requests
  until the window resets once the budget is spent, instead of sending them
  to be refused (:class:`Bucket`);
* on a 429 holds every request of that group for the wait the server gave,
  and releases them with jitter and under the reduced concurrency limit, so
  the end of the wait is no thundering herd;
* with a :class:`~aiocases.budget.Budget` (``RedisBudget``, ``LocalBudget``),
  also asks it before each send, so that every client of one credential
  spends one budget; the gate's own count goes on beside it, and alone while
  the budget is unavailable.

The bookkeeping (:class:`RateLimitInfo`, :class:`Bucket`,
:class:`ConcurrencyLimit`) is pure and driven by an explicit clock; only
:class:`Gate` awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType

import attrs
from attrs import define, field, frozen

from aiocases.budget import Budget, BudgetUnavailable, Observation
from aiocases.config import DEFAULTS
from aiocases.errors import ClientClosed, RateLimited
from aiocases.events import EventHook, Throttled, emit
from aiocases.sansio import header_seconds, retry_after

__all__ = ["Bucket", "ConcurrencyLimit", "Gate", "RateLimitInfo", "Stats", "Ticket"]

Clock = Callable[[], float]
_log = logging.getLogger("aiocases")


@define
class Stats:
    """Counters of one client, for logging: requests sent, retries made,
    429 responses seen, seconds requests spent held by the rate limit
    (``rate_limit_wait``, summed over requests, so with many waiting it can
    exceed the wall time), seconds of wall time during which at least one
    request was held (``rate_limit_held``), and requests read ahead past the
    last page of a walk (``prefetch_wasted``)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    rate_limit_wait: float = 0.0
    rate_limit_held: float = 0.0
    prefetch_wasted: int = 0


@frozen
class RateLimitInfo:
    """The ``X-RateLimit-*`` headers of one response (``None`` where absent or malformed)."""

    limit: int | None
    period: float | None
    remaining: int | None
    reset: float | None
    name: str | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """Read the headers; ``None`` when the response carries none of them."""
        remaining = headers.get("X-RateLimit-Remaining")
        reset = headers.get("X-RateLimit-Reset")
        if remaining is None and reset is None:
            return None
        # Values that make no sense are ignored, not obeyed: a limit below 1
        # would hold every request forever, a tiny period overflows the
        # window arithmetic, a negative count or wait is no count or wait.
        period = header_seconds(headers.get("X-RateLimit-Period"))
        return cls(
            limit=_count(headers.get("X-RateLimit-Limit"), minimum=1),
            period=period if period is not None and _MIN_PERIOD <= period <= _MAX_PERIOD else None,
            remaining=_count(remaining, minimum=0),
            reset=header_seconds(reset),
            name=headers.get("X-RateLimit-Name") or None,
        )


def _observation(info: RateLimitInfo | None, status: int, headers: Mapping[str, str]) -> Observation:
    """What a response said, for the shared budget."""
    throttled = status == 429
    wait = retry_after(headers) if throttled else None
    if info is None:
        return Observation(throttled=throttled, retry_after=wait)
    return Observation(info.limit, info.period, info.remaining, info.reset, throttled, wait)


def _count(value: str | None, *, minimum: int) -> int | None:
    try:
        number = int(value) if value is not None else None
    except ValueError:  # also for the over-long digit strings int() refuses
        return None
    return number if number is not None and number >= minimum else None


# A period outside these bounds (seconds) is no period Datadog uses.
_MIN_PERIOD = 0.01
_MAX_PERIOD = 7 * 86400.0


# A response's Reset and the calendar boundary must agree this closely (the
# header is whole seconds) before the gate trusts its own clock's alignment.
_ALIGN_TOLERANCE = 1.05
# Released a little after the boundary the clocks agree on, for skew.
_ALIGN_MARGIN = 0.03
# Once a shared budget fails, it is asked again after this many seconds.
_SHARED_RETRY = 1.0
# Without any hint from the server, a 429 holds the group this long (doubling).
_DEFAULT_HOLD = 1.0
_MAX_HOLD = 60.0


@define
class Bucket:
    """The budget of one rate-limit group, as far as this client can tell.

    ``remaining`` counts down with every send and is corrected by each
    response; ``window_end`` and ``held_until`` are on the gate's monotonic
    clock.  ``aligned`` is cleared when the local clock proved not to match
    the server's calendar windows; Reset alone is used from then on.
    """

    name: str | None = None
    limit: int | None = None
    period: float | None = None
    remaining: int | None = None
    window_end: float | None = None
    held_until: float = 0.0
    aligned: bool = True
    in_flight: int = 0
    sent: int = 0
    consecutive_429: int = 0

    def roll(self, now: float) -> None:
        """Start the next window if the current one has ended."""
        if self.window_end is not None and now >= self.window_end:
            if self.period:
                # Requests still in flight may be counted in the new window.
                periods = math.floor((now - self.window_end) / self.period) + 1
                self.window_end += periods * self.period
                self.remaining = None if self.limit is None else max(0, self.limit - self.in_flight)
            else:
                self.window_end, self.remaining = None, None

    def delay(self, now: float) -> float:
        """Seconds a new request must wait before it may be sent (0: now)."""
        self.roll(now)
        wait = self.held_until - now
        if self.remaining is not None and self.remaining <= 0 and self.window_end is not None:
            wait = max(wait, self.window_end - now)
        return max(0.0, wait)

    def take(self) -> int:
        """Count one send against the budget; returns its sequence number."""
        self.in_flight += 1
        self.sent += 1
        if self.remaining is not None:
            self.remaining -= 1
        return self.sent

    def window_end_from(self, info: RateLimitInfo, now: float, wall: float) -> float | None:
        """When the window this response belongs to ends, on the monotonic clock.

        Reset is whole seconds; windows are calendar aligned, so when the next
        multiple of Period on the local wall clock agrees with Reset, that
        boundary is the sharper estimate."""
        if info.reset is None:
            return None
        end = now + info.reset
        if self.aligned and info.period:
            boundary = now + (math.floor(wall / info.period) + 1) * info.period - wall
            if abs(boundary - end) <= _ALIGN_TOLERANCE:
                return boundary + _ALIGN_MARGIN
        return end

    def observe(self, info: RateLimitInfo, seq: int, now: float, wall: float) -> None:
        """Correct the budget from the headers of the response to send ``seq``.

        The server's Remaining counts what it had handled by then, which
        includes requests of other clients of the same key but may miss ours
        sent after ``seq``: those are taken off.  Our own count of this
        window's sends can only be lower than the truth by what others sent,
        so the smaller of the two is kept."""
        self.limit = info.limit if info.limit is not None else self.limit
        self.period = info.period if info.period else self.period
        end = self.window_end_from(info, now, wall)
        if end is None or info.remaining is None:
            return
        estimate = info.remaining - (self.sent - seq)
        half = (self.period or 1.0) / 2
        if self.window_end is None or end > self.window_end + half:
            self.window_end = end  # a newer window than the one counted
            self.remaining = estimate
        elif end >= self.window_end - half:
            self.remaining = estimate if self.remaining is None else min(self.remaining, estimate)

    def hold(self, info: RateLimitInfo | None, retry_after: float | None, now: float, wall: float) -> float:
        """A 429: hold every request of the group; returns the hold in seconds."""
        self.consecutive_429 += 1
        if info is not None and info.remaining == 0 and self.remaining is not None and self.remaining > 0:
            # The server's window is not the one the local clock predicted.
            self.aligned = False
        end = self.window_end_from(info, now, wall) if info is not None else None
        if end is not None and (info is None or not info.remaining):
            wait = end - now
        elif retry_after is not None:
            wait = retry_after
        else:
            wait = min(_MAX_HOLD, _DEFAULT_HOLD * 2 ** (self.consecutive_429 - 1))
        if info is None or not info.remaining:
            self.remaining = 0
            self.window_end = now + wait
        self.held_until = max(self.held_until, now + wait)
        return wait


class ConcurrencyLimit:
    """How many requests may be in flight: additive increase, multiplicative decrease.

    A 429 cuts the limit once per episode (requests sent before the cut do not
    cut it again) and remembers the level that failed as a ceiling; the limit
    grows back by one per window of successes up to just below that ceiling,
    and probes above it only slowly, after ``probe_interval`` seconds, so a
    limit the headers do not show costs a 429 now and then, not a stream.

    For such a limit (a 429 while ``Remaining`` is above zero, typically on
    requests in flight at once) the other refusals of the episode sharpen the
    cut: of the ``level`` requests that were in flight, those not refused are
    what the server accepts, and the limit drops to that at once instead of
    halving its way down one 429 (and one wait) at a time.
    """

    def __init__(self, maximum: int, *, clock: Clock = time.monotonic, probe_interval: float = 30.0) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.ceiling: int | None = None
        self.epoch = 0
        self._clock = clock
        self._cut_at = -math.inf
        self._probe_interval = probe_interval
        self._episode_level = 0
        self._episode_refused = 0

    @property
    def allowed(self) -> int:
        """Requests that may be in flight now."""
        return max(1, int(self.limit))

    def on_success(self, epoch: int) -> bool:
        """A request sent in ``epoch`` succeeded; returns True if the limit grew."""
        if epoch != self.epoch or self.limit >= self.maximum:
            return False
        before = self.allowed
        target = self.maximum if self.ceiling is None else self.ceiling - 1
        if self.limit < target:
            self.limit = min(float(target), self.limit + 1.0 / self.limit)
        elif self._clock() - self._cut_at >= self._probe_interval:
            self.limit = min(float(self.maximum), self.limit + 1.0 / (16 * self.limit))
            self.ceiling = max(self.ceiling or 0, self.allowed + 1)
        return self.allowed > before

    def on_throttled(self, epoch: int, level: int, hidden: bool = False) -> bool:
        """A request sent in ``epoch`` with ``level`` in flight got a 429
        (``hidden``: with budget left, so a limit the headers do not show);
        returns True if this cut the limit."""
        if hidden and epoch == self.epoch - 1 and self._episode_level:
            self._episode_refused += 1
            self._episode_level = max(self._episode_level, level)
            accepted = self._episode_level - self._episode_refused
            if 1 <= accepted < self.limit:
                self.limit = float(accepted)
                self.ceiling = accepted + 1
            return False
        if epoch != self.epoch:
            return False
        self._episode_level, self._episode_refused = (level, 1) if hidden else (0, 0)
        failed = min(self.limit, float(level))
        if self.ceiling is not None and failed >= self.ceiling - 1:
            # A probe just above the known ceiling failed: step back one.
            self.ceiling = max(1, math.ceil(failed))
            self.limit = max(1.0, float(self.ceiling - 1))
        else:
            self.ceiling = max(1, math.ceil(failed))
            self.limit = max(1.0, failed / 2)
        self.epoch += 1
        self._cut_at = self._clock()
        return True


@define
class Ticket:
    """A request's pass through the gate; :meth:`Gate.record` its response.

    ``bucket`` is the one the send was taken from, and the one
    :meth:`Gate.release` gives it back to, whatever the response linked."""

    bucket: Bucket
    group: str
    epoch: int
    level: int
    seq: int


@define
class _Groups:
    # Buckets by request group, linked by X-RateLimit-Name once a response
    # names the limit, so groups that share a limit share a budget.
    by_group: dict[str, Bucket] = field(factory=dict)
    by_name: dict[str, Bucket] = field(factory=dict)

    def bucket(self, group: str) -> Bucket:
        bucket = self.by_group.get(group)
        if bucket is None:
            bucket = self.by_group[group] = Bucket()
        return bucket

    def link(self, group: str, bucket: Bucket, name: str | None) -> Bucket:
        if name is None or bucket.name == name:
            return bucket
        named = self.by_name.get(name)
        if named is None:
            bucket.name = name
            self.by_name[name] = bucket
            return bucket
        # Requests in flight stay counted in the bucket they were taken from
        # and are released there (see Ticket): moving the count would strand
        # it when one of them fails without a response.
        self.by_group[group] = named
        return named


class Gate:
    """Admits requests: ``async with gate.slot("timelines") as ticket`` around each send.

    A request that would have to wait longer than ``max_wait`` seconds for
    its group's budget or hold raises :class:`~aiocases.errors.RateLimited` at
    once, carrying the wait (``retry_after``).  :meth:`close` wakes every
    waiting request with :class:`~aiocases.errors.ClientClosed` and leaves
    nothing bound to the event loop, so the gate serves the next one.

    ``rng`` spreads the release of held requests; ``clock``/``wall`` are
    injectable so tests can drive time.
    """

    def __init__(
        self,
        max_concurrency: int,
        *,
        stats: Stats | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        rng: random.Random | None = None,
        probe_interval: float = 30.0,
        max_wait: float = DEFAULTS.max_wait,
        on_event: EventHook | None = None,
        namespace: str = "",
    ) -> None:
        self.stats = stats if stats is not None else Stats()
        self._on_event = on_event
        self._shared: _Sharing | None = None  # see set_shared
        self._namespace = namespace
        self.concurrency = ConcurrencyLimit(max_concurrency, clock=clock, probe_interval=probe_interval)
        self.max_wait = max_wait
        self._groups = _Groups()
        self._in_flight = 0
        self._clock = clock
        self._wall = wall
        self._rng = rng or random.Random()
        # Made anew at every close: an asyncio.Event binds to the loop that
        # first waits on it, and a client may be used under another loop later.
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._generation = 0
        self._holding = 0  # requests sleeping in a hold, and since when one has been
        self._hold_started = 0.0

    def set_shared(self, shared: Budget | None) -> None:
        """Count sends with other processes in ``shared`` from now on (``None``: alone)."""
        if self._shared is not None:
            self._shared.close()
        self._shared = None if shared is None else _Sharing(shared, self._namespace, self._clock)

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet released."""
        return self._in_flight

    def slot(self, group: str) -> _Slot:
        """An async context manager admitting one request of ``group``."""
        return _Slot(self, group)

    def close(self) -> None:
        """Wake every waiting request with :class:`ClientClosed`; later ones are admitted as usual."""
        if self._shared is not None:
            self._shared.close()
        self._generation += 1
        self._changed.set()
        self._closing.set()
        self._changed, self._closing = asyncio.Event(), asyncio.Event()

    async def acquire(self, group: str) -> Ticket:
        """Wait until a request of ``group`` may be sent, and count it."""
        generation = self._generation
        while True:
            if generation != self._generation:
                raise ClientClosed("the client was closed while this request waited to be sent")
            bucket = self._groups.bucket(group)
            delay = bucket.delay(self._clock())
            if delay > 0:
                await self._hold(group, delay)
                continue
            if self._in_flight >= self.concurrency.allowed:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._in_flight += 1  # before asking a shared budget: no other request takes this place meanwhile
            try:
                wait = 0.0 if self._shared is None else await self._shared.reserve(group, bucket.name)
                if generation != self._generation:
                    raise ClientClosed("the client was closed while this request waited to be sent")
            except BaseException:
                self._in_flight -= 1
                self._changed.set()
                raise
            if wait > 0:
                self._in_flight -= 1
                self._changed.set()
                await self._hold(group, wait)
                continue
            seq = bucket.take()
            return Ticket(bucket, group, self.concurrency.epoch, self._in_flight, seq)

    async def _hold(self, group: str, delay: float) -> None:
        if delay > self.max_wait:
            raise RateLimited(
                429,
                [f"the rate limit asks to wait {delay:,.1f}s, longer than max_wait ({self.max_wait:g}s)"],
                retry_after=delay,
            )
        # Positive jitter only: never earlier than the server asked.
        delay += self._rng.uniform(0.0, min(0.25, 0.1 * delay + 0.01))
        self.stats.rate_limit_wait += delay
        emit(self._on_event, Throttled(group, delay))
        if not self._holding:
            self._hold_started = self._clock()
        self._holding += 1
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay)
        finally:
            self._holding -= 1
            if not self._holding:
                self.stats.rate_limit_held += self._clock() - self._hold_started

    def record(self, ticket: Ticket, status: int, headers: Mapping[str, str]) -> None:
        """Learn from a response's status and ``X-RateLimit-*`` headers."""
        info = RateLimitInfo.from_headers(headers)
        now, wall = self._clock(), self._wall()
        bucket = self._groups.link(ticket.group, ticket.bucket, info.name if info else None)
        # Linked to another group's bucket since this send: its sequence
        # number counts the old bucket's sends; count nothing as sent after.
        seq = ticket.seq if bucket is ticket.bucket else bucket.sent
        if self._shared is not None:
            self._shared.share(ticket.group, bucket.name, _observation(info, status, headers))
        if status == 429:
            self.stats.throttled += 1
            bucket.hold(info, retry_after(headers), now, wall)
            hidden = info is not None and info.remaining is not None and info.remaining > 0
            self.concurrency.on_throttled(ticket.epoch, ticket.level, hidden)
            return
        if info is not None:
            bucket.observe(info, seq, now, wall)
        if status < 500:
            bucket.consecutive_429 = 0
            if self.concurrency.on_success(ticket.epoch):
                self._changed.set()

    def release(self, ticket: Ticket) -> None:
        """The request is over (answered or failed): free its place in the
        bucket it was taken from."""
        self._in_flight -= 1
        ticket.bucket.in_flight = max(0, ticket.bucket.in_flight - 1)
        self._changed.set()


class _Sharing:
    """A gate's link to a shared :class:`~aiocases.budget.Budget`: each
    group's latest answer, handed over with the next reservation (one round
    trip a request); a 429, and a group's first answer (the limit the others
    wait to learn), told at once; and, after a failure, a second alone before
    the budget is asked again."""

    def __init__(self, budget: Budget, namespace: str, clock: Clock) -> None:
        self._budget = budget
        self._namespace = namespace
        self._clock = clock
        self._observed: dict[str, tuple[Observation, float]] = {}  # each group's latest answer, and when
        self._published: set[str] = set()  # groups whose first answer the other processes were told
        self._publishing: set[asyncio.Task[None]] = set()
        self._down_until: float | None = None  # while set, the budget is not asked

    async def reserve(self, group: str, name: str | None) -> float:
        """The budget's answer for one send of ``group`` (0.0 while it is down)."""
        if self._down_until is not None and self._clock() < self._down_until:
            return 0.0
        latest = self._observed.pop(name or group, None)
        observed = None if latest is None else attrs.evolve(latest[0], age=self._clock() - latest[1])
        try:
            wait = await self._budget.reserve(self._namespace, group, observed, name=name)
        except BudgetUnavailable as exc:
            self._failed(exc)
            return 0.0
        if self._down_until is not None:
            self._down_until = None
            _log.warning("the shared rate budget is back: counting with the other processes again")
        return wait

    def share(self, group: str, name: str | None, observed: Observation) -> None:
        """Keep an answer for the next reservation of its group, or publish it at once."""
        key = name or group
        if not observed.throttled and key in self._published:
            self._observed[key] = (observed, self._clock())
        elif self._down_until is None:
            self._published.add(key)
            task = asyncio.ensure_future(self._publish(group, name, observed))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    def close(self) -> None:
        """Stop publishing."""
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
    def __init__(self, gate: Gate, group: str) -> None:
        self._gate = gate
        self._group = group
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        self._ticket = await self._gate.acquire(self._group)
        return self._ticket

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ticket is not None:
            self._gate.release(self._ticket)
