"""The pure core: request building, argument validation, response deciphering."""

from __future__ import annotations

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
    sansio,
)
from aiocases.config import SITES, resolve_base_url, resolve_credentials, site_of

UUID = "8146583c-0b5f-11ec-abf8-da7ad0900001"


def test_timeline_request() -> None:
    request = sansio.timeline_request("PROJ-123", 2, 50, True)
    assert request.method == "GET"
    assert request.target == (
        "/api/v2/cases/PROJ-123/timelines?page%5Bsize%5D=50&page%5Bnumber%5D=2&sort%5Bascending%5D=true"
    )


def test_watcher_requests() -> None:
    assert sansio.watch_request("PROJ-1", UUID).target == f"/api/v2/cases/PROJ-1/watchers/{UUID}"
    assert sansio.watch_request("PROJ-1", UUID).expected == 201
    assert sansio.unwatch_request("PROJ-1", UUID.upper()).method == "DELETE"
    assert sansio.unwatch_request("PROJ-1", UUID.upper()).expected == 204
    assert sansio.list_watchers_request("PROJ-1").path == "/api/v2/cases/PROJ-1/watchers"


@pytest.mark.parametrize(
    "case_id",
    ["", "   ", ".", "..", "a/b", "../admin", "a?b=1", "a#frag", "a\\b", "a\nb", "a\x00", "\u200b", "x" * 600],
)
def test_bad_case_ids(case_id: str) -> None:
    with pytest.raises(ValueError, match="case_id"):
        sansio.timeline_request(case_id, 0, 10, False)


@pytest.mark.parametrize(
    ("case_id", "segment"),
    [("PROJ-123", "PROJ-123"), ("a b", "a%20b"), ("50%", "50%25"), ("%2e%2e", "%252e%252e"), ("café", "caf%C3%A9")],
)
def test_case_ids_are_percent_encoded(case_id: str, segment: str) -> None:
    assert sansio.list_watchers_request(case_id).path == f"/api/v2/cases/{segment}/watchers"


@pytest.mark.parametrize("user", ["", "me", UUID + "0", UUID.replace("-", ""), f"{{{UUID}}}", "../" + UUID[3:], 5])
def test_bad_user_uuids(user: object) -> None:
    with pytest.raises(ValueError, match="user_uuid"):
        sansio.watch_request("PROJ-1", user)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("number", "size", "ascending"), [(-1, 10, True), (0, 0, True), (0, 10, "yes"), (True, 10, True)]
)
def test_bad_pages(number: object, size: object, ascending: object) -> None:
    with pytest.raises(ValueError):
        sansio.timeline_request("PROJ-1", number, size, ascending)  # type: ignore[arg-type]


REQ = sansio.timeline_request("PROJ-1", 0, 10, False)


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
        sansio.decipher(REQ, status, {}, body)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.errors == ["Bad thing"]
    assert str(info.value).startswith(f"GET /api/v2/cases/PROJ-1/timelines: HTTP {status}")


def test_error_object_with_detail() -> None:
    body = b'{"errors": [{"status": "404", "title": "Not Found", "detail": "case PROJ-1 does not exist"}]}'
    assert sansio.error_messages(body) == ["Not Found: case PROJ-1 does not exist"]


def test_empty_429_with_reset() -> None:
    with pytest.raises(RateLimited) as info:
        sansio.decipher(REQ, 429, {"X-RateLimit-Reset": "7", "X-RateLimit-Remaining": "3"}, b"")
    assert info.value.retry_after == 7.0
    assert info.value.errors == []


def test_redirect_is_not_retryable_transport_error() -> None:
    with pytest.raises(TransportError, match="redirect") as info:
        sansio.decipher(REQ, 307, {"Location": "https://evil.example/x"}, b"")
    assert not info.value.retryable
    assert "evil" not in str(info.value)


def test_undecodable_body_is_transient() -> None:
    with pytest.raises(DecodeError) as info:
        sansio.decipher(REQ, 200, {}, b'{"data": [')
    assert info.value.transient


