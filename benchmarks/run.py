"""Benchmarks: export throughput and CPU per cell (raw aiohttp floor, aiocases,
Datadog's official async client), a rate-limited run, memory at scale, and the
command line's memory (10k to 1M cases; one case of 200k comments).

    python benchmarks/run.py            # everything, a few minutes
    python benchmarks/run.py --quick    # smaller, for a smoke check

The fake API runs in its own process, so each runner's CPU time is its own;
each runner's export runs in a fresh process too, so its peak RSS is its own.
Runners alternate (their order rotating) over several rounds after a warm-up, and
medians are reported.  Every run is checked against the ground truth (every
cell of every case, in order).  Targets are checked at the end; the exit
status is 1 if any is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from runners import API_KEY, APP_KEY, server_stats  # noqa: E402

from aiocases.testing import FakeCasesAPI  # noqa: E402


@contextmanager
def serving(command: list[str]) -> Iterator[str]:
    """A server in its own process that prints its base URL and serves until stdin closes."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdin is not None
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()


def fake_server(cases: int, cells: int, seed: int, *extra: str) -> contextlib.AbstractContextManager[str]:
    """The fake API in its own process; yields its base URL."""
    command = [sys.executable, "-m", "aiocases.testing", "--cases", str(cases), "--cells", str(cells)]
    command += ["--seed", str(seed), "--api-key", API_KEY, "--app-key", APP_KEY, *extra]
    return serving(command)


def truth(cases: int, cells: int, seed: int) -> tuple[list[str], int, int]:
    """Case keys, total cells and the digest every runner must reproduce."""
    api = FakeCasesAPI(cases, cells, seed=seed)
    keys, digest = [], 0
    for case in api.cases.values():
        keys.append(case.key)
        ids = [cell["id"] for cell in case.cells]
        digest ^= int.from_bytes(hashlib.blake2b("|".join([case.key, *ids]).encode(), digest_size=8).digest(), "big")
    return keys, cases * cells, digest


