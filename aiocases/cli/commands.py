"""The single-case commands (``timeline``, ``watch``, ``unwatch``,
``watchers``, ``comment``, ``uncomment``), ``demo``, which runs an export
against the built-in fake, and where every command is dispatched (``case``,
``projects`` and ``types`` live in :mod:`aiocases.cli.lifecycle`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import TypeVar

import attrs

from aiocases.cli import lifecycle
from aiocases.cli.errors import EXIT_FAILED, EXIT_OK, UsageError, stdout
from aiocases.cli.exporting import ExportOptions, run_export
from aiocases.cli.loading import run_load
from aiocases.cli.syncing import SyncOptions, run_sync
from aiocases.client import CasesClient
from aiocases.config import DEFAULTS
from aiocases.files.lines import cell_line
from aiocases.models import Case, TimelineCell
from aiocases.parsing import to_api_json

__all__ = ["run"]


def _client(args: argparse.Namespace, max_concurrency: int = DEFAULTS.max_concurrency) -> CasesClient:
    return CasesClient(
        site=args.site,
        base_url=args.base_url,
        max_concurrency=max_concurrency,
        max_wait=args.max_wait,
        budget=getattr(args, "redis", None),
    )


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
                    stdout().write(cell_line(args.case_id, cell))
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


async def _cases(args: argparse.Namespace, client: CasesClient) -> int:
    out = stdout()
    found = 0
    async with client:
        search = client.search_cases(args.query, sort=args.sort, ascending=not args.descending)
        async with contextlib.aclosing(search) as cases:
            async for case in cases:
                if args.json:
                    out.write(json.dumps(to_api_json(case)).encode() + b"\n")
                else:
                    if not found:
                        out.write(f"{'KEY':<12} {'STATUS':<12} {'PRIORITY':<11} TITLE\n".encode())
                    out.write(_row(case).encode("utf-8", "backslashreplace") + b"\n")
                found += 1
    if not found:
        print("no cases found" + (f" for {args.query!r}" if args.query else ""), file=sys.stderr)
    return EXIT_OK


def _row(case: Case) -> str:
    return f"{case.key or case.id:<12} {case.status or '-':<12} {case.priority or '-':<11} {case.title or ''}"


def _message_from_stdin() -> str:
    """The comment piped in: UTF-8 text, or a :class:`UsageError` in one line."""
    try:
        data = sys.stdin.buffer.read() if sys.stdin is not None else None
    except (OSError, ValueError):  # closed: ValueError on a closed file object, EBADF on a closed descriptor
        data = None
    if data is None:
        raise UsageError("MESSAGE - reads the comment from stdin, but stdin is closed")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the comment on stdin is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


async def _comment(args: argparse.Namespace, client: CasesClient) -> int:
    message = args.message
    if message == "-":
        message = await asyncio.to_thread(_message_from_stdin)
    async with client:
        cell = await client.add_comment(args.case_id, message)
    if args.json:
        stdout().write(cell_line(args.case_id, cell))
    else:
        print(cell.id)
    return EXIT_OK


async def _uncomment(args: argparse.Namespace, client: CasesClient) -> int:
    async with client:
        await client.delete_comment(args.case_id, args.cell_id)
    print(f"deleted comment {args.cell_id} from {args.case_id}", file=sys.stderr)
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
    if args.output is not None:
        return await _demo_into(args, args.output)
    with tempfile.TemporaryDirectory(prefix="aiocases-demo-") as scratch:
        return await _demo_into(args, str(Path(scratch) / "export.jsonl"))


async def _demo_into(args: argparse.Namespace, output: str) -> int:
    from aiocases.testing import FakeCasesAPI, Faults, RateLimitRule

    rule = RateLimitRule(limit=args.rate_limit, period=1, name="cases") if args.rate_limit else None
    faults = Faults(seed=args.seed, server_error=args.faults / 2, truncated=args.faults / 2) if args.faults else None
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
    where = {"-": "stdout", args.output: args.output}.get(
        output, "a temporary file, now removed (--output FILE keeps it)"
    )
    print(f"demo: wrote {written:,} of {expected:,} cells to {where}", file=sys.stderr)
    return status if written == expected else EXIT_FAILED


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


_O = TypeVar("_O", ExportOptions, SyncOptions)


def _options(cls: type[_O], args: argparse.Namespace) -> _O:
    """A command's options, each field from the argument of its name."""
    return cls(**{field.name: getattr(args, field.name) for field in attrs.fields(cls) if hasattr(args, field.name)})


async def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; returns the exit status."""
    if args.command == "demo":
        return await _demo(args)
    if args.command == "export":
        return await run_export(_options(ExportOptions, args), _client(args, max_concurrency=args.concurrency))
    if args.command == "sync":
        return await run_sync(_options(SyncOptions, args), _client(args, max_concurrency=args.concurrency))
    if args.command == "load":
        return await run_load(args, _client(args))
    if args.command in ("case", "projects", "types"):
        return await lifecycle.run(args, _client(args))
    handlers = {
        "timeline": _timeline,
        "watch": _watch,
        "unwatch": _watch,
        "watchers": _watchers,
        "cases": _cases,
        "comment": _comment,
        "uncomment": _uncomment,
    }
    return await handlers[args.command](args, _client(args))
