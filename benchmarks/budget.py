"""Spending the organization's rate budget exactly: ``python benchmarks/run.py --only budget``.

Every export runs in a fresh process (``runners.py``) against the fake in a
process of its own, which counts what it answered by its own clock's second.
The rows, each with its target (a miss makes run.py exit 1):

* back to back: six exports as separate processes on one key (40 requests a
  second, 50 ms latency, 200 requests each), one right after the other: each
  run within 1.5 s of the ideal (requests / limit), whatever window the one
  before left spent;
* another consumer: 30 of one window's 40 spent by another program in the
  middle of an export: every later full window at least 90% used, and the
  run within the ideal plus the stolen budget plus 2.5 s;
* server clocks: the fake's windows 0.3 s and 0.1 s behind this host's and
  0.5 s ahead, one process alone and four through Redis: under 1% 429s, at
  least 95% of the budget used;
* read-ahead: what ``iter_timeline`` with its defaults costs for cases of 0
  to 5,000 cells: one request under one page, never more than the requests
  needed plus half of them, nor plus 15.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from runners import API_KEY, APP_KEY, server_stats

HERE = Path(__file__).resolve().parent

Row = dict[str, float]


def _runner(url: str, ids: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    command = [sys.executable, str(HERE / "runners.py"), "aiocases", url, "--ids", str(ids)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=1800)
    if process.returncode != 0:
        raise SystemExit(f"a runner failed:\n{err}")
    result: dict[str, object] = json.loads(out)
    if result["failed"]:
        raise SystemExit(f"cases failed: {result['failed']}")
    return result


def _windows(stats: dict[str, dict[str, int]], limit: int, after: int = 0) -> list[float]:
    """The share of each window's budget used, over the windows the run fully spans (not its first and
    last), from the window after second ``after`` on."""
    per_second = stats["ok_by_second"]
    seconds = sorted(int(k) for k in per_second)
    first = max(seconds[0], after) + 1
    return [per_second.get(str(second), 0) / limit for second in range(first, seconds[-1])]


Serving = Callable[..., object]
WriteIds = Callable[[list[str], str], Path]


def back_to_back(serving: Serving, write_ids: WriteIds, keys: list[str]) -> Row:
    """Six exports, one right after the other, each a process of its own."""
    limit, requests = 40, 200
    ids = write_ids(keys[:requests], "back-to-back.txt")
    walls = []
    with serving("--rate-limit", str(limit), "--latency", "0.05") as url:  # type: ignore[attr-defined]
        for _ in range(6):
            walls.append(float(_result(_runner(url, ids))["wall"]))  # type: ignore[arg-type]
        throttled = server_stats(url)["by_status"].get("429", 0)
    ideal = requests / limit
    print("\n### Back to back: six exports of 200 requests, 40 requests/s, 50 ms latency\n")
    print(f"ideal {ideal:.1f} s each; walls: {', '.join(f'{w:.2f}' for w in walls)} s; 429s in all: {throttled}")
    return {"worst": max(walls) - ideal}


def another_consumer(
    serving: Callable[..., object], write_ids: Callable[[list[str], str], Path], keys: list[str]
) -> Row:
    """An export during which another program spends 30 of one window's 40."""
    limit, requests, stolen = 40, 400, 30
    ids = write_ids(keys[:requests], "consumer.txt")
    with serving("--rate-limit", str(limit), "--latency", "0.05") as url:  # type: ignore[attr-defined]
        process = _runner(url, ids)
        time.sleep(4.3)  # mid-export: some windows after it
        stolen_in = int(time.time())  # the fake's windows are this host's calendar seconds
        _steal(url, stolen)
        wall = float(_result(process)["wall"])  # type: ignore[arg-type]
        stats = server_stats(url)
    windows = _windows(stats, limit)
    later = _windows(stats, limit, after=stolen_in)
    ideal = requests / limit
    print("\n### Another consumer: 30 of one window's 40 spent by another program mid-export (400 requests)\n")
    print(f"wall {wall:.2f} s (ideal {ideal:.1f} s + {stolen / limit:.2f} s stolen); windows used:")
    print(", ".join(f"{share:.0%}" for share in windows) + f"; 429s: {stats['by_status'].get('429', 0)}")
    return {"late": wall - ideal - stolen / limit, "lowest": min(later) if later else 1.0}


def _steal(url: str, count: int) -> None:
    """``count`` requests at once from another program on the same limit."""

    def one() -> None:
        request = urllib.request.Request(
            f"{url}/api/v2/cases", headers={"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY}
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=10).close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def server_clocks(serving: Serving, write_ids: WriteIds, keys: list[str], redis: str) -> list[Row]:
    """The fake's windows off this host's calendar: one process alone, four through Redis."""
    limit = 30
    rows = []
    print("\n### Server clocks off this host's: the fake's windows skewed, 30 requests/s, 480 requests a run\n")
    print("| server clock | processes | 429 share | budget used, mean | lowest window | wall s |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for db, skew in enumerate((-0.3, -0.1, 0.5)):
        with serving("--rate-limit", str(limit), "--clock-skew", str(skew)) as url:  # type: ignore[attr-defined]
            for processes in (1, 4):
                shares = [
                    write_ids(keys[n:480:processes], f"skew-{skew}-{processes}-{n}.txt") for n in range(processes)
                ]
                env = {k: v for k, v in os.environ.items() if k != "AIOCASES_REDIS_URL"}
                if processes > 1:  # a database of its own: each fake is another server, whose phase is learned anew
                    env["AIOCASES_REDIS_URL"] = f"{redis.rsplit('/', 1)[0]}/{db}"
                server_stats(url, reset=True)
                started = time.perf_counter()
                for result in [_runner(url, share, env) for share in shares]:
                    _result(result)
                wall = time.perf_counter() - started
                stats = server_stats(url)
                ok, throttled = stats["by_status"].get("200", 0), stats["by_status"].get("429", 0)
                windows = _windows(stats, limit)
                used = sum(windows) / len(windows) if windows else 1.0
                share = throttled / max(1, ok + throttled)
                how = "1 alone" if processes == 1 else f"{processes} through Redis"
                print(f"| {skew:+.1f} s | {how} | {share:.1%} | {used:.1%} | {min(windows):.0%} | {wall:.1f} |")
                rows.append({"skew": skew, "processes": processes, "throttled": share, "used": used})
    return rows


def read_ahead_costs() -> Row:
    """Requests ``iter_timeline`` sends with its defaults, by case size (page size 100)."""
    sys.path.insert(0, str(HERE.parent))
    from aiocases import CasesClient
    from aiocases.testing import FakeCasesAPI

    sizes = [0, 1, 5, 50, 99, 100, 101, 150, 199, 250, 500, 1_000, 2_000, 5_000]

    async def measure() -> list[tuple[int, int, int]]:
        counts = []
        async with FakeCasesAPI() as api:
            for size in sizes:
                case = api.add_case(size)
                async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
                    before = len(api.requests)
                    walked = [cell async for cell in client.iter_timeline(case.key)]
                    assert len(walked) == size
                counts.append((size, size // 100 + 1, len(api.requests) - before))
        return counts

    counts = asyncio.run(measure())
    print("\n### Read-ahead: requests of `iter_timeline` with its defaults, by case size (page size 100)\n")
    print("| cells | requests needed | requests sent |")
    print("| ---: | ---: | ---: |")
    worst = 0.0
    for size, need, sent in counts:
        print(f"| {size:,} | {need} | {sent} |")
        over = sent > min(need + max(1, need // 2), need + 15) or (need == 1 and sent != 1)
        worst = max(worst, float(over))
    return {"over": worst}
