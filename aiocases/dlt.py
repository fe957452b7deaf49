"""Cases and their timelines as a dlt source (``pip install 'aiocases[dlt]'``),
for DuckDB, Postgres, BigQuery, Snowflake, Parquet files or any destination
dlt names::

    import dlt
    from aiocases.dlt import cases_source

    pipeline = dlt.pipeline("aiocases", destination="duckdb", dataset_name="datadog_cases")
    pipeline.run(cases_source("status:open"))

The rules, which make a load exactly once:

1. ``cases``: one row per case, merged on ``id``: every case the search
   finds (or of ``case_ids``), every run, so a case that changed is updated.
2. ``timeline_cells``: one row per cell, merged on ``id``, walked as
   ``aiocases sync`` walks: newest first down to the case's bookmark, so a
   case with nothing new costs one request.
3. The bookmarks (one per case UUID, :class:`~aiocases.sync.Bookmark`) live
   in the resource's dlt state, which dlt commits with the data: a run
   killed at any moment keeps the bookmarks of the last committed load, so
   nothing is lost, and the cells it yields again merge on their id, so
   nothing is doubled.
4. A case whose timeline fails keeps its bookmark (its cells come next run)
   and is reported to ``on_error``; an error every case would meet (keys
   refused, no connection) stops the load.
5. Every request goes through one :class:`~aiocases.CasesClient` (so its
   rate-limit gate and a shared Redis budget apply), on an event loop: the
   client's own when one is given (call ``cases_source`` in that loop and
   run the pipeline in another thread, e.g. ``asyncio.to_thread``), else a
   loop in a thread of the source's own.  Pages are yielded as they come.

Importing :mod:`aiocases` does not import dlt; importing this module does.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from aiocases import arguments
from aiocases.client import CasesClient
from aiocases.errors import BadRequest, CasesError, InvalidArgument, NotFound
from aiocases.export import TimelinePage
from aiocases.models import Case, TimelineCell
from aiocases.parsing import to_api_json
from aiocases.sync import Bookmark, CaseSynced

try:
    _dlt = importlib.import_module("dlt")
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("aiocases.dlt needs dlt: pip install 'aiocases[dlt]'") from exc

__all__ = ["CASE_COLUMNS", "CELL_COLUMNS", "case_row", "cases_source", "cell_row"]

_T = TypeVar("_T")
_log = logging.getLogger("aiocases")
#: Cases per yielded batch: a search page, and how many timelines one batch walks at once.
_BATCH = 100
_TIMES = ("created_at", "modified_at", "closed_at", "archived_at")
ErrorHook = Callable[[str, CasesError], None]


def cases_source(
    query: str | None = None,
    *,
    case_ids: Sequence[str] | None = None,
    client: CasesClient | None = None,
    on_error: ErrorHook | None = None,
    on_case: Callable[[str, int], None] | None = None,
    **client_options: Any,
) -> Any:
    """The dlt source of the cases ``query`` finds (search syntax, such as
    ``status:open``; ``None`` and no ``case_ids``: every case), or of
    ``case_ids`` (UUIDs or keys): resources ``cases`` and ``timeline_cells``.
    ``client``: an open client to use (see rule 5), else one is made from
    ``client_options`` (``CasesClient``'s keywords).  ``on_error(case_id,
    error)`` hears of each case that failed (default: a warning logged),
    ``on_case(case_id, new_cells)`` of each whose new cells were all yielded."""
    if case_ids is not None and query is not None:
        raise InvalidArgument("give a query or case_ids, not both")
    ids = None if case_ids is None else arguments.strings("case_ids", case_ids)
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise InvalidArgument(f"query must be a non-blank search (such as 'status:open'), got {query!r:.80}")
    if client is not None and client_options:
        raise InvalidArgument("give client= or the options of a client to make, not both")
    bridge = _Bridge(client, client_options)
    failed = on_error or _log_error

    def cases() -> Iterator[list[dict[str, Any]]]:
        for batch in bridge.iterate(lambda c: _cases(c, query, ids, failed)):
            yield [case_row(case) for case in batch]

    def timeline_cells(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        state = _dlt.current.resource_state().setdefault("bookmarks", {})
        bookmarks = {row["id"]: Bookmark.from_json(state[row["id"]]) for row in rows if row["id"] in state}
        walk = bridge.iterate(lambda c: c.sync_timelines([row["id"] for row in rows], bookmarks))
        for event in walk:
            if isinstance(event, TimelinePage):
                yield [cell_row(event.case_id, cell) for cell in event.cells]
            elif isinstance(event, CaseSynced) and event.bookmark is not None:
                state[event.case_id] = event.bookmark.to_json()
                if on_case is not None:
                    on_case(event.case_id, event.cell_count)
            elif isinstance(event, CaseSynced) and event.error is not None:
                failed(event.case_id, event.error)

    case_resource = _dlt.resource(
        cases, name="cases", primary_key="id", write_disposition="merge", columns=_columns(CASE_COLUMNS)
    )
    cell_resource = _dlt.transformer(
        timeline_cells,
        data_from=case_resource,
        name="timeline_cells",
        primary_key="id",
        write_disposition="merge",
        columns=_columns(CELL_COLUMNS),
    )

    def aiocases() -> tuple[Any, Any]:
        return case_resource, cell_resource

    source = _dlt.source(aiocases, name="aiocases")()
    weakref.finalize(source, bridge.close)
    return source


#: The columns of each table that may be empty in a load, by type (so that they exist from the first).
CASE_COLUMNS = {
    "timestamp": ("created_at", "modified_at", "closed_at", "archived_at"),
    "text": ("key", "title", "status_name", "priority", "project_id", "assignee_id", "created_by_id", "modified_by_id"),
    "bigint": ("comment_count",),
}
CELL_COLUMNS = {
    "timestamp": ("created_at", "modified_at", "deleted_at"),
    "text": ("case_id", "type", "author_id", "author_name", "author_email", "author_handle", "message"),
}


def _columns(types: dict[str, tuple[str, ...]]) -> dict[str, dict[str, Any]]:
    return {name: {"data_type": kind, "nullable": True} for kind, names in types.items() for name in names}


def case_row(case: Case) -> dict[str, Any]:
    """A case as a row of ``cases``: its attributes (timestamps as datetimes,
    the labels as ``labels``), and the ids its relationships point to."""
    attributes = dict(to_api_json(case.attributes))
    attributes.pop("created_by_author", None)  # search results only: the creator is created_by_id
    labels = attributes.pop("attributes", {})
    row: dict[str, Any] = {"id": case.id, **attributes, "labels": labels}
    for name in _TIMES:
        row[name] = getattr(case.attributes, name)
    for name in ("project", "assignee", "created_by", "modified_by"):
        row[f"{name}_id"] = case.related(name)
    return row


def cell_row(case_id: str, cell: TimelineCell) -> dict[str, Any]:
    """A cell as a row of ``timeline_cells``."""
    attributes = cell.attributes
    author = attributes.author.content if attributes.author else None
    content = attributes.cell_content
    return {
        "case_id": case_id,
        "id": cell.id,
        "type": attributes.type,
        "created_at": attributes.created_at,
        "modified_at": attributes.modified_at,
        "deleted_at": attributes.deleted_at,
        "author_id": author.id if author else None,
        "author_name": author.name if author else None,
        "author_email": author.email if author else None,
        "author_handle": author.handle if author else None,
        "message": content.message if content else None,
    }


async def _cases(
    client: CasesClient, query: str | None, ids: list[str] | None, failed: ErrorHook
) -> AsyncIterator[list[Case]]:
    """The cases in batches: a search's, or each of ``ids`` read (a case that cannot be is reported)."""
    if ids is None:
        batch: list[Case] = []
        async for case in client.search_cases(query):
            batch.append(case)
            if len(batch) == _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        read: list[Case | BaseException] = await asyncio.gather(
            *(client.get_case(case_id) for case_id in chunk), return_exceptions=True
        )
        found = []
        for case_id, outcome in zip(chunk, read, strict=True):
            if isinstance(outcome, (NotFound, BadRequest)):
                failed(case_id, outcome)
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                found.append(outcome)
        if found:
            yield found


