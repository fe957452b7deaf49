"""``aiocases load``: cases and their timelines into a warehouse through dlt
(:mod:`aiocases.dlt`), DuckDB at ``./aiocases.duckdb`` unless told otherwise.

Everything the user gives is checked before anything is written or sent:
the destination (known to dlt, its packages installed), the dataset and
pipeline names (taken by the destination as given), the pipelines directory
(one that can be made), the ids.  A load a kill interrupted is finished
first (dlt's pending packages), then the new one runs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from aiocases.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from aiocases.cli.exporting import check_sources, open_input
from aiocases.client import CasesClient
from aiocases.errors import CasesError
from aiocases.files.ids import clean

__all__ = ["add_load", "run_load"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def add_load(sub: argparse.ArgumentParser) -> None:
    """The arguments of ``aiocases load``."""
    sub.add_argument("case_ids", nargs="*", metavar="CASE_ID", help="case UUIDs or keys (PROJ-123)")
    sub.add_argument("--input", metavar="FILE", help="read case ids from FILE (- for stdin), one per line")
    cases = sub.add_mutually_exclusive_group()
    cases.add_argument("--query", metavar="Q", help="load the cases this search finds, e.g. 'status:open'")
    cases.add_argument("--all-cases", action="store_true", help="load every case of the organization")
    sub.add_argument(
        "--destination",
        default="duckdb",
        help="where to load, any destination dlt names (default duckdb: ./aiocases.duckdb)",
    )
    sub.add_argument("--dataset-name", default="datadog_cases", help="the dataset (schema) (default datadog_cases)")
    sub.add_argument("--pipeline-name", default="aiocases", help="dlt's name of the pipeline (default aiocases)")
    sub.add_argument("--pipelines-dir", metavar="DIR", help="where dlt keeps its state (default ~/.dlt/pipelines)")
    sub.add_argument(
        "--full-refresh", action="store_true", help="drop the tables and bookmarks and load everything again"
    )


async def run_load(args: argparse.Namespace, client: CasesClient) -> int:
    """Check everything given, then run the pipeline; the exit status."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no network but the API's
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # dlt's warnings are not the user's business
    dlt = _import("dlt", "aiocases load needs dlt: pip install 'aiocases[dlt]'")
    destination, pipelines_dir = _checked(args)
    ids = await asyncio.to_thread(_ids, args)
    if ids == []:
        raise UsageError(f"--input {args.input} holds no case ids")
    from aiocases.dlt import cases_source

    failed: dict[str, CasesError] = {}
    started = time.monotonic()
    async with client:
        query = None if ids is not None else args.query
        progress = _Progress(sys.stderr)
        source = cases_source(query, case_ids=ids, client=client, on_error=failed.__setitem__, on_case=progress)
        pipeline = dlt.pipeline(
            pipeline_name=args.pipeline_name,
            destination=destination,
            dataset_name=args.dataset_name,
            pipelines_dir=pipelines_dir,
        )
        print(f"load: into {_where(args)}", file=sys.stderr)
        try:
            rows = await asyncio.to_thread(_run, pipeline, source, args.full_refresh)
        finally:
            progress.close()
    took = time.monotonic() - started
    print(
        f"loaded {rows.get('cases', 0):,} cases and {rows.get('timeline_cells', 0):,} new or changed cells"
        f" into {_where(args)} in {took:.1f} s ({client.stats.requests:,} requests"
        + (f", {len(failed):,} cases failed: they come again next run" if failed else "")
        + ")",
        file=sys.stderr,
    )
    for case_id, error in list(failed.items())[:20]:
        print(f"aiocases: {case_id}: {error}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _checked(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The destination and the pipelines directory, once every option is found good (nothing written yet)."""
    destination = _destination(args.destination)
    _check_name("dataset name", args.dataset_name, destination, args.destination)
    if not _NAME.match(args.pipeline_name):
        raise UsageError(f"--pipeline-name {args.pipeline_name!r}: use letters, digits, '_', '.' and '-'")
    pipelines_dir = _pipelines_dir(args.pipelines_dir)
    fd = open_input(args.input)  # refused now if it cannot be read
    if fd not in (None, 0):
        os.close(fd)
    check_sources(args, fd)
    if (args.case_ids or args.input is not None) and (args.query is not None or args.all_cases):
        raise UsageError("give case ids (as arguments or --input) or --query/--all-cases, not both")
    return destination, pipelines_dir


def _import(name: str, missing: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UsageError(missing) from None


def _destination(name: str) -> Any:
    """dlt's destination of this name, its packages importable; DuckDB at ./aiocases.duckdb by default."""
    reference = _import("dlt.common.destination", "aiocases load needs dlt: pip install 'aiocases[dlt]'")
    exceptions = _import("dlt.common.destination.exceptions", "")
    credentials = str(Path("aiocases.duckdb").absolute()) if _default_duckdb(name) else None
    try:
        destination = reference.Destination.from_reference(name, credentials=credentials)
    except (exceptions.UnknownDestinationModule, exceptions.InvalidDestinationReference, ValueError):
        raise UsageError(
            f"--destination {name!r} is not one dlt knows: duckdb, postgres, bigquery, snowflake, filesystem,"
            " motherduck, ... (see dlt's list of destinations)"
        ) from None
    try:
        destination.client_class  # noqa: B018 - imports the destination's own packages
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise UsageError(
            f"the {name} destination needs packages that are not installed ({missing}): pip install 'dlt[{name}]'"
        ) from None
    return destination


def _check_name(what: str, name: str, destination: Any, destination_name: str) -> None:
    """Refuse a name the destination would change (dlt would otherwise load into another, silently)."""
    naming = _import("dlt.common.normalizers.naming.snake_case", "")
    capabilities = destination.capabilities()
    convention = naming.NamingConvention(max_length=capabilities.max_identifier_length)
    normalized = convention.normalize_identifier(name) if name.strip() else ""
    if not normalized or normalized != name:
        raise UsageError(
            f"the {what} {name!r} is not one {destination_name} takes as given"
            + (f" (it would become {normalized!r})" if normalized else "")
            + ": use lowercase letters, digits and underscores, starting with a letter"
        )


def _pipelines_dir(given: str | None) -> str | None:
    """The pipelines directory, refused now if it cannot be made (nothing is made yet)."""
    if given is None:
        return None
    path = Path(given).absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        reason = "is not a directory" if not existing.is_dir() else "is not writable"
        raise UsageError(f"--pipelines-dir {given}: {existing} {reason}")
    return str(path)


def _ids(args: argparse.Namespace) -> list[str] | None:
    """The case ids of the arguments and of ``--input`` (``None``: a search gives them)."""
    ids = clean(args.case_ids)
    if args.input is not None:
        try:
            data = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
            ids += clean(data.decode("utf-8-sig").splitlines())
        except UnicodeDecodeError as exc:
            raise UsageError(f"--input {args.input} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise UsageError(f"cannot read --input {args.input}: {exc.strerror or exc}") from None
    if ids:
        return list(dict.fromkeys(ids))
    return None if args.query is not None or args.all_cases else []


def _run(pipeline: Any, source: Any, full_refresh: bool) -> dict[str, int]:
    """Finish a load a kill interrupted, then load ``source``: the rows normalized, by table."""
    exceptions = _import("dlt.pipeline.exceptions", "")
    try:
        if pipeline.has_pending_data:
            print("load: finishing the load an earlier run left", file=sys.stderr)
            pipeline.run()
        pipeline.run(
            source, refresh="drop_sources" if full_refresh else None, loader_file_format=_file_format(pipeline)
        )
    except exceptions.PipelineStepFailed as exc:
        cause = _cause(exc)
        if isinstance(cause, CasesError):
            raise cause from None
        raise LoadFailed(f"the load failed at dlt's {exc.step} step: {cause}") from None
    counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace else {}
    return {table: int(count) for table, count in counts.items()}


def _file_format(pipeline: Any) -> str | None:
    """JSON Lines where the destination takes it: DuckDB loads 20,000 cells from it in 0.5 s at 270 MiB, and
    from its default (one INSERT of every row) in 4 s at over 1 GiB (``benchmarks/run.py --only load``)."""
    formats = pipeline.destination.capabilities().supported_loader_file_formats
    return "jsonl" if "jsonl" in formats else None


def _cause(exc: BaseException) -> BaseException:
    """The first error that is not dlt's wrapping of another."""
    seen = exc
    while True:
        inner = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen:
            return seen
        if isinstance(inner, CasesError):
            return inner
        seen = inner


class _Progress:
    """Cases and cells fetched, on one line of a terminal (nothing elsewhere), at most ten times a second."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream if stream.isatty() else None
        self.cases = self.cells = 0
        self._shown = 0.0

    def __call__(self, case_id: str, cells: int) -> None:
        self.cases += 1
        self.cells += cells
        now = time.monotonic()
        if self.stream is not None and now - self._shown >= 0.1:
            self._shown = now
            self.stream.write(f"\rload: {self.cases:,} cases, {self.cells:,} new cells fetched\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None and self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class LoadFailed(CasesError):
    """dlt could not finish: one line for the user."""


def _default_duckdb(destination: str) -> bool:
    """DuckDB with no file configured the dlt way (the environment, ``.dlt/secrets.toml``): ./aiocases.duckdb."""
    if destination != "duckdb":
        return False
    dlt = _import("dlt", "aiocases load needs dlt: pip install 'aiocases[dlt]'")
    return dlt.secrets.get("destination.duckdb.credentials") is None


def _where(args: argparse.Namespace) -> str:
    if _default_duckdb(args.destination):
        return f"./aiocases.duckdb (dataset {args.dataset_name})"
    return f"{args.destination} (dataset {args.dataset_name})"
