"""``python -m aiocases.testing``: serve the fake API from its own process.

Prints the base URL on the first line of stdout once it is listening, then
the lines to paste into a shell to point ``aiocases`` (or the library) at it,
and serves until it is terminated (Ctrl-C, SIGTERM) or, when stdin is a pipe
or a file, until stdin closes.  A terminal is never read, so the fake can run
in the background of an interactive shell.  The data is the same as
``FakeCasesAPI(cases, cells, seed=seed)`` builds in-process, so a test can
hold the ground truth without asking the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time

from aiocases.testing.faults import Faults
from aiocases.testing.limits import RateLimitRule
from aiocases.testing.server import FakeCasesAPI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiocases.testing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=10, help="cases to serve (default 10)")
    parser.add_argument("--cells", type=int, default=50, help="comments per case (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the faults (default 0)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per --period (default 0: unlimited)")
    parser.add_argument("--period", type=int, default=1, help="seconds of a rate-limit window (default 1)")
    parser.add_argument("--max-in-flight", type=int, default=None, help="a limit the headers do not show")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer (default 0)")
    parser.add_argument(
        "--clock-skew",
        type=float,
        default=0.0,
        help="seconds the rate limit's clock runs ahead of this host's (as a server that far away counts every"
        " send late; negative: a server clock behind)",
    )
    parser.add_argument("--faults", type=float, default=0.0, help="share of requests given a seeded fault")
    parser.add_argument("--page-cap", type=int, default=None, help="answer at most this many cells a timeline page")
    parser.add_argument(
        "--search-page-cap", type=int, default=None, help="answer at most this many cases a search page"
    )
    parser.add_argument("--unstable-order", action="store_true", help="cells of one instant in a new order each time")
    parser.add_argument("--api-key", default="fake-api-key-0123456789abcdef", help="the API key it accepts")
    parser.add_argument("--app-key", default="fake-app-key-fedcba9876543210", help="the application key it accepts")
    return parser


def _fake(args: argparse.Namespace) -> FakeCasesAPI:
    share = args.faults / 4
    faults = (
        Faults(seed=args.seed, server_error=share, reset=share, truncated=share, slow=share) if args.faults else None
    )
    return FakeCasesAPI(
        args.cases,
        args.cells,
        seed=args.seed,
        port=args.port,
        api_key=args.api_key,
        app_key=args.app_key,
        rate_limit=RateLimitRule(args.rate_limit, args.period) if args.rate_limit else None,
        max_in_flight=args.max_in_flight,
        latency=args.latency,
        faults=faults,
        clock=(lambda: time.time() + args.clock_skew) if args.clock_skew else time.time,
        page_cap=args.page_cap,
        search_page_cap=args.search_page_cap,
        unstable_order=args.unstable_order,
    )


def _stop_when_stdin_closes(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    fd = sys.stdin.fileno() if sys.stdin is not None else -1
    if fd < 0 or os.isatty(fd):
        return  # a terminal: reading it from the background would stop the process (SIGTTIN)
    with contextlib.suppress(OSError, ValueError):  # a file or /dev/null is not pollable: signals only
        loop.add_reader(fd, lambda: None if os.read(fd, 1) else stop.set())


async def _serve(args: argparse.Namespace) -> None:
    api = _fake(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    _stop_when_stdin_closes(loop, stop)
    async with api:
        example = next(iter(api.cases.values())).key if api.cases else "PROJ-1"
        print(api.url, flush=True)
        print(
            f"# point aiocases at this fake:\n"
            f"export AIOCASES_BASE_URL={api.url} DD_API_KEY={api.api_key} DD_APP_KEY={api.app_key}\n"
            f"# then, for instance:\n"
            f"aiocases timeline {example}\n"
            f"aiocases export {' '.join(c.key for c in list(api.cases.values())[:3])} --output export.jsonl",
            flush=True,
        )
        await stop.wait()


def main() -> None:
    """Serve until told to stop."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parser().parse_args()))


if __name__ == "__main__":
    main()
