"""``CasesClient``: what users hold; every operation, and the one way a
request is sent (the gate, the transport, the retry decision)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Mapping
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar

import backoff
from attrs import define, frozen

from aiocases import arguments, operations
from aiocases.admin import Admin
from aiocases.budget import Budget
from aiocases.config import DEFAULTS, Origin, resolve_credentials, resolve_origin
from aiocases.errors import CasesError, ClientClosed, DecodeError, InvalidArgument
from aiocases.events import RequestDone, Retrying, checked_hook, emit, rate_limit_headers
from aiocases.export import CaseIds, CaseTimeline, ExportEvent, WalkCase, collect, stream
from aiocases.gate import Gate
from aiocases.lifecycle import Lifecycle
from aiocases.models import JSON, Case, TimelineCell, Watcher
from aiocases.operations import Request
from aiocases.parsing import structure_list
from aiocases.responses import data_of, decipher
from aiocases.retry import RetryPolicy, may_have_acted
from aiocases.search import SearchPages, read_page
from aiocases.stats import Stats
from aiocases.sync import Bookmark, SyncEvent, synced, walk_since
from aiocases.tasks import cancel_and_wait
from aiocases.transport import AiohttpTransport, Response, Transport
from aiocases.walk import Ask, Endpoint, Page, Walk, pages

__all__ = ["CasesClient"]

_log = logging.getLogger("aiocases")
_T = TypeVar("_T")
_Item = TypeVar("_Item", TimelineCell, Case)

#: Page sizes up to this are trusted without proof on timelines (see :mod:`aiocases.walk`).
TRUSTED_PAGE_SIZE = 100


class CasesClient(Lifecycle, Admin):
    """An asyncio client for Datadog's Case Management API v2.

    ``async with CasesClient() as client:`` opens it (one aiohttp session)
    and closes it; a client is used once, and any call on one not open
    raises :class:`~aiocases.errors.ClientClosed`.  Every request passes one
    rate-limit-aware gate and one retry decision (:mod:`aiocases.retry`).
    Invalid arguments raise :class:`~aiocases.errors.InvalidArgument` (also a
    :class:`ValueError`) here, before anything is sent.  The reference of
    every argument is ``docs/reference.md``; in short:

    * credentials: ``api_key``/``app_key`` (else ``DD_API_KEY`` and
      ``DD_APP_KEY`` or ``DD_APPLICATION_KEY``), or an OAuth ``access_token``;
    * where: ``base_url``, else ``site`` (else ``AIOCASES_BASE_URL``, then
      ``DD_SITE``, then ``datadoghq.com``); plain ``http://`` only to this machine;
    * limits: ``max_concurrency`` requests in flight, ``timeout`` seconds a
      try, ``max_retries`` retries, ``max_wait`` seconds of rate-limit hold
      at most, ``max_response_bytes`` a body, ``max_pages`` a walk;
    * ``transport``: any object with ``async send(request) -> Response``
      (credentials and origin are on the request it is given);
    * ``budget``: a :class:`~aiocases.budget.Budget` shared with other
      clients, or a Redis URL (default ``AIOCASES_REDIS_URL``);
    * ``on_event``: a plain function given each :mod:`aiocases.events` event;
    * ``clock``, ``sleep``, ``rng``: time and chance, injectable for tests.
    """

    def __init__(
        self,
        api_key: str | None = None,
        app_key: str | None = None,
        *,
        site: str | None = None,
        base_url: str | None = None,
        access_token: str | None = None,
        max_concurrency: int = DEFAULTS.max_concurrency,
        timeout: float = DEFAULTS.timeout,
        max_retries: int = DEFAULTS.max_retries,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        max_wait: float = DEFAULTS.max_wait,
        max_response_bytes: int = DEFAULTS.max_response_bytes,
        max_pages: int = DEFAULTS.max_pages,
        transport: Transport | None = None,
        on_event: Callable[..., object] | None = None,
        budget: Budget | str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = _Limits.checked(max_concurrency, timeout, max_wait, max_response_bytes, max_pages)
        arguments.count("max_retries", max_retries, 0)
        if retry_policy is not None and max_retries != DEFAULTS.max_retries:
            raise InvalidArgument("pass retry_policy or max_retries, not both: the policy holds its own max_retries")
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries, rng=rng or random.Random())
        self._credentials = resolve_credentials(api_key, app_key, access_token, required=transport is None)
        self.origin: Origin = resolve_origin(site, base_url)
        """Where requests go, and what chose it (named in every message about reaching the API)."""
        self._transport = transport
        self._owns_transport = transport is None
        self._on_event = checked_hook(on_event)
        self._sleep = sleep
        self.stats = Stats()
        """Counters: ``requests``, ``retries``, ``throttled`` (429s), ``rate_limit_wait`` and
        ``rate_limit_held`` (seconds), ``prefetch_wasted``."""
        namespace = self._credentials.fingerprint() if self._credentials is not None else "anonymous"
        self.gate = Gate(
            max_concurrency,
            namespace=namespace,
            stats=self.stats,
            clock=clock,
            sleep=sleep,
            rng=rng,
            max_wait=self._limits.max_wait,
            on_event=self._on_event,
        )
        """The rate-limit-aware gate (for inspection: concurrency limit, requests in flight)."""
        self._budget, self._redis_url = _budget(budget)
        self._owned_budget: Budget | None = None
        self._state: Literal["new", "open", "closed"] = "new"
        self._exports: set[asyncio.Task[None]] = set()
        self._endpoints = {"timelines": Endpoint("timelines", TRUSTED_PAGE_SIZE), "search": Endpoint("search", 0)}

    def __repr__(self) -> str:
        return f"CasesClient({self.origin.url!r}, {self._state}, max_concurrency={self._limits.max_concurrency})"

    # -- lifecycle --------------------------------------------------------------

    async def __aenter__(self) -> CasesClient:
        if self._state != "new":
            raise ClientClosed(
                "this client was closed: make a new CasesClient"
                if self._state == "closed"
                else "this client is open already: enter it once"
            )
        if self._transport is None:
            self._transport = AiohttpTransport(
                timeout=self._limits.timeout,
                max_connections=self._limits.max_concurrency,
                max_body=self._limits.max_response_bytes,
            )
        if self._redis_url is not None:
            from aiocases.redisbudget import RedisBudget

            self._owned_budget = RedisBudget(self._redis_url)
        self.gate.share(self._budget or self._owned_budget)
        self._state = "open"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client: cancel the exports in progress (they raise
        :class:`~aiocases.errors.ClientClosed`), wake requests waiting in the
        gate with the same error, then close the session.  Closing twice does nothing."""
        if self._state == "closed":
            return
        self._state = "closed"
        await cancel_and_wait(self._exports)
        self.gate.close()
        if self._owns_transport and isinstance(self._transport, AiohttpTransport):
            await self._transport.close()
        if self._owned_budget is not None:  # a budget given to the client is its owner's to close
            await self._owned_budget.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._state == "closed"

    # -- watchers ----------------------------------------------------------------

    async def watch_case(self, case_id: str, user_uuid: str) -> None:
        """Add ``user_uuid`` as a watcher of the case (201)."""
        await self._call(operations.watch_case(case_id, user_uuid), _nothing)

    async def unwatch_case(self, case_id: str, user_uuid: str) -> None:
        """Remove ``user_uuid`` from the case's watchers (204)."""
        await self._call(operations.unwatch_case(case_id, user_uuid), _nothing)

    async def list_watchers(self, case_id: str) -> list[Watcher]:
        """The case's watchers."""
        request = operations.list_case_watchers(case_id)
        return await self._call(request, lambda doc: structure_list(Watcher, data_of(request, doc)))

    # -- comments ----------------------------------------------------------------

    async def add_comment(self, case_id: str, message: str) -> TimelineCell:
        """Add a comment (Markdown) to the case; returns the new cell.

        Sent twice, a comment is posted twice: so it is retried only when it
        cannot have been carried out, and any other failure after it was sent
        raises with ``outcome_unknown`` set (look at the timeline first)."""
        request = operations.comment_case(case_id, message)
        return await self._call(request, lambda doc: _first_cell(request, doc))

    async def update_comment(self, case_id: str, cell_id: str, message: str) -> None:
        """Replace the text of comment ``cell_id``."""
        await self._call(operations.update_case_comment(case_id, cell_id, message), _nothing)

    async def delete_comment(self, case_id: str, cell_id: str) -> None:
        """Delete comment ``cell_id`` (204).  A comment that is not there
        raises :class:`~aiocases.errors.NotFound`, unless an earlier try of
        this call may have deleted it (its answer lost): then it is done."""
        await self._call(operations.delete_case_comment(case_id, cell_id), _nothing)

    # -- timelines ---------------------------------------------------------------

    async def get_timeline_page(
        self, case_id: str, *, page_number: int = 0, page_size: int = DEFAULTS.page_size, ascending: bool = True
    ) -> list[TimelineCell]:
        """One page of the case's timeline; pages are zero-based, oldest
        first unless ``ascending=False``."""
        request = operations.list_case_timeline(case_id, page_number, page_size, ascending)
        return await self._call(request, lambda doc: structure_list(TimelineCell, data_of(request, doc)))

    def iter_timeline(
        self,
        case_id: str,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        prefetch: int = DEFAULTS.prefetch,
    ) -> AsyncGenerator[TimelineCell, None]:
        """Every cell of the case's timeline, each once (see
        :mod:`aiocases.walk`).  Oldest first, pages are read ahead, up to
        ``prefetch`` in flight, once a full page came back; the requests past
        the last page are counted in ``stats.prefetch_wasted``."""
        arguments.count("prefetch", prefetch, 1)
        return _items(self._timeline_pages(case_id, page_size, ascending, read_ahead=prefetch))

    def _timeline_pages(
        self, case_id: str, page_size: int, ascending: bool, *, read_ahead: int = 1
    ) -> AsyncIterator[list[TimelineCell]]:
        fetch, path = self._timeline_fetch(case_id, ascending)
        arguments.page(0, page_size, ascending)
        walk: Walk[TimelineCell] = Walk(
            self._endpoints["timelines"],
            size=page_size,
            max_pages=self._limits.max_pages,
            path=path,
            everything=not ascending,
            read_ahead=read_ahead if ascending else 1,
        )
        return self._counted(walk, pages(walk, fetch))

    async def _counted(self, walk: Walk[Any], found: AsyncGenerator[list[_Item], None]) -> AsyncIterator[list[_Item]]:
        try:
            async with contextlib.aclosing(found):
                async for page in found:
                    yield page
        finally:
            self.stats.prefetch_wasted += walk.wasted

    def _timeline_fetch(
        self, case_id: str, ascending: bool
    ) -> tuple[Callable[[Ask], Awaitable[Page[TimelineCell]]], str]:
        """A page getter for one walk of a timeline, and the path that names it (checked now)."""
        path = operations.list_case_timeline(case_id, 0, 1, ascending).path

        async def fetch(ask: Ask) -> Page[TimelineCell]:
            request = operations.list_case_timeline(case_id, ask.number, ask.size, ascending)
            cells = await self._call(
                request,
                lambda doc: structure_list(TimelineCell, data_of(request, doc)),
                speculative=ask.speculative,
            )
            return Page(cells)

        return fetch, path

    # -- many timelines -------------------------------------------------------------

    def stream_timelines(
        self,
        case_ids: CaseIds,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        concurrency: int | None = None,
        fail_fast: bool = True,
    ) -> AsyncGenerator[ExportEvent, None]:
        """The timelines of many cases as a stream of events, in bounded
        memory: a :class:`~aiocases.export.TimelinePage` per page and a
        :class:`~aiocases.export.CaseDone` when a case ends, ``concurrency``
        (default ``max_concurrency``) cases at a time, none read ahead (the
        cases in progress fill the budget).  A case that ends with an error
        had some pages yielded: discard them.  With ``fail_fast`` an error
        every other case would meet too (credentials, site, a wait over
        ``max_wait``, a closed client, no connection) is raised.  Close the
        iterator (``contextlib.aclosing``) to stop early."""
        arguments.page(0, page_size, ascending)

        def walk_case(case_id: str) -> AsyncIterator[list[TimelineCell]]:
            return self._timeline_pages(case_id, page_size, ascending)

        return self._stream(case_ids, walk_case, concurrency, fail_fast)

    def export_timelines(
        self,
        case_ids: CaseIds,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        concurrency: int | None = None,
        fail_fast: bool = True,
    ) -> AsyncGenerator[CaseTimeline, None]:
        """:meth:`stream_timelines` with each case gathered whole: a
        :class:`~aiocases.export.CaseTimeline` per case as it finishes (a
        failed case has its ``error`` and no cells)."""
        events = self.stream_timelines(
            case_ids, page_size=page_size, ascending=ascending, concurrency=concurrency, fail_fast=fail_fast
        )
        return collect(events)

    def sync_timelines(
        self,
        case_ids: CaseIds,
        bookmarks: Mapping[str, Bookmark],
        *,
        full_refresh: bool = False,
        concurrency: int | None = None,
        fail_fast: bool = True,
        first_page_size: int = 10,
    ) -> AsyncGenerator[SyncEvent, None]:
        """What is new in many timelines since ``bookmarks`` (case id ->
        :class:`~aiocases.sync.Bookmark`): a
        :class:`~aiocases.export.TimelinePage` per page of new cells (oldest
        first) and a :class:`~aiocases.sync.CaseSynced` when a case ends,
        carrying its new bookmark; store it only once its cells are safe.  A
        case with a bookmark is walked newest first down to it, from a first
        page of ``first_page_size`` cells (see :mod:`aiocases.sync`); one
        without, or every case with ``full_refresh``, is exported whole.
        Concurrency, ``fail_fast`` and closing work as in :meth:`stream_timelines`."""
        arguments.count("first_page_size", first_page_size, 1)
        if first_page_size > TRUSTED_PAGE_SIZE:
            raise InvalidArgument(f"first_page_size must be at most {TRUSTED_PAGE_SIZE}, got {first_page_size}")

        def walk_case(case_id: str) -> AsyncIterator[list[TimelineCell]]:
            bookmark = None if full_refresh else bookmarks.get(case_id)
            if bookmark is None:
                return self._timeline_pages(case_id, TRUSTED_PAGE_SIZE, True)
            fetch, path = self._timeline_fetch(case_id, ascending=False)
            endpoint = self._endpoints["timelines"]
            return walk_since(
                fetch, bookmark, endpoint, first_page_size=first_page_size, max_pages=self._limits.max_pages, path=path
            )

        return synced(self._stream(case_ids, walk_case, concurrency, fail_fast), bookmarks, full_refresh)

    def _stream(
        self, case_ids: CaseIds, walk_case: WalkCase, concurrency: int | None, fail_fast: bool
    ) -> AsyncGenerator[ExportEvent, None]:
        workers = arguments.count(
            "concurrency", self._limits.max_concurrency if concurrency is None else concurrency, 1
        )
        if isinstance(case_ids, (str, bytes)):
            raise InvalidArgument("case_ids must be an iterable of case ids, not a single string")
        self._check_open()
        return stream(
            case_ids,
            walk_case,
            concurrency=workers,
            fail_fast=fail_fast,
            max_wait=self._limits.max_wait,
            track=self._exports,
        )

    # -- search --------------------------------------------------------------------

    def search_cases(
        self,
        query: str | None = None,
        *,
        sort: str = "created_at",
        ascending: bool = True,
        page_size: int = operations.SEARCH_MAX_PAGE_SIZE,
    ) -> AsyncGenerator[Case, None]:
        """Every case matching ``query`` (``filter``, such as ``status:open
        project_id:...``; ``None``: all cases), sorted by ``sort``
        (``created_at``, ``priority`` or ``status``), each once; see
        :mod:`aiocases.search` for how its pages are walked."""
        path = operations.search_cases(query, 0, page_size, sort, ascending).path

        async def fetch(number: int, size: int) -> Any:
            request = operations.search_cases(query, number, size, sort, ascending)
            return await self._call(request, lambda doc: read_page(request, doc))

        walk: Walk[Case] = Walk(
            self._endpoints["search"], size=page_size, max_pages=self._limits.max_pages, path=path, everything=True
        )
        return _items(pages(walk, SearchPages(fetch, path).page))

    # -- sending -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state != "open":
            raise ClientClosed(
                "the client was closed"
                if self._state == "closed"
                else "the client is not open: use `async with CasesClient(...) as client:`"
            )

    async def _call(self, request: Request, parse: Callable[[JSON], _T], *, speculative: bool = False) -> _T:
        """Send ``request`` until it succeeds or the retry policy gives up; ``parse`` its document
        (``speculative``: the gate may decline it, see :mod:`aiocases.gate`)."""
        self._check_open()
        headers = self._credentials.headers() if self._credentials is not None else {}
        call = _Call(request.to(self.origin.url, headers), parse, speculative)
        send = backoff.on_exception(
            lambda: self._waits(call),
            CasesError,
            max_tries=None,
            jitter=None,
            on_backoff=self._on_backoff,
            logger=None,
        )(self._try)
        result: _T = await send(call)
        return result

    async def _try(self, call: _Call[_T]) -> _T:
        request = call.request
        try:
            response = await self._exchange(request, call.speculative)
            if response.status == 404 and request.gone_is_done and call.may_have_acted:
                return call.parse(None)  # an earlier try, whose answer was lost, did it
            return call.parse(decipher(request, response.status, response.headers, response.body))
        except CasesError as exc:
            exc.method, exc.path = request.method, request.path  # the gate's and the parser's errors know neither
            call.may_have_acted = call.may_have_acted or may_have_acted(exc)
            raise

    async def _exchange(self, request: Request, speculative: bool = False) -> Response:
        """One try through the gate: the answer, whatever its status."""
        transport = self._transport
        if transport is None or self._state != "open":
            raise ClientClosed("the client was closed while this request waited")
        async with self.gate.slot(request.group, speculative=speculative) as ticket:
            self.stats.requests += 1
            started = time.perf_counter()
            try:
                response = await transport.send(request)
            except CasesError as exc:
                _log.debug("%s %s failed: %s", request.method, request.target, exc.message)
                self.gate.unanswered(ticket)
                self._report(request, None, started, {}, exc)
                raise
            self.gate.record(ticket, response.status, response.headers)
            self._report(request, response.status, started, response.headers, None)
        _log.debug("%s %s -> %d (%d bytes)", request.method, request.target, response.status, len(response.body))
        return response

    def _waits(self, call: _Call[Any]) -> Generator[float, BaseException | None, None]:
        """backoff's wait generator for one call: the policy decides each
        retry; the wait itself is slept in :meth:`_on_backoff`, with the
        client's own (injectable) sleep, so backoff is told 0."""
        error = yield 0.0  # primed by backoff before the first failure
        attempt = refused = 0
        while error is not None:
            wait = self._policy.decide(call.request, error, attempt, refused)
            if wait is None:
                if isinstance(error, CasesError):
                    error.outcome_unknown = call.request.effect == "once" and may_have_acted(error)
                return
            if self._policy.counts(error):
                attempt += 1
            else:
                refused += 1
            call.wait = wait
            error = yield 0.0

    async def _on_backoff(self, details: Any) -> None:
        call: _Call[Any] = details["args"][0]
        error: CasesError = details["exception"]
        self.stats.retries += 1
        _log.debug("retry %d in %.2fs after: %s", details["tries"], call.wait, error)
        request = call.request
        emit(
            self._on_event,
            Retrying(
                request.operation, request.method, request.path, request.group, details["tries"], call.wait, error
            ),
        )
        await self._sleep(call.wait)

    def _report(
        self,
        request: Request,
        status: int | None,
        started: float,
        headers: Mapping[str, str],
        error: CasesError | None,
    ) -> None:
        if self._on_event is None:
            return
        duration = time.perf_counter() - started
        limits = rate_limit_headers(headers)
        event = RequestDone(
            request.operation, request.method, request.path, request.group, status, duration, limits, error
        )
        emit(self._on_event, event)