def run_runner(runner: str, url: str, ids: Path, page_size: int, concurrency: int) -> dict[str, object]:
    command = [sys.executable, str(HERE / "runners.py"), runner, url, "--ids", str(ids)]
    command += ["--page-size", str(page_size), "--concurrency", str(concurrency)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{runner} failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def check(result: dict[str, object], cells: int, digest: int) -> None:
    if result["failed"] or result["cells"] != cells or result["digest"] != digest:
        raise SystemExit(f"{result['runner']} did not export every cell exactly: {result}")


def write_ids(keys: list[str], directory: Path, name: str) -> Path:
    path = directory / name
    path.write_text("\n".join(keys) + "\n")
    return path


def throughput(args: argparse.Namespace, work: Path) -> dict[str, dict[str, float]]:
    cases, cells = (40, 250) if args.quick else (200, 250)
    keys, total, digest = truth(cases, cells, seed=1)
    ids = write_ids(keys, work, "throughput.txt")
    runners = ["raw", "raw-orjson", "aiocases", "official"]
    samples: dict[str, list[dict[str, object]]] = {r: [] for r in runners}
    with fake_server(cases, cells, 1) as url:
        for runner in runners:  # warm-up: caches, the server's first requests
            check(run_runner(runner, url, ids, args.page_size, args.concurrency), total, digest)
        for round_ in range(args.rounds):
            order = runners[round_ % len(runners) :] + runners[: round_ % len(runners)]
            for runner in order:
                result = run_runner(runner, url, ids, args.page_size, args.concurrency)
                check(result, total, digest)
                samples[runner].append(result)
    print(f"\n## Throughput: {cases} cases x {cells} cells, page size {args.page_size}, concurrency {args.concurrency}")
    print(f"medians of {args.rounds} alternating rounds after a warm-up\n")
    print("| runner | CPU µs/cell | wall cells/s | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: |")
    summary: dict[str, dict[str, float]] = {}
    for runner in runners:
        cpu = statistics.median(float(s["cpu"]) for s in samples[runner]) / total * 1e6  # type: ignore[arg-type]
        rate = statistics.median(total / float(s["wall"]) for s in samples[runner])  # type: ignore[arg-type]
        rss = max(float(s["peak_rss_mib"]) for s in samples[runner])  # type: ignore[arg-type]
        summary[runner] = {"cpu": cpu, "rate": rate, "rss": rss}
        print(f"| {runner} | {cpu:.2f} | {rate:,.0f} | {rss:.0f} |")
    ratios = [s["cpu"] / r["cpu"] for s, r in zip(samples["aiocases"], samples["raw"], strict=True)]  # type: ignore[operator]
    official = [o["cpu"] / s["cpu"] for s, o in zip(samples["aiocases"], samples["official"], strict=True)]  # type: ignore[operator]
    to_orjson = [s["cpu"] / r["cpu"] for s, r in zip(samples["aiocases"], samples["raw-orjson"], strict=True)]  # type: ignore[operator]
    summary["ratio"] = {  # type: ignore[assignment]
        "raw": statistics.median(ratios),
        "raw-orjson": statistics.median(to_orjson),
        "official": statistics.median(official),
    }
    print(
        f"\naiocases/raw CPU per cell: {summary['ratio']['raw']:.2f}x (median of the rounds:"
        f" {', '.join(f'{r:.2f}' for r in ratios)}); aiocases/raw-orjson: {summary['ratio']['raw-orjson']:.2f}x"
        f" (rounds: {', '.join(f'{r:.2f}' for r in to_orjson)}); official/aiocases: {summary['ratio']['official']:.1f}x"
    )
    return summary


def rate_limited(args: argparse.Namespace, work: Path) -> dict[str, dict[str, float]]:
    cases, cells, limit = (20, 250, 30) if args.quick else (150, 250, 30)
    keys, total, digest = truth(cases, cells, seed=2)
    ids = write_ids(keys, work, "limited.txt")
    summary: dict[str, dict[str, float]] = {}
    print(f"\n## Rate limited: {cases} cases x {cells} cells, fake limit {limit} requests/s (calendar windows)\n")
    # A run touching N calendar windows may send N x limit requests, and can
    # end just after N - 1 seconds: the share is of what those windows allowed.
    print("| runner | requests | 429s | 429 share | time s | windows | used of the windows' budget |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with fake_server(cases, cells, 2, "--rate-limit", str(limit), "--period", "1") as url:
        for runner in ("aiocases", "official"):
            server_stats(url, reset=True)
            result = run_runner(runner, url, ids, args.page_size, args.concurrency)
            check(result, total, digest)
            stats = server_stats(url)
            by_status: dict[str, int] = stats["by_status"]  # type: ignore[assignment]
            ok, throttled = by_status.get("200", 0), by_status.get("429", 0)
            windows = int(float(result["ended"])) - int(float(result["started"])) + 1  # type: ignore[arg-type]
            share = ok / (windows * limit)
            summary[runner] = {"share": share, "throttled": throttled / max(1, ok + throttled)}
            print(
                f"| {runner} | {ok + throttled} | {throttled} | {throttled / max(1, ok + throttled):.1%}"
                f" | {float(result['wall']):.1f} | {windows} | {share:.1%} |"  # type: ignore[arg-type]
            )
    return summary


def scale(args: argparse.Namespace, work: Path) -> dict[str, float]:
    large = 2_000 if args.quick else 10_000
    small = large // 10
    keys, _, _ = truth(large, 3, seed=3)
    print(f"\n## Scale: {small:,} and {large:,} cases of 3 cells, ids streamed from a file\n")
    print("| cases | peak RSS MiB | cells/s |")
    print("| ---: | ---: | ---: |")
    rss: dict[int, float] = {}
    with fake_server(large, 3, 3) as url:
        for count in (small, large):
            ids = write_ids(keys[:count], work, f"scale-{count}.txt")
            _, total, digest = truth(count, 3, seed=3) if count == small else (None, large * 3, truth(large, 3, 3)[2])
            result = run_runner("aiocases", url, ids, args.page_size, args.concurrency)
            check(result, total, digest)
            rss[count] = float(result["peak_rss_mib"])  # type: ignore[arg-type]
            print(f"| {count:,} | {rss[count]:.1f} | {total / float(result['wall']):,.0f} |")  # type: ignore[arg-type]
    growth = rss[large] / rss[small] - 1
    print(f"\npeak RSS growth from {small:,} to {large:,} cases: {growth:+.1%}")
    return {"growth": growth}


def anycase_server() -> contextlib.AbstractContextManager[str]:
    """``anycase.py`` in its own process: every case id exists with one comment."""
    return serving([sys.executable, str(HERE / "anycase.py")])


def run_cli(work: Path, *args: str) -> tuple[dict[str, float], Path]:
    """``aiocases export ... --output FILE`` in a fresh process, through climem.py; its figures and the output."""
    output = work / "cli-export.jsonl"
    for stale in (output, output.with_name(output.name + ".progress")):
        stale.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "climem.py"), "export", *args, "--output", str(output)]
    env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env)
    if done.returncode != 0 or json.loads(done.stdout)["status"] != 0:
        raise SystemExit(f"aiocases export failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout), output


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def cli_memory(args: argparse.Namespace, work: Path) -> dict[str, float]:
    """The command line's peak RSS: many one-comment cases, and one case of many comments."""
    counts = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    print("\n## Command line memory: `aiocases export --input FILE --output FILE`, peak RSS of the process\n")
    print("| export | peak RSS MiB | CPU s | wall s | cases/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rss: dict[int, float] = {}
    with anycase_server() as url:
        for count in counts:
            ids = write_ids([f"CASE-{n}" for n in range(count)], work, f"cli-{count}.txt")
            result, output = run_cli(work, "--input", str(ids), "--base-url", url)
            if count_lines(output) != count:
                raise SystemExit(f"the export of {count:,} cases did not write {count:,} lines")
            rss[count] = result["peak_rss_mib"]
            print(
                f"| {count:,} cases of 1 comment | {rss[count]:.1f} | {result['cpu']:.1f} | {result['wall']:.1f}"
                f" | {count / result['wall']:,.0f} |"
            )
    cells = 20_000 if args.quick else 200_000
    with fake_server(1, cells, 4) as url:
        (key,), _, _ = truth(1, 1, seed=4)
        result, output = run_cli(work, key, "--base-url", url, "--page-size", "100")
        if count_lines(output) != cells:
            raise SystemExit(f"the export of one case of {cells:,} comments did not write them all")
        print(
            f"| 1 case of {cells:,} comments, page size 100 | {result['peak_rss_mib']:.1f} | {result['cpu']:.1f}"
            f" | {result['wall']:.1f} | |"
        )
    growth = rss[counts[-1]] / rss[counts[0]] - 1
    print(f"\npeak RSS growth from {counts[0]:,} to {counts[-1]:,} cases: {growth:+.1%}")
    return {"growth": growth, "big_case": result["peak_rss_mib"], "largest": counts[-1]}


def run_command(*args: str, cwd: Path | None = None) -> dict[str, float]:
    """Any ``aiocases`` command in a fresh process, through climem.py: its exit status, CPU and wall seconds."""
    env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    command = [sys.executable, str(HERE / "climem.py"), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    figures = done.stdout.splitlines()[-1] if done.stdout else "{}"  # after what the command printed
    if done.returncode != 0 or json.loads(figures).get("status") != 0:
        raise SystemExit(f"aiocases {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr}")
    return json.loads(figures)  # type: ignore[no-any-return]


def add_comment(url: str, case_id: str) -> None:
    """Post a comment to the fake, as a user of the API would."""
    body = json.dumps({"data": {"attributes": {"comment": "one more"}, "type": "case"}}).encode()
    headers = {"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY, "Content-Type": "application/json"}
    request = urllib.request.Request(f"{url}/api/v2/cases/{case_id}/comment", body, headers, method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def sync(args: argparse.Namespace, work: Path) -> dict[str, float]:
    """An incremental sync of many cases, few of them changed, beside a full export."""
    cases, cells, changed = (200, 20, 2) if args.quick else (1_000, 20, 10)
    keys, _, _ = truth(cases, cells, seed=6)
    ids = write_ids(keys, work, "sync-ids.txt")
    state, output = work / "sync-state", work / "sync-full.jsonl"
    print(f"\n## Sync: {cases:,} cases of {cells} comments, then one new comment on {changed} of them\n")
    print("| run | requests | lines written | CPU s | wall s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows: dict[str, dict[str, float]] = {}
    with fake_server(cases, cells, 6) as url:
        for name, command in (
            ("full export", ("export", "--input", str(ids), "--output", str(output), "--base-url", url)),
            ("first sync", ("sync", "--state", str(state), "--input", str(ids), "--base-url", url)),
            ("sync, nothing new", ("sync", "--state", str(state), "--input", str(ids), "--base-url", url)),
            ("sync, after the new comments", ("sync", "--state", str(state), "--input", str(ids), "--base-url", url)),
        ):
            if name.startswith("sync, after"):
                for key in keys[:: cases // changed][:changed]:
                    add_comment(url, key)
            before = server_stats(url)["requests"]
            result = run_command(*command)
            result["requests"] = server_stats(url)["requests"] - before  # type: ignore[operator]
            newest = max(state.glob("*.jsonl"), default=None) if name != "full export" else output
            result["lines"] = count_lines(newest) if newest is not None and name != "sync, nothing new" else 0
            rows[name] = result
            figures = f"{result['requests']:,.0f} | {result['lines']:,.0f} | {result['cpu']:.2f} | {result['wall']:.2f}"
            print(f"| {name} | {figures} |")
    incremental = rows["sync, after the new comments"]
    spent = f"{incremental['requests']:,.0f} requests"
    print(f"\none new comment on {changed} of {cases:,} cases: {spent} (target <= {cases + changed:,})")
    return {
        "requests": incremental["requests"],
        "lines": incremental["lines"],
        "limit": cases + changed,
        "changed": changed,
    }


def warehouse(args: argparse.Namespace, work: Path) -> dict[str, float]:
    """``aiocases load`` into DuckDB, then again with nothing new, beside ``aiocases export`` of the same cases."""
    cases, cells = (200, 20) if args.quick else (1_000, 20)
    print(f"\n## Load into DuckDB: {cases:,} cases of {cells} comments, then again with nothing new\n")
    print("| run | requests | requests per case | CPU s | wall s | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    output, pipelines = work / "load-export.jsonl", work / "load-pipelines"
    rows: dict[str, dict[str, float]] = {}
    with fake_server(cases, cells, 7) as url:
        for name, command in (
            ("search alone (aiocases cases)", ("cases", "--json", "--base-url", url)),
            ("export", ("export", "--all-cases", "--output", str(output), "--base-url", url)),
            ("first load", ("load", "--all-cases", "--pipelines-dir", str(pipelines), "--base-url", url)),
            ("load, nothing new", ("load", "--all-cases", "--pipelines-dir", str(pipelines), "--base-url", url)),
        ):
            before = server_stats(url)["requests"]
            result = run_command(*command, cwd=work)
            result["requests"] = server_stats(url)["requests"] - before  # type: ignore[operator]
            rows[name] = result
            print(
                f"| {name} | {result['requests']:,.0f} | {result['requests'] / cases:.2f} | {result['cpu']:.2f}"
                f" | {result['wall']:.2f} | {result['peak_rss_mib']:.0f} |"
            )
    if count_lines(output) != cases * cells:
        raise SystemExit(f"the export wrote {count_lines(output):,} lines, not {cases * cells:,}")
    search = rows["search alone (aiocases cases)"]["requests"]
    rerun = rows["load, nothing new"]["requests"]
    print(
        f"\nload with nothing new: {rerun:,.0f} requests = {search:,.0f} search pages + {rerun - search:,.0f} for"
        f" {cases:,} timelines (target: at most one per case); the first load {rows['first load']['requests']:,.0f},"
        f" the export {rows['export']['requests']:,.0f}"
    )
    return {"timeline_requests": rerun - search, "cases": cases, "first": rows["first load"]["requests"],
            "export": rows["export"]["requests"]}  # fmt: skip


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of its own on a free port, no persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("the shared-budget section needs redis-server on PATH (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)


def export_in_processes(url: str, shares: list[Path], env: dict[str, str]) -> list[dict[str, object]]:
    """One ``runners.py aiocases`` process per file of ids, all at once (default settings)."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(HERE / "runners.py"), "aiocases", url, "--ids", str(ids)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for ids in shares
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise SystemExit(f"a runner failed:\n{err}")
        results.append(json.loads(out))
    return results


def reserve_round_trip(url: str, batches: int = 7, count: int = 500) -> dict[str, list[float]]:
    """Seconds of wall time one reservation costs against the Redis at ``url``
    (loopback), as a gate asks once an answer named the limit (the usual
    case), in each of ``batches`` batches; and a PING with the same client in
    batches alternating with them, for the machine's state at the time."""
    import asyncio

    from aiocases.budget import Observation
    from aiocases.redisbudget import RedisBudget

    async def measure() -> dict[str, list[float]]:
        budget = RedisBudget(url)
        seen = Observation(limit=10**9, period=3600.0, remaining=10**9, reset=1800)
        calls = {
            "reserve": lambda: budget.reserve("bench", "timelines", seen, name="cases"),
            "ping": lambda: budget._client.ping(),
        }
        for _ in range(1000):  # connections made, script loaded, the loop warm
            await calls["reserve"]()
        costs: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(batches):
            for name, call in calls.items():
                started = time.perf_counter()
                for _ in range(count):
                    await call()
                costs[name].append((time.perf_counter() - started) / count)
        await budget.close()
        return costs

    return asyncio.run(measure())


def shared_budget(args: argparse.Namespace, work: Path) -> list[dict[str, float]]:
    """N processes of one key against one limit: counting alone, and sharing the budget through Redis."""
    cases, cells, limit = (40, 250, 30) if args.quick else (160, 250, 30)
    keys, total, _ = truth(cases, cells, seed=7)
    counts = (1, 2, 4) if args.quick else (1, 2, 4, 8)
    print(f"\n## One budget, many processes: {cases} cases x {cells} cells, fake limit {limit} requests/s\n")
    if args.server_skew:
        print(f"The fake's rate-limit clock runs {args.server_skew:+.3f} s from this host's and Redis's.\n")
    print("Each process exports its share of the cases with default settings; the fake counts.\n")
    print("Budget used: of each window's budget, the mean and the lowest, over the windows a run fully spans")
    print("(by the second the fake received each request in; not the first and last, which a run enters or")
    print("leaves midway).\n")
    print("| processes | budget | 429 share | budget used, mean | lowest window | failed cases | wall s |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    rows: list[dict[str, float]] = []
    skew = ("--clock-skew", str(args.server_skew))
    with (
        fake_server(cases, cells, 7, "--rate-limit", str(limit), "--period", "1", *skew) as url,
        redis_server() as redis,
    ):
        for processes in counts:
            shares = [write_ids(keys[n::processes], work, f"share-{processes}-{n}.txt") for n in range(processes)]
            for budget in ("alone", "Redis"):
                env = {k: v for k, v in os.environ.items() if k != "AIOCASES_REDIS_URL"}
                if budget == "Redis":
                    env["AIOCASES_REDIS_URL"] = redis
                server_stats(url, reset=True)
                started = time.perf_counter()
                results = export_in_processes(url, shares, env)
                wall = time.perf_counter() - started
                stats = server_stats(url)
                by_status: dict[str, int] = stats["by_status"]  # type: ignore[assignment]
                ok, throttled = by_status.get("200", 0), by_status.get("429", 0)
                failed = sum(len(r["failed"]) for r in results)  # type: ignore[arg-type]
                if sum(int(r["cells"]) for r in results) + failed * cells < total:  # type: ignore[call-overload]
                    raise SystemExit("cells went missing")
                per_second: dict[str, int] = stats["ok_by_second"]  # type: ignore[assignment]
                seconds = sorted(int(k) for k in per_second)
                inner = [per_second.get(str(second), 0) / limit for second in range(seconds[0] + 1, seconds[-1])]
                used, lowest = (sum(inner) / len(inner), min(inner)) if inner else (1.0, 1.0)
                share = throttled / max(1, ok + throttled)
                rows.append({"processes": processes, "shared": budget == "Redis", "throttled": share, "used": lowest,
                             "failed": failed})  # fmt: skip
                figures = f"{share:.1%} | {used:.1%} | {lowest:.1%} | {failed} | {wall:.1f}"
                print(f"| {processes} | {budget} | {figures} |")
        costs = reserve_round_trip(redis)
    print("\nOne reservation (the one Redis round trip of a request) on loopback, in batches of 500, and a PING")
    print("with the same client in batches between them. The target (<= 150 µs) is on the best batch: as timeit's")
    print("documentation puts it, slower ones measure other processes' interference, not the code.\n")
    print("| call | best µs | median µs | batches µs |")
    print("| --- | ---: | ---: | --- |")
    for name, times in costs.items():
        batches = ", ".join(f"{t * 1e6:.0f}" for t in times)
        print(f"| {name} | {min(times) * 1e6:.0f} | {statistics.median(times) * 1e6:.0f} | {batches} |")
    cost = min(costs["reserve"])
    rows.append({"processes": 0, "shared": False, "throttled": 0.0, "used": 1.0, "failed": 0, "round_trip": cost})
    return rows


def run_walk(url: str, case: str, *extra: str) -> dict[str, float]:
    command = [sys.executable, str(HERE / "walk.py"), url, case, *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"walk failed:\n{done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def one_timeline(args: argparse.Namespace) -> dict[str, float]:
    """One large case through iter_timeline: latency with read-ahead, and a long walk's memory."""
    cells, latency = 5_000, 0.05
    print(f"\n## One timeline: {cells:,} cells, {latency * 1000:.0f} ms per response, page size 100\n")
    print("| walk | wall s | requests | read past the end |")
    print("| --- | ---: | ---: | ---: |")
    walls: dict[str, float] = {}
    with fake_server(1, cells, 5, "--latency", str(latency)) as url:
        (key,), _, _ = truth(1, 1, seed=5)
        for label, prefetch in (("sequential (prefetch 1)", "1"), ("read-ahead (prefetch 16, the default)", "16")):
            result = run_walk(url, key, "--prefetch", prefetch)
            if result["cells"] != cells:
                raise SystemExit(f"{label} walked {result['cells']} cells of {cells}")
            walls[prefetch] = result["wall"]
            print(f"| {label} | {result['wall']:.2f} | {result['requests']:.0f} | {result['wasted']:.0f} |")
    big = 20_000 if args.quick else 200_000
    with fake_server(1, big, 6) as url:
        (key,), _, _ = truth(1, 1, seed=6)
        result = run_walk(url, key)
        if result["cells"] != big:
            raise SystemExit(f"the long walk yielded {result['cells']} cells of {big}")
    print(f"\nOne walk of {big:,} cells, each dropped as it comes: peak RSS {result['peak_rss_mib']:.1f} MiB")
    print(f"read-ahead: {walls['1'] / walls['16']:.1f}x faster than sequential")
    return {"read_ahead": walls["16"], "speedup": walls["1"] / walls["16"], "walk_rss": result["peak_rss_mib"]}


def spend_exactly(work: Path) -> list[str]:
    """The rows of budget.py, and their targets; returns the misses."""
    import budget

    keys, _, _ = truth(480, 20, seed=8)

    def serving(*extra: str) -> contextlib.AbstractContextManager[str]:
        return fake_server(480, 20, 8, *extra)

    def ids(chosen: list[str], name: str) -> Path:
        return write_ids(chosen, work, name)

    print("\n## Spending the organization's budget exactly")
    misses = []
    late = budget.back_to_back(serving, ids, keys)["worst"]
    if late > 1.5:
        misses.append(f"back to back: a run {late:.2f} s over the ideal (target <= 1.5 s)")
    consumer = budget.another_consumer(serving, ids, keys)
    if consumer["late"] > 2.5 or consumer["lowest"] < 0.9:
        misses.append(
            f"another consumer: {consumer['late']:.2f} s over the ideal and the stolen budget (<= 2.5 s),"
            f" lowest later window {consumer['lowest']:.0%} (>= 90%)"
        )
    with redis_server() as redis:
        for row in budget.server_clocks(serving, ids, keys, redis):
            if row["throttled"] >= 0.01 or row["used"] < 0.95:
                misses.append(
                    f"server clock {row['skew']:+.1f} s, {row['processes']:.0f} processes: {row['throttled']:.1%} 429s"
                    f" (< 1%), {row['used']:.1%} of the budget used (>= 95%)"
                )
    if budget.read_ahead_costs()["over"]:
        misses.append("read-ahead cost more than one request under a page, or more than need + need // 2 or + 15")
    return misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--server-skew",
        type=float,
        default=0.0,
        help="shared-budget: seconds the fake's rate-limit clock runs ahead of this host's and Redis's (as a server"
        " that many seconds away counts every send late; negative: a server clock behind)",
    )
    sections = [
        "throughput", "rate-limited", "scale", "cli-memory", "one-timeline", "sync", "shared-budget", "budget", "load"
    ]  # fmt: skip
    parser.add_argument("--only", choices=sections, action="append")
    args = parser.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 7)
    only = set(args.only or sections)
    print(f"# aiocases benchmarks, {time.strftime('%Y-%m-%d')}")
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    misses: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "throughput" in only:
            result = throughput(args, work)
            ratio = result["ratio"]
            # #17 aimed at 1.6x with one structuring path, and said: if the one path (cattrs) cannot reach it,
            # report the figure and the profile, add no second parser. It measures 1.9-2.2x (benchmarks/README.md);
            # what fails the run is a regression past that.
            print(f"\n#17's aim, aiocases/raw <= 1.6x: {'met' if ratio['raw'] <= 1.6 else 'not reached'}")
            if ratio["raw"] > 2.5:
                misses.append(f"aiocases CPU per cell {ratio['raw']:.2f}x aiohttp + json.loads (guard <= 2.5x)")
            if ratio["official"] < 30:
                misses.append(f"official/aiocases CPU {ratio['official']:.1f}x (guard >= 30x)")
        if "rate-limited" in only:
            limited = rate_limited(args, work)["aiocases"]
            if limited["share"] < 0.95 or limited["throttled"] >= 0.01:
                misses.append(f"rate-limited run: {limited['share']:.1%} of limit, {limited['throttled']:.1%} 429s")
        if "scale" in only:
            growth = scale(args, work)["growth"]
            if growth > 0.20:
                misses.append(f"peak RSS grew {growth:.1%} from 1x to 10x cases (target <= 20%)")
        if "one-timeline" in only:
            walked = one_timeline(args)
            if walked["read_ahead"] > 0.5:
                misses.append(f"one timeline read ahead in {walked['read_ahead']:.2f}s (target <= 0.5 s)")
            if walked["walk_rss"] >= 100:
                misses.append(f"a long walk peaked at {walked['walk_rss']:.0f} MiB (target < 100 MiB)")
        if "sync" in only:
            synced = sync(args, work)
            if synced["requests"] > synced["limit"] or synced["lines"] != synced["changed"]:
                misses.append(
                    f"sync after {synced['changed']:.0f} new comments: {synced['requests']:.0f} requests"
                    f" (target <= {synced['limit']:.0f}), {synced['lines']:.0f} lines written"
                )
        if "load" in only:
            loaded = warehouse(args, work)
            if loaded["timeline_requests"] > loaded["cases"]:
                misses.append(
                    f"a load with nothing new sent {loaded['timeline_requests']:,.0f} requests for"
                    f" {loaded['cases']:,.0f} timelines (target: at most one per case)"
                )
            if loaded["first"] > loaded["export"] + 1:
                misses.append(
                    f"the first load sent {loaded['first']:,.0f} requests, the export {loaded['export']:,.0f}"
                )
        if "shared-budget" in only:
            for row in shared_budget(args, work):
                if row.get("round_trip", 0) > 150e-6:
                    misses.append(
                        f"a reservation costs {row['round_trip'] * 1e6:.0f} µs on loopback (best batch; <= 150)"
                    )
                if row["shared"] and (row["throttled"] >= 0.01 or row["used"] < 0.98 or row["failed"]):
                    misses.append(
                        f"{row['processes']:.0f} processes sharing a budget: {row['throttled']:.1%} 429s (< 1%),"
                        f" {row['used']:.1%} of the budget used in its lowest window (>= 98% in each),"
                        f" {row['failed']:.0f} failed cases (none)"
                    )
        if "budget" in only:
            misses += spend_exactly(work)
        if "cli-memory" in only:
            cli = cli_memory(args, work)
            if cli["growth"] >= 0.10:
                misses.append(f"CLI peak RSS grew {cli['growth']:.1%} from 10k to {cli['largest']:,.0f} cases (< 10%)")
            if cli["big_case"] >= 100:
                misses.append(f"CLI peak RSS {cli['big_case']:.0f} MiB for one large case (target < 100 MiB)")
    print("\n## Targets\n")
    print("\n".join(f"- MISSED: {miss}" for miss in misses) or "- all met")
    sys.exit(1 if misses else 0)


if __name__ == "__main__":
    main()
