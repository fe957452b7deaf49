"""The window model (aiocases/windows.py) as one table of scenarios, run
against every implementation on a driven clock: LocalBudget (shared by
clients, and the count every gate keeps of its own) and RedisBudget, whose
Lua script runs on a real redis-server (its clock replaced by the test's).
Two "processes" are two RedisBudgets on one Redis, or one LocalBudget used
twice."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
import pytest
import pytest_asyncio
from attrs import frozen
from redis_helpers import RedisServer, require_redis_package

from aiocases.budget import Budget, LocalBudget
from aiocases.observations import Observation
from aiocases.windows import BOUNDARY_MARGIN, DECLINED, PROBE, PROBE_INTERVAL

M = BOUNDARY_MARGIN


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@frozen
class At:
    """Set the clock (seconds)."""

    time: float


@frozen
class Tell:
    """Process ``by`` tells the budget an answer of ``group`` at once (``observe``)."""

    observed: Observation | Said
    group: str = "timelines"
    by: int = 0
    name: str | None = None


@frozen
class Ask:
    """Process ``by`` reserves a send of ``group`` (with ``observed``, its latest
    answer); the budget must say ``wait`` (0: send now), to the millisecond."""

    wait: float
    group: str = "timelines"
    by: int = 0
    observed: Observation | Said | None = None
    name: str | None = None
    namespace: str = "ns"
    speculative: bool = False


@frozen
class Said:
    """An answer whose request took ``rtt`` seconds: sent then, on the budget's clock."""

    observed: Observation
    rtt: float

    def at(self, now: float) -> Observation:
        return attrs.evolve(self.observed, sent=now - self.observed.age - self.rtt)


def said(limit: int, remaining: int, period: float = 1.0, rtt: float = 0.01, **kwargs: Any) -> Said:
    """An answer of a limit of ``limit`` a ``period`` with ``remaining`` left."""
    reset = kwargs.pop("reset", period)
    return Said(Observation(limit=limit, period=period, remaining=remaining, reset=reset, **kwargs), rtt)


def placed(observed: Observation | Said | None, now: float) -> Observation | None:
    return observed.at(now) if isinstance(observed, Said) else observed


