"""How many requests a client keeps in flight: additive increase,
multiplicative decrease, for limits the rate-limit headers do not show."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["ConcurrencyLimit"]

Clock = Callable[[], float]


class ConcurrencyLimit:
    """How many requests may be in flight: additive increase, multiplicative decrease.

    Only 429s that the window's headers do not explain call here (a 429 with
    ``Remaining: 0`` is a wait, not a cut: see the gate).  Such a 429 cuts
    the limit once per episode (requests sent before the cut do not
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
