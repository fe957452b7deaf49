"""``aiocases export``: case ids in, JSON Lines out, with progress, a
journal for ``--resume``, and a summary."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import sys
import textwrap
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from attrs import define, field, frozen

from aiocases.cli.errors import EXIT_FAILED, EXIT_OK, UsageError, stdout
from aiocases.client import CasesClient
from aiocases.config import DEFAULTS
from aiocases.errors import CasesError
from aiocases.export import ExportEvent, TimelinePage
from aiocases.files.ids import IdQueue, InputError, clean, read_ids
from aiocases.files.journal import journal_path
from aiocases.files.lines import LINE_FORMAT
from aiocases.files.output import ExportFile
from aiocases.files.writer import ExportWriter
from aiocases.models import JSON, Case
from aiocases.tasks import cancel_and_wait

__all__ = [
    "ExportOptions",
    "IdSources",
    "Outcome",
    "Progress",
    "check_sources",
    "fill_ids",
    "open_input",
    "run_export",
    "summary",
]


class IdSources(Protocol):
    """Where the ids of a run come from: arguments, then ``input``, then ``query`` (or every case)."""

    @property
    def case_ids(self) -> Sequence[str]: ...
    @property
    def input(self) -> str | None: ...
    @property
    def query(self) -> str | None: ...
    @property
    def all_cases(self) -> bool: ...


@frozen
class ExportOptions:
    """What ``aiocases export`` (and the demo) export, and where to."""

    case_ids: Sequence[str] = ()
    input: str | None = None
    query: str | None = None  # a search whose cases are exported
    all_cases: bool = False  # every case a search of everything finds
    output: str | None = None  # None or "-": stdout
    resume: bool = False
    overwrite: bool = False
    page_size: int = DEFAULTS.page_size
    ascending: bool = True
    concurrency: int = DEFAULTS.max_concurrency


# Failures kept for the summary; the rest are counted.
_FAILURES_SHOWN = 20


@define
class Outcome:
    """What a run's cases came to: failures (the first few kept) and cells written."""

    failures: list[tuple[str, BaseException]] = field(factory=list)
    failed: int = 0
    written_cells: int = 0

    def fail(self, case_id: str, error: BaseException) -> None:
        """Count a failed case."""
        self.failed += 1
        if len(self.failures) < _FAILURES_SHOWN:
            self.failures.append((case_id, error))


