"""Exporting many timelines at once, as a stream of page events.

:func:`stream` walks up to ``concurrency`` cases at a time and yields, in the
order they arrive, a :class:`TimelinePage` for each page of new cells and a
:class:`CaseDone` when a case ends (its cell count, or the error that stopped
it).  Memory stays bounded whatever the cases' sizes: at most ``concurrency``
pages wait for the consumer, and ids are pulled from the source only as
places free up.  :func:`collect` gathers each case whole
(:class:`CaseTimeline`), for ``CasesClient.export_timelines``.

Three kinds of task take part, so that nothing waits on anything it need not:
a *feeder* pulls ids (a slow source never holds back finished cases), a
*worker* per case walks its pages, and the consumer takes events from one
queue.  Closing the stream, cancelling its consumer or closing the client
cancels and awaits all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable

from attrs import frozen

from aiocases.errors import (
    CasesError,
    ClientClosed,
    Forbidden,
    InvalidArgument,
    RateLimited,
    TransportError,
    Unauthorized,
)
from aiocases.models import TimelineCell
from aiocases.tasks import cancel_and_wait

__all__ = [
    "CaseDone",
    "CaseIds",
    "CaseTimeline",
    "ExportEvent",
    "TimelinePage",
    "WalkCase",
    "collect",
    "is_fatal",
    "stream",
]

#: Case ids for an export: any iterable or async iterable of strings.
CaseIds = Iterable[str] | AsyncIterable[str]
#: Walks one case: its pages of new cells.
WalkCase = Callable[[str], AsyncIterator[list[TimelineCell]]]


@frozen
class TimelinePage:
    """New cells of one case, in the order walked.  ``index`` tells cases
    apart when the same id is exported twice: the case's position among the
    cases started (0-based)."""

    case_id: str
    index: int
    cells: tuple[TimelineCell, ...]


@frozen
class CaseDone:
    """A case ended: its pages held ``cell_count`` cells, and ``error`` is
    what stopped it (``None``: the walk reached its last page).  After an
    error the case's pages so far are incomplete and should be discarded."""

    case_id: str
    index: int
    cell_count: int
    error: CasesError | None = None

    @property
    def ok(self) -> bool:
        """True when every cell was fetched."""
        return self.error is None


ExportEvent = TimelinePage | CaseDone


@frozen
class CaseTimeline:
    """One case's result in an export: its cells in the order walked, or the
    error that stopped it (``cells`` is then empty: a case is all or nothing)."""

    case_id: str
    cells: tuple[TimelineCell, ...]
    error: CasesError | None = None

    @property
    def ok(self) -> bool:
        """True when every cell was fetched."""
        return self.error is None


def is_fatal(error: BaseException, *, reached: bool, max_wait: float) -> bool:
    """Whether a case's error dooms every other case too, so an export with
    ``fail_fast`` stops on it: credentials refused (401, 403), a rate-limit
    wait longer than ``max_wait``, a closed client, or a host not reached at
    all (``reached``: some response came back earlier in the export)."""
    if isinstance(error, (Unauthorized, Forbidden, ClientClosed)):
        return True
    if isinstance(error, RateLimited):
        return error.too_long or error.waits_longer_than(max_wait)
    return isinstance(error, TransportError) and not reached