@define
class _Call(Generic[_T]):
    """One call's request, how to read its answer, and what its tries told."""

    request: Request
    parse: Callable[[JSON], _T]
    speculative: bool = False
    may_have_acted: bool = False
    wait: float = 0.0


async def _items(found: AsyncIterator[list[_Item]]) -> AsyncGenerator[_Item, None]:
    """The items of pages, one at a time."""
    async with contextlib.aclosing(found):  # type: ignore[type-var]
        async for page in found:
            for item in page:
                yield item


def _nothing(document: JSON) -> None:
    return None


def _first_cell(request: Request, document: JSON) -> TimelineCell:
    cells = structure_list(TimelineCell, data_of(request, document))
    if not cells:
        raise DecodeError("the answer holds no timeline cell (data is empty)", field="data")
    return cells[0]


def _budget(budget: Budget | str | None) -> tuple[Budget | None, str | None]:
    """A budget given, or the Redis URL of one to open (``AIOCASES_REDIS_URL`` by default)."""
    if budget is not None and not isinstance(budget, str):
        return budget, None
    url = budget if budget is not None else os.environ.get("AIOCASES_REDIS_URL") or None
    if url is None:
        return None, None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise InvalidArgument(
            "a Redis URL starts with redis://, rediss:// or unix:// (such as redis://127.0.0.1:6379/0)"
        )
    if importlib.util.find_spec("redis") is None:
        raise InvalidArgument("a Redis budget needs the redis package: pip install 'aiocases[redis]'")
    return None, url


@frozen
class _Limits:
    """The bounds of one client, checked."""

    max_concurrency: int
    timeout: float
    max_wait: float
    max_response_bytes: int
    max_pages: int

    @classmethod
    def checked(cls, max_concurrency: int, timeout: float, max_wait: float, size: int, pages: int) -> _Limits:
        """The limits, or an :class:`InvalidArgument` naming the first one out of range."""
        return cls(
            arguments.count("max_concurrency", max_concurrency, 1),
            arguments.seconds("timeout", timeout),
            arguments.seconds("max_wait", max_wait, allow_zero=True),
            arguments.count("max_response_bytes", size, 1),
            arguments.count("max_pages", pages, 1),
        )
