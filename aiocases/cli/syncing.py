"""``aiocases sync``: an export kept current, each run writing only what is new.

The state directory (:mod:`aiocases.files.syncstate`) holds the bookmarks and one
numbered JSON Lines file per run; a run killed at any moment is recovered by
the next, so across all the files no cell is lost or written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from attrs import frozen

from aiocases.cli.errors import EXIT_FAILED, EXIT_OK, UsageError
from aiocases.cli.exporting import Outcome, Progress, check_sources, fill_ids, open_input, summary
from aiocases.client import CasesClient
from aiocases.config import DEFAULTS
from aiocases.export import TimelinePage
from aiocases.files.ids import IdQueue
from aiocases.files.syncstate import SyncState, SyncStateError
from aiocases.files.writer import ExportWriter
from aiocases.sync import Bookmark, SyncEvent
from aiocases.tasks import cancel_and_wait

__all__ = ["SyncOptions", "run_sync"]


@frozen
class SyncOptions:
    """What ``aiocases sync`` keeps current, and where its state lives."""

    state: str
    case_ids: Sequence[str] = ()
    input: str | None = None
    query: str | None = None
    all_cases: bool = False
    full_refresh: bool = False
    concurrency: int = DEFAULTS.max_concurrency


async def run_sync(options: SyncOptions, client: CasesClient) -> int:
    """``aiocases sync``: returns the exit status."""
    fd = open_input(options.input)
    try:
        check_sources(options, fd)
        try:
            with SyncState(Path(options.state)) as state:
                state.begin()
                return await _sync_into(state, options, client, fd)
        except SyncStateError as exc:
            raise UsageError(str(exc)) from None
    finally:
        if fd not in (None, 0):
            os.close(fd)


async def _sync_into(state: SyncState, options: SyncOptions, client: CasesClient, fd: int | None) -> int:
    assert state.export is not None and state.path is not None
    if state.recovered:
        print(f"recovered {state.recovered} cases of an interrupted sync", file=sys.stderr)
    writer = state.export.writer
    ids = IdQueue()
    outcome = Outcome()
    progress = Progress(sys.stderr, ids, client, outcome)
    filling: asyncio.Task[None] | None = None
    try:
        async with client:
            filling = asyncio.ensure_future(fill_ids(ids, options, fd, client))
            events = client.sync_timelines(
                ids, state.bookmarks, full_refresh=options.full_refresh, concurrency=options.concurrency
            )
            async with contextlib.aclosing(events):
                async for event in events:
                    _take(event, writer, state.bookmarks, progress, outcome)
    finally:
        if filling is not None:
            await cancel_and_wait([filling])
        ids.close()
        progress.finish()
    where = f" to {state.path}" if outcome.written_cells else " (nothing new)"
    summary(progress, ids, outcome, client, verb="synced", where=where)
    return EXIT_FAILED if outcome.failed else EXIT_OK


def _take(
    event: SyncEvent, writer: ExportWriter, bookmarks: dict[str, Bookmark], progress: Progress, outcome: Outcome
) -> None:
    """One event into the run's file; a case's bookmark is journaled with its end."""
    if isinstance(event, TimelinePage):
        writer.page(event.index, event.case_id, event.cells)
        progress.update(cells=len(event.cells))
        return
    changed = event.bookmark is not None and event.bookmark != bookmarks.get(event.case_id)
    note = event.bookmark.to_json() if changed and event.bookmark is not None else None
    error = writer.done(event.index, event.case_id, event.error, note)
    if error is not None:
        outcome.fail(event.case_id, error)
    else:
        outcome.written_cells += event.cell_count
    progress.update(case=True)