def _open_output(options: ExportOptions) -> ExportFile:
    if options.output in (None, "-"):
        if options.resume:
            raise UsageError("--resume needs --output FILE")
        return ExportFile.stream(stdout())
    output = Path(options.output)
    settings: dict[str, JSON] = {"ascending": options.ascending, "format": LINE_FORMAT, "query": options.query}
    if options.all_cases:
        settings["all_cases"] = True
    try:
        return ExportFile.open(output, resume=options.resume, overwrite=options.overwrite, settings=settings)
    except IsADirectoryError:
        raise UsageError(f"--output {output} is a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from None


async def run_export(options: ExportOptions, client: CasesClient) -> int:
    """``aiocases export``: returns the exit status."""
    fd = open_input(options.input)
    try:
        check_sources(options, fd)
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
    outcome = Outcome()
    progress = Progress(sys.stderr, ids, client, outcome)
    try:
        ids.mark_done(export.completed())
        async with client:
            filling = asyncio.ensure_future(fill_ids(ids, options, fd, client))
            events = client.stream_timelines(
                ids, page_size=options.page_size, ascending=options.ascending, concurrency=options.concurrency
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    _take(event, export.writer, progress, outcome)
    finally:
        if filling is not None:
            await cancel_and_wait([filling])
        ids.close()
        progress.finish()
    summary(progress, ids, outcome, client)
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _take(event: ExportEvent, writer: ExportWriter, progress: Progress, outcome: Outcome) -> None:
    """One event into the output; a case whose cells cannot be written fails alone."""
    if isinstance(event, TimelinePage):
        writer.page(event.index, event.case_id, event.cells)
        progress.update(cells=len(event.cells))
        return
    error = writer.done(event.index, event.case_id, event.error)
    if error is not None:
        outcome.fail(event.case_id, error)
    else:
        outcome.written_cells += event.cell_count
    progress.update(case=True)


def summary(
    progress: Progress, ids: IdQueue, outcome: Outcome, client: CasesClient, verb: str = "exported", where: str = ""
) -> None:
    """The run's summary on stderr, wrapped at 80 columns: cases, cells,
    requests, and the first failures."""
    elapsed = time.monotonic() - progress.started
    stats = client.stats
    notes = [f"{outcome.failed:,} failed"]
    if ids.already_done:
        notes.append(f"{ids.already_done:,} already done")
    if ids.duplicates:
        notes.append(f"{_count(ids.duplicates, 'duplicate id')} skipped")
    text = (
        f"{verb} {_count(progress.done - outcome.failed, 'case')} ({', '.join(notes)}),"
        f" {_count(outcome.written_cells, 'cell')}{where} in {elapsed:.1f}s; {_count(stats.requests, 'request')},"
        f" {_count(stats.retries, 'retry', 'retries')}, {stats.throttled:,} rate limited"
    )
    lines = textwrap.wrap(text, 80, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
    print("\n".join(lines), file=sys.stderr)
    for case_id, error in outcome.failures:
        print(f"  failed {case_id}: {type(error).__name__}: {error}", file=sys.stderr)
    if outcome.failed > len(outcome.failures):
        print(f"  ... and {outcome.failed - len(outcome.failures)} more", file=sys.stderr)


def _count(number: int, one: str, many: str | None = None) -> str:
    """``1 case``, ``1,260 cases``."""
    return f"{number:,} {one if number == 1 else many or one + 's'}"


def check_sources(options: IdSources, fd: int | None) -> None:
    """Refuse a run without case ids, or with a blank search, before anything is written."""
    if options.query is not None and not options.query.strip():
        raise UsageError("--query is blank: give a search such as 'status:open', or --all-cases for every case")
    if not options.case_ids and fd is None and options.query is None and not options.all_cases:
        raise UsageError(
            "no case ids: give them as arguments, with --input FILE (- for stdin), --query Q or --all-cases"
        )


def open_input(name: str | None) -> int | None:
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
        fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise UsageError(f"cannot read --input {name}: {exc.strerror}") from None
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"cannot read --input {name}: it is a directory")
    return fd


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


async def fill_ids(queue: IdQueue, options: IdSources, fd: int | None, client: CasesClient) -> None:
    """Queue the ids of the arguments, then of the input, as they arrive,
    then of the search's cases, a page at a time (never all in memory)."""
    error: BaseException | None = None
    try:
        queue.add(clean(options.case_ids))
        if fd is not None:
            async for batch in read_ids(fd, options.input or "-"):
                queue.add(batch)
        if options.query is not None or options.all_cases:
            await _fill_from_search(queue, client.search_cases(options.query))
    except InputError as exc:
        error = UsageError(str(exc))
    except CasesError as exc:
        error = exc
    finally:
        queue.end(error)


async def _fill_from_search(queue: IdQueue, search: AsyncGenerator[Case, None]) -> None:
    batch: list[str] = []
    async with contextlib.aclosing(search) as cases:
        async for case in cases:
            batch.append(case.id)
            if len(batch) >= _SEARCH_BATCH:
                queue.add(batch)
                batch = []
    queue.add(batch)


# Ids from a search are queued a page at a time.
_SEARCH_BATCH = 100


class Progress:
    """A one-line progress display on a terminal, as wide as the terminal; silent otherwise."""

    def __init__(self, stream: TextIO | None, ids: IdQueue, client: CasesClient, outcome: Outcome) -> None:
        self.stream = stream
        self.enabled = stream is not None and stream.isatty()
        self.ids = ids
        self.client = client
        self.outcome = outcome
        self.started = time.monotonic()
        self.done = self.cells = 0
        self._shown = 0.0

    def update(self, *, cells: int = 0, case: bool = False, force: bool = False) -> None:
        self.cells += cells
        self.done += case
        now = time.monotonic()
        if self.stream is None or not self.enabled or (not force and now - self._shown < 0.1):
            return
        self._shown = now
        self.stream.write(f"\r{self.line(now)[: self._width() - 1]}\x1b[K")  # the last column may wrap
        self.stream.flush()

    def line(self, now: float) -> str:
        """``cases 12/60  cells 2,160  4,210/s  failed 0  429s 0  held 1.5s``
        (held: the wall time during which the rate limit held requests)."""
        total = "?" if self.ids.total is None else str(self.ids.total)
        stats = self.client.stats
        rate = self.cells / max(now - self.started, 1e-9)
        return (
            f"cases {self.done}/{total}  cells {self.cells:,}  {rate:,.0f}/s  failed {self.outcome.failed}"
            f"  429s {stats.throttled}  held {stats.rate_limit_held:.1f}s"
        )

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns if self.stream else 0
        except (OSError, ValueError):
            columns = 0
        return columns if columns >= 20 else shutil.get_terminal_size().columns

    def finish(self) -> None:
        if self.enabled and self.stream is not None:
            self.update(force=True)
            self.stream.write("\n")
