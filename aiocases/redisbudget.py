"""One rate budget for many processes: the counts kept in Redis (``pip install 'aiocases[redis]'``).

Datadog counts its limits per organization, so every process using a key
spends one budget.  :class:`RedisBudget` keeps, for each credential and
rate-limit group, what the processes have sent in the current window, in
one Redis hash changed only by atomic Lua scripts:

* ``reserve`` first applies what this process's last response said (the
  limit and period, and the count raised to what the server's ``Remaining``
  shows: it counts every process's sends), then counts one send if the
  window's budget allows it, else says how long to wait (until the window
  ends, or until a shared 429 hold ends): one round trip a request;
* ``observe`` applies a response at once: the first of a group (so that the
  others learn the limit), and a 429, which holds the group for every process;
* until some process has seen the limit, one send a second goes (a probe):
  processes that start together do not spend a window blind.

Windows are calendar aligned by Period, as Datadog's are, and time is Redis's
``TIME``: the hosts' clocks, which drift apart, are never used.  Keys hold a
hash of the credential (never the credential: ``Credentials.fingerprint()``)
and the group: ``aiocases:rl:<hash>:<group>``.  Each call is bounded (``timeout``, 100 ms by
default): a Redis that is slow or gone raises :class:`BudgetUnavailable`
quickly, and the caller goes on with its local budget.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Awaitable
from typing import Any

from aiocases.ratelimit import BudgetUnavailable, Observation

__all__ = ["RedisBudget"]

# KEYS[1]: the group's hash.  ARGV: what the last response of this process
# said (limit, period ms, remaining, reset ms, 1 for a 429 else 0,
# retry-after ms; "" where it said nothing), 1 to reserve a send or 0, how
# long ago (ms) the response came, and 1 when there was a response at all.
# Applying the observation and reserving in one script keeps a request to
# one round trip.  Returns 0 (counted: send now) or the wait in ms.
_BUDGET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'limit', 'period', 'window', 'used', 'held', 'seen')
local limit, period = tonumber(ARGV[1]) or tonumber(h[1]), tonumber(ARGV[2]) or tonumber(h[2])
local remaining, reset, throttled, retry = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local age = tonumber(ARGV[8]) or 0
local seen = h[6] == '1' or ARGV[9] == '1'
local window, used, held = tonumber(h[3]), tonumber(h[4]) or 0, tonumber(h[5]) or 0
if period then
  local w = math.floor(now / period)
  if w ~= window then
    window, used = w, 0
  end
  -- The server's Remaining counts every process's sends: never count fewer,
  -- but only in the window it was counted in (an answer can arrive late).
  if limit and remaining and math.floor((now - age) / period) == w then
    used = math.max(used, limit - remaining)
  end
end
if throttled then
  local wait = retry or 1000
  if remaining == 0 and reset then
    wait = reset
  end
  held = math.max(held, now + wait)
  if limit then
    used = math.max(used, limit)
  end
end
local result = 0
if ARGV[7] == '1' then
  if held > now then
    result = held - now
  elseif limit and period then
    if used >= limit then
      -- Released a little after the boundary: sends answered late in the
      -- window just ended must not meet the first sends of the next.
      result = (window + 1) * period - now + 30
    else
      used = used + 1
    end
  elseif not seen then
    -- No process has had an answer yet: one send a second probes the limit,
    -- so that many processes starting at once do not spend a window blind.
    -- (An answer with no limit in it opens the group: nothing to count.)
    local probe = tonumber(redis.call('HGET', KEYS[1], 'probe')) or 0
    if probe > now then
      result = probe - now
    else
      redis.call('HSET', KEYS[1], 'probe', now + 1000)
    end
  end
end
redis.call('HSET', KEYS[1], 'used', used, 'held', held)
if seen then redis.call('HSET', KEYS[1], 'seen', 1) end
if limit then redis.call('HSET', KEYS[1], 'limit', limit) end
if period then redis.call('HSET', KEYS[1], 'period', period, 'window', window) end
redis.call('PEXPIRE', KEYS[1], math.max(4 * (period or 15000), 60000))
return result
"""


_NOTHING = Observation()


async def _bounded(call: Awaitable[Any], seconds: float) -> Any:
    """``await call``, at most ``seconds``: ``asyncio.timeout`` where there is one
    (3.11+: no task made, a tenth of a round trip saved), else ``wait_for``."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


def _args(observed: Observation) -> list[object]:
    """The script's arguments for an observation."""
    return [
        "" if observed.limit is None else observed.limit,
        "" if observed.period is None else round(observed.period * 1000),
        "" if observed.remaining is None else observed.remaining,
        "" if observed.reset is None else round(observed.reset * 1000),
        1 if observed.throttled else 0,
        "" if observed.retry_after is None else round(observed.retry_after * 1000),
    ]


class RedisBudget:
    """The shared rate budget, on the Redis at ``url`` (``redis://host:6379/0``).

    Made from a URL, it opens its own connection pool, closed by :meth:`close`;
    or pass ``client``, a ``redis.asyncio.Redis`` of your own."""

    def __init__(self, url: str | None = None, *, client: Any = None, timeout: float = 0.1) -> None:
        if (url is None) == (client is None):
            raise ValueError("pass url or client, not both")
        if not 0 < timeout <= 10:
            raise ValueError(f"timeout must be a number of seconds from above 0 to 10, got {timeout!r}")
        if client is None:
            try:  # imported by name: the type check passes without the extra installed
                aioredis = importlib.import_module("redis.asyncio")
            except ImportError:
                raise ImportError("RedisBudget needs the redis package: pip install 'aiocases[redis]'") from None
            client = aioredis.Redis.from_url(url, socket_timeout=timeout)
            self._owned = True
        else:
            self._owned = False
        self._client = client
        self.timeout = timeout
        self._script = client.register_script(_BUDGET)

    def __repr__(self) -> str:
        return f"RedisBudget(timeout={self.timeout})"  # the URL may hold a password

    @staticmethod
    def key(namespace: str, group: str) -> str:
        """The Redis key of one credential's group (``namespace``: ``Credentials.fingerprint()``)."""
        return f"aiocases:rl:{namespace}:{group}"

    async def reserve(self, namespace: str, group: str, observed: Observation | None = None) -> float:
        """Count one send of ``group`` if the shared budget allows it (0.0),
        else the seconds to wait before asking again; first apply
        ``observed``, what this process's last response of the group said."""
        waited = await self._run(namespace, group, observed or _NOTHING, take=True)
        return max(0, int(waited)) / 1000

    async def observe(self, namespace: str, group: str, observed: Observation) -> None:
        """Learn from one response at once (a 429: every process holds the group)."""
        await self._run(namespace, group, observed, take=False)

    async def _run(self, namespace: str, group: str, observed: Observation, *, take: bool) -> Any:
        answered = 0 if observed is _NOTHING else 1
        args = [*_args(observed), 1 if take else 0, round(observed.age * 1000), answered]
        call = self._script(keys=[self.key(namespace, group)], args=args)
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