def _log_error(case_id: str, error: CasesError) -> None:
    _log.warning("case %s not loaded (it comes again next run): %s", case_id, error)


class _Bridge:
    """The one client of a source, driven from dlt's threads: each step of an
    async walk runs on the client's event loop (rule 5)."""

    def __init__(self, client: CasesClient | None, options: dict[str, Any]) -> None:
        self._client = client
        self._options = options
        self._owned = client is None
        self._thread: threading.Thread | None = None
        if client is None:
            self._loop = asyncio.new_event_loop()
            self._loop_thread = -1
            return
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InvalidArgument(
                "with client=, call cases_source in the event loop the client runs in (and run the pipeline"
                " in another thread, as asyncio.to_thread does); or leave client out and give its options"
            ) from None
        self._loop_thread = threading.get_ident()

    def _call(self, work: Awaitable[_T]) -> _T:
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("the pipeline runs in the client's event loop: run it in another thread")
        if self._owned and self._thread is None:
            self._thread = threading.Thread(target=self._loop.run_forever, name="aiocases-dlt", daemon=True)
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(_awaited(work), self._loop).result()

    async def _ready(self) -> CasesClient:
        if self._client is None:
            self._client = CasesClient(**self._options)
            await self._client.__aenter__()
        return self._client

    def iterate(self, walk: Callable[[CasesClient], AsyncIterator[_T]]) -> Iterator[_T]:
        """The items of ``walk(client)``, one step at a time on the loop; closed with the iterator."""

        async def start() -> AsyncIterator[_T]:
            return walk(await self._ready())

        items = self._call(start())
        try:
            while True:
                try:
                    yield self._call(items.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None and not self._loop.is_closed():
                self._call(aclose())

    def close(self) -> None:
        """Close the client and the loop this bridge made (never a client it was given)."""
        if not self._owned or self._loop.is_closed():
            return
        if self._thread is not None:
            client, self._client = self._client, None
            if client is not None:
                self._call(client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
        self._loop.close()


async def _awaited(work: Awaitable[_T]) -> _T:
    return await work
