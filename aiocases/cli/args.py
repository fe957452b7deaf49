"""The command line's arguments: every command and option, with its help."""

from __future__ import annotations

import argparse

__all__ = ["parser"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    """The parser of every command and option."""
    top = argparse.ArgumentParser(
        prog="aiocases",
        description="Datadog Case Management from the command line. Credentials: DD_API_KEY and DD_APP_KEY"
        " (or DD_APPLICATION_KEY); site: DD_SITE or --site.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--site", help="Datadog site, e.g. datadoghq.eu (default: DD_SITE or datadoghq.com)")
        sub.add_argument("--base-url", help="send requests to this API-compatible server instead (e.g. the fake)")
        sub.add_argument(
            "--max-wait",
            type=_seconds,
            default=300.0,
            metavar="SECONDS",
            help="fail rather than wait longer than this for the rate limit (default 300)",
        )
        return sub

    def order(sub: argparse.ArgumentParser, ascending: bool) -> None:
        group = sub.add_mutually_exclusive_group()
        group.add_argument("--ascending", dest="ascending", action="store_true", help="oldest first")
        group.add_argument("--descending", dest="ascending", action="store_false", help="newest first")
        sub.set_defaults(ascending=ascending)
        sub.add_argument("--page-size", type=_positive, default=100, help="cells per request (default 100)")

    export = command("export", "Export the timelines of many cases as JSON Lines, one line per cell.")
    export.add_argument("case_ids", nargs="*", metavar="CASE_ID", help="case UUIDs or keys (PROJ-123)")
    export.add_argument("--input", metavar="FILE", help="read case ids from FILE, one per line (- for stdin)")
    export.add_argument("--output", metavar="FILE", help="write to FILE (default: stdout)")
    export.add_argument("--resume", action="store_true", help="continue an interrupted export into --output")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --output instead of refusing")
    export.add_argument("--concurrency", type=_positive, default=16, help="cases in progress at once (default 16)")
    order(export, ascending=True)

    timeline = command("timeline", "Print one case's timeline.")
    timeline.add_argument("case_id", metavar="CASE")
    timeline.add_argument("--json", action="store_true", help="JSON Lines instead of text")
    order(timeline, ascending=True)

    for name, verb in (("watch", "Add a user as a watcher of a case."), ("unwatch", "Remove a watcher from a case.")):
        sub = command(name, verb)
        sub.add_argument("case_id", metavar="CASE")
        sub.add_argument("user_uuid", metavar="USER_UUID")

    watchers = command("watchers", "List a case's watchers.")
    watchers.add_argument("case_id", metavar="CASE")
    watchers.add_argument("--json", action="store_true", help="one JSON:API object per line")

    demo = commands.add_parser(
        "demo", help="Export from a built-in fake API: see the main job work, no account needed."
    )
    demo.add_argument("--cases", type=_positive, default=60)
    demo.add_argument("--cells", type=int, default=180)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--rate-limit", type=int, default=40, help="fake's requests/s limit (0: none; default 40)")
    demo.add_argument("--faults", type=float, default=0.05, help="share of requests that fail (default 0.05)")
    demo.add_argument("--output", metavar="FILE", help="where to write (default: a temporary file)")
    demo.add_argument("--page-size", type=_positive, default=100)
    demo.add_argument("--concurrency", type=_positive, default=16)
    return top