class _End:
    """The feeder's last word: every case ended (``error``: the id source
    failed); or a worker's, when something no case should meet escaped it
    (a bug): the stream raises it rather than lose the case."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def _case_ids(case_ids: CaseIds) -> AsyncIterator[str]:
    if isinstance(case_ids, AsyncIterable):
        iterator = aiter(case_ids)
        try:
            async for case_id in iterator:
                yield case_id
        finally:  # a generator given as the source is closed with the export
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for case_id in case_ids:
            yield case_id


class _Export:
    """The tasks and the queue of one :func:`stream`."""

    def __init__(self, walk_case: WalkCase, concurrency: int) -> None:
        self.walk_case = walk_case
        self.queue: asyncio.Queue[ExportEvent | _End] = asyncio.Queue()
        self.room = asyncio.Semaphore(concurrency)  # pages waiting for the consumer
        self.places = asyncio.Semaphore(concurrency)  # cases in progress
        self.workers: set[asyncio.Task[None]] = set()

    async def work(self, case_id: str, index: int) -> None:
        """Walk one case into the queue: its pages, then its end.  Whatever
        ends the walk, the case's end is queued (its place is freed when the
        consumer takes it), but for the cancellation of the stream itself."""
        count = 0
        try:
            pages = self.walk_case(case_id)
            async with contextlib.aclosing(pages):  # type: ignore[type-var]
                async for page in pages:
                    await self.room.acquire()
                    count += len(page)
                    self.queue.put_nowait(TimelinePage(case_id, index, tuple(page)))
        except CasesError as exc:
            self.queue.put_nowait(CaseDone(case_id, index, count, exc))
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a bug, not the case's doing: the stream raises it
            self.queue.put_nowait(_End(exc))
        else:
            self.queue.put_nowait(CaseDone(case_id, index, count))

    async def feed(self, case_ids: CaseIds) -> None:
        """Start a worker per id as places free up; the last event is an :class:`_End`."""
        source = _case_ids(case_ids)
        end = _End()
        try:
            try:
                for index in itertools.count():
                    await self.places.acquire()
                    try:
                        case_id = await source.__anext__()
                    except StopAsyncIteration:
                        break
                    task = asyncio.ensure_future(self.work(case_id, index))
                    self.workers.add(task)
                    task.add_done_callback(self.workers.discard)
            except Exception as exc:  # the id source failed: the cases started finish, then the consumer raises it
                end = _End(exc)
            while self.workers:
                await asyncio.wait(set(self.workers))
        except asyncio.CancelledError:
            end = _End(ClientClosed("the client was closed while this export was running"))
            raise
        finally:
            await cancel_and_wait(self.workers)
            await source.aclose()  # type: ignore[attr-defined]
            self.queue.put_nowait(end)


async def stream(
    case_ids: CaseIds,
    walk_case: WalkCase,
    *,
    concurrency: int,
    fail_fast: bool,
    max_wait: float,
    track: set[asyncio.Task[None]],
) -> AsyncGenerator[ExportEvent, None]:
    """Walk the cases of ``case_ids`` with ``walk_case``, at most
    ``concurrency`` at a time, and yield their events as they come.  With
    ``fail_fast`` an error :func:`is_fatal` judges fatal is raised after the
    cases in progress are cancelled.  The feeder task is in ``track`` while it
    runs, so whoever owns the connection can cancel the export when closing."""
    export = _Export(walk_case, concurrency)
    feeder = asyncio.ensure_future(export.feed(case_ids))
    track.add(feeder)
    feeder.add_done_callback(track.discard)
    reached = False
    try:
        while True:
            event = await export.queue.get()
            if isinstance(event, _End):
                if event.error is not None:
                    raise event.error
                return
            if isinstance(event, TimelinePage):
                export.room.release()
                reached = True
            else:
                export.places.release()
                error = event.error
                if error is not None and fail_fast and is_fatal(error, reached=reached, max_wait=max_wait):
                    raise error
                # Some answer came back for this case (a 404, a bad body), unless no request was sent.
                reached = reached or not isinstance(error, (TransportError, InvalidArgument))
            yield event
    finally:
        await cancel_and_wait([feeder])


async def collect(events: AsyncGenerator[ExportEvent, None]) -> AsyncGenerator[CaseTimeline, None]:
    """Gather each case's pages and yield it whole when it ends."""
    pages: dict[int, list[TimelineCell]] = {}
    async with contextlib.aclosing(events):
        async for event in events:
            if isinstance(event, TimelinePage):
                pages.setdefault(event.index, []).extend(event.cells)
            else:
                cells = pages.pop(event.index, [])
                yield CaseTimeline(event.case_id, () if event.error else tuple(cells), event.error)
