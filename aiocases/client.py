"""``CasesClient``: the asyncio session manager users hold."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import logging
import math
import os
import random
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from types import TracebackType
from typing import TypeVar

import backoff
from attrs import define, frozen
from backoff.types import Details
from yarl import URL

from aiocases import sansio
from aiocases.budget import Budget
from aiocases.config import DEFAULTS, Credentials, resolve_base_url, resolve_credentials
from aiocases.errors import CasesError, ClientClosed, DecodeError, RateLimited, TransportError
from aiocases.events import EventHook, RequestDone, Retrying, emit, rate_limit_headers
from aiocases.export import CaseIds, CaseTimeline, ExportEvent, WalkCase, collect, stream
from aiocases.gcpause import without_gc
from aiocases.models import JSON, Case, TimelineCell, Watcher, structure_list
from aiocases.pagination import TRUSTED_PAGE_SIZE, FetchPage, PageSizes, Walk, walk_pages, walk_timeline
from aiocases.ratelimit import Gate, Stats
from aiocases.retry import RetryPolicy
from aiocases.search import SearchPage, read_page, walk_search
from aiocases.sync import Bookmark, SyncEvent, synced, walk_since
from aiocases.tasks import cancel_and_wait
from aiocases.transport import AiohttpTransport, Response, Transport

__all__ = ["CasesClient"]

_log = logging.getLogger("aiocases")
_T = TypeVar("_T")


class CasesClient:
    """An asyncio client for Datadog's Case Management API v2.

    ``async with CasesClient() as client:`` opens one aiohttp session; every
    request passes one rate-limit-aware gate (at most ``max_concurrency`` in
    flight) and is retried up to ``max_retries`` times on 429, 5xx,
    connection errors, timeouts and truncated bodies.  ``timeout`` bounds one
    try, in seconds.

    Credentials come from ``api_key``/``app_key`` or the environment
    (``DD_API_KEY``, ``DD_APP_KEY`` or ``DD_APPLICATION_KEY``), or an OAuth
    ``access_token``; the origin from ``base_url``, else ``site`` (default
    ``DD_SITE``, then ``datadoghq.com``).  Invalid arguments raise
    :class:`ValueError` here, before anything is sent.

    ``retry_policy`` replaces the default :class:`~aiocases.retry.RetryPolicy`
    (and with it ``max_retries``); ``rng`` seeds the jitter of retries and of
    rate-limit holds, for reproducible tests.  Requests are logged at DEBUG on
    the ``aiocases`` logger (method, path, status; never headers).

    Limits, so that no call hangs or grows without bound:

    * ``max_wait`` (seconds, default 300): a request the rate limit would
      hold longer raises :class:`~aiocases.errors.RateLimited` at once,
      carrying the wait the server asked for (``retry_after``); not retried.
    * ``max_response_bytes`` (default 64 MiB, counted after decompression):
      a larger body raises :class:`~aiocases.errors.ResponseTooLarge`; not retried.
    * ``max_pages`` (default 10,000): a timeline walk that has not reached its
      last page by then raises :class:`~aiocases.errors.PageLimitExceeded`.

    One request therefore takes at most ``max_retries + 1`` tries of
    ``timeout`` each, plus up to ``max_wait`` of rate-limit hold before each
    try, plus the retry delays (``RetryPolicy``: at most 10 s each).

    ``budget`` shares the rate budget with every client using the same
    credentials (an :class:`aiocases.budget.Budget`): a
    :class:`~aiocases.redisbudget.RedisBudget` for processes on any host
    (``pip install 'aiocases[redis]'``), or a Redis URL for the client to open
    and close one itself; without it, ``AIOCASES_REDIS_URL`` gives that URL.
    A :class:`~aiocases.budget.LocalBudget` shares one among the clients of
    one process.  A budget that fails or is slow is left aside (one WARNING)
    and asked again a second later; the gate counts alone meanwhile.

    ``on_event`` is called with an :mod:`aiocases.events` event for each try
    answered or failed (:class:`~aiocases.events.RequestDone`), each retry
    (:class:`~aiocases.events.Retrying`) and each rate-limit hold
    (:class:`~aiocases.events.Throttled`): for tracing and metrics.
    """

    def __init__(
        self,
        api_key: str | None = None,
        app_key: str | None = None,
        *,
        site: str | None = None,
        base_url: str | None = None,
        max_concurrency: int = DEFAULTS.max_concurrency,
        timeout: float = DEFAULTS.timeout,
        max_retries: int | None = None,
        access_token: str | None = None,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        max_wait: float = DEFAULTS.max_wait,
        max_response_bytes: int = DEFAULTS.max_response_bytes,
        max_pages: int = DEFAULTS.max_pages,
        transport: Transport | None = None,
        on_event: EventHook | None = None,
        budget: Budget | str | None = None,
    ) -> None:
        if retry_policy is not None and max_retries is not None:
            raise ValueError("pass retry_policy or max_retries, not both: the policy holds its own max_retries")
        self._limits = _Limits.checked(max_concurrency, timeout, max_wait, max_response_bytes, max_pages)
        self._injected = transport
        self._credentials: Credentials | None = None
        self._base_url = ""
        if transport is None:
            self._credentials = resolve_credentials(api_key, app_key, access_token)
            self._base_url = str(resolve_base_url(site, base_url))
        else:
            _refuse_beside_transport(
                api_key=api_key, app_key=app_key, access_token=access_token, site=site, base_url=base_url
            )
        max_retries = DEFAULTS.max_retries if max_retries is None else max_retries
        _check_int("max_retries", max_retries, 0)
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries, rng=rng or random.Random())
        self.stats = Stats()
        """Counters: ``requests``, ``retries``, ``throttled`` (429s), ``rate_limit_wait`` and
        ``rate_limit_held`` (seconds)."""
        self._on_event = on_event
        namespace = self._credentials.fingerprint() if self._credentials is not None else "transport"
        self._gate = Gate(
            max_concurrency,
            stats=self.stats,
            rng=rng,
            max_wait=self._limits.max_wait,
            on_event=on_event,
            namespace=namespace,
        )
        self._budget = budget if not isinstance(budget, str) else None
        self._redis_url = budget if isinstance(budget, str) else None
        if budget is None:
            self._redis_url = os.environ.get("AIOCASES_REDIS_URL") or None
        if self._redis_url is not None:
            if not self._redis_url.startswith(("redis://", "rediss://", "unix://")):
                raise ValueError(
                    "a Redis URL starts with redis://, rediss:// or unix:// (such as redis://127.0.0.1:6379/0)"
                )
            if importlib.util.find_spec("redis") is None:
                raise ValueError("a Redis budget needs the redis package: pip install 'aiocases[redis]'")
        self._owned_budget: Budget | None = None
        self._transport: Transport | None = None
        self._owned: AiohttpTransport | None = None  # the transport this client made, and closes
        self._exports: set[asyncio.Task[None]] = set()
        self._sizes = PageSizes()  # what this client's server was seen to do with page[size]
        self._send = backoff.on_exception(
            self._waits,
            CasesError,
            max_tries=self._policy.max_retries + 1,
            giveup=self._giveup,
            jitter=None,
            on_backoff=self._on_backoff,
            logger=None,
        )(self._send_once)

    def __repr__(self) -> str:
        where = f"base_url={self._base_url!r}" if self._injected is None else f"transport={self._injected!r}"
        return f"CasesClient({where}, max_concurrency={self._limits.max_concurrency})"

    @property
    def base_url(self) -> str:
        """The API origin requests go to (``""`` with an injected transport, which knows its own)."""
        return self._base_url

    @property
    def gate(self) -> Gate:
        """The rate-limit-aware gate (for inspection: concurrency limit, in flight)."""
        return self._gate

    async def __aenter__(self) -> CasesClient:
        if self._injected is not None:
            self._transport = self._injected
        elif self._owned is None and self._credentials is not None:
            self._owned = AiohttpTransport(
                URL(self._base_url),
                self._credentials.headers(),
                timeout=self._limits.timeout,
                max_connections=self._limits.max_concurrency,
                max_body=self._limits.max_response_bytes,
            )
            self._transport = self._owned
        if self._redis_url is not None and self._owned_budget is None:
            from aiocases.redisbudget import RedisBudget

            self._owned_budget = RedisBudget(self._redis_url)
        self._gate.set_shared(self._budget or self._owned_budget)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Cancel the exports in progress (they raise
        :class:`~aiocases.errors.ClientClosed`), wake requests waiting in the
        gate with the same error, then close the session.  Nothing bound to
        the event loop survives, so the client can be entered again, under
        this loop or another."""
        await cancel_and_wait(self._exports)
        self._gate.close()
        self._transport = None
        if self._owned is not None:  # an injected transport is its owner's to close
            await self._owned.close()
            self._owned = None
        if self._owned_budget is not None:  # as is a budget given to the client
            await self._owned_budget.close()
            self._owned_budget = None

    # -- the four operations ---------------------------------------------------

    async def watch_case(self, case_id: str, user_uuid: str) -> None:
        """Add ``user_uuid`` as a watcher of the case ("Watch a case": POST, 201)."""
        await self._call(sansio.watch_request(case_id, user_uuid), _ignore)

    async def unwatch_case(self, case_id: str, user_uuid: str) -> None:
        """Remove ``user_uuid`` from the case's watchers ("Unwatch a case": DELETE, 204)."""
        await self._call(sansio.unwatch_request(case_id, user_uuid), _ignore)

    async def add_comment(self, case_id: str, message: str) -> TimelineCell:
        """Add a comment (Markdown) to the case ("Comment on a case": POST
        .../comment); returns the new timeline cell.

        Not idempotent: sent twice, it posts twice.  So it is retried only
        when it cannot have been carried out (a 429, or no connection made);
        any other failure after it was sent (a timeout, a reset, a 5xx, an
        unreadable answer) raises at once with ``outcome_unknown`` set: look
        at the timeline before adding the comment again."""
        request = sansio.comment_request(case_id, message)
        return await self._call(request, lambda doc: _first_cell(request, doc))

    async def update_comment(self, case_id: str, cell_id: str, message: str) -> None:
        """Replace the text of comment ``cell_id`` ("Update a comment": PUT .../comment/{cell_id})."""
        await self._call(sansio.update_comment_request(case_id, cell_id, message), _ignore)

    async def delete_comment(self, case_id: str, cell_id: str) -> None:
        """Delete comment ``cell_id`` ("Delete a comment": DELETE .../comment/{cell_id}, 204).

        A comment that does not exist raises :class:`~aiocases.errors.NotFound`,
        unless an earlier try of this call may have deleted it (it was sent
        and its answer lost): then the 404 means it is gone, and the call succeeds."""
        await self._call(sansio.delete_comment_request(case_id, cell_id), _ignore)

    def sync_timelines(
        self,
        case_ids: CaseIds,
        bookmarks: Mapping[str, Bookmark],
        *,
        full_refresh: bool = False,
        concurrency: int | None = None,
        fail_fast: bool = True,
        first_page: int = 10,
    ) -> AsyncGenerator[SyncEvent, None]:
        """What is new in many timelines since ``bookmarks`` (case id ->
        :class:`~aiocases.sync.Bookmark`, as the last sync left them): a
        :class:`~aiocases.export.TimelinePage` per page of new cells (oldest
        first) and a :class:`~aiocases.sync.CaseSynced` when a case ends,
        carrying its new bookmark.  Store a case's bookmark only once its
        cells are safe: then nothing is lost or fetched twice.

        A case with a bookmark is walked newest first down to it, from a
        first page of ``first_page`` cells (an unchanged case, or one with a
        few new comments, costs one request: see :mod:`aiocases.sync`); a case
        without one, or every case with ``full_refresh``, is exported whole,
        oldest first.  Concurrency, ``fail_fast`` and closing work as in
        :meth:`stream_timelines`."""
        _check_int("first_page", first_page, 1)
        if first_page > TRUSTED_PAGE_SIZE:
            raise ValueError(f"first_page must be at most {TRUSTED_PAGE_SIZE}, got {first_page}")

        def walk_case(case_id: str) -> AsyncGenerator[list[TimelineCell], None]:
            bookmark = None if full_refresh else bookmarks.get(case_id)
            if bookmark is None:
                return walk_pages(*self._walk(case_id, TRUSTED_PAGE_SIZE, True, prefetch=1))
            fetch, path = self._page_fetcher(case_id, TRUSTED_PAGE_SIZE, ascending=False)
            return walk_since(fetch, bookmark, first_page=first_page, max_pages=self._limits.max_pages, path=path)

        return synced(self._stream(case_ids, walk_case, concurrency, fail_fast), bookmarks, full_refresh)

    def search_cases(
        self,
        query: str | None = None,
        *,
        sort: str = "created_at",
        ascending: bool = True,
        page_size: int = sansio.SEARCH_MAX_PAGE_SIZE,
    ) -> AsyncGenerator[Case, None]:
        """Every case matching ``query`` ("Search cases": GET /api/v2/cases with
        ``filter``, such as ``status:open project_id:...``; ``None``: all cases),
        sorted by ``sort`` (``created_at``, ``priority`` or ``status``), oldest
        or lowest first unless ``ascending=False``, each once.

        Pages are walked whichever number the server starts them at, and a
        walk's memory is two pages (see :mod:`aiocases.search`, which also
        says what a result set changing during the walk does).  Arguments are
        checked here, before the first request."""
        sansio.search_request(query, 0, page_size, sort, ascending)

        async def fetch(number: int) -> SearchPage:
            request = sansio.search_request(query, number, page_size, sort, ascending)
            return await self._call(request, lambda doc: read_page(request, doc))

        return walk_search(fetch, page_size, self._limits.max_pages)

    async def list_watchers(self, case_id: str) -> list[Watcher]:
        """The case's watchers ("List case watchers": GET .../watchers)."""
        request = sansio.list_watchers_request(case_id)
        return await self._call(request, lambda doc: structure_list(Watcher, sansio.data_of(request, doc)))

    async def get_timeline_page(
        self, case_id: str, *, page_number: int = 0, page_size: int = DEFAULTS.page_size, ascending: bool = True
    ) -> list[TimelineCell]:
        """One page of the case's timeline ("Get case timeline"); pages are
        zero-based, oldest first unless ``ascending=False``."""
        request = sansio.timeline_request(case_id, page_number, page_size, ascending)
        return await self._call(request, lambda doc: structure_list(TimelineCell, sansio.data_of(request, doc)))

    def iter_timeline(
        self,
        case_id: str,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        prefetch: int = DEFAULTS.prefetch,
    ) -> AsyncGenerator[TimelineCell, None]:
        """Every cell of the case's timeline, walking pages from 0 until a
        short one; each cell once, even when comments arrive mid-walk.

        Oldest first (the default), up to ``prefetch`` pages are read ahead:
        one page ahead, doubling while pages come back full, so a long
        timeline takes a few round trips instead of one per page; the requests
        sent past the last page (at most ``prefetch - 1``) are counted in
        ``stats.prefetch_wasted``.  Newest first the walk is sequential.
        Arguments are checked here, before the first request; a walk longer
        than ``max_pages`` raises :class:`~aiocases.errors.PageLimitExceeded`."""
        _check_int("prefetch", prefetch, 1)
        fetch, walk = self._walk(case_id, page_size, ascending, prefetch)
        return walk_timeline(fetch, walk)

    def _walk(self, case_id: str, page_size: int, ascending: bool, prefetch: int) -> tuple[FetchPage, Walk]:
        fetch, path = self._page_fetcher(case_id, page_size, ascending)
        walk = Walk(
            page_size,
            ascending,
            self._limits.max_pages,
            path,
            prefetch,
            self._sizes,
            wasted=self._count_wasted,
        )
        return fetch, walk

    def _count_wasted(self, requests: int) -> None:
        self.stats.prefetch_wasted += requests

    def _page_fetcher(self, case_id: str, page_size: int, ascending: bool) -> tuple[FetchPage, str]:
        """A page getter for one walk, and the path that names it; a
        ValueError for bad arguments now, not at the first page."""
        path = sansio.timeline_request(case_id, 0, page_size, ascending).path

        async def fetch(page_number: int, size: int) -> list[TimelineCell]:
            return await self.get_timeline_page(case_id, page_number=page_number, page_size=size, ascending=ascending)

        return fetch, path

    def stream_timelines(
        self,
        case_ids: CaseIds,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        concurrency: int | None = None,
        fail_fast: bool = True,
    ) -> AsyncGenerator[ExportEvent, None]:
        """The timelines of many cases as a stream of events, for exports
        whose memory must not grow with a case's size: a
        :class:`~aiocases.export.TimelinePage` per page of new cells and a
        :class:`~aiocases.export.CaseDone` when a case ends, ``concurrency``
        (default ``max_concurrency``) cases at a time.  A case that ends with
        an error has had some of its pages yielded: discard them.

        One case's failure (``NotFound``, an invalid id as
        :class:`ValueError`) is its ``CaseDone.error`` and does not stop the
        others.  With ``fail_fast`` (the default) an error that every other
        case would meet too is raised instead, after the cases in progress are
        cancelled: 401 or 403 (credentials or site), a rate-limit wait longer
        than ``max_wait``, a closed client, or a connection failure before any
        response came back.  Ids are pulled as places free up, and finished
        cases are yielded while a slow id source is waited on.  Use
        ``contextlib.aclosing`` to stop early: closing cancels and awaits the
        cases in progress."""
        sansio.validate_page(0, page_size, ascending)

        def walk_case(case_id: str) -> AsyncGenerator[list[TimelineCell], None]:
            # No read-ahead: the cases in progress already fill the budget.
            return walk_pages(*self._walk(case_id, page_size, ascending, prefetch=1))

        return self._stream(case_ids, walk_case, concurrency, fail_fast)

    def _stream(
        self, case_ids: CaseIds, walk_case: WalkCase, concurrency: int | None, fail_fast: bool
    ) -> AsyncGenerator[ExportEvent, None]:
        """Many cases, each walked by ``walk_case``, as one stream of events; arguments checked now."""
        workers = self._limits.max_concurrency if concurrency is None else concurrency
        _check_int("concurrency", workers, 1)
        if isinstance(case_ids, (str, bytes)):
            raise ValueError("case_ids must be an iterable of case ids, not a single string")
        return stream(
            case_ids,
            walk_case,
            concurrency=workers,
            fail_fast=fail_fast,
            max_wait=self._limits.max_wait,
            track=self._exports,
        )

    def export_timelines(
        self,
        case_ids: CaseIds,
        *,
        page_size: int = DEFAULTS.page_size,
        ascending: bool = True,
        concurrency: int | None = None,
        fail_fast: bool = True,
    ) -> AsyncGenerator[CaseTimeline, None]:
        """The timelines of many cases, each whole, as a :class:`CaseTimeline`
        per case in the order they finish: :meth:`stream_timelines` with each
        case's pages gathered (a case is all or nothing: a failed case has its
        ``error`` and no cells).  Everything :meth:`stream_timelines` says of
        concurrency, failures, ``fail_fast`` and closing holds here too."""
        return collect(
            self.stream_timelines(
                case_ids, page_size=page_size, ascending=ascending, concurrency=concurrency, fail_fast=fail_fast
            )
        )

    # -- sending ---------------------------------------------------------------

    async def _call(self, request: sansio.Request, parse: Callable[[JSON], _T]) -> _T:
        if self._transport is None:
            raise RuntimeError("CasesClient is not open (never entered, or closed): use `async with CasesClient(...)`")
        result: _T = await self._send(request, parse, _Tries())
        return result

    async def _send_once(self, request: sansio.Request, parse: Callable[[JSON], _T], tries: _Tries) -> _T:
        gone_is_done = request.method == "DELETE" and tries.may_have_acted
        try:
            response = await self._exchange(request)
            if response.status == 404 and gone_is_done:
                return parse(None)  # an earlier try, whose answer was lost, may have deleted it
            if not 200 <= response.status < 300:
                raise sansio.error_for(request, response.status, response.headers, response.body)
            return without_gc(lambda: parse(sansio.decipher(request, response.status, response.headers, response.body)))
        except CasesError as exc:
            # Errors of the gate and of parsing know nothing of the request.
            exc.method, exc.path = request.method, request.path
            if _may_have_acted(exc):
                tries.may_have_acted = True
                exc.outcome_unknown = not request.replayable
            raise

    async def _exchange(self, request: sansio.Request) -> Response:
        """One try through the gate: the response, whatever its status."""
        transport = self._transport
        if transport is None:
            raise ClientClosed("the client was closed while this request waited")
        async with self._gate.slot(request.group) as ticket:
            self.stats.requests += 1
            started = time.perf_counter()
            try:
                response = await transport.send(request)
            except CasesError as exc:
                _log.debug("%s %s failed: %s", request.method, request.target, exc.message)
                if self._on_event is not None:
                    self._report(request, None, started, {}, type(exc).__name__)
                raise
            self._gate.record(ticket, response.status, response.headers)
            if self._on_event is not None:
                self._report(request, response.status, started, response.headers, None)
        _log.debug("%s %s -> %d (%d bytes)", request.method, request.target, response.status, len(response.body))
        return response

    def _waits(self) -> Generator[float, BaseException | None, None]:
        """backoff's wait generator for one call: the policy decides each wait."""
        error = yield 0.0  # backoff primes the generator before the first failure
        for attempt in itertools.count():
            wait = self._policy.decide(error, attempt) if error is not None else None
            error = yield 0.0 if wait is None else wait

    def _giveup(self, error: Exception) -> bool:
        # A wait longer than max_wait is not waited out by retrying either.
        if isinstance(error, RateLimited) and error.waits_longer_than(self._limits.max_wait):
            return True
        return not self._policy.retryable(error)

    def _report(
        self, request: sansio.Request, status: int | None, started: float, headers: Mapping[str, str], error: str | None
    ) -> None:
        duration = time.perf_counter() - started
        limits = rate_limit_headers(headers)
        emit(self._on_event, RequestDone(request.method, request.path, request.group, status, duration, limits, error))

    def _on_backoff(self, details: Details) -> None:
        self.stats.retries += 1
        exc = details.get("exception")
        wait = details.get("wait", 0.0)
        _log.debug("retry %d in %.2fs after: %s", details["tries"], wait, exc)
        if self._on_event is not None and details["args"]:
            request: sansio.Request = details["args"][0]
            reason = exc.message if isinstance(exc, CasesError) else str(exc)
            event = Retrying(
                request.method, request.path, request.group, details["tries"], wait, reason, type(exc).__name__
            )
            emit(self._on_event, event)


