"""One rate budget for many processes: the counts kept in Redis (``pip install 'aiocases[redis]'``).

Datadog counts its limits per organization, so every process using a key
spends one budget.  :class:`RedisBudget` keeps, for each credential and
rate-limit group, what the processes have sent in the current window, in
one Redis hash changed only by atomic Lua scripts:

* ``reserve`` counts one send if the window's budget allows it, else says
  how long to wait (until the window ends, or until a shared 429 hold ends);
* ``observe`` learns the limit and period from a response's headers, raises
  the count to what the server's ``Remaining`` shows (it counts every
  process's sends), and on a 429 holds the group for every process.

Windows are calendar aligned by Period, as Datadog's are, and time is Redis's
``TIME``: the hosts' clocks, which drift apart, are never used.  Keys hold a
hash of the credential (never the credential) and the group:
``aiocases:rl:<hash>:<group>``.  Each call is bounded (``timeout``, 100 ms by
default): a Redis that is slow or gone raises :class:`BudgetUnavailable`
quickly, and the caller goes on with its local budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
from typing import Any

from attrs import frozen

__all__ = ["BudgetUnavailable", "RedisBudget", "credential_hash"]

# KEYS[1]: the group's hash.  Returns 0 (counted: send now) or the wait in ms.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'limit', 'period', 'window', 'used', 'held')
local limit, period = tonumber(h[1]), tonumber(h[2])
local window, used, held = tonumber(h[3]), tonumber(h[4]) or 0, tonumber(h[5]) or 0
if held > now then
  return held - now
end
if limit == nil or period == nil then
  return 0
end
local w = math.floor(now / period)
if w ~= window then
  window, used = w, 0
end
if used >= limit then
  return (w + 1) * period - now
end
redis.call('HSET', KEYS[1], 'window', window, 'used', used + 1)
redis.call('PEXPIRE', KEYS[1], math.max(4 * period, 60000))
return 0
"""

# KEYS[1]: the group's hash.  ARGV: limit, period (ms), remaining, reset (ms),
# 1 for a 429 else 0, retry-after (ms); "" where the response said nothing.
_OBSERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'limit', 'period', 'window', 'used', 'held')
local limit, period = tonumber(ARGV[1]) or tonumber(h[1]), tonumber(ARGV[2]) or tonumber(h[2])
local remaining, reset, throttled, retry = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', tonumber(ARGV[6])
local window, used, held = tonumber(h[3]), tonumber(h[4]) or 0, tonumber(h[5]) or 0
if period then
  local w = math.floor(now / period)
  if w ~= window then
    window, used = w, 0
  end
  if limit and remaining then
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
redis.call('HSET', KEYS[1], 'used', used, 'held', held)
if limit then redis.call('HSET', KEYS[1], 'limit', limit) end
if period then redis.call('HSET', KEYS[1], 'period', period, 'window', window) end
redis.call('PEXPIRE', KEYS[1], math.max(4 * (period or 15000), 60000))
return 0
"""


class BudgetUnavailable(Exception):
    """Redis did not answer in time, or failed: the caller uses its local budget."""


def credential_hash(*parts: str) -> str:
    """What keys hold instead of the credential: the start of its SHA-256, never the credential."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


@frozen
class _Scripts:
    reserve: Any
    observe: Any


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
        self._scripts = _Scripts(self._client.register_script(_RESERVE), self._client.register_script(_OBSERVE))

    def __repr__(self) -> str:
        return f"RedisBudget(timeout={self.timeout})"  # the URL may hold a password

    @staticmethod
    def key(namespace: str, group: str) -> str:
        """The Redis key of one credential's group (``namespace`` from :func:`credential_hash`)."""
        return f"aiocases:rl:{namespace}:{group}"

    async def reserve(self, namespace: str, group: str) -> float:
        """Count one send of ``group`` if the shared budget allows it (0.0),
        else the seconds to wait before asking again."""
        waited = await self._run(self._scripts.reserve, self.key(namespace, group), ())
        return max(0, int(waited)) / 1000

    async def observe(
        self,
        namespace: str,
        group: str,
        *,
        limit: int | None,
        period: float | None,
        remaining: int | None,
        reset: float | None,
        throttled: bool,
        retry_after: float | None,
    ) -> None:
        """Learn from one response's ``X-RateLimit-*`` headers (and a 429's wait)."""
        args = (
            "" if limit is None else limit,
            "" if period is None else round(period * 1000),
            "" if remaining is None else remaining,
            "" if reset is None else round(reset * 1000),
            1 if throttled else 0,
            "" if retry_after is None else round(retry_after * 1000),
        )
        await self._run(self._scripts.observe, self.key(namespace, group), args)

    async def _run(self, script: Any, key: str, args: tuple[object, ...]) -> Any:
        try:
            return await asyncio.wait_for(script(keys=[key], args=list(args)), self.timeout)
        except (asyncio.TimeoutError, OSError) as exc:
            raise BudgetUnavailable(f"redis did not answer within {self.timeout * 1000:.0f} ms") from exc
        except Exception as exc:  # redis.exceptions.RedisError and its kin: unavailable, whatever the cause
            raise BudgetUnavailable(f"redis failed: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Close the connection pool this budget opened (not a client you passed)."""
        if self._owned:
            await self._client.aclose()