TABLE: dict[str, list[At | Tell | Ask]] = {
    "rule 6: a probe a second until an answer": [
        At(50.0), Ask(0), Ask(PROBE_INTERVAL, by=1), At(51.0), Ask(0, by=1), Ask(0, namespace="another credential"),
    ],
    "rule 6: an answer with no limit opens the group": [
        At(50.0), Ask(0), Tell(Observation()), *[Ask(0, by=n % 2) for n in range(5)],
    ],
    "rule 6: what was sent before the limit was known counts in the window it is learned in": [
        At(999.2), Ask(0), At(1000.2), Ask(0, by=1), Tell(said(20, 19)), *[Ask(0) for _ in range(18)], Ask(0.8 + M),
    ],
    "rule 3: sends counted across processes": [
        At(1000.2), Tell(said(5, 4)), Ask(0), Ask(0, by=1), Ask(0), Ask(0, by=1), Ask(0.8 + M),
    ],
    "rule 3: Remaining counts the other programs' sends": [
        At(1000.5), Tell(said(30, 0)), Ask(0.5 + M, by=1),
    ],
    "rule 3: a late answer counts only in its own window": [
        At(1000.2), Ask(0, observed=said(5, 0, age=1.5)), Ask(0, group="watchers", observed=said(5, 4)),
    ],
    "rule 4: a 429 holds every process, and only its group": [
        At(100.0), Tell(Observation(throttled=True, retry_after=0.3), group="watchers"),
        Ask(0.3, group="watchers", by=1), Ask(0, group="timelines", by=1),
    ],
    "rule 4: a 429 without a wait holds for the default": [
        At(100.0), Tell(Observation(throttled=True)), Ask(1.0, by=1),
    ],
    "rule 4: a spent 429 holds to the window's end, not Reset's whole second": [
        At(1000.4), Tell(said(30, 0, throttled=True)), Ask(0.6 + M, by=1),
    ],
    "rule 4: a clock stepped back an hour just after a 429 holds no longer than the 429 said": [
        At(10_000.0), Tell(Observation(throttled=True, retry_after=2.0)), At(6400.0), Ask(2.0, by=1),
        At(6402.0), Ask(0, by=1),
    ],
    "rule 6: a clock stepped back an hour waits a probe's interval at most": [
        At(10_000.0), Ask(0), At(6400.0), Ask(PROBE_INTERVAL, by=1), At(6401.0), Ask(0, by=1),
    ],
    "rule 5: a send in a window's last moments waits for the next": [
        At(1000.985), Tell(said(30, 29, rtt=0)), Ask(0.015 + M), At(1000.965), Ask(0),
    ],
    "rule 5: a speculative send goes at once and leaves over a quarter of the budget, or not at all": [
        At(1000.1), Ask(DECLINED, speculative=True), Tell(said(8, 6)), Ask(0, speculative=True),
        Ask(0, speculative=True, by=1), Ask(0, speculative=True), Ask(0, speculative=True, by=1),
        Ask(DECLINED, speculative=True), Ask(0), Ask(0), Ask(0.9 + M),
    ],
    "rule 5: a speculative send goes in a group whose answers carry no limit": [
        At(50.0), Tell(Observation()), Ask(0, speculative=True), Ask(0, speculative=True, by=1),
    ],
    "rule 5: a speculative send that would wait is declined": [
        At(1000.1), Tell(said(8, 7)), Tell(Observation(throttled=True, retry_after=0.3)),
        Ask(DECLINED, speculative=True), Ask(0.3), At(1000.98), Ask(DECLINED, speculative=True), Ask(0.02 + M),
    ],
    "rule 5: that margin is a quarter of the period at most": [
        At(1000.005), Tell(said(30, 29, period=0.04, reset=1, rtt=0)), Ask(0),
    ],
    "rule 1: a process yet to see an answer counts under the limit's name": [
        At(1000.0), Tell(said(4, 3, rtt=0), name="cases"), Ask(0, by=1), Ask(0, by=1), Ask(0, by=1), Ask(1 + M, by=1),
        Ask(1 + M, group="watchers", name="cases"),
    ],
    "rule 1: what a group counted before it learned the name moves to the name": [
        At(1000.0), Ask(0), Tell(said(4, 3, rtt=0)), Ask(0), Ask(0), Tell(said(4, 3, rtt=0), name="cases"),
        Ask(0, group="watchers", name="cases"), Ask(1 + M),
    ],
    "rule 7: Reset places a long window's end, to the second": [
        At(1000.3), Tell(said(3, 2, period=10.0, reset=5, rtt=0)), Ask(0), Ask(0, by=1), Ask(5 + M),
    ],
    "rule 7: a turnover places windows' ends; other programs' sends never pass for one": [
        At(1000.1), Tell(said(2, 1, rtt=0.02)), At(1000.32), Tell(said(2, 0, rtt=0.02)),
        At(1000.38), Tell(said(2, 1, rtt=0.02)),  # sent at 1000.36, after the last came: a turn within 80 ms
        At(1000.39), Ask(0), Ask(1.02), At(1000.5), Tell(said(2, 0, rtt=0.01)),  # someone spent it: no turn
        Ask(0.88 + M), At(1001.41), Ask(0), Ask(0), Ask(0.97 + M),
    ],
    "rule 8: an untrusted turn: the last window's count goes on, one turn probe, the next a step later": [
        At(1000.5), Tell(said(2, 1)), Ask(0), At(1000.52), Tell(said(2, 0)), Ask(0.48 + M),
        At(1001.03), Ask(PROBE), Ask(0.125, by=1),  # the others wait for its answer
        At(1001.05), Tell(said(2, 0, throttled=True, rtt=0.02)),  # the old window, still: a step later
        Ask(0.125), At(1001.175), Ask(PROBE, by=1),
        At(1001.2), Tell(said(2, 1, rtt=0.025), by=1),  # the turn: learned within 170 ms
        Ask(0), Ask(1.0 + M),
    ],
    "rule 7: a window another consumer spent after its turn was seen is a wait, not a moved clock": [
        At(1000.1), Tell(said(4, 3, rtt=0.02)), At(1000.32), Tell(said(4, 0, rtt=0.02)),
        At(1000.38), Tell(said(4, 3, rtt=0.02)), At(1000.5), Tell(said(4, 0, rtt=0.02)),  # a turn, then spent
        At(1001.45), Tell(said(4, 2, rtt=0.02)),  # the turn into the next window, seen
        At(1001.47), Tell(said(4, 0, throttled=True, rtt=0.01)), Ask(0.91 + M), At(1002.42), Ask(0),
    ],
    "rule 7: a 429 early in a window the phase said had begun: turns are not trusted again until seen": [
        At(1000.1), Tell(said(2, 1, rtt=0.02)), At(1000.32), Tell(said(2, 0, rtt=0.02)),
        At(1000.38), Tell(said(2, 1, rtt=0.02)), At(1001.4), Ask(0),
        At(1001.42), Tell(said(2, 0, throttled=True, rtt=0.02)), Ask(PROBE),
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    require_redis_package()
    server = RedisServer()
    yield server
    server.stop()


@pytest_asyncio.fixture(params=["local", "redis"])
async def budgets(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Clock, Budget, Budget]]:
    """Two processes' budgets of one organization, on one driven clock."""
    clock = Clock()
    if request.param == "local":
        shared = LocalBudget(clock=clock)
        yield clock, shared, shared
        return
    from aiocases.redisbudget import RedisBudget

    url = request.getfixturevalue("redis_server").url
    first, second = RedisBudget(url, clock=clock), RedisBudget(url, clock=clock)
    yield clock, first, second
    await first.close()
    await second.close()


_fresh = itertools.count()


@pytest.mark.parametrize("name", list(TABLE))
async def test_the_rules(name: str, budgets: tuple[Clock, Budget, Budget]) -> None:
    clock, *processes = budgets
    run = f"{name}-{next(_fresh)}"  # a fresh budget in Redis for each run
    for number, step in enumerate(TABLE[name]):
        if isinstance(step, At):
            clock.now = step.time
        elif isinstance(step, Tell):
            told = placed(step.observed, clock.now)
            assert told is not None
            await processes[step.by].observe(run, step.group, told, name=step.name)
        else:
            namespace = run if step.namespace == "ns" else run + step.namespace
            observed = placed(step.observed, clock.now)
            reservation = await processes[step.by].reserve(
                namespace, step.group, observed, name=step.name, speculative=step.speculative
            )
            assert reservation.wait == pytest.approx(step.wait, abs=0.0011), f"step {number}: {step}"
            assert reservation.at == pytest.approx(clock.now, abs=0.0011)