def test_empty_success_bodies() -> None:
    assert sansio.decipher(sansio.watch_request("P-1", UUID), 201, {}, b"") is None
    with pytest.raises(DecodeError):
        sansio.decipher(REQ, 200, {}, b"")


def test_credentials_from_environment() -> None:
    env = {"DD_API_KEY": "a" * 32, "DD_APPLICATION_KEY": "b" * 40}
    creds = resolve_credentials(None, None, environ=env)
    assert creds.headers() == {"DD-API-KEY": "a" * 32, "DD-APPLICATION-KEY": "b" * 40}
    assert "a" * 8 not in repr(creds) and "b" * 8 not in repr(creds)
    assert resolve_credentials(None, None, environ={**env, "DD_APP_KEY": "c" * 40}).app_key == "c" * 40


def test_oauth_token() -> None:
    creds = resolve_credentials(None, None, access_token="tok-123456789", environ={})
    assert creds.headers() == {"Authorization": "Bearer tok-123456789"}


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ValueError, match="DD_API_KEY") as info:
        resolve_credentials(None, None, environ={})
    assert "DD_APP_KEY" in str(info.value)


def test_header_injection_in_keys() -> None:
    with pytest.raises(ValueError, match="api_key") as info:
        resolve_credentials("secret\r\nX-Evil: 1", "app", environ={})
    assert "secret" not in str(info.value)


def test_sites() -> None:
    assert str(resolve_base_url(None, None, environ={})) == "https://api.datadoghq.com"
    assert str(resolve_base_url(None, None, environ={"DD_SITE": "datadoghq.eu"})) == "https://api.datadoghq.eu"
    assert str(resolve_base_url("app.ddog-gov.com", None, environ={})) == "https://api.ddog-gov.com"
    assert len(SITES) == 9
    assert str(resolve_base_url("uk1.datadoghq.com", None, environ={})) == "https://api.uk1.datadoghq.com"
    with pytest.raises(ValueError, match=r"us5\.datadoghq\.com"):
        resolve_base_url("datadoghq.moon", None, environ={})


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
            resolve_base_url(given or "?", None, environ={})
    else:
        assert str(resolve_base_url(given, None, environ={})) == SITES[site]


def test_base_url_replaces_site() -> None:
    assert str(resolve_base_url(None, "http://127.0.0.1:8126/", environ={"DD_SITE": "nope"})) == "http://127.0.0.1:8126"
    for bad in ("ftp://x", "127.0.0.1:80", "http://h/?a=1", "http://user:pw@h"):
        with pytest.raises(ValueError, match="base_url"):
            resolve_base_url(None, bad, environ={})
    with pytest.raises(ValueError, match="not both"):
        resolve_base_url("datadoghq.eu", "http://127.0.0.1:8126", environ={})
    with pytest.raises(ValueError, match=r"origin such as https://api\.example\.com, without a path \(got '/api/v2'\)"):
        resolve_base_url(None, "https://api.example.com/api/v2", environ={})


def test_base_url_from_the_environment() -> None:
    env = {"AIOCASES_BASE_URL": "http://127.0.0.1:9000", "DD_SITE": "datadoghq.eu"}
    assert str(resolve_base_url(None, None, environ=env)) == "http://127.0.0.1:9000"
    assert str(resolve_base_url("us3.datadoghq.com", None, environ=env)) == "https://api.us3.datadoghq.com"
    assert str(resolve_base_url(None, None, environ={"DD_SITE": "datadoghq.eu"})) == "https://api.datadoghq.eu"


def test_works_without_orjson() -> None:
    """orjson is optional (the ``fast`` extra): the standard library decodes otherwise."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['orjson'] = None\n"
        "from aiocases import sansio\n"
        "assert sansio._fast_loads is None\n"
        "req = sansio.timeline_request('PROJ-1', 0, 10, False)\n"
        "assert sansio.decipher(req, 200, {}, b'{\"data\": []}') == {'data': []}\n"
        "try:\n"
        "    sansio.decipher(req, 200, {}, b'{\"data\": [')\n"
        "except sansio.DecodeError as exc:\n"
        "    assert exc.transient\n"
        "else:\n"
        "    raise SystemExit('no DecodeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
