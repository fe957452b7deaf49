"""One rate budget for many processes and hosts: the counts kept in Redis (``pip install 'aiocases[redis]'``).

:class:`RedisBudget` implements :class:`~aiocases.budget.Budget` with the
rules written at the top of :mod:`aiocases.windows` (and tested against
:class:`~aiocases.budget.LocalBudget`, their in-process twin, by one table): each group's
count is one Redis hash changed only by one atomic Lua script, which applies
what a process's latest answer said and reserves a send in one round trip a
request.  Time is Redis's ``TIME``: the hosts' clocks are never used.

Keys hold a hash of the credential (never the credential:
``Credentials.fingerprint()``) and the group, ``aiocases:rl:{<hash>}:<group>``
(the braces keep a credential's keys in one Redis Cluster slot).  Each call
is bounded (``timeout``, 100 ms by default): a Redis that is slow or gone
raises :class:`~aiocases.budget.BudgetUnavailable` quickly, and the gate goes
on with its own count.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import string
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiocases.budget import BudgetUnavailable, Reservation
from aiocases.observations import Observation
from aiocases.windows import (
    ALIGN_TOLERANCE,
    BOUNDARY_MARGIN,
    DECLINED,
    DEFAULT_HOLD,
    NOTHING,
    PROBE,
    PROBE_INTERVAL,
    SPARE,
    TURN_TIMEOUT,
)

__all__ = ["RedisBudget"]

# KEYS[1]: the group's hash, KEYS[2]: its name's (the same until an answer
# named the limit).  ARGV[1], ten numbers separated by spaces ("-" where the
# answer said nothing): what the last answer of this process said (limit,
# period ms, remaining, reset ms, 1 for a 429 else 0, retry-after ms), 1 to
# reserve a send (2: a speculative one) or 0, how long ago (ms) the answer came, when (ms, Redis's
# clock) its request was reserved, and 1 when there was an answer at all.
# One argument, not ten: redis-py packs each one in Python, and that was a
# tenth of a reservation's cost.  ARGV[2], in tests only, is the time in ms
# to use instead of Redis's.  Applying the answer and reserving in one script
# keeps a request to one round trip.  Returns the wait: 0 (counted: send
# now), -1 (send, as the window's turn probe), -2 (a speculative send
# declined) or ms; and the time (ms).  The rules, their order and their constants are
# those of aiocases/windows.py (Window.apply, _drift, _learn, _narrow, _roll,
# _hold, take, _turn_probe): the same table of tests runs on both.
_SCRIPT = string.Template("""
-- Rule 1: the name's hash, remembered by the group's.
local key = KEYS[2]
if key ~= KEYS[1] then
  if redis.call('HGET', KEYS[1], 'alias') ~= key then  -- what the group counted moves to the name
    local counted = tonumber(redis.call('HGET', KEYS[1], 'used')) or 0
    if counted > 0 then
      redis.call('HINCRBY', key, 'used', counted)
    end
    redis.call('HDEL', KEYS[1], 'used')
  end
  redis.call('HSET', KEYS[1], 'alias', key)
  redis.call('PEXPIRE', KEYS[1], 3600000)
else
  key = redis.call('HGET', KEYS[1], 'alias') or key
end
local now = tonumber(ARGV[2])  -- a driven clock, in tests only
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local a, n = {}, 0
for field in string.gmatch(ARGV[1], '%S+') do
  n = n + 1
  a[n] = tonumber(field)  -- nil for "-"
end
local F = {'limit', 'period', 'window', 'used', 'since', 'held', 'hold', 'seen', 'probe', 'phase', 'width', 'lsent',
           'lcame', 'lrem', 'trusted', 'tprobe', 'bsent', 'bcame', 'brem', 'tnext', 'turned'}
local h = redis.call('HMGET', key, unpack(F))
local s = {}
for i, f in ipairs(F) do
  s[f] = tonumber(h[i])
end
s.limit, s.period = a[1] or s.limit, a[2] or s.period
s.used, s.since, s.held, s.hold, s.probe = s.used or 0, s.since or 0, s.held or 0, s.hold or 0, s.probe or 0
s.phase, s.tprobe, s.tnext = s.phase or 0, s.tprobe or 0, s.tnext or 0
local remaining, reset, throttled, retry = a[3], a[4], a[5] == 1, a[6]
local age = a[8] or 0
local came = now - age
local sent = a[9]  -- the reservation's time (nil: unknown)
s.seen = (s.seen == 1 or a[10] == 1) and 1 or nil

local function index(t) return math.floor((t - s.phase) / s.period) end
local function finish(k) return s.phase + (k + 1) * s.period end
local function step() return math.min(s.period / 8, 1000) end

