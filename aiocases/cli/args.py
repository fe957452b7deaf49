"""The command line's arguments: every command and option, with its help."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from aiocases.cli.lifecycle import add_commands
from aiocases.cli.loading import add_load
from aiocases.config import DEFAULTS

__all__ = ["parser"]


def _number(kind: Callable[[str], float], low: float, high: float, what: str) -> Callable[[str], float]:
    """An argument type: a number of ``kind`` with ``low <= value < high``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not low <= value < high:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


_INF = float("inf")
_seconds = _number(float, 0, _INF, "a number of seconds >= 0")
_positive = _number(int, 1, _INF, "a whole number >= 1")
_count = _number(int, 0, _INF, "a whole number >= 0")
_share = _number(float, 0, 1, "a share from 0 to below 1, such as 0.05")


def parser() -> argparse.ArgumentParser:
    """The parser of every command and option."""
    from aiocases import __version__

    top = argparse.ArgumentParser(
        prog="aiocases",
        description="Datadog Case Management from the command line. Credentials: DD_API_KEY and DD_APP_KEY"
        " (or DD_APPLICATION_KEY); site: DD_SITE or --site. Try `aiocases demo` first: no account needed.",
    )
    top.add_argument("--version", action="version", version=f"aiocases {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    _export(
        _shared(_command(commands, "export", "Export the timelines of many cases as JSON Lines, one line per cell."))
    )
    _sync(
        _shared(
            _command(commands, "sync", "Keep an export current: each run writes only the cells new since the last.")
        )
    )
    add_load(
        _shared(
            _command(
                commands,
                "load",
                "Load cases and their timelines into DuckDB (or any dlt destination), each cell once, incrementally.",
            )
        )
    )
    _timeline(_command(commands, "timeline", "Print one case's timeline."))
    for name, verb in (("watch", "Add a user as a watcher of a case."), ("unwatch", "Remove a watcher from a case.")):
        sub = _command(commands, name, verb)
        sub.add_argument("case_id", metavar="CASE", help="the case's UUID or key (PROJ-123)")
        sub.add_argument("user_uuid", metavar="USER_UUID", help="the user's UUID")
    cases = _command(commands, "cases", "Search cases: a table of key, status, priority and title.")
    cases.add_argument("--query", metavar="Q", help="the search, e.g. 'status:open project:PROJ' (default: all cases)")
    cases.add_argument("--json", action="store_true", help="one JSON:API case object per line")
    cases.add_argument(
        "--sort", choices=("created_at", "priority", "status"), default="created_at", help="order (default created_at)"
    )
    cases.add_argument("--descending", action="store_true", help="newest (or highest) first")
    comment = _command(commands, "comment", "Add a comment to a case; prints the new comment's id.")
    comment.add_argument("case_id", metavar="CASE", help="the case's UUID or key (PROJ-123)")
    comment.add_argument("message", metavar="MESSAGE", help="the comment, in Markdown (- reads it from stdin)")
    comment.add_argument("--json", action="store_true", help="print the new cell as a JSON line instead")
    uncomment = _command(commands, "uncomment", "Delete a comment from a case.")
    uncomment.add_argument("case_id", metavar="CASE", help="the case's UUID or key (PROJ-123)")
    uncomment.add_argument("cell_id", metavar="CELL_ID", help="the comment's id (as `comment` printed it)")
    watchers = _command(commands, "watchers", "List a case's watchers.")
    watchers.add_argument("case_id", metavar="CASE", help="the case's UUID or key (PROJ-123)")
    watchers.add_argument("--json", action="store_true", help="one JSON:API object per line")
    add_commands(commands, _command, _api_options)
    _demo(commands.add_parser("demo", help=_DEMO, description=_DEMO))
    return top


_PAGE_SIZE = f"cells per request (default {DEFAULTS.page_size})"
_INPUT = "read case ids from FILE (- for stdin), one per line; a # starts a comment"
_CONCURRENCY = f"cases in progress at once (default {DEFAULTS.max_concurrency})"
_DEMO = "Export from a built-in fake API, to see the main job work with no account."


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    """A command that talks to the API: where to, and how long to wait at most."""
    return _api_options(commands.add_parser(name, help=text, description=text))


