"""``python -m aiocases.testing``: serve the fake API from its own process.

Prints the base URL on the first line of stdout once it is listening, then
serves until stdin closes or the process is terminated.  The data is the
same as ``FakeCasesAPI(cases, cells, seed=seed)`` builds in-process, so a
test can hold the ground truth without asking the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys

from aiocases.testing.server import FakeCasesAPI, Faults, RateLimitRule


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aiocases.testing", description=__doc__)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per --period (0: unlimited)")
    parser.add_argument("--period", type=int, default=1)
    parser.add_argument("--max-in-flight", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--faults", type=float, default=0.0, help="share of requests given a seeded fault")
    parser.add_argument("--api-key", default="fake-api-key-0123456789abcdef")
    parser.add_argument("--app-key", default="fake-app-key-fedcba9876543210")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    share = args.faults / 4
    faults = (
        Faults(seed=args.seed, server_error=share, reset=share, truncated=share, slow=share) if args.faults else None
    )
    rule = RateLimitRule(args.rate_limit, args.period) if args.rate_limit else None
    api = FakeCasesAPI(
        args.cases,
        args.cells,
        seed=args.seed,
        port=args.port,
        api_key=args.api_key,
        app_key=args.app_key,
        rate_limit=rule,
        max_in_flight=args.max_in_flight,
        latency=args.latency,
        faults=faults,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # stdin a file or /dev/null (not pollable): serve until a signal instead.
    with contextlib.suppress(OSError, ValueError):
        loop.add_reader(sys.stdin.fileno(), lambda: None if os.read(sys.stdin.fileno(), 1) else stop.set())
    async with api:
        print(api.url, flush=True)
        await stop.wait()


def main() -> None:
    """Serve until told to stop."""
    asyncio.run(_serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
