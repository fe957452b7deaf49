"""The ``aiocases`` command line: bulk export with progress and resume, and
the single-case commands (``timeline``, ``watch``, ``unwatch``, ``watchers``).

``aiocases demo`` runs an export against the built-in fake API, so the main
job can be seen working without a Datadog account.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from aiocases.client import CasesClient
from aiocases.errors import CasesError
from aiocases.export import CaseTimeline
from aiocases.models import TimelineCell, to_api_json
from aiocases.resume import ExportWriter, ResumeError, cell_line

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input from the user: reported on one line, exit status 2."""


# -- input ------------------------------------------------------------------------


def _lines(stream: TextIO) -> Iterator[str]:
    for line in stream:
        text = line.strip()
        if text and not text.startswith("#"):
            yield text


def _read_ids(args: argparse.Namespace) -> tuple[Iterator[str], int | None]:
    """Case ids from the arguments then ``--input`` (a file or ``-``), each
    once, lazily; and their number when it is known up front."""
    sources: list[Iterator[str]] = [iter(args.case_ids)]
    total: int | None = len(args.case_ids)
    if args.input == "-":
        sources.append(_lines(sys.stdin))
        total = None
    elif args.input:
        path = Path(args.input)
        try:
            handle = path.open(encoding="utf-8")  # closed by _file_lines
            # Counted up front only if it can be read twice (not a pipe or a FIFO).
            total = (total or 0) + sum(1 for _ in _file_lines(path.open(encoding="utf-8"))) if path.is_file() else None
        except (OSError, UnicodeDecodeError, UsageError) as exc:
            raise UsageError(f"cannot read --input {args.input}: {exc}") from None
        sources.append(_file_lines(handle))
    if not args.input and not args.case_ids:
        raise UsageError("no case ids: give them as arguments or with --input FILE (- for stdin)")

    def unique() -> Iterator[str]:
        seen: set[str] = set()
        for source in sources:
            for case_id in source:
                if case_id not in seen:
                    seen.add(case_id)
                    yield case_id

    return unique(), total


def _file_lines(handle: TextIO) -> Iterator[str]:
    with handle:
        try:
            yield from _lines(handle)
        except UnicodeDecodeError as exc:
            raise UsageError(f"--input is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


# -- progress ---------------------------------------------------------------------


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO, total: int | None, client: CasesClient) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self.total = total
        self.client = client
        self.started = time.monotonic()
        self.done = self.failed = self.cells = self.skipped = 0
        self._shown = 0.0

    def update(self, result: CaseTimeline | None = None, *, force: bool = False) -> None:
        if result is not None:
            self.done += 1
            self.cells += len(result.cells)
            self.failed += not result.ok
        now = time.monotonic()
        if not self.enabled or (not force and now - self._shown < 0.1):
            return
        self._shown = now
        elapsed = max(now - self.started, 1e-9)
        total = "?" if self.total is None else str(self.total - self.skipped)
        stats = self.client.stats
        line = (
            f"cases {self.done}/{total}  cells {self.cells:,}  {self.cells / elapsed:,.0f} cells/s"
            f"  failed {self.failed}  429s {stats.throttled}  rate-limit holds {stats.rate_limit_wait:.1f}s"
        )
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.update(force=True)
            self.stream.write("\n")


# -- commands ---------------------------------------------------------------------


def _client(args: argparse.Namespace, max_concurrency: int = 16) -> CasesClient:
    return CasesClient(site=args.site, base_url=args.base_url, max_concurrency=max_concurrency)


async def _export(args: argparse.Namespace, client: CasesClient) -> int:
    ids, total = _read_ids(args)
    writer: ExportWriter | None = None
    if args.output and args.output != "-":
        writer = ExportWriter(Path(args.output), resume=args.resume)
    elif args.resume:
        raise UsageError("--resume needs --output FILE")
    progress = Progress(sys.stderr, total, client)
    failures: list[CaseTimeline] = []

    def todo() -> Iterator[str]:
        for case_id in ids:
            if writer is not None and case_id in writer.completed:
                progress.skipped += 1
                continue
            yield case_id

    try:
        async with (
            client,
            contextlib.aclosing(
                client.export_timelines(
                    todo(), page_size=args.page_size, ascending=args.ascending, concurrency=args.concurrency
                )
            ) as results,
        ):
            async for result in results:
                if not result.ok:
                    failures.append(result)
                elif writer is not None:
                    writer.write_case(result.case_id, result.cells)
                else:
                    sys.stdout.buffer.write(b"".join(cell_line(result.case_id, c) for c in result.cells))
                progress.update(result)
    finally:
        if writer is not None:
            writer.close()
        progress.finish()
    _summary(progress, failures, client)
    return EXIT_FAILED if failures else EXIT_OK