def _api_options(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Where the API is, and how long to wait at most for its rate limit."""
    sub.add_argument(
        "--site", help="Datadog site, e.g. datadoghq.eu or a URL of its app (default: DD_SITE or datadoghq.com)"
    )
    sub.add_argument(
        "--base-url",
        metavar="URL",
        help="send requests to this API-compatible origin instead, e.g. the fake (default: AIOCASES_BASE_URL)",
    )
    sub.add_argument(
        "--max-wait",
        type=_seconds,
        default=DEFAULTS.max_wait,
        metavar="SECONDS",
        help=f"fail rather than wait longer than this for the rate limit (default {DEFAULTS.max_wait:g})",
    )
    return sub


def _shared(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument(
        "--redis",
        metavar="URL",
        help="share the rate budget with every process using these keys, through this Redis"
        " (redis://host:6379/0; needs aiocases[redis]; default: AIOCASES_REDIS_URL)",
    )
    return sub


def _order(sub: argparse.ArgumentParser) -> None:
    group = sub.add_mutually_exclusive_group()
    group.add_argument("--ascending", dest="ascending", action="store_true", help="oldest first (the default)")
    group.add_argument("--descending", dest="ascending", action="store_false", help="newest first")
    sub.set_defaults(ascending=True)
    sub.add_argument("--page-size", type=_positive, default=DEFAULTS.page_size, help=_PAGE_SIZE)


def _export(export: argparse.ArgumentParser) -> None:
    export.add_argument("case_ids", nargs="*", metavar="CASE_ID", help="case UUIDs or keys (PROJ-123)")
    export.add_argument("--input", metavar="FILE", help=_INPUT)
    _search(export, "export")
    export.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")
    resume = export.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue an interrupted export into --output")
    resume.add_argument("--overwrite", action="store_true", help="replace an existing --output instead of refusing")
    export.add_argument("--concurrency", type=_positive, default=DEFAULTS.max_concurrency, help=_CONCURRENCY)
    _order(export)


def _sync(sync: argparse.ArgumentParser) -> None:
    sync.add_argument("case_ids", nargs="*", metavar="CASE_ID", help="case UUIDs or keys (PROJ-123)")
    sync.add_argument(
        "--state",
        required=True,
        metavar="DIR",
        help="where the bookmarks and the numbered JSONL file of each run live",
    )
    sync.add_argument("--input", metavar="FILE", help=_INPUT)
    _search(sync, "sync")
    sync.add_argument(
        "--full-refresh",
        action="store_true",
        help="export every cell again and rewrite the bookmarks (picks up edited and deleted comments)",
    )
    sync.add_argument("--concurrency", type=_positive, default=DEFAULTS.max_concurrency, help=_CONCURRENCY)


def _search(sub: argparse.ArgumentParser, verb: str) -> None:
    cases = sub.add_mutually_exclusive_group()
    cases.add_argument("--query", metavar="Q", help=f"{verb} the cases this search finds, e.g. 'status:open'")
    cases.add_argument("--all-cases", action="store_true", help=f"{verb} every case of the organization")


def _timeline(timeline: argparse.ArgumentParser) -> None:
    timeline.add_argument("case_id", metavar="CASE", help="the case's UUID or key (PROJ-123)")
    timeline.add_argument("--json", action="store_true", help="JSON Lines instead of text")
    _order(timeline)


def _demo(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--cases", type=_positive, default=60, help="cases the fake holds (default 60)")
    demo.add_argument("--cells", type=_count, default=180, help="comments per case (default 180)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the fake's data and faults (default 0)")
    demo.add_argument("--rate-limit", type=_count, default=40, help="the fake's requests/s limit (0: none; default 40)")
    demo.add_argument("--faults", type=_share, default=0.05, help="share of requests that fail (default 0.05)")
    demo.add_argument(
        "--output", metavar="FILE", help="keep the export in FILE (- for stdout; default: a temporary file, removed)"
    )
    demo.add_argument("--page-size", type=_positive, default=DEFAULTS.page_size, help=_PAGE_SIZE)
    demo.add_argument("--concurrency", type=_positive, default=DEFAULTS.max_concurrency, help=_CONCURRENCY)
