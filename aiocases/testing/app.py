"""The fake's aiohttp application: the API's handlers over a
:class:`~aiocases.testing.store.CaseStore`, behind one middleware per concern.

Every request goes through, outermost first:

1. *record*: counts it, in flight and by status, and keeps a
   :class:`RecordedRequest` (status -1 when the connection was dropped);
2. *redirect*: with ``redirect_to`` set, a 307 to that origin, nothing else;
3. *authenticate*: 401 without credentials, 403 with wrong ones;
4. *hidden limit*: 429 past ``max_in_flight`` requests at once, with
   ``Remaining: 1`` (a limit the headers do not show);
5. *rate limit*: 429 past the group's budget; the budget's headers are put on
   every answer of the group, whatever inner step made it;
6. *faults*: at most one seeded fault (:mod:`aiocases.testing.faults`);
7. *latency*, then *failing cases* (``fail_cases``: a status for every
   request about a case), then *refusals* (a handler's
   :class:`~aiocases.testing.jsonapi.Refusal` as its error answer), then the handler.

The handlers of the timeline, watchers, comments and search are here; those
of the case lifecycle in :mod:`~aiocases.testing.lifecycle`, those of
projects, case types and custom attributes in :mod:`~aiocases.testing.admin`.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from attrs import define, field, frozen

from aiocases.testing.admin import AdminHandlers
from aiocases.testing.data import FakeCase
from aiocases.testing.faults import ACTIONS, DROPPED, Faults, request_key
from aiocases.testing.jsonapi import (
    CONTENT_TYPE,
    Refusal,
    attributes_of,
    bad_request,
    invalid_parameter,
    is_uuid,
    not_found,
)
from aiocases.testing.lifecycle import CaseHandlers
from aiocases.testing.limits import RateLimiter
from aiocases.testing.search import SearchError, search_document
from aiocases.testing.store import CaseStore

__all__ = ["CONTENT_TYPE", "Counters", "FakeOptions", "RecordedRequest", "build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_LIMIT_HEADERS = request_key("aiocases.rate_limit_headers")
_LEVEL = request_key("aiocases.level")


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
class Counters:
    """What the fake has seen since it started (or since ``/_fake/reset``)."""

    by_status: Counter[int] = field(factory=Counter)
    in_flight: int = 0
    peak_in_flight: int = 0
    requests: list[RecordedRequest] = field(factory=list)
    faults: Counter[str] = field(factory=Counter)
    #: Answers that succeeded, and 429s, by the whole wall-clock second
    #: (on the rate limiter's clock) their request arrived in.
    ok_by_second: Counter[int] = field(factory=Counter)
    throttled_by_second: Counter[int] = field(factory=Counter)


@define
class FakeOptions:
    """How the fake behaves; changed while it runs only through its attributes."""

    api_key: str
    app_key: str
    access_token: str | None = None
    limiter: RateLimiter = field(factory=lambda: RateLimiter({}))
    max_in_flight: int | None = None
    faults: Faults | None = None
    latency: float = 0.0
    error_style: str = "jsonapi"
    redirect_to: str | None = None
    fail_cases: dict[str, int] = field(factory=dict)
    page_cap: int | None = None
    page_cap_offsets: str = "capped"
    search_page_start: int = 1
    search_page_cap: int | None = None
    unstable_order: bool = False


class _Fake:
    """The handlers and middlewares of one application."""

    def __init__(self, store: CaseStore, options: FakeOptions, counters: Callable[[], Counters]) -> None:
        self.store = store
        self.options = options
        self.counters = counters
        self.faults = options.faults or Faults()
        self._asked: Counter[str] = Counter()

    # -- what faults may use ----------------------------------------------------------

    def error(self, status: int, title: str) -> web.Response:
        """A JSON:API error object, or the reference pages' plain strings."""
        return self.refused(Refusal(status, {"status": str(status), "title": title}))

    def refused(self, refusal: Refusal) -> web.Response:
        """The answer to a refusal, in the recorded shape or as the reference pages' plain strings."""
        if self.options.error_style != "strings":
            return refusal.response()
        body = json.dumps({"errors": [refusal.error["title"]]}).encode()
        return web.Response(status=refusal.status, body=body, content_type=CONTENT_TYPE)

    def add_comment(self, case_id: str) -> None:
        if self.store.find(case_id) is not None:
            self.store.add_comment(case_id)

    # -- middlewares, outermost first ----------------------------------------------------

    @web.middleware
    async def record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        counters = self.counters()
        counters.in_flight += 1
        counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
        request[_LEVEL] = counters.in_flight
        arrived = int(self.options.limiter.clock())
        status = 0
        try:
            response = await handler(request)
            status = -1 if request.get(DROPPED) else response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except (ConnectionError, asyncio.CancelledError):
            status = -1
            raise
        finally:
            counters.in_flight -= 1
            counters.by_status[status] += 1
            if 200 <= status < 300:
                counters.ok_by_second[arrived] += 1
            elif status == 429:
                counters.throttled_by_second[arrived] += 1
            counters.requests.append(
                RecordedRequest(
                    request.method,
                    request.raw_path.split("?")[0],
                    request.query_string,
                    self.authenticated(request) is True,
                    status,
                    request.match_info.get("case_id"),
                )
            )

    @web.middleware
    async def redirect(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.options.redirect_to is not None and not request.path.startswith("/_fake/"):
            return web.Response(status=307, headers={"Location": self.options.redirect_to + request.raw_path})
        return await handler(request)

    def authenticated(self, request: web.Request) -> bool | None:
        """True: valid; False: present but wrong; None: missing."""
        options = self.options
        bearer = request.headers.get("Authorization", "")
        if options.access_token and bearer.startswith("Bearer "):
            return bearer[7:] == options.access_token
        api, app = request.headers.get("DD-API-KEY"), request.headers.get("DD-APPLICATION-KEY")
        if api is None and app is None and not bearer:
            return None
        return api == options.api_key and app == options.app_key

    @web.middleware
    async def authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        auth = self.authenticated(request)
        if auth is None:
            return self.error(401, "Unauthorized")
        if not auth:
            return self.error(403, "Forbidden")
        return await handler(request)

    @web.middleware
    async def hidden_limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        limit = self.options.max_in_flight
        if limit is not None and request.get(_LEVEL, 0) > limit:
            return web.Response(status=429, headers={"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "1"})
        return await handler(request)

    @web.middleware
    async def rate_limit(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_fake/"):
            return await handler(request)
        allowed, headers = self.options.limiter.admit(_group(request.method, request.path))
        request[_LIMIT_HEADERS] = headers  # put on the answer when it is sent: see _limit_headers
        return await handler(request) if allowed else web.Response(status=429)

    @web.middleware
    async def inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.options.faults is None or request.path.startswith("/_fake/"):
            return await handler(request)
        key = f"{request.method} {request.raw_path}"
        nth = self._asked[key]
        self._asked[key] += 1
        fault, value = self.options.faults.draw(key, nth)
        if fault is None or (fault == "insert" and not request.path.endswith("/timelines")):
            return await handler(request)
        self.counters().faults[fault] += 1
        return await ACTIONS[fault](self, request, handler, value)

    @web.middleware
    async def delay(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.options.latency and not request.path.startswith("/_fake/"):
            await asyncio.sleep(self.options.latency)
        return await handler(request)

    @web.middleware
    async def failing_cases(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        failing = self.options.fail_cases.get(request.match_info.get("case_id", ""))
        return self.error(failing, "Injected failure") if failing is not None else await handler(request)

    @web.middleware
    async def refusals(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as refusal:
            return self.refused(refusal)

    # -- handlers ---------------------------------------------------------------------

    def _case_or_404(self, request: web.Request) -> FakeCase:
        case = self.store.find(request.match_info["case_id"])
        if case is None:
            raise not_found("case not found")
        return case

    async def timeline(self, request: web.Request) -> web.Response:
        case = self._case_or_404(request)
        query = request.query
        try:
            size = int(query.get("page[size]", "10"))
            number = int(query.get("page[number]", "0"))
        except ValueError:
            return self.error(400, "Bad Request")
        ascending = query.get("sort[ascending]", "false")
        if size < 1 or size > 1000 or number < 0 or ascending not in ("true", "false"):
            return self.error(400, "Bad Request")
        encoded = case.encoded if ascending == "true" else case.encoded[::-1]
        if self.options.unstable_order:
            encoded = _shuffled_within_instants(case, encoded, ascending == "true", len(self.counters().requests))
        given = size if self.options.page_cap is None else min(size, self.options.page_cap)
        # A server capping silently counts offsets from the size it gives, or from the size asked for.
        start = number * (given if self.options.page_cap_offsets == "capped" else size)
        page = encoded[start : start + given]
        return web.Response(body=b'{"data":[' + b",".join(page) + b"]}", content_type=CONTENT_TYPE)

    async def list_watchers(self, request: web.Request) -> web.Response:
        case = self._case_or_404(request)
        data = [
            {"id": user, "type": "watcher", "relationships": {"user": {"data": {"id": user, "type": "user"}}}}
            for user in case.watchers
        ]
        return web.Response(body=json.dumps({"data": data}).encode(), content_type=CONTENT_TYPE)

    async def watch_or_unwatch(self, request: web.Request) -> web.Response:
        """POST adds the watcher (201), DELETE removes it (204); both idempotent."""
        case = self._case_or_404(request)
        user = request.match_info["user_uuid"]
        if not is_uuid(user):
            return self.error(400, "Bad Request")
        user = user.lower()
        if request.method == "POST":
            if user not in case.watchers:
                case.watchers.append(user)
            return web.Response(status=201)
        if user in case.watchers:
            case.watchers.remove(user)
        return web.Response(status=204)

    async def search(self, request: web.Request) -> web.Response:
        """GET /api/v2/cases ("Search cases"): see :mod:`aiocases.testing.search`."""
        try:
            document = search_document(
                self.store.cases.values(), request.query, self.options.search_page_start, self.options.search_page_cap
            )
        except SearchError as exc:
            return self.error(400, str(exc))
        return web.Response(body=json.dumps(document).encode(), content_type=CONTENT_TYPE)

    async def comment(self, request: web.Request) -> web.Response:
        """POST .../comment: the new cell, 200 (an empty or missing comment: 400)."""
        case = self._case_or_404(request)
        message = await _comment_of(request)
        cell = self.store.add_comment(case.id, message, via_api=True)
        return web.Response(body=json.dumps({"data": [cell]}).encode(), content_type=CONTENT_TYPE)

    async def comment_cell(self, request: web.Request) -> web.StreamResponse:
        """PUT .../comment/{cell_id} edits a live comment (200), DELETE marks it
        deleted (204); a cell id that is not a UUID is a 400, as recorded, and
        a comment that is not there (or deleted already) a 404."""
        case = self._case_or_404(request)
        cell_id = request.match_info["cell_id"]
        if not is_uuid(cell_id):
            raise invalid_parameter("CommentID")
        if request.method == "DELETE":
            deleted = self.store.delete_comment(case.id, cell_id)
            if deleted is None:
                raise not_found("timeline cell not found")
            return web.Response(status=204)
        message = await _comment_of(request)
        edited = self.store.edit_comment(case.id, cell_id, message)
        if edited is None:
            raise not_found("timeline cell not found")
        return web.Response(body=json.dumps({"data": [edited]}).encode(), content_type=CONTENT_TYPE)


def _shuffled_within_instants(case: FakeCase, encoded: list[bytes], ascending: bool, seed: int) -> list[bytes]:
    """The cells in a new order among those of one ``created_at`` (as a server
    that does not order equal timestamps the same way twice)."""
    times = [str(cell["attributes"]["created_at"]) for cell in case.cells]  # type: ignore[call-overload,index]
    times = times if ascending else times[::-1]
    rng = random.Random(seed)
    out: list[bytes] = []
    start = 0
    for end in range(1, len(encoded) + 1):
        if end == len(encoded) or times[end] != times[start]:
            run = encoded[start:end]
            rng.shuffle(run)
            out += run
            start = end
    return out


def _group(method: str, path: str) -> str:
    """The rate-limit group of a request, as the client names them."""
    path = path.rstrip("/")
    if path.endswith("/timelines"):
        return "timelines"
    if "/comment" in path:
        return "comment"
    if "/watchers" in path:
        return "watchers"
    for prefix, group in (("/api/v2/cases/projects", "projects"), ("/api/v2/cases/types", "types")):
        if path == prefix or path.startswith(prefix + "/"):
            return group
    if path in ("/api/v2/cases/count", "/api/v2/cases/aggregate") or (path == "/api/v2/cases" and method == "GET"):
        return "search"
    return "cases"


async def _comment_of(request: web.Request) -> str:
    """The comment of a CaseCommentRequest body (read by :mod:`~aiocases.testing.jsonapi`'s rules); an empty or
    missing one is a 400, as recorded."""
    comment = (await attributes_of(request, "case")).get("comment")
    if not isinstance(comment, str) or not comment:
        raise bad_request()
    return comment


async def _limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(request.get(_LIMIT_HEADERS, {}))


def build_app(
    store: CaseStore, options: FakeOptions, counters: Callable[[], Counters], extra_routes: Mapping[str, Handler]
) -> web.Application:
    """The application serving ``store`` as ``options`` say, recording into ``counters()``;
    ``extra_routes`` maps ``/_fake/...`` paths (not part of the API) to handlers."""
    fake = _Fake(store, options, counters)
    middlewares = [
        fake.record,
        fake.redirect,
        fake.authenticate,
        fake.hidden_limit,
        fake.rate_limit,
        fake.inject_faults,
        fake.delay,
        fake.failing_cases,
        fake.refusals,
    ]
    app = web.Application(middlewares=middlewares)
    app.on_response_prepare.append(_limit_headers)
    for path, handler in extra_routes.items():
        app.router.add_route("*", path, handler)
    # Fixed paths (projects, types, count) before the case ids they would match.
    for method, path, route in AdminHandlers(store.org).routes() + CaseHandlers(store).routes():
        app.router.add_route(method, path, route)
    # Any segment, braces included (aiohttp's default pattern excludes them).
    base = "/api/v2/cases/{case_id:[^/]+}"
    app.router.add_get(base + "/timelines", fake.timeline)
    app.router.add_get(base + "/watchers", fake.list_watchers)
    app.router.add_post(base + "/watchers/{user_uuid:[^/]+}", fake.watch_or_unwatch)
    app.router.add_delete(base + "/watchers/{user_uuid:[^/]+}", fake.watch_or_unwatch)
    app.router.add_get("/api/v2/cases", fake.search)
    app.router.add_post(base + "/comment", fake.comment)
    app.router.add_put(base + "/comment/{cell_id:[^/]+}", fake.comment_cell)
    app.router.add_delete(base + "/comment/{cell_id:[^/]+}", fake.comment_cell)
    return app