@define
class _Tries:
    """What the tries of one call have told: whether one may have been carried out."""

    may_have_acted: bool = False


def _ignore(document: JSON) -> None:
    return None


def _first_cell(request: sansio.Request, document: JSON) -> TimelineCell:
    cells = structure_list(TimelineCell, sansio.data_of(request, document))
    if not cells:
        raise DecodeError("the answer holds no timeline cell (data is empty)", field="data")
    return cells[0]


def _may_have_acted(error: CasesError) -> bool:
    """Whether the server may have carried out a request that failed with
    ``error``: all but a 429 (refused before any work), a connection never
    made, and what the client refused before sending (a wait over
    ``max_wait``, a closed client)."""
    if isinstance(error, RateLimited):
        return False
    return not (isinstance(error, TransportError) and not error.request_sent)


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
        """The limits, or a :class:`ValueError` naming the first one out of range."""
        _check_int("max_concurrency", max_concurrency, 1)
        _check_seconds("timeout", timeout)
        _check_seconds("max_wait", max_wait, allow_zero=True)
        _check_int("max_response_bytes", size, 1)
        _check_int("max_pages", pages, 1)
        return cls(max_concurrency, float(timeout), float(max_wait), size, pages)


def _check_int(name: str, value: object, minimum: int) -> None:
    if type(value) is not int or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: object, *, allow_zero: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or not (value >= 0 if allow_zero else value > 0):  # type: ignore[operator]
        raise ValueError(f"{name} must be a finite number of seconds {'>=' if allow_zero else '>'} 0, got {value!r}")


def _refuse_beside_transport(**given: object) -> None:
    names = [name for name, value in given.items() if value is not None]
    if names:
        raise ValueError(
            f"pass transport or {', '.join(names)}, not both:"
            " the transport holds where requests go and their credentials"
        )
