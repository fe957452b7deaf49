"""CasesClient against the fake API over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable

import pytest

import aiocases
from aiocases import (
    ApiError,
    BadRequest,
    CasesClient,
    CasesError,
    ClientClosed,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from aiocases.testing import FakeCasesAPI, Faults

MakeClient = Callable[..., CasesClient]


def test_public_names_are_pinned() -> None:
    pinned = [
        "ApiError",
        "Author",
        "AuthorContent",
        "BadRequest",
        "Bookmark",
        "Budget",
        "Case",
        "CaseAggregate",
        "CaseCount",
        "CaseDone",
        "CaseSynced",
        "CaseTimeline",
        "CaseType",
        "CasesClient",
        "CasesError",
        "CellAttributes",
        "CellContent",
        "ClientClosed",
        "CustomAttributeConfig",
        "CustomAttributeValue",
        "DecodeError",
        "Event",
        "ExportEvent",
        "Forbidden",
        "InconsistentPages",
        "InvalidArgument",
        "LocalBudget",
        "NotFound",
        "NotificationRule",
        "PageLimitExceeded",
        "Project",
        "ProjectFavorite",
        "RateLimited",
        "Request",
        "RequestDone",
        "Response",
        "ResponseTooLarge",
        "RetryPolicy",
        "Retrying",
        "ServerError",
        "Stats",
        "Throttled",
        "TimelineCell",
        "TimelinePage",
        "Timeout",
        "Transport",
        "TransportError",
        "Unauthorized",
        "User",
        "Watcher",
        "__version__",
        "custom_value",
        "from_api_json",
        "to_api_json",
    ]
    assert sorted(aiocases.__all__) == sorted(pinned)
    for name in aiocases.__all__:
        assert getattr(aiocases, name) is not None
    assert issubclass(Timeout, asyncio.TimeoutError) and issubclass(Timeout, TransportError)
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, RateLimited, ServerError):
        assert issubclass(cls, ApiError) and issubclass(cls, CasesError)


async def test_watch_list_unwatch(fake_cases_api: FakeCasesAPI, cases_client: CasesClient) -> None:
    case = next(iter(fake_cases_api.cases.values()))
    user = fake_cases_api.generator.user_uuid()
    assert await cases_client.watch_case(case.key, user) is None
    assert await cases_client.watch_case(case.id, user) is None  # by UUID too; idempotent
    watchers = await cases_client.list_watchers(case.key)
    assert [w.user_id for w in watchers] == [user]
    assert await cases_client.unwatch_case(case.key, user) is None
    assert await cases_client.list_watchers(case.id) == []
    assert fake_cases_api.requests_by_status == {201: 2, 200: 2, 204: 1}


async def test_timeline_pages_in_either_order(fake_cases_api: FakeCasesAPI, cases_client: CasesClient) -> None:
    case = next(iter(fake_cases_api.cases.values()))
    page = await cases_client.get_timeline_page(case.key, page_number=1, page_size=10, ascending=False)
    truth = fake_cases_api.cells(case.id, ascending=False)[10:20]
    assert [c.id for c in page] == [c["id"] for c in truth]
    oldest = await cases_client.get_timeline_page(case.key, page_size=5)  # oldest first by default
    assert [c.id for c in oldest] == [c["id"] for c in fake_cases_api.cells(case.id)[:5]]


@pytest.mark.parametrize("style", ["jsonapi", "strings"])
@pytest.mark.parametrize(("status", "cls"), [(400, BadRequest), (401, Unauthorized), (403, Forbidden), (404, NotFound)])
async def test_client_errors_are_typed_and_not_retried(
    client_for: MakeClient, style: str, status: int, cls: type[ApiError]
) -> None:
    async with FakeCasesAPI(cases=1, cells=3, error_style=style) as api:
        case = next(iter(api.cases.values()))
        api.fail_cases[case.key] = status
        async with client_for(api) as client:
            with pytest.raises(cls) as info:
                await client.get_timeline_page(case.key)
        assert info.value.status == status
        sent = {"jsonapi": {"status": str(status), "title": "Injected failure"}, "strings": "Injected failure"}
        assert info.value.errors == [sent[style]]  # whole, as the body had them
        assert "Injected failure" in str(info.value)
        assert f"GET /api/v2/cases/{case.key}/timelines" in str(info.value)
        assert len(api.requests) == 1


async def test_unknown_case_is_not_found(cases_client: CasesClient) -> None:
    with pytest.raises(NotFound, match="case not found"):
        await cases_client.list_watchers("NOPE-404")


async def test_wrong_keys_are_forbidden(fake_cases_api: FakeCasesAPI) -> None:
    async with CasesClient("wrong-api-key", "wrong-app-key", base_url=fake_cases_api.url) as client:
        with pytest.raises(Forbidden):
            await client.list_watchers("PROJ-1")


async def test_oauth_token_is_accepted() -> None:
    async with FakeCasesAPI(cases=1, cells=2, access_token="oauth-token-123") as api:
        case = next(iter(api.cases.values()))
        async with CasesClient(access_token="oauth-token-123", base_url=api.url) as client:
            assert len(await client.get_timeline_page(case.key)) == 2


async def test_server_errors_are_retried_then_given_up(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=3) as api:
        case = next(iter(api.cases.values()))
        api.fail_cases[case.key] = 503
        async with client_for(api, max_retries=3) as client:
            with pytest.raises(ServerError) as info:
                await client.get_timeline_page(case.key)
            assert info.value.status == 503
            assert client.stats.requests == 4 and client.stats.retries == 3
        assert api.requests_by_status == {503: 4}


@pytest.mark.parametrize("fault", ["server_error", "reset", "cut", "truncated"])
async def test_transient_faults_are_retried(client_for: MakeClient, fault: str) -> None:
    async with FakeCasesAPI(cases=1, cells=40, faults=Faults(seed=1, **{fault: 0.5})) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api, max_retries=10) as client:
            cells = [c async for c in client.iter_timeline(case.key, page_size=7)]
            assert client.stats.retries > 0
        assert [c.id for c in cells] == [c["id"] for c in api.cells(case.id)]
        assert api.counters.faults[fault] > 0


async def test_timeouts_are_typed(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=3, faults=Faults(slow=1.0, slow_seconds=1.0)) as api:
        case = next(iter(api.cases.values()))
        async with client_for(api, timeout=0.1, max_retries=1) as client:
            with pytest.raises(Timeout) as info:
                await client.get_timeline_page(case.key)
            assert isinstance(info.value, asyncio.TimeoutError)
            assert client.stats.requests == 2


async def test_connection_refused_is_a_transport_error(client_for: MakeClient) -> None:
    api = FakeCasesAPI()
    async with api:
        url = api.url
    async with CasesClient("k", "a", base_url=url, max_retries=1) as client:
        with pytest.raises(TransportError) as info:
            await client.list_watchers("PROJ-1")
    port = url.rsplit(":", 1)[1]
    assert f"cannot connect to 127.0.0.1:{port}: Connection refused" in str(info.value)
    assert "ssl" not in str(info.value)  # aiohttp says "ssl:default" even for http://


async def test_rate_limit_is_respected(client_for: MakeClient) -> None:
    rule = aiocases.testing.RateLimitRule(limit=20, period=1)
    async with FakeCasesAPI(cases=8, cells=30, rate_limit=rule) as api:
        async with client_for(api, max_concurrency=8) as client:
            results = [r async for r in client.export_timelines(list(api.cases), page_size=10)]
    assert all(r.ok for r in results)
    assert sum(len(r.cells) for r in results) == 8 * 30
    # 32 requests at 20/s: at most a stray 429 at a window edge, no storm.
    assert api.requests_by_status[429] <= 2
    assert api.requests_by_status[200] == 32


async def test_429_without_headers_holds_and_recovers(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=4, cells=12, max_in_flight=2, latency=0.02) as api:
        async with client_for(api, max_concurrency=8) as client:
            results = [r async for r in client.export_timelines(list(api.cases), page_size=5)]
            assert client.stats.throttled == api.requests_by_status[429] > 0
            assert client.gate.concurrency.allowed <= 4
    assert all(r.ok for r in results)


async def test_redirect_to_another_origin_gets_no_credentials(client_for: MakeClient) -> None:
    async with FakeCasesAPI(cases=1, cells=1) as elsewhere:
        async with FakeCasesAPI(redirect_to=elsewhere.url) as api, client_for(api) as client:
            with pytest.raises(TransportError, match="redirect") as info:
                await client.list_watchers("PROJ-1")
            assert client.stats.retries == 0
        assert elsewhere.requests == []
        assert elsewhere.url not in str(info.value)


async def test_secrets_never_leak(client_for: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    faults = Faults(seed=2, server_error=0.3, truncated=0.2)
    async with FakeCasesAPI(
        cases=2, cells=15, faults=faults, api_key="SUPERSECRETAPIKEY1234", app_key="APPKEY987654"
    ) as api:
        case = next(iter(api.cases.values()))
        api.fail_cases["FAIL-1"] = 403
        texts: list[str] = []
        async with client_for(api, max_retries=2) as client:
            texts.append(repr(client))
            texts.append(str(client.__dict__))
            for call in (
                client.list_watchers(case.key),
                client.get_timeline_page("FAIL-1"),
                client.get_timeline_page("NOPE-1"),
                client.watch_case(case.key, api.generator.user_uuid()),
            ):
                try:
                    await call
                except CasesError as exc:
                    texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
        async with CasesClient("SUPERSECRETAPIKEY1234", "wrong", base_url=api.url) as bad:
            try:
                await bad.list_watchers(case.key)
            except CasesError as exc:
                texts += [str(exc), "".join(traceback.format_exception(exc))]
    texts.append(caplog.text)
    assert "GET" in caplog.text
    for text in texts:
        for secret in ("SUPERSECRETAPIKEY1234", "APPKEY987654", "KEY1234", "Y98765"):
            assert secret not in text


async def test_invalid_arguments_fail_before_any_request(
    fake_cases_api: FakeCasesAPI, cases_client: CasesClient
) -> None:
    with pytest.raises(ValueError):
        await cases_client.get_timeline_page("../../admin")
    with pytest.raises(ValueError):
        await cases_client.watch_case("PROJ-1", "not-a-uuid")
    with pytest.raises(ValueError):
        cases_client.iter_timeline("PROJ-1", page_size=0)
    with pytest.raises(ValueError):
        cases_client.export_timelines("PROJ-1")
    assert fake_cases_api.requests == []


def test_constructor_validation() -> None:
    for kwargs in ({"max_concurrency": 0}, {"timeout": 0}, {"max_retries": -1}, {"site": "nowhere"}):
        with pytest.raises(ValueError):
            CasesClient("k", "a", **kwargs)  # type: ignore[arg-type]


async def test_a_client_is_new_open_then_closed(fake_cases_api: FakeCasesAPI) -> None:
    """Every call on a client not open raises ClientClosed at once; closed is final."""
    client = CasesClient(fake_cases_api.api_key, fake_cases_api.app_key, base_url=fake_cases_api.url)
    case = next(iter(fake_cases_api.cases.values()))
    with pytest.raises(ClientClosed, match="not open"):
        await client.list_watchers("PROJ-1")
    with pytest.raises(ClientClosed, match="not open"):
        client.export_timelines([case.key])
    async with client:
        assert len(await client.get_timeline_page(case.key)) == 25
        with pytest.raises(ClientClosed, match="open already"):
            await client.__aenter__()
    assert client.closed
    for call in (client.get_timeline_page(case.key), client.add_comment(case.key, "x")):
        with pytest.raises(ClientClosed, match="was closed"):  # its session with it
            await call
    with pytest.raises(ClientClosed, match="make a new CasesClient"):
        async with client:
            pass
    await client.close()  # twice: nothing
    assert len(fake_cases_api.requests) == 1
