"""A fake of Datadog's Case Management API v2, served on loopback.

It serves the four operations aiocases uses, behaves like the real service as
far as the reference pages and recorded responses show (JSON:API content
type, the response quirks of ``data.py``, case UUIDs or keys, newest first by
default, 400/401/403/404, 201/204 on watch/unwatch), enforces Datadog-style
rate limits, and injects seeded faults.  It keeps ground truth and counters
for tests to assert on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType

from aiohttp import web
from attrs import define, field, frozen

from aiocases.models import JSON
from aiocases.testing.data import FakeCase, Generator

__all__ = ["FakeCasesAPI", "Faults", "RateLimitRule", "RecordedRequest"]

CONTENT_TYPE = "application/vnd.api+json"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_UUID_CHARS = set("0123456789abcdefABCDEF-")


@frozen
class RateLimitRule:
    """A Datadog-style limit: ``limit`` requests per calendar-aligned
    ``period`` seconds, named ``name`` in ``X-RateLimit-Name``."""

    limit: int
    period: int = 1
    name: str = "cases"


@frozen
class Faults:
    """Seeded fault injection: each request draws once (from the seed, its
    method, target and how often that target was asked before, so a run
    reproduces whatever the interleaving) and gets at most one fault.

    Rates are fractions of requests: ``server_error`` (500/502/503),
    ``reset`` (connection closed before any response), ``cut`` (connection
    closed mid-body), ``truncated`` (a complete response whose JSON is cut
    short), ``slow`` (``slow_seconds`` of delay), ``stall`` (``stall_seconds``
    of delay: past a client's timeout), ``insert`` (a new comment added to the
    case just before a timeline page is served).
    """

    seed: int = 0
    server_error: float = 0.0
    reset: float = 0.0
    cut: float = 0.0
    truncated: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 0.5
    stall: float = 0.0
    stall_seconds: float = 5.0
    insert: float = 0.0

    def draw(self, key: str, nth: int) -> tuple[str | None, float]:
        """Which fault (or None) request number ``nth`` of ``key`` gets, and a uniform value."""
        digest = hashlib.blake2b(f"{self.seed}|{key}|{nth}".encode(), digest_size=8).digest()
        roll = int.from_bytes(digest, "big") / 2**64
        edge = 0.0
        for name in ("server_error", "reset", "cut", "truncated", "slow", "stall", "insert"):
            edge += float(getattr(self, name))
            if roll < edge:
                return name, (edge - roll) / float(getattr(self, name))
        return None, roll


@frozen
class RecordedRequest:
    """What the fake received: method, raw path (as sent, still encoded),
    query string, whether credentials came with it, the status answered
    (-1: the connection was dropped), and the case id as the server decoded it
    from the path (``None`` if no route matched)."""

    method: str
    raw_path: str
    query: str
    authenticated: bool
    status: int
    case_id: str | None = None


@define
class _Window:
    index: int = -1
    used: int = 0


@define
class _Counters:
    by_status: Counter[int] = field(factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    requests: list[RecordedRequest] = field(factory=list)
    faults: Counter[str] = field(factory=Counter)


class FakeCasesAPI:
    """The fake, as an async context manager serving on ``127.0.0.1``::

        async with FakeCasesAPI(cases=5, cells=30, seed=1) as api:
            async with CasesClient(api.api_key, api.app_key, base_url=api.url) as client:
                ...

    ``cases``/``cells`` seed the data (``cells`` per case); ``rate_limit``
    applies one :class:`RateLimitRule` to every endpoint, or pass a mapping of
    group (``"timelines"``, ``"watchers"``) to rule; ``max_in_flight`` is a
    limit the headers do not show (429 with ``Remaining`` above zero);
    ``faults`` injects failures; ``latency`` delays every answer;
    ``error_style`` is ``"jsonapi"`` (as the real API) or ``"strings"`` (as
    the reference pages); ``redirect_to`` answers every request with a 307 to
    that origin.
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
    ) -> None:
        if error_style not in ("jsonapi", "strings"):
            raise ValueError("error_style must be 'jsonapi' or 'strings'")
        self.api_key, self.app_key, self.access_token = api_key, app_key, access_token
        self.generator = Generator(seed)
        self.cases: dict[str, FakeCase] = {}
        self._by_key: dict[str, FakeCase] = {}
        for _ in range(cases):
            self.add_case(cells)
        if isinstance(rate_limit, RateLimitRule):
            rate_limit = {"timelines": rate_limit, "watchers": rate_limit}
        self.rate_limits: Mapping[str, RateLimitRule] = dict(rate_limit or {})
        self._windows: dict[str, _Window] = {}
        self.max_in_flight = max_in_flight
        self.faults = faults
        self.latency = latency
        self.error_style = error_style
        self.redirect_to = redirect_to
        self.fail_cases: dict[str, int] = {}
        """Case id or key -> status answered to every request for it (for tests)."""
        self.counters = _Counters()
        self._asked: Counter[str] = Counter()
        self._port = port
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application (for embedding in another server)."""
        app = web.Application(middlewares=[self._middleware])
        # Counters for a test or benchmark in another process (not part of the API).
        app.router.add_get("/_fake/stats", self._stats)
        app.router.add_post("/_fake/reset", self._reset)
        # Any segment, braces included (aiohttp's default pattern excludes them).
        base = "/api/v2/cases/{case_id:[^/]+}"
        app.router.add_get(base + "/timelines", self._timeline)
        app.router.add_get(base + "/watchers", self._list_watchers)
        app.router.add_post(base + "/watchers/{user_uuid:[^/]+}", self._watch_or_unwatch)
        app.router.add_delete(base + "/watchers/{user_uuid:[^/]+}", self._watch_or_unwatch)
        return app

    async def start(self) -> str:
        """Serve on a loopback port (``port=0``: any free one); returns the base URL."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeCasesAPI:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- ground truth --------------------------------------------------------------

    def add_case(self, cells: int = 0, key: str | None = None) -> FakeCase:
        """Create a case with ``cells`` seeded comments (``key``: its case key, e.g. ``PROJ-123``)."""
        if key is not None and self.find(key) is not None:
            raise ValueError(f"a case {key} exists already")
        case = self.generator.case(cells, key)
        self.cases[case.id] = case
        self._by_key[case.key] = case
        return case

    def add_comment(self, case_id: str, message: str | None = None) -> dict[str, JSON]:
        """Add a comment (newest) to a case, while serving; returns the cell."""
        case = self.find(case_id)
        if case is None:
            raise KeyError(case_id)
        cell = self.generator.comment(message)
        case.append(cell)
        return cell

    def find(self, case_id: str) -> FakeCase | None:
        """The case with this UUID or key."""
        return self.cases.get(case_id) or self._by_key.get(case_id)

    def cells(self, case_id: str, ascending: bool = True) -> list[dict[str, JSON]]:
        """A case's cells in API JSON shape, oldest first unless ``ascending`` is false."""
        case = self.find(case_id)
        if case is None:
            raise KeyError(case_id)
        return list(case.cells) if ascending else case.cells[::-1]

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

    # -- plumbing ------------------------------------------------------------------

    def _error(self, status: int, title: str, headers: Mapping[str, str] | None = None) -> web.Response:
        if self.error_style == "strings":
            body: JSON = {"errors": [title]}
        else:
            body = {"errors": [{"status": str(status), "title": title}]}
        return web.Response(status=status, body=json.dumps(body).encode(), content_type=CONTENT_TYPE, headers=headers)

    def _authenticated(self, request: web.Request) -> bool | None:
        """True: valid; False: present but wrong; None: missing."""
        bearer = request.headers.get("Authorization", "")
        if self.access_token and bearer.startswith("Bearer "):
            return bearer[7:] == self.access_token
        api, app = request.headers.get("DD-API-KEY"), request.headers.get("DD-APPLICATION-KEY")
        if api is None and app is None and not bearer:
            return None
        return api == self.api_key and app == self.app_key

    def _rate_limit(self, group: str) -> tuple[bool, dict[str, str]]:
        rule = self.rate_limits.get(group)
        if rule is None:
            return True, {}
        now = time.time()
        index = math.floor(now / rule.period)
        window = self._windows.setdefault(rule.name, _Window())
        if window.index != index:
            window.index, window.used = index, 0
        allowed = window.used < rule.limit
        if allowed:
            window.used += 1
        reset = max(1, math.ceil((index + 1) * rule.period - now))
        return allowed, {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Period": str(rule.period),
            "X-RateLimit-Remaining": str(max(0, rule.limit - window.used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Name": rule.name,
        }

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        counters = self.counters
        counters.in_flight += 1
        counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
        status = 0
        try:
            response = await self._answer(request, handler, counters.in_flight)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            status = -1
            raise
        finally:
            counters.in_flight -= 1
            counters.by_status[status] += 1
            counters.requests.append(
                RecordedRequest(
                    request.method,
                    request.raw_path.split("?")[0],
                    request.query_string,
                    self._authenticated(request) is True,
                    status,
                    request.match_info.get("case_id"),
                )
            )

    async def _answer(self, request: web.Request, handler: _Handler, level: int) -> web.StreamResponse:
        if self.redirect_to is not None:
            return web.Response(status=307, headers={"Location": self.redirect_to + request.raw_path})
        auth = self._authenticated(request)
        if auth is None:
            return self._error(401, "Unauthorized")
        if not auth:
            return self._error(403, "Forbidden")
        group = "timelines" if request.path.endswith("/timelines") else "watchers"
        if self.max_in_flight is not None and level > self.max_in_flight:
            # A limit the headers do not show: Remaining stays above zero.
            return web.Response(status=429, headers={"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1"})
        allowed, limit_headers = self._rate_limit(group)
        if not allowed:
            return web.Response(status=429, headers=limit_headers)
        fault, value = self._draw(request)
        if fault == "server_error":
            return self._error(int(500 + 3 * value) if value < 0.67 else 502, "Internal Server Error", limit_headers)
        if fault == "reset":
            assert request.transport is not None
            request.transport.abort()
            raise ConnectionResetError("fault injection: reset")
        if fault in ("slow", "stall") and self.faults is not None:
            await asyncio.sleep(self.faults.slow_seconds if fault == "slow" else self.faults.stall_seconds)
        if fault == "insert":
            case = self.find(request.match_info["case_id"])
            if case is not None:
                self.add_comment(case.id)
        if self.latency:
            await asyncio.sleep(self.latency)
        failing = self.fail_cases.get(request.match_info.get("case_id", ""))
        if failing is not None:
            return self._error(failing, "Injected failure", limit_headers)
        response = await handler(request)
        response.headers.update(limit_headers)
        if fault in ("cut", "truncated") and isinstance(response, web.Response) and response.body:
            return await self._damage(request, response, fault)
        return response

    def _draw(self, request: web.Request) -> tuple[str | None, float]:
        if self.faults is None:
            return None, 0.0
        key = f"{request.method} {request.raw_path}"
        nth = self._asked[key]
        self._asked[key] += 1
        fault, value = self.faults.draw(key, nth)
        if fault == "insert" and not request.path.endswith("/timelines"):
            fault = None
        if fault is not None:
            self.counters.faults[fault] += 1
        return fault, value

    async def _damage(self, request: web.Request, response: web.Response, fault: str) -> web.StreamResponse:
        body = response.body if isinstance(response.body, bytes) else b""
        half = body[: max(1, len(body) // 2)]
        if fault == "truncated":
            # A well-formed HTTP response whose JSON stops halfway.
            return web.Response(status=response.status, body=half, headers=response.headers)
        stream = web.StreamResponse(status=response.status, headers=response.headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(half)
        assert request.transport is not None
        request.transport.abort()
        raise ConnectionResetError("fault injection: body cut")

    async def _stats(self, request: web.Request) -> web.Response:
        counters = self.counters
        body = {
            "by_status": {str(k): v for k, v in sorted(counters.by_status.items())},
            "peak_in_flight": counters.peak_in_flight,
            "requests": len(counters.requests),
            "faults": dict(counters.faults),
        }
        return web.json_response(body)

    async def _reset(self, request: web.Request) -> web.Response:
        self.counters = _Counters()
        self._windows.clear()
        return web.Response(status=204)

    # -- handlers ------------------------------------------------------------------

    def _case_or_404(self, request: web.Request) -> FakeCase | web.Response:
        case = self.find(request.match_info["case_id"])
        return case if case is not None else self._error(404, "Not Found")

    async def _timeline(self, request: web.Request) -> web.Response:
        case = self._case_or_404(request)
        if isinstance(case, web.Response):
            return case
        query = request.query
        try:
            size = int(query.get("page[size]", "10"))
            number = int(query.get("page[number]", "0"))
        except ValueError:
            return self._error(400, "Bad Request")
        ascending = query.get("sort[ascending]", "false")
        if size < 1 or size > 1000 or number < 0 or ascending not in ("true", "false"):
            return self._error(400, "Bad Request")
        encoded = case.encoded if ascending == "true" else case.encoded[::-1]
        page = encoded[number * size : (number + 1) * size]
        body = b'{"data":[' + b",".join(page) + b"]}"
        return web.Response(body=body, content_type=CONTENT_TYPE)

    async def _list_watchers(self, request: web.Request) -> web.Response:
        case = self._case_or_404(request)
        if isinstance(case, web.Response):
            return case
        data = [
            {"id": user, "type": "watcher", "relationships": {"user": {"data": {"id": user, "type": "user"}}}}
            for user in case.watchers
        ]
        return web.Response(body=json.dumps({"data": data}).encode(), content_type=CONTENT_TYPE)

    def _user_or_400(self, request: web.Request) -> str | web.Response:
        user = request.match_info["user_uuid"]
        if len(user) != 36 or not set(user) <= _UUID_CHARS:
            return self._error(400, "Bad Request")
        return user.lower()

    async def _watch_or_unwatch(self, request: web.Request) -> web.Response:
        """POST adds the watcher (201), DELETE removes it (204); both idempotent."""
        case = self._case_or_404(request)
        if isinstance(case, web.Response):
            return case
        user = self._user_or_400(request)
        if isinstance(user, web.Response):
            return user
        if request.method == "POST":
            if user not in case.watchers:
                case.watchers.append(user)
            return web.Response(status=201)
        if user in case.watchers:
            case.watchers.remove(user)
        return web.Response(status=204)
