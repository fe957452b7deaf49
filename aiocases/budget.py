"""The rate budget a client spends: the :class:`Budget` interface and its
in-process implementation, :class:`LocalBudget`.

Datadog counts its limits per organization.  A budget counts the sends of
each rate-limit group for every client of one credential (``namespace``:
``Credentials.fingerprint()``), by the rules of :mod:`aiocases.windows`.
Every gate counts in one: its own :class:`LocalBudget` alone, or one shared
with other clients: a :class:`LocalBudget` given to several clients of one
process, or a :class:`~aiocases.redisbudget.RedisBudget` for processes on
many hosts.  A shared budget that fails raises :class:`BudgetUnavailable`,
and the gate counts in its own meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from attrs import frozen

from aiocases.observations import Observation
from aiocases.windows import NOTHING, Windows

__all__ = ["Budget", "BudgetUnavailable", "LocalBudget", "Observation", "Reservation"]


class BudgetUnavailable(Exception):
    """A budget did not answer in time, or failed: the gate counts in its own."""


@frozen
class Reservation:
    """A budget's answer to a reservation: ``wait``, 0.0 (send now),
    :data:`~aiocases.windows.PROBE` (send, as a window's turn probe),
    :data:`~aiocases.windows.DECLINED` (a speculative send, not counted) or
    the seconds to wait before asking again; ``at``, when, on the budget's clock
    (an answer's :attr:`Observation.sent <aiocases.observations.Observation.sent>`)."""

    wait: float
    at: float


class Budget(Protocol):
    """Counts of sends shared by every client of one credential (``namespace``),
    by the rules of :mod:`aiocases.windows`."""

    async def reserve(
        self,
        namespace: str,
        group: str,
        observed: Observation | None = None,
        *,
        name: str | None = None,
        speculative: bool = False,
    ) -> Reservation:
        """Apply ``observed`` (this client's latest answer of the group), then
        count a send of ``group`` (a :class:`Reservation`: a turn probe's
        answer must be told at once).  ``name``: the limit's
        ``X-RateLimit-Name``, once known; a ``speculative`` send may be
        declined (rule 5)."""

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """Apply one answer at once (a 429, or the first answer of a group)."""

    async def close(self) -> None:
        """Release what the budget holds open."""


class LocalBudget:
    """The budget in this process's memory.  Give one to several clients of a
    credential (``CasesClient(budget=LocalBudget())``) and they spend one
    budget; ``clock`` is the clock windows follow.  Clients of one event loop
    may share it; it takes no lock for threads.  Every gate also counts in a
    LocalBudget of its own."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._namespaces: dict[str, Windows] = {}

    def __repr__(self) -> str:
        return f"LocalBudget(limits={sum(len(n.windows) for n in self._namespaces.values())})"

    async def reserve(
        self,
        namespace: str,
        group: str,
        observed: Observation | None = None,
        *,
        name: str | None = None,
        speculative: bool = False,
    ) -> Reservation:
        """See :meth:`Budget.reserve`."""
        wait = self.run(namespace, group, name, observed or NOTHING, take=True, speculative=speculative)
        return Reservation(wait, self._clock())

    async def observe(self, namespace: str, group: str, observed: Observation, *, name: str | None = None) -> None:
        """See :meth:`Budget.observe`."""
        self.run(namespace, group, name, observed, take=False)

    async def close(self) -> None:
        """Nothing to release."""

    def run(
        self,
        namespace: str,
        group: str,
        name: str | None,
        observed: Observation,
        *,
        take: bool,
        speculative: bool = False,
    ) -> float:
        """:meth:`reserve` (``take``) or :meth:`observe`, without awaiting."""
        windows = self._namespaces.get(namespace)
        if windows is None:
            windows = self._namespaces[namespace] = Windows()
        now = self._clock()
        return windows.run(group, name, observed, now, take=take, speculative=speculative)

    def unanswered(self, namespace: str, group: str, name: str | None) -> None:
        """A send of ``group`` got no answer (rule 6: a probe lets the next go at once)."""
        windows = self._namespaces.get(namespace)
        if windows is not None:
            windows.of(group, name).unanswered()
