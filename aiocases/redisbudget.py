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
import string
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiocases.budget import BudgetUnavailable
from aiocases.observations import Observation
from aiocases.windows import ALIGN_TOLERANCE, BOUNDARY_MARGIN, DEFAULT_HOLD, NOTHING, PROBE_INTERVAL

__all__ = ["RedisBudget"]

# KEYS[1]: the group's hash, KEYS[2]: its name's (the same until an answer
# named the limit).  ARGV[1], nine numbers separated by spaces ("-" where the
# answer said nothing): what the last answer of this process said (limit,
# period ms, remaining, reset ms, 1 for a 429 else 0, retry-after ms), 1 to
# reserve a send or 0, how long ago (ms) the answer came, and 1 when there
# was an answer at all.  One argument, not nine: redis-py packs each one in
# Python, and that was a tenth of a reservation's cost.  ARGV[2], in tests
# only, is the time in ms to use instead of Redis's.  Applying the answer
# and reserving in one script keeps a request to one round trip.  Returns 0
# (counted: send now) or the wait in ms.  The rules and their constants are
# those of aiocases/windows.py (Window.apply, Window._hold, Window.take).
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
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local a, n = {}, 0
for field in string.gmatch(ARGV[1], '%S+') do
  n = n + 1
  a[n] = tonumber(field)  -- nil for "-"
end
local h = redis.call('HMGET', key, 'limit', 'period', 'window', 'used', 'held', 'seen', 'probe', 'hold')
local limit, period = a[1] or tonumber(h[1]), a[2] or tonumber(h[2])
local remaining, reset, throttled, retry = a[3], a[4], a[5] == 1, a[6]
local age = a[8] or 0
local came = now - age
local seen = h[6] == '1' or a[9] == 1
local window, used, held = tonumber(h[3]), tonumber(h[4]) or 0, tonumber(h[5]) or 0
local probe = tonumber(h[7]) or 0
local hold = tonumber(h[8]) or 0
if period then  -- rules 2 and 3
  local w = math.floor(now / period)
  if not window then
    window = w  -- the sends counted so far are this window's
  elseif w ~= window then
    window, used = w, 0
  end
  local own = math.floor(came / period) == w
  if own and limit and remaining then
    used = math.max(used, limit - remaining)
  end
  if own and limit and throttled then
    used = math.max(used, limit)
  end
end
if throttled then  -- rule 4
  local wait = retry or $default_hold
  if remaining == 0 and reset then
    wait = reset - age
    if period then
      local finish = (math.floor(came / period) + 1) * period - now
      if math.abs(finish - wait) <= $align_tolerance then
        wait = finish + $margin
      end
    end
  end
  if now + wait > held then
    held, hold = now + wait, wait
  end
end
local result = 0
if a[7] == 1 then  -- rules 5 and 6
  if held > now then
    held = math.min(held, now + hold)  -- a clock stepped back: no longer than it was set for
    result = held - now
  elseif limit and period and window then
    local finish = (window + 1) * period - now
    if used >= limit or finish <= math.min($margin, period / 4) then
      result = finish + $margin
    else
      used = used + 1
    end
  elseif not seen and probe > now then
    probe = math.min(probe, now + $probe_interval)
    result = probe - now
  else
    if not seen then
      probe = now + $probe_interval
    end
    used = used + 1  -- counted in the window the limit will be learned in
  end
end
redis.call('HSET', key, 'used', used, 'held', held, 'hold', hold, 'probe', probe)
if seen then redis.call('HSET', key, 'seen', 1) end
if limit then redis.call('HSET', key, 'limit', limit) end
if period then redis.call('HSET', key, 'period', period, 'window', window) end
redis.call('PEXPIRE', key, math.max(4 * (period or 15000), 60000))
return result
""").substitute(
    default_hold=round(DEFAULT_HOLD * 1000),
    align_tolerance=round(ALIGN_TOLERANCE * 1000),
    margin=round(BOUNDARY_MARGIN * 1000),
    probe_interval=round(PROBE_INTERVAL * 1000),
)


async def _bounded(call: Awaitable[Any], seconds: float) -> Any:
    """``await call``, at most ``seconds``: ``asyncio.timeout`` where there is one
    (3.11+: no task made, a tenth of a round trip saved), else ``wait_for``."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


def _ms(seconds: float | None) -> object:
    return "-" if seconds is None else round(seconds * 1000)


def _argument(observed: Observation, *, take: bool) -> str:
    """The script's one argument: an observation, and whether to reserve."""
    limit = "-" if observed.limit is None else observed.limit
    remaining = "-" if observed.remaining is None else observed.remaining
    answered = 0 if observed is NOTHING else 1
    return (
        f"{limit} {_ms(observed.period)} {remaining} {_ms(observed.reset)} {int(observed.throttled)}"
        f" {_ms(observed.retry_after)} {int(take)} {round(observed.age * 1000)} {answered}"
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
        self, namespace: str, group: str, observed: Observation | None = None, *, name: str | None = None
    ) -> float:
        """Count one send of ``group`` if the shared budget allows it (0.0),
        else the seconds to wait before asking again; first apply
        ``observed``, what this process's last response of the group said.
        ``name``: the ``X-RateLimit-Name`` of the group's answers, once known
        (groups of one name share a count)."""
        waited = await self._run(namespace, group, name, observed or NOTHING, take=True)
        return max(0, int(waited)) / 1000

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """Learn from one response at once (a 429: every process holds the group)."""
        await self._run(namespace, group, name, observed, take=False)

    async def _run(self, namespace: str, group: str, name: str | None, observed: Observation, *, take: bool) -> Any:
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
