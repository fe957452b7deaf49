"""A fake of Datadog's Case Management API v2, served on loopback.

It serves the operations of tiers (a) to (c) of the reference (cases,
timelines, watchers, comments, search, projects, case types, custom
attributes), behaves like the real service as far as the reference pages and
recorded responses show (JSON:API content type, the response quirks of
``data.py``, case UUIDs or keys, newest first by default, the recorded 400s
and 404s, 201/204 where the API answers them), enforces Datadog-style rate
limits, and injects seeded faults.  It keeps ground truth and counters
for tests to assert on.

:class:`FakeCasesAPI` puts together the parts, each in its own module: the
ground truth (:mod:`~aiocases.testing.store`), the application and its
middlewares (:mod:`~aiocases.testing.app`), rate limits
(:mod:`~aiocases.testing.limits`), faults (:mod:`~aiocases.testing.faults`),
and :class:`LoopbackServer`, which owns the serving lifecycle of any
application, as aiohttp's ``TestServer`` does.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from types import TracebackType

from aiohttp import web

from aiocases.models import JSON
from aiocases.testing.app import Counters, FakeOptions, RecordedRequest, build_app
from aiocases.testing.data import FakeCase, Generator
from aiocases.testing.faults import Faults
from aiocases.testing.limits import RateLimiter, RateLimitRule
from aiocases.testing.store import CaseStore

__all__ = ["FakeCasesAPI", "Faults", "LoopbackServer", "RateLimitRule", "RecordedRequest"]


class LoopbackServer:
    """Serves an aiohttp application on ``127.0.0.1`` (``port=0``: any free port)."""

    def __init__(self, app: web.Application, *, port: int = 0) -> None:
        self.app = app
        self.port = port
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Start serving; returns the base URL."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        self._runner = runner
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class FakeCasesAPI:
    """The fake, as an async context manager serving on ``127.0.0.1``::

        async with FakeCasesAPI(cases=5, cells=30, seed=1) as api:
            async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
                ...

    ``cases``/``cells`` seed the data (``cells`` per case); ``rate_limit``
    applies one :class:`RateLimitRule` to every endpoint, or pass a mapping of
    group (``"timelines"``, ``"watchers"``, ``"comment"``, ``"search"``, ``"cases"``,
    ``"projects"``, ``"types"``) to rule; ``max_in_flight`` is a
    limit the headers do not show (429 with ``Remaining`` above zero);
    ``faults`` injects failures; ``latency`` delays every answer;
    ``error_style`` is ``"jsonapi"`` (as the real API) or ``"strings"`` (as
    the reference pages); ``redirect_to`` answers every request with a 307 to
    that origin; ``clock`` is the wall clock the rate limits' windows follow;
    ``page_cap`` silently answers at most that many cells per page, counting
    offsets from the size it gives (``page_cap_offsets="capped"``) or from the
    size asked for (``"requested"``, which skips cells between pages);
    ``search_page_start`` is the number of the first page of "Search cases"
    (1, as the recorded server; or 0, as the parameter's documented default);
    ``search_page_cap`` silently answers at most that many cases a search page
    (its ``meta`` still counting every match); ``unstable_order`` serves cells
    of one ``created_at`` in a new order on every request.

    It serves the timelines, watchers, comments (added, edited and deleted
    comments show in the timeline), search over its cases (filters by
    status, priority, project and key, and words of the title: see
    :mod:`aiocases.testing.search`), the case lifecycle
    (:mod:`aiocases.testing.lifecycle`) and the organization's projects, case
    types and configurations (``store.org``; :mod:`aiocases.testing.admin`).
    """

    def __init__(
        self,
        cases: int = 0,
        cells: int = 0,
        *,
        seed: int = 0,
        port: int = 0,
        api_key: str = "fake-api-key-0123456789abcdef",
        app_key: str = "fake-app-key-fedcba9876543210",
        access_token: str | None = None,
        rate_limit: RateLimitRule | Mapping[str, RateLimitRule] | None = None,
        max_in_flight: int | None = None,
        faults: Faults | None = None,
        latency: float = 0.0,
        error_style: str = "jsonapi",
        redirect_to: str | None = None,
        clock: Callable[[], float] = time.time,
        page_cap: int | None = None,
        page_cap_offsets: str = "capped",
        search_page_start: int = 1,
        search_page_cap: int | None = None,
        unstable_order: bool = False,
    ) -> None:
        if error_style not in ("jsonapi", "strings"):
            raise ValueError("error_style must be 'jsonapi' or 'strings'")
        if page_cap_offsets not in ("capped", "requested"):
            raise ValueError("page_cap_offsets must be 'capped' or 'requested'")
        if search_page_start not in (0, 1):
            raise ValueError("search_page_start must be 0 or 1")
        if isinstance(rate_limit, RateLimitRule):
            rate_limit = {group: rate_limit for group in ("timelines", "watchers", "comment", "search")}
        self.store = CaseStore(cases, cells, seed=seed)
        self.options = FakeOptions(
            api_key=api_key,
            app_key=app_key,
            access_token=access_token,
            limiter=RateLimiter(rate_limit or {}, clock=clock),
            max_in_flight=max_in_flight,
            faults=faults,
            latency=latency,
            error_style=error_style,
            redirect_to=redirect_to,
            page_cap=page_cap,
            page_cap_offsets=page_cap_offsets,
            search_page_start=search_page_start,
            search_page_cap=search_page_cap,
            unstable_order=unstable_order,
        )
        self.counters = Counters()
        extra = {"/_fake/stats": self._stats, "/_fake/reset": self._reset}
        self.server = LoopbackServer(build_app(self.store, self.options, lambda: self.counters, extra), port=port)

    # -- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL once started (``""`` before)."""
        return self.server.url

    def app(self) -> web.Application:
        """The aiohttp application (for embedding in another server)."""
        return self.server.app

    async def start(self) -> str:
        """Serve on a loopback port; returns the base URL."""
        return await self.server.start()

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        await self.server.stop()

    async def __aenter__(self) -> FakeCasesAPI:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- configuration and ground truth, for tests -----------------------------------

    @property
    def api_key(self) -> str:
        """The API key the fake accepts."""
        return self.options.api_key

    @property
    def app_key(self) -> str:
        """The application key the fake accepts."""
        return self.options.app_key

    @property
    def fail_cases(self) -> dict[str, int]:
        """Case id or key -> status answered to every request for it."""
        return self.options.fail_cases

    @property
    def generator(self) -> Generator:
        """The seeded generator of the fake's data."""
        return self.store.generator

    @property
    def cases(self) -> dict[str, FakeCase]:
        """The cases by UUID."""
        return self.store.cases

    def add_case(self, cells: int = 0, key: str | None = None) -> FakeCase:
        """Create a case with ``cells`` seeded comments (``key``: its case key, e.g. ``PROJ-123``)."""
        return self.store.add_case(cells, key)

    def add_comment(
        self, case_id: str, message: str | None = None, *, created_at: str | None = None
    ) -> dict[str, JSON]:
        """Add a comment (newest) to a case, while serving; returns the cell
        (``created_at``: its timestamp in the API's format, else a little after the last)."""
        return self.store.add_comment(case_id, message, created_at=created_at)

    def find(self, case_id: str) -> FakeCase | None:
        """The case with this UUID or key."""
        return self.store.find(case_id)

    def cells(self, case_id: str, ascending: bool = True) -> list[dict[str, JSON]]:
        """A case's cells in API JSON shape, oldest first unless ``ascending`` is false."""
        return self.store.cells(case_id, ascending)

    @property
    def requests_by_status(self) -> Counter[int]:
        """How many responses of each status were sent."""
        return self.counters.by_status

    @property
    def peak_in_flight(self) -> int:
        """The most requests that were being handled at once."""
        return self.counters.peak_in_flight

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order of arrival."""
        return self.counters.requests

    # -- counters for another process (not part of the API) ----------------------------

    async def _stats(self, request: web.Request) -> web.Response:
        counters = self.counters
        body = {
            "by_status": {str(k): v for k, v in sorted(counters.by_status.items())},
            "peak_in_flight": counters.peak_in_flight,
            "requests": len(counters.requests),
            "faults": dict(counters.faults),
            "ok_by_second": {str(k): v for k, v in sorted(counters.ok_by_second.items())},
            "throttled_by_second": {str(k): v for k, v in sorted(counters.throttled_by_second.items())},
        }
        return web.json_response(body)

    async def _reset(self, request: web.Request) -> web.Response:
        self.counters = Counters()  # the rate limit's windows go on: a server never forgets a count
        return web.Response(status=204)
