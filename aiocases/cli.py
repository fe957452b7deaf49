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
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from attrs import define, field, frozen

from aiocases.caseids import IdQueue, InputError, clean, read_ids
from aiocases.client import CasesClient
from aiocases.errors import CasesError, ClientClosed, Forbidden, RateLimited, TransportError, Unauthorized
from aiocases.export import ExportEvent, TimelinePage
from aiocases.models import JSON, TimelineCell, to_api_json
from aiocases.resume import LINE_FORMAT, ExportFile, ExportWriter, ResumeError, cell_line, journal_path

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported on one line, exit status 2."""


# -- input ------------------------------------------------------------------------


def _input_fd(name: str | None) -> int | None:
    """The descriptor ids are read from (``-``: stdin), opened now so that
    errors are reported before anything is written."""
    if name is None:
        return None
    if name == "-":
        try:
            os.fstat(0)
        except OSError:
            raise UsageError("--input - reads stdin, but stdin is closed") from None
        return 0
    try:
        return os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot read --input {name}: {exc.strerror}") from None


def _refuse_same_file(fd: int | None, output: Path | None) -> None:
    """Writing the output over the ids being read would destroy them."""
    if fd is None or output is None:
        return
    source = os.fstat(fd)
    for path in (output, journal_path(output)):
        try:
            target = path.stat()
        except OSError:
            continue
        if (source.st_dev, source.st_ino) == (target.st_dev, target.st_ino) and stat.S_ISREG(target.st_mode):
            raise UsageError(f"--input and --output are the same file ({path}): the export would overwrite its ids")


async def _fill(queue: IdQueue, case_ids: Sequence[str], fd: int | None, name: str | None) -> None:
    """Queue the ids of the arguments, then of the input, as they arrive."""
    error: BaseException | None = None
    try:
        queue.add(clean(case_ids))
        if fd is not None:
            async for batch in read_ids(fd, name or "-"):
                queue.add(batch)
    except InputError as exc:
        error = UsageError(str(exc))
    finally:
        queue.end(error)


# -- progress ---------------------------------------------------------------------


class Progress:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO | None, ids: IdQueue, client: CasesClient) -> None:
        self.stream = stream
        self.enabled = stream is not None and stream.isatty()
        self.ids = ids
        self.client = client
        self.started = time.monotonic()
        self.done = self.failed = self.cells = 0
        self._shown = 0.0

    def update(self, *, cells: int = 0, case: bool = False, failed: bool = False, force: bool = False) -> None:
        self.cells += cells
        self.done += case
        self.failed += failed
        now = time.monotonic()
        if self.stream is None or not self.enabled or (not force and now - self._shown < 0.1):
            return
        self._shown = now
        elapsed = max(now - self.started, 1e-9)
        total = "?" if self.ids.total is None else str(self.ids.total)
        stats = self.client.stats
        line = (
            f"cases {self.done}/{total}  cells {self.cells:,}  {self.cells / elapsed:,.0f} cells/s"
            f"  failed {self.failed}  429s {stats.throttled}  rate-limit holds {stats.rate_limit_wait:.1f}s"
        )
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.stream is not None:
            self.update(force=True)
            self.stream.write("\n")


# -- commands ---------------------------------------------------------------------


def _client(args: argparse.Namespace, max_concurrency: int = 16) -> CasesClient:
    return CasesClient(site=args.site, base_url=args.base_url, max_concurrency=max_concurrency, max_wait=args.max_wait)


@frozen
class ExportOptions:
    """What ``aiocases export`` (and the demo) export, and where to."""

    case_ids: Sequence[str] = ()
    input: str | None = None
    output: str | None = None  # None or "-": stdout
    resume: bool = False
    overwrite: bool = False
    page_size: int = 100
    ascending: bool = True
    concurrency: int = 16


# Failures kept for the summary; the rest are counted.
_FAILURES_SHOWN = 20


@define
class _Outcome:
    failures: list[tuple[str, BaseException]] = field(factory=list)
    failed: int = 0
    written_cells: int = 0

    def fail(self, case_id: str, error: BaseException) -> None:
        self.failed += 1
        if len(self.failures) < _FAILURES_SHOWN:
            self.failures.append((case_id, error))


def _open_output(options: ExportOptions) -> ExportFile:
    if options.output in (None, "-"):
        if options.resume:
            raise UsageError("--resume needs --output FILE")
        return ExportFile.stream(_stdout())
    output = Path(options.output)
    settings: dict[str, JSON] = {"ascending": options.ascending, "format": LINE_FORMAT}
    try:
        return ExportFile.open(output, resume=options.resume, overwrite=options.overwrite, settings=settings)
    except IsADirectoryError:
        raise UsageError(f"--output {output} is a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from None


async def run_export(options: ExportOptions, client: CasesClient) -> int:
    """``aiocases export``: returns the exit status."""
    fd = _input_fd(options.input)
    try:
        if not options.case_ids and fd is None:
            raise UsageError("no case ids: give them as arguments or with --input FILE (- for stdin)")
        _refuse_same_file(fd, Path(options.output) if options.output not in (None, "-") else None)
        export = _open_output(options)
        try:
            return await _export_into(export, options, client, fd)
        finally:
            export.close()
    finally:
        if fd not in (None, 0):
            os.close(fd)


async def _export_into(export: ExportFile, options: ExportOptions, client: CasesClient, fd: int | None) -> int:
    ids = IdQueue()
    filling: asyncio.Task[None] | None = None
    progress = Progress(sys.stderr, ids, client)
    outcome = _Outcome()
    try:
        ids.mark_done(export.completed())
        filling = asyncio.ensure_future(_fill(ids, options.case_ids, fd, options.input))
        async with client:
            events = client.stream_timelines(
                ids, page_size=options.page_size, ascending=options.ascending, concurrency=options.concurrency
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    _take(event, export.writer, progress, outcome)
    finally:
        if filling is not None:
            filling.cancel()
            await asyncio.gather(filling, return_exceptions=True)
        ids.close()
        progress.finish()
    _summary(progress, ids, outcome, client)
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _take(event: ExportEvent, writer: ExportWriter, progress: Progress, outcome: _Outcome) -> None:
    """One event into the output; a case whose cells cannot be written fails alone."""
    if isinstance(event, TimelinePage):
        writer.page(event.index, event.case_id, event.cells)
        progress.update(cells=len(event.cells))
        return
    error = writer.done(event.index, event.case_id, event.error)
    if error is not None:
        outcome.fail(event.case_id, error)
    else:
        outcome.written_cells += event.cells
    progress.update(case=True, failed=error is not None)


def _stdout() -> BinaryIO:
    if sys.stdout is None:
        raise UsageError("stdout is closed: give --output FILE")
    return sys.stdout.buffer


def _summary(progress: Progress, ids: IdQueue, outcome: _Outcome, client: CasesClient) -> None:
    elapsed = time.monotonic() - progress.started
    notes = [f"{outcome.failed} failed"]
    if ids.already_done:
        notes.append(f"{ids.already_done} already done")
    if ids.duplicates:
        notes.append(f"{ids.duplicates} duplicate ids skipped")
    print(
        f"exported {progress.done - outcome.failed} cases ({', '.join(notes)}), {outcome.written_cells:,} cells"
        f" in {elapsed:.1f}s; {client.stats.requests} requests, {client.stats.retries} retries,"
        f" {client.stats.throttled} rate limited",
        file=sys.stderr,
    )
    for case_id, error in outcome.failures:
        print(f"  failed {case_id}: {type(error).__name__}: {error}", file=sys.stderr)
    if outcome.failed > len(outcome.failures):
        print(f"  ... and {outcome.failed - len(outcome.failures)} more", file=sys.stderr)


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
                    _stdout().write(cell_line(args.case_id, cell))
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
    if not watchers and not args.json:
        print(f"{args.case_id} has no watchers", file=sys.stderr)
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
        options = ExportOptions(
            case_ids=[case.key for case in api.cases.values()],
            output=output,
            page_size=args.page_size,
            concurrency=args.concurrency,
        )
        client = CasesClient(api.api_key, api.app_key, base_url=api.url, max_concurrency=args.concurrency)
        status = await run_export(options, client)
        expected = sum(len(case.cells) for case in api.cases.values())
    written = _count_lines(Path(output)) if output != "-" else expected if status == EXIT_OK else -1
    where = "stdout" if output == "-" else output
    print(f"demo: wrote {written:,} of {expected:,} cells to {where}", file=sys.stderr)
    return status if written == expected else EXIT_FAILED


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


# -- parsing ----------------------------------------------------------------------


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
    return parser


async def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return await _demo(args)
    if args.command == "export":
        options = ExportOptions(
            case_ids=args.case_ids,
            input=args.input,
            output=args.output,
            resume=args.resume,
            overwrite=args.overwrite,
            page_size=args.page_size,
            ascending=args.ascending,
            concurrency=args.concurrency,
        )
        return await run_export(options, _client(args, max_concurrency=args.concurrency))
    handlers = {"timeline": _timeline, "watch": _watch, "unwatch": _watch, "watchers": _watchers}
    return await handlers[args.command](args, _client(args))


# Signals that stop a run the way Ctrl-C does: the output is flushed and
# journaled, and the exit status is 128 + the signal's number.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def _run_until_signalled(args: argparse.Namespace, received: list[signal.Signals]) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop(sig: signal.Signals) -> None:
        received.append(sig)
        task.cancel()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    try:
        return await _run(args)
    finally:
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _explain(exc: CasesError, args: argparse.Namespace) -> str:
    """One line for an error that stopped a whole run, saying what to check."""
    site = args.site or os.environ.get("DD_SITE") or "datadoghq.com"
    where = f"--base-url {args.base_url}" if args.base_url else f"site {site}"
    if isinstance(exc, (Unauthorized, Forbidden)):
        return (
            f"the API refused the credentials ({exc}); check DD_API_KEY and DD_APP_KEY, and that DD_SITE or --site"
            f" names your organization's site (in use: {where})"
        )
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        return f"{exc}; try again later, or raise --max-wait"
    if isinstance(exc, TransportError) and not isinstance(exc, ClientClosed):
        return f"cannot reach the API ({where}): {exc}"
    return f"{type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``aiocases`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    received: list[signal.Signals] = []
    resume = " (rerun with --resume to continue)" if getattr(args, "output", None) not in (None, "-") else ""
    try:
        return asyncio.run(_run_until_signalled(args, received))
    except (UsageError, ValueError, ResumeError) as exc:
        print(f"aiocases: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CasesError as exc:
        print(f"aiocases: error: {_explain(exc, args)}{resume}", file=sys.stderr)
        return EXIT_FAILED
    except (KeyboardInterrupt, asyncio.CancelledError):
        sig = received[0] if received else signal.SIGINT
        print(f"aiocases: interrupted by {sig.name}{resume}", file=sys.stderr)
        return 128 + sig
    except BrokenPipeError:
        # `aiocases export | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"aiocases: error: cannot write{where}: {exc.strerror or exc}{resume}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
