"""One export by one runner, in its own process: ``python benchmarks/runners.py RUNNER URL ...``.

Prints one JSON object: client CPU seconds and wall seconds of the export
alone (imports and start-up excluded), cells and requests seen, a digest of
the cell ids per case (to check every runner got every cell), 429s seen by
the client where it can tell, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

API_KEY, APP_KEY = "bench-api-key", "bench-app-key"


def server_stats(url: str, reset: bool = False) -> dict[str, Any]:
    """What the fake at ``url`` has counted; ``reset`` starts its counts afresh and waits out the window in
    progress (a server's windows never forget a count: the next run starts in a window of its own, as it would
    a second after the last)."""
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{url}/_fake/reset", method="POST"), timeout=10).close()
        time.sleep(1.1)
        return {}
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


class Tally:
    def __init__(self) -> None:
        self.cells = 0
        self.requests = 0
        self.throttled = 0
        self.digest = 0
        self.failed: list[str] = []

    def case(self, case_id: str, ids: list[str]) -> None:
        self.cells += len(ids)
        # Order-independent across cases, order-dependent within one.
        self.digest ^= int.from_bytes(
            hashlib.blake2b("|".join([case_id, *ids]).encode(), digest_size=8).digest(), "big"
        )


async def pool(case_ids: Iterator[str], concurrency: int, one: Callable[[str], Awaitable[None]]) -> None:
    """``concurrency`` workers pulling case ids: the same shape for every runner."""

    async def worker() -> None:
        for case_id in case_ids:
            await one(case_id)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def run_raw(url: str, case_ids: list[str], page_size: int, concurrency: int, tally: Tally) -> None:
    """The floor: bare aiohttp and json.loads, no models, no gate, no retries."""
    await _bare(url, case_ids, page_size, concurrency, tally, json.loads)


async def run_raw_orjson(url: str, case_ids: list[str], page_size: int, concurrency: int, tally: Tally) -> None:
    """The floor for a client that decodes with orjson: bare aiohttp and orjson.loads."""
    await _bare(url, case_ids, page_size, concurrency, tally, orjson.loads)


async def _bare(
    url: str, case_ids: list[str], page_size: int, concurrency: int, tally: Tally, loads: Callable[[bytes], Any]
) -> None:

    headers = {"DD-API-KEY": API_KEY, "DD-APPLICATION-KEY": APP_KEY, "Accept": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def one(case_id: str) -> None:
            ids: list[str] = []
            number = 0
            while True:
                query = {"page[size]": str(page_size), "page[number]": str(number), "sort[ascending]": "true"}
                async with session.get(f"{url}/api/v2/cases/{case_id}/timelines", params=query) as response:
                    tally.requests += 1
                    if response.status == 429:
                        tally.throttled += 1
                        await asyncio.sleep(float(response.headers.get("X-RateLimit-Reset", "1")))
                        continue
                    response.raise_for_status()
                    data = loads(await response.read())["data"]
                ids += [cell["id"] for cell in data]
                if len(data) < page_size:
                    break
                number += 1
            tally.case(case_id, ids)

        await pool(iter(case_ids), concurrency, one)


async def run_aiocases(url: str, case_ids: list[str], page_size: int, concurrency: int, tally: Tally) -> None:
    """aiocases: CasesClient.export_timelines, cells structured into models."""

    async with CasesClient(API_KEY, APP_KEY, base_url=url, max_concurrency=concurrency) as client:
        async for result in client.export_timelines(iter(case_ids), page_size=page_size, ascending=True):
            if result.error is not None:
                tally.failed.append(f"{result.case_id}: {result.error}")
                continue
            tally.case(result.case_id, [cell.id for cell in result.cells])
        tally.requests = client.stats.requests
        tally.throttled = client.stats.throttled


async def run_official(url: str, case_ids: list[str], page_size: int, concurrency: int, tally: Tally) -> None:
    """datadog-api-client[async]: AsyncApiClient + list_case_timeline, pages walked by hand, retry on."""

    configuration = Configuration(host=url)
    configuration.api_key["apiKeyAuth"] = API_KEY
    configuration.api_key["appKeyAuth"] = APP_KEY
    configuration.enable_retry = True
    configuration.max_retries = 10
    async with AsyncApiClient(configuration) as api_client:
        api = CaseManagementApi(api_client)

        async def one(case_id: str) -> None:
            ids: list[str] = []
            number = 0
            while True:
                page = await api.list_case_timeline(
                    case_id, page_size=page_size, page_number=number, sort_ascending=True
                )
                tally.requests += 1
                ids += [cell.id for cell in page.data]
                if len(page.data) < page_size:
                    break
                number += 1
            tally.case(case_id, ids)

        await pool(iter(case_ids), concurrency, one)


def load(runner: str) -> None:
    """Import what ``runner`` uses (only that: its peak RSS is its own)."""
    global aiohttp, orjson, CasesClient, AsyncApiClient, Configuration, CaseManagementApi
    import aiohttp

    if runner == "raw-orjson":
        import orjson

    if runner == "aiocases":
        from aiocases import CasesClient
    elif runner == "official":
        from datadog_api_client import AsyncApiClient, Configuration
        from datadog_api_client.v2.api.case_management_api import CaseManagementApi


def peak_rss_kib() -> int:
    """This process's peak RSS.  Not getrusage: Linux carries ru_maxrss over
    execve, so a child would report its parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


RUNNERS = {"raw": run_raw, "raw-orjson": run_raw_orjson, "aiocases": run_aiocases, "official": run_official}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runner", choices=sorted(RUNNERS))
    parser.add_argument("url")
    parser.add_argument("--ids", required=True, help="file of case ids, one per line")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with open(args.ids, encoding="utf-8") as handle:
        case_ids = [line.strip() for line in handle if line.strip()]
    tally = Tally()
    runner = RUNNERS[args.runner]
    load(args.runner)  # imports are start-up, not export: outside the measurement

    async def measured() -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        await runner(args.url, case_ids, args.page_size, args.concurrency, tally)
        return time.process_time() - cpu, time.perf_counter() - wall

    started = time.time()
    cpu, wall = asyncio.run(measured())
    ended = time.time()
    peak_kib = peak_rss_kib()
    json.dump(
        {
            "runner": args.runner,
            "cpu": cpu,
            "wall": wall,
            "started": started,
            "ended": ended,
            "cells": tally.cells,
            "requests": tally.requests,
            "throttled": tally.throttled,
            "digest": tally.digest,
            "failed": tally.failed,
            "peak_rss_mib": peak_kib / 1024,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
