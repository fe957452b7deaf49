"""The pure core: building requests (operations), checking arguments, deciphering answers (responses),
and where requests go with which credentials (config)."""

from __future__ import annotations

import json

import pytest

from aiocases import (
    ApiError,
    BadRequest,
    DecodeError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    operations,
    responses,
)
from aiocases.config import SITES, MissingCredentials, resolve_credentials, resolve_origin, site_of

UUID = "8146583c-0b5f-11ec-abf8-da7ad0900001"


def test_timeline_request() -> None:
    request = operations.list_case_timeline("PROJ-123", 2, 50, True)
    assert request.method == "GET"
    assert request.target == (
        "/api/v2/cases/PROJ-123/timelines?page%5Bsize%5D=50&page%5Bnumber%5D=2&sort%5Bascending%5D=true"
    )


def test_watcher_requests() -> None:
    assert operations.watch_case("PROJ-1", UUID).target == f"/api/v2/cases/PROJ-1/watchers/{UUID}"
    assert operations.watch_case("PROJ-1", UUID).expected == 201
    assert operations.unwatch_case("PROJ-1", UUID.upper()).method == "DELETE"
    assert operations.unwatch_case("PROJ-1", UUID.upper()).expected == 204
    assert operations.list_case_watchers("PROJ-1").path == "/api/v2/cases/PROJ-1/watchers"


@pytest.mark.parametrize(
    "case_id",
    ["", "   ", ".", "..", "a/b", "../admin", "a?b=1", "a#frag", "a\\b", "a\nb", "a\x00", "\u200b", "x" * 600],
)
def test_bad_case_ids(case_id: str) -> None:
    with pytest.raises(ValueError, match="case_id"):
        operations.list_case_timeline(case_id, 0, 10, False)


@pytest.mark.parametrize(
    ("case_id", "segment"),
    [("PROJ-123", "PROJ-123"), ("a b", "a%20b"), ("50%", "50%25"), ("%2e%2e", "%252e%252e"), ("café", "caf%C3%A9")],
)
def test_case_ids_are_percent_encoded(case_id: str, segment: str) -> None:
    assert operations.list_case_watchers(case_id).path == f"/api/v2/cases/{segment}/watchers"


@pytest.mark.parametrize("user", ["", "me", UUID + "0", UUID.replace("-", ""), f"{{{UUID}}}", "../" + UUID[3:], 5])
def test_bad_user_uuids(user: object) -> None:
    with pytest.raises(ValueError, match="user_uuid"):
        operations.watch_case("PROJ-1", user)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "size", "ascending"), [(-1, 10, True), (0, 0, True), (0, 10, "yes"), (True, 10, True)]
)
def test_bad_pages(number: object, size: object, ascending: object) -> None:
    with pytest.raises(ValueError):
        operations.list_case_timeline("PROJ-1", number, size, ascending)  # type: ignore[arg-type]


REQ = operations.list_case_timeline("PROJ-1", 0, 10, False)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, ApiError),
    ],
)
@pytest.mark.parametrize(
    "body",
    [b'{"errors": ["Bad thing"]}', b'{"errors": [{"status": "400", "title": "Bad thing"}]}'],
)
def test_error_statuses_in_both_body_shapes(status: int, cls: type[ApiError], body: bytes) -> None:
    with pytest.raises(cls) as info:
        responses.decipher(REQ, status, {}, body)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.errors == json.loads(body)["errors"]  # whole, as sent
    assert "Bad thing" in str(info.value)
    assert str(info.value).startswith(f"GET /api/v2/cases/PROJ-1/timelines: HTTP {status}")