local function narrow(low, high)  -- rule 7: a boundary lies in [low, high]
  if high - low > s.period / 2 then return end
  if s.width then
    local known = s.phase - s.width
    known = known + math.floor((low - known) / s.period + 0.5) * s.period
    if math.max(low, known) <= math.min(high, known + s.width) then
      low, high = math.max(low, known), math.min(high, known + s.width)
    end
  end
  local middle = s.window and finish(s.window) - s.period / 2
  s.phase, s.width = high % s.period, high - low
  if middle then  -- the same window, numbered by the new phase
    local moved = index(middle) - s.window
    s.window = s.window + moved
    if s.trusted then s.trusted = s.trusted + moved end
    if s.turned then s.turned = s.turned + moved end
  end
end

local function roll(t)  -- rules 2 and 8
  local current = index(t)
  if not s.window then
    s.window, s.trusted = current, current
  elseif current ~= s.window then
    if s.width then s.trusted = current end
    if s.trusted and current <= s.trusted then s.used, s.since = 0, t end
    s.window = current
  end
end

if s.period then
  -- Rule 7: a 429 saying spent early in a window that had room: the server's windows moved.
  if throttled and remaining == 0 and s.width and s.window and s.turned ~= s.window and s.limit and s.used < s.limit
      and index(came) == s.window and came - finish(s.window - 1) < s.period / 4 then
    s.width, s.trusted = nil, s.window - 1
  end
  if remaining and sent then  -- rules 7 and 8
    local bsent, bcame, brem = s.lsent, s.lcame, s.lrem
    local probed = s.tprobe > 0 and sent >= s.tprobe
    if probed then bsent, bcame, brem = s.bsent, s.bcame, s.brem end
    if bcame and sent >= bcame and remaining > brem then
      narrow(bsent, came)
      if s.since <= bsent then  -- the count began before the turn: the server's count replaces it
        s.used, s.since = (s.limit or 0) - remaining, came
      end
      local seen = index(came)
      s.turned = seen
      if not s.trusted or seen > s.trusted then s.trusted, s.window = seen, seen end
      s.tprobe = 0
    elseif probed then
      s.tprobe, s.tnext = 0, came + step()
    end
    if reset then narrow(sent + reset - 1000, came + reset) end  -- whole seconds, rounded up
    if not s.lcame or came >= s.lcame then s.lsent, s.lcame, s.lrem = sent, came, remaining end
  end
  roll(now)
  local own = index(came) == s.window
  if own and s.limit and remaining then s.used = math.max(s.used, s.limit - remaining) end
  if own and s.limit and throttled then s.used = math.max(s.used, s.limit) end
end
if throttled then  -- rule 4
  local wait
  if remaining ~= 0 or not reset or not s.period then
    wait = retry or $default_hold
  elseif not s.trusted or index(came) > s.trusted then
    wait = math.max(0, s.tnext - now)
  else
    wait = reset - age
    local e = finish(index(came)) - now
    if math.abs(e - wait) <= $align_tolerance then wait = e + $margin end
  end
  if now + wait > s.held then s.held, s.hold = now + wait, wait end
end
local result, take = 0, a[7]
if take == 2 and (not s.seen or s.limit and s.limit - s.used <= math.max(1, s.limit * $spare)) then
  result = -2  -- rule 5: a speculative send declined
elseif take >= 1 then  -- rules 5, 6 and 8
  if s.held > now then
    s.held = math.min(s.held, now + s.hold)  -- a clock stepped back: no longer than it was set for
    result = s.held - now
  elseif s.limit and s.period and s.window then
    local e = finish(s.window) - now
    if e <= math.min($margin + (s.width or 0), s.period / 4) then
      result = e + $margin
    elseif s.used < s.limit then
      s.used = s.used + 1
    elseif s.trusted and s.window <= s.trusted then
      result = e + $margin
    elseif s.tprobe > 0 and now < s.tprobe + $turn_timeout then
      result = math.min(s.tprobe + $turn_timeout - now, step())
    elseif now < s.tnext then
      result = s.tnext - now
    else
      s.tprobe, s.bsent, s.bcame, s.brem = now, s.lsent, s.lcame, s.lrem
      result = -1
    end
  elseif not s.seen and s.probe > now then
    s.probe = math.min(s.probe, now + $probe_interval)
    result = s.probe - now
  else
    if not s.seen then s.probe = now + $probe_interval end
    s.used = s.used + 1  -- counted in the window the limit will be learned in
  end
  if take == 2 and result ~= 0 then result = -2 end