def _summary(progress: Progress, failures: list[CaseTimeline], client: CasesClient) -> None:
    elapsed = time.monotonic() - progress.started
    ok = progress.done - len(failures)
    skipped = f", {progress.skipped} already done" if progress.skipped else ""
    print(
        f"exported {ok} cases ({len(failures)} failed{skipped}), {progress.cells:,} cells in {elapsed:.1f}s;"
        f" {client.stats.requests} requests, {client.stats.retries} retries, {client.stats.throttled} rate limited",
        file=sys.stderr,
    )
    for result in failures:
        print(f"  failed {result.case_id}: {type(result.error).__name__}: {result.error}", file=sys.stderr)


def _human(cell: TimelineCell) -> str:
    attributes = cell.attributes
    when = attributes.created_at.isoformat(timespec="seconds") if attributes.created_at else "?"
    author = attributes.author.content if attributes.author else None
    who = (author.name or author.handle or author.id) if author else None
    message = attributes.cell_content.message if attributes.cell_content else None
    body = "\n".join(f"    {line}" for line in (message or "").splitlines())
    deleted = " (deleted)" if attributes.deleted_at else ""
    return f"{when}  {who or 'unknown author'}  {attributes.type or cell.type}{deleted}\n{body}".rstrip()


async def _timeline(args: argparse.Namespace, client: CasesClient) -> int:
    async with client:
        iterator = client.iter_timeline(args.case_id, page_size=args.page_size, ascending=args.ascending)
        async with contextlib.aclosing(iterator) as cells:
            async for cell in cells:
                if args.json:
                    sys.stdout.buffer.write(cell_line(args.case_id, cell))
                else:
                    print(_human(cell))
    return EXIT_OK


async def _watch(args: argparse.Namespace, client: CasesClient) -> int:
    async with client:
        if args.command == "watch":
            await client.watch_case(args.case_id, args.user_uuid)
            print(f"{args.user_uuid} now watches {args.case_id}")
        else:
            await client.unwatch_case(args.case_id, args.user_uuid)
            print(f"{args.user_uuid} no longer watches {args.case_id}")
    return EXIT_OK


async def _watchers(args: argparse.Namespace, client: CasesClient) -> int:
    async with client:
        watchers = await client.list_watchers(args.case_id)
    for watcher in watchers:
        print(json.dumps(to_api_json(watcher)) if args.json else watcher.user_id or watcher.id)
    return EXIT_OK


async def _demo(args: argparse.Namespace) -> int:
    from aiocases.testing import FakeCasesAPI, Faults, RateLimitRule

    rule = RateLimitRule(limit=args.rate_limit, period=1, name="cases") if args.rate_limit else None
    faults = Faults(seed=args.seed, server_error=args.faults / 2, truncated=args.faults / 2) if args.faults else None
    output = args.output or str(Path(tempfile.mkdtemp(prefix="aiocases-demo-")) / "export.jsonl")
    async with FakeCasesAPI(args.cases, args.cells, seed=args.seed, rate_limit=rule, faults=faults) as api:
        print(
            f"demo: fake Case Management API at {api.url} with {args.cases} cases of {args.cells} comments"
            + (f", limited to {args.rate_limit} requests/s" if rule else "")
            + (f", {args.faults:.0%} of requests failing" if faults else ""),
            file=sys.stderr,
        )
        export_args = argparse.Namespace(
            case_ids=[case.key for case in api.cases.values()],
            input=None,
            output=output,
            resume=False,
            page_size=args.page_size,
            ascending=True,
            concurrency=args.concurrency,
        )
        client = CasesClient(api.api_key, api.app_key, base_url=api.url, max_concurrency=args.concurrency)
        status = await _export(export_args, client)
        expected = sum(len(case.cells) for case in api.cases.values())
    written = _count_lines(Path(output))
    print(f"demo: wrote {written:,} of {expected:,} cells to {output}", file=sys.stderr)
    return status if written == expected else EXIT_FAILED


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


# -- parsing ----------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiocases",
        description="Datadog Case Management from the command line. Credentials: DD_API_KEY and DD_APP_KEY"
        " (or DD_APPLICATION_KEY); site: DD_SITE or --site.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--site", help="Datadog site, e.g. datadoghq.eu (default: DD_SITE or datadoghq.com)")
        sub.add_argument("--base-url", help="send requests to this API-compatible server instead (e.g. the fake)")
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
    return parser


async def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return await _demo(args)
    if args.command == "export":
        return await _export(args, _client(args, max_concurrency=args.concurrency))
    handlers = {"timeline": _timeline, "watch": _watch, "unwatch": _watch, "watchers": _watchers}
    return await handlers[args.command](args, _client(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiocases`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return asyncio.run(_run(args))
    except (UsageError, ValueError, ResumeError) as exc:
        print(f"aiocases: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CasesError as exc:
        print(f"aiocases: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        resume = " (rerun with --resume to continue)" if getattr(args, "output", None) else ""
        print(f"aiocases: interrupted{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `aiocases export | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
