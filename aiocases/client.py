"""``CasesClient``: the asyncio session manager users hold."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator, Callable
from types import TracebackType
from typing import TypeVar

import backoff
from backoff.types import Details

from aiocases import sansio
from aiocases.config import resolve_base_url, resolve_credentials
from aiocases.errors import CasesError
from aiocases.models import JSON, TimelineCell, Watcher, structure_list
from aiocases.pagination import CaseIds, CaseTimeline, FetchPage, export, walk_pages, walk_timeline
from aiocases.ratelimit import Gate, Stats
from aiocases.retry import RetryPolicy
from aiocases.transport import Response, Transport

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
    """

    def __init__(
        self,
        api_key: str | None = None,
        app_key: str | None = None,
        *,
        site: str | None = None,
        base_url: str | None = None,
        max_concurrency: int = 16,
        timeout: float = 30.0,
        max_retries: int = 5,
        access_token: str | None = None,
        retry_policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if type(max_concurrency) is not int or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be an int >= 1, got {max_concurrency!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        if type(max_retries) is not int or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self._credentials = resolve_credentials(api_key, app_key, access_token)
        self._base_url = resolve_base_url(site, base_url)
        self._timeout = float(timeout)
        self._max_concurrency = max_concurrency
        self._policy = retry_policy or RetryPolicy(max_retries=max_retries, rng=rng or random.Random())
        self.stats = Stats()
        """Counters: ``requests``, ``retries``, ``throttled`` (429s), ``rate_limit_wait`` (seconds)."""
        self._gate = Gate(max_concurrency, stats=self.stats, rng=rng)
        self._transport: Transport | None = None
        self._exports: set[asyncio.Task[CaseTimeline]] = set()
        self._send = backoff.on_exception(
            self._policy.waits,
            CasesError,
            max_tries=self._policy.max_retries + 1,
            giveup=self._policy.giveup,
            jitter=None,
            on_backoff=self._on_backoff,
            logger=None,
        )(self._send_once)

    def __repr__(self) -> str:
        return f"CasesClient(base_url={str(self._base_url)!r}, max_concurrency={self._max_concurrency})"

    @property
    def base_url(self) -> str:
        """The API origin requests go to."""
        return str(self._base_url)

    @property
    def gate(self) -> Gate:
        """The rate-limit-aware gate (for inspection: concurrency limit, in flight)."""
        return self._gate

    async def __aenter__(self) -> CasesClient:
        if self._transport is None or self._transport.closed:
            self._transport = Transport(
                self._base_url,
                self._credentials.headers(),
                timeout=self._timeout,
                max_connections=self._max_concurrency,
            )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Cancel the cases exports still have in progress, then close the
        session; the client can be entered again afterwards."""
        running = list(self._exports)
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    # -- the four operations ---------------------------------------------------

    async def watch_case(self, case_id: str, user_uuid: str) -> None:
        """Add ``user_uuid`` as a watcher of the case ("Watch a case": POST, 201)."""
        await self._call(sansio.watch_request(case_id, user_uuid), _ignore)

    async def unwatch_case(self, case_id: str, user_uuid: str) -> None:
        """Remove ``user_uuid`` from the case's watchers ("Unwatch a case": DELETE, 204)."""
        await self._call(sansio.unwatch_request(case_id, user_uuid), _ignore)

    async def list_watchers(self, case_id: str) -> list[Watcher]:
        """The case's watchers ("List case watchers": GET .../watchers)."""
        request = sansio.list_watchers_request(case_id)
        return await self._call(request, lambda doc: structure_list(Watcher, sansio.data_of(request, doc)))

    async def get_timeline_page(
        self, case_id: str, page_number: int = 0, page_size: int = 100, ascending: bool = False
    ) -> list[TimelineCell]:
        """One page of the case's timeline ("Get case timeline"); pages are
        zero-based, newest first unless ``ascending``."""
        request = sansio.timeline_request(case_id, page_number, page_size, ascending)
        return await self._call(request, lambda doc: structure_list(TimelineCell, sansio.data_of(request, doc)))

    def iter_timeline(
        self, case_id: str, page_size: int = 100, ascending: bool = False
    ) -> AsyncGenerator[TimelineCell, None]:
        """Every cell of the case's timeline, walking pages from 0 until a
        short one; each cell once, even when comments arrive mid-walk.
        Arguments are checked here, before the first request."""
        return walk_timeline(self._page_fetcher(case_id, page_size, ascending), page_size)

    def _page_fetcher(self, case_id: str, page_size: int, ascending: bool) -> FetchPage:
        sansio.timeline_request(case_id, 0, page_size, ascending)  # ValueError now, not at the first page

        async def fetch(page_number: int) -> list[TimelineCell]:
            return await self.get_timeline_page(case_id, page_number, page_size, ascending)

        return fetch

    def export_timelines(
        self, case_ids: CaseIds, page_size: int = 100, ascending: bool = True, concurrency: int | None = None
    ) -> AsyncGenerator[CaseTimeline, None]:
        """The timelines of many cases, ``concurrency`` (default
        ``max_concurrency``) at a time, as a :class:`CaseTimeline` per case in
        the order they finish.  One case's failure (``NotFound``, an invalid
        id as :class:`ValueError`) is its result's ``error`` and does not stop
        the others.  Use ``contextlib.aclosing`` to stop early: closing
        cancels and awaits the cases in progress."""
        sansio.validate_page(0, page_size, ascending)
        workers = self._max_concurrency if concurrency is None else concurrency
        if type(workers) is not int or workers < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        if isinstance(case_ids, (str, bytes)):
            raise ValueError("case_ids must be an iterable of case ids, not a single string")

        async def export_one(case_id: str) -> CaseTimeline:
            cells: list[TimelineCell] = []
            try:
                async for page in walk_pages(self._page_fetcher(case_id, page_size, ascending), page_size):
                    cells += page
            except (CasesError, ValueError) as exc:
                return CaseTimeline(case_id, (), exc)
            return CaseTimeline(case_id, tuple(cells))

        return export(case_ids, export_one, workers, self._exports)

    # -- sending ---------------------------------------------------------------

    async def _call(self, request: sansio.Request, parse: Callable[[JSON], _T]) -> _T:
        if self._transport is None:
            raise RuntimeError("CasesClient is not open (never entered, or closed): use `async with CasesClient(...)`")
        result: _T = await self._send(request, parse)
        return result

    async def _send_once(self, request: sansio.Request, parse: Callable[[JSON], _T]) -> _T:
        transport = self._transport
        if transport is None:
            raise RuntimeError("CasesClient was closed while a request was waiting")
        async with self._gate.slot(request.group) as ticket:
            self.stats.requests += 1
            try:
                response: Response = await transport.send(request)
            except CasesError as exc:
                _log.debug("%s %s failed: %s", request.method, request.target, exc.message)
                raise
            error = None
            if not 200 <= response.status < 300:
                error = sansio.error_for(request, response.status, response.headers, response.body)
            self._gate.record(ticket, response.status, response.headers)
        _log.debug("%s %s -> %d (%d bytes)", request.method, request.target, response.status, len(response.body))
        if error is not None:
            raise error
        document = sansio.decipher(request, response.status, response.headers, response.body)
        try:
            return parse(document)
        except CasesError as exc:
            exc.method, exc.path = request.method, request.path
            raise

    def _on_backoff(self, details: Details) -> None:
        self.stats.retries += 1
        exc = details.get("exception")
        _log.debug("retry %d in %.2fs after: %s", details["tries"], details.get("wait", 0.0), exc)


def _ignore(document: JSON) -> None:
    return None