def test_error_objects_are_kept_whole_and_rendered() -> None:
    body = b'{"errors": [{"status": "404", "title": "Not Found", "detail": "case PROJ-1 does not exist"}]}'
    with pytest.raises(NotFound, match=r"HTTP 404: Not Found: case PROJ-1 does not exist$") as info:
        responses.decipher(REQ, 404, {}, body)
    assert info.value.errors == [{"status": "404", "title": "Not Found", "detail": "case PROJ-1 does not exist"}]
    recorded = b'{"errors":[{"code":"resource_not_found","title":"case not found"}]}'  # as the real API answers
    with pytest.raises(NotFound, match=r"case not found \(resource_not_found\)") as info:
        responses.decipher(REQ, 404, {}, recorded)
    assert info.value.errors[0]["code"] == "resource_not_found"


def test_empty_429_with_reset() -> None:
    with pytest.raises(RateLimited) as info:
        responses.decipher(REQ, 429, {"X-RateLimit-Reset": "7", "X-RateLimit-Remaining": "3"}, b"")
    assert info.value.retry_after == 7.0
    assert info.value.errors == []


def test_redirect_is_not_retryable_transport_error() -> None:
    with pytest.raises(TransportError, match="redirect") as info:
        responses.decipher(REQ, 307, {"Location": "https://evil.example/x"}, b"")
    assert not info.value.retryable
    assert "evil" not in str(info.value)


def test_undecodable_body_is_transient() -> None:
    with pytest.raises(DecodeError) as info:
        responses.decipher(REQ, 200, {}, b'{"data": [')
    assert info.value.transient


def test_empty_success_bodies() -> None:
    assert responses.decipher(operations.watch_case("P-1", UUID), 201, {}, b"") is None
    with pytest.raises(DecodeError):
        responses.decipher(REQ, 200, {}, b"")


def test_credentials_from_environment() -> None:
    env = {"DD_API_KEY": "a" * 32, "DD_APPLICATION_KEY": "b" * 40}
    creds = resolve_credentials(None, None, environ=env)
    assert creds is not None
    assert creds.headers() == {"DD-API-KEY": "a" * 32, "DD-APPLICATION-KEY": "b" * 40}
    assert "a" * 8 not in repr(creds) and "b" * 8 not in repr(creds)
    other = resolve_credentials(None, None, environ={**env, "DD_APP_KEY": "c" * 40})
    assert other is not None and other.app_key == "c" * 40


def test_oauth_token() -> None:
    creds = resolve_credentials(None, None, access_token="tok-123456789", environ={})
    assert creds is not None
    assert creds.headers() == {"Authorization": "Bearer tok-123456789"}


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(MissingCredentials, match="DD_API_KEY") as info:
        resolve_credentials(None, None, environ={})
    assert "DD_APP_KEY" in str(info.value) and info.value.missing == ("DD_API_KEY", "DD_APP_KEY")
    assert resolve_credentials(None, None, environ={}, required=False) is None  # a transport may bring its own


def test_header_injection_in_keys() -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        resolve_credentials("secret\r\nX-Evil: 1", "app", environ={})
    assert "secret" not in str(info.value)


def test_sites() -> None:
    assert (url(None, None, environ={})) == "https://api.datadoghq.com"
    assert (url(None, None, environ={"DD_SITE": "datadoghq.eu"})) == "https://api.datadoghq.eu"
    assert (url("app.ddog-gov.com", None, environ={})) == "https://api.ddog-gov.com"
    assert len(SITES) == 9
    assert (url("uk1.datadoghq.com", None, environ={})) == "https://api.uk1.datadoghq.com"
    with pytest.raises(ValueError, match=r"us5\.datadoghq\.com"):
        url("datadoghq.moon", None, environ={})


