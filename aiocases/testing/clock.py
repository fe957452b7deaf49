"""``VirtualClock``: time for tests that must not wait for it.

``CasesClient(clock=vc.time, sleep=vc.sleep, transport=MockTransport(...))``
runs every hold of the rate limit and every retry wait in virtual time: a
``sleep`` suspends its task until the clock reaches its deadline, and the
clock jumps to the earliest deadline once everything else has had its turn
(``settle`` passes of the event loop with nothing to do).  Meant for code
that does no real I/O meanwhile (a :class:`~aiocases.testing.MockTransport`):
a task waiting on a socket would not stop the clock from jumping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["VirtualClock"]


class VirtualClock:
    """A clock starting at ``start`` seconds (any epoch) that sleeping advances."""

    def __init__(self, start: float = 1_000_000.0, *, settle: int = 20) -> None:
        self.now = start
        self._settle = settle
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._advancing: asyncio.Task[None] | None = None

    def time(self) -> float:
        """The virtual time, in seconds."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Suspend until the clock has moved ``seconds`` on."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        if self._advancing is None or self._advancing.done():
            self._advancing = asyncio.ensure_future(self._advance())
        await future

    async def _advance(self) -> None:
        while self._sleepers:
            for _ in range(self._settle):  # everything else runs first
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled sleeps
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                return
            deadline, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, deadline)
            future.set_result(None)
