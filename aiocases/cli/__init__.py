"""The ``aiocases`` command line: bulk export with progress and resume,
incremental ``sync``, ``load`` into a warehouse, search (``cases``), the single-case commands
(``timeline``, ``watch``, ``unwatch``, ``watchers``, ``comment``,
``uncomment``, ``case ...``), ``projects`` and ``types``, and ``demo``, an
export against the built-in fake API, so the main job can be seen working
without a Datadog account.

Every failure is one line on stderr (``aiocases: error: ...``) and an exit
status: 1 when cases or the run failed, 2 for a usage error, 128 + the signal
when stopped by SIGINT, SIGTERM or SIGHUP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from aiocases.cli.args import parser
from aiocases.cli.commands import run
from aiocases.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from aiocases.config import MissingCredentials, resolve_origin
from aiocases.errors import CasesError, ClientClosed, Forbidden, RateLimited, TransportError, Unauthorized
from aiocases.files.journal import ResumeError

__all__ = ["main"]

# Signals that stop a run the way Ctrl-C does: the output is flushed and
# journaled, and the exit status is 128 + the signal's number.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def _run_until_signalled(args: argparse.Namespace, received: list[signal.Signals]) -> int:
    loop = asyncio.get_running_loop()
    work = asyncio.ensure_future(run(args))

    def stop(sig: signal.Signals) -> None:
        received.append(sig)
        work.cancel()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await work
    finally:
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _where(args: argparse.Namespace) -> str:
    """The API in use, and what chose it (the client resolves it the same way)."""
    try:
        origin = resolve_origin(getattr(args, "site", None), getattr(args, "base_url", None))
    except ValueError:
        return "an API origin the options do not give"
    source = {"base_url": "--base-url", "site " + str(getattr(args, "site", "")).strip(): "--site"}.get(
        origin.source, origin.source
    )
    return f"{origin.url} ({source})"


def _explain(exc: CasesError, args: argparse.Namespace) -> str:
    """One line for an error that stopped a whole run, saying what to check."""
    where = _where(args)
    if isinstance(exc, (Unauthorized, Forbidden)):
        return (
            f"the API refused the credentials ({exc}); check DD_API_KEY and DD_APP_KEY, and that DD_SITE or --site"
            f" names your organization's site (in use: {where})"
        )
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return f"{exc}; try again later, or raise --max-wait"
    if isinstance(exc, TransportError) and not isinstance(exc, ClientClosed):
        return f"cannot reach the API at {where}: {exc}"
    return f"{type(exc).__name__}: {exc}"


_REMEDIES = {"resume": "--resume to continue it", "overwrite": "--overwrite to start over"}


def _refusal(exc: ResumeError, args: argparse.Namespace) -> str:
    """A refused output, with what the command the user ran can do about it."""
    if args.command == "export" and exc.remedies:
        return f"{exc}: pass {', or '.join(_REMEDIES[remedy] for remedy in exc.remedies)}"
    if args.command == "demo" and exc.remedies:
        return f"{exc}: remove it, or give another --output"
    return str(exc)


def _continue(args: argparse.Namespace) -> str:
    """How to go on after a run stopped midway, where there is a way."""
    if args.command == "sync":
        return " (run the same sync again to continue)"
    output = getattr(args, "output", None)
    if args.command == "export" and output not in (None, "-") and os.path.isfile(output):
        return " (rerun with --resume to continue)"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiocases`` console script; returns the exit status."""
    command_line = parser()
    args = command_line.parse_args(argv)
    if args.command is None:
        command_line.print_help()
        return EXIT_OK
    # Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    received: list[signal.Signals] = []
    try:
        return asyncio.run(_run_until_signalled(args, received))
    except MissingCredentials as exc:
        print(
            f"aiocases: error: no {' and no '.join(exc.missing)} in the environment: export DD_API_KEY and DD_APP_KEY"
            " (an API key and an application key of your organization), or try `aiocases demo`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except ResumeError as exc:
        print(f"aiocases: error: {_refusal(exc, args)}", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, ValueError) as exc:
        print(f"aiocases: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CasesError as exc:
        print(f"aiocases: error: {_explain(exc, args)}{_continue(args)}", file=sys.stderr)
        return EXIT_FAILED
    except (KeyboardInterrupt, asyncio.CancelledError):
        sig = received[0] if received else signal.SIGINT
        print(f"aiocases: interrupted by {sig.name}{_continue(args)}", file=sys.stderr)
        return 128 + sig
    except BrokenPipeError:
        # `aiocases export | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"aiocases: error: cannot write{where}: {exc.strerror or exc}{_continue(args)}", file=sys.stderr)
        return EXIT_FAILED