@pytest.mark.parametrize(
    ("given", "site"),
    [
        ("https://app.datadoghq.eu", "datadoghq.eu"),
        ("https://app.datadoghq.eu/cases?page=2", "datadoghq.eu"),
        ("HTTPS://US5.DATADOGHQ.COM/", "us5.datadoghq.com"),
        ("https://api.uk1.datadoghq.com", "uk1.datadoghq.com"),
        ("app.ddog-gov.com", "ddog-gov.com"),
        (" datadoghq.com. ", "datadoghq.com"),
        ("https://app.datadoghq.moon", None),
        ("https://evil.example/app.datadoghq.eu", None),
        ("http://[::1", None),
        ("", None),
    ],
)
def test_a_site_given_as_a_url_maps_to_its_site(given: str, site: str | None) -> None:
    assert site_of(given) == site
    if site is None:
        with pytest.raises(ValueError, match=r"valid sites: .*uk1\.datadoghq\.com"):
            url(given or "?", None, environ={})
    else:
        assert (url(given, None, environ={})) == SITES[site]


def test_base_url_replaces_site() -> None:
    assert (url(None, "http://127.0.0.1:8126/", environ={"DD_SITE": "nope"})) == "http://127.0.0.1:8126"
    for bad in ("ftp://x", "127.0.0.1:80", "http://h/?a=1", "http://user:pw@h"):
        with pytest.raises(ValueError, match="base_url"):
            url(None, bad, environ={})
    with pytest.raises(ValueError, match="not both"):
        url("datadoghq.eu", "http://127.0.0.1:8126", environ={})
    with pytest.raises(ValueError, match=r"origin such as https://api\.example\.com, without a path \(got '/api/v2'\)"):
        url(None, "https://api.example.com/api/v2", environ={})


def test_base_url_from_the_environment() -> None:
    env = {"AIOCASES_BASE_URL": "http://127.0.0.1:9000", "DD_SITE": "datadoghq.eu"}
    assert (url(None, None, environ=env)) == "http://127.0.0.1:9000"
    assert (url("us3.datadoghq.com", None, environ=env)) == "https://api.us3.datadoghq.com"
    assert (url(None, None, environ={"DD_SITE": "datadoghq.eu"})) == "https://api.datadoghq.eu"


def url(site: str | None, base_url: str | None, environ: dict[str, str]) -> str:
    return resolve_origin(site, base_url, environ).url


def test_plain_http_only_to_this_machine() -> None:
    for local in ("http://127.0.0.1:8126", "http://localhost:1", "http://[::1]:8126", "http://127.8.9.10"):
        assert url(None, local, {}) == local
    for remote in ("http://api.example.com", "http://10.0.0.1:8126", "http://localhost.evil.example"):
        with pytest.raises(ValueError, match="plain http to another host"):
            url(None, remote, {})
        with pytest.raises(ValueError, match=r"AIOCASES_BASE_URL .*plain http"):
            url(None, None, {"AIOCASES_BASE_URL": remote})


def test_the_origin_names_what_chose_it() -> None:
    assert str(resolve_origin(None, None, {})) == "https://api.datadoghq.com (the default site datadoghq.com)"
    assert resolve_origin(None, None, {"DD_SITE": "datadoghq.eu"}).source == "DD_SITE=datadoghq.eu"
    env = {"AIOCASES_BASE_URL": "http://127.0.0.1:9"}
    assert str(resolve_origin(None, None, env)) == "http://127.0.0.1:9 (AIOCASES_BASE_URL)"
    assert resolve_origin("datadoghq.eu", None, env).source == "site datadoghq.eu"


def test_works_without_orjson() -> None:
    """orjson is optional (the ``fast`` extra): the standard library decodes otherwise."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['orjson'] = None\n"
        "from aiocases import operations, responses\n"
        "assert responses._fast_loads is None\n"
        "req = operations.list_case_timeline('PROJ-1', 0, 10, False)\n"
        "assert responses.decipher(req, 200, {}, b'{\"data\": []}') == {'data': []}\n"
        "try:\n"
        "    responses.decipher(req, 200, {}, b'{\"data\": [')\n"
        "except responses.DecodeError as exc:\n"
        "    assert exc.transient\n"
        "else:\n"
        "    raise SystemExit('no DecodeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