end
local put, drop = {}, {}
for _, f in ipairs(F) do
  if s[f] then
    put[#put + 1] = f
    put[#put + 1] = s[f]
  else
    drop[#drop + 1] = f
  end
end
redis.call('HSET', key, unpack(put))
if #drop > 0 then redis.call('HDEL', key, unpack(drop)) end
redis.call('PEXPIRE', key, math.max(4 * (s.period or 15000), 60000))
-- The wait (whole milliseconds, never less than asked) and this reservation's
-- time (never later than it was): an answer's send is placed at it.
return {math.ceil(result), math.floor(now)}
""").substitute(
    default_hold=round(DEFAULT_HOLD * 1000),
    align_tolerance=round(ALIGN_TOLERANCE * 1000),
    margin=round(BOUNDARY_MARGIN * 1000),
    probe_interval=round(PROBE_INTERVAL * 1000),
    turn_timeout=round(TURN_TIMEOUT * 1000),
    spare=SPARE,
)


async def _bounded(call: Awaitable[Any], seconds: float) -> Any:
    """``await call``, at most ``seconds``: ``asyncio.timeout`` where there is one
    (3.11+: no task made, a tenth of a round trip saved), else ``wait_for``."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


def _ms(seconds: float | None) -> object:
    return "-" if seconds is None else math.floor(seconds * 1000)


def _argument(observed: Observation, *, take: int) -> str:
    """The script's one argument: an observation, and whether to reserve (1; 2: speculatively)."""
    limit = "-" if observed.limit is None else observed.limit
    remaining = "-" if observed.remaining is None else observed.remaining
    answered = 0 if observed is NOTHING else 1
    return (
        f"{limit} {_ms(observed.period)} {remaining} {_ms(observed.reset)} {int(observed.throttled)}"
        f" {_ms(observed.retry_after)} {take} {math.floor(observed.age * 1000)} {_ms(observed.sent)} {answered}"
    )


class RedisBudget:
    """The shared rate budget, on the Redis at ``url`` (``redis://host:6379/0``).

    Made from a URL, it opens its own connection pool, closed by :meth:`close`;
    or pass ``client``, a ``redis.asyncio.Redis`` of your own.  ``clock``
    (seconds) replaces Redis's ``TIME``: for tests that drive time."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        timeout: float = 0.1,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if (url is None) == (client is None):
            raise ValueError("pass url or client, not both")
        if not 0 < timeout <= 10:
            raise ValueError(f"timeout must be a number of seconds from above 0 to 10, got {timeout!r}")
        if client is None:
            try:  # imported by name: the type check passes without the extra installed
                aioredis = importlib.import_module("redis.asyncio")
            except ImportError:
                raise ImportError("RedisBudget needs the redis package: pip install 'aiocases[redis]'") from None
            # No socket_timeout: each call is bounded as a whole (see _run);
            # redis-py's own would add a task and a timer to every call.
            client = aioredis.Redis.from_url(url)
            self._owned = True
        else:
            self._owned = False
        self._client = client
        self.timeout = timeout
        self._clock = clock
        self._script = client.register_script(_SCRIPT)

    def __repr__(self) -> str:
        return f"RedisBudget(timeout={self.timeout})"  # the URL may hold a password

    @staticmethod
    def key(namespace: str, group: str) -> str:
        """The Redis key of one credential's group or limit name (``namespace``:
        ``Credentials.fingerprint()``, in braces: one Redis Cluster slot a credential)."""
        return f"aiocases:rl:{{{namespace}}}:{group}"

    async def reserve(
        self,
        namespace: str,
        group: str,
        observed: Observation | None = None,
        *,
        name: str | None = None,
        speculative: bool = False,
    ) -> Reservation:
        """See :meth:`Budget.reserve <aiocases.budget.Budget.reserve>`."""
        take = 2 if speculative else 1
        waited, at = await self._run(namespace, group, name, observed or NOTHING, take=take)
        wait = {-1: PROBE, -2: DECLINED}.get(int(waited), int(waited) / 1000)
        return Reservation(wait, int(at) / 1000)

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """Learn from one response at once (a 429: every process holds the group)."""
        await self._run(namespace, group, name, observed, take=0)

    async def _run(self, namespace: str, group: str, name: str | None, observed: Observation, *, take: int) -> Any:
        keys = [self.key(namespace, group), self.key(namespace, name or observed.name or group)]
        args = [_argument(observed, take=take)]
        if self._clock is not None:
            args.append(str(round(self._clock() * 1000)))
        call = self._script(keys=keys, args=args)
        try:
            return await _bounded(call, self.timeout)
        except (asyncio.TimeoutError, OSError) as exc:
            raise BudgetUnavailable(f"redis did not answer within {self.timeout * 1000:.0f} ms") from exc
        except Exception as exc:  # redis.exceptions.RedisError and its kin: unavailable, whatever the cause
            raise BudgetUnavailable(f"redis failed: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Close the connection pool this budget opened (not a client you passed)."""
        if self._owned:
            await self._client.aclose()
