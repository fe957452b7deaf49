"""One case's timeline through ``CasesClient.iter_timeline``, in this process:
``python benchmarks/walk.py URL CASE [--prefetch N] [--page-size N]`` prints one
JSON object: wall seconds, requests, requests read ahead past the end, cells,
and the process's peak RSS in MiB."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from runners import API_KEY, APP_KEY, peak_rss_kib

from aiocases import CasesClient


async def walk(args: argparse.Namespace) -> dict[str, float]:
    cells = 0
    async with CasesClient(API_KEY, APP_KEY, base_url=args.url) as client:
        started = time.perf_counter()
        async for _ in client.iter_timeline(args.case, page_size=args.page_size, prefetch=args.prefetch):
            cells += 1  # each cell dropped at once: what the walk itself holds is measured
        wall = time.perf_counter() - started
        stats = client.stats
    return {"wall": wall, "requests": stats.requests, "wasted": stats.prefetch_wasted, "cells": cells}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("case")
    parser.add_argument("--prefetch", type=int, default=16)
    parser.add_argument("--page-size", type=int, default=100)
    result = asyncio.run(walk(parser.parse_args()))
    json.dump({**result, "peak_rss_mib": peak_rss_kib() / 1024}, sys.stdout)
