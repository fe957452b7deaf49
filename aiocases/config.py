"""Where requests go and what they authenticate with.

Pure functions over explicit arguments and an environment mapping, so they
are tested without touching ``os.environ``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from collections.abc import Mapping

from attrs import field, frozen
from yarl import URL

from aiocases.errors import InvalidArgument

__all__ = [
    "DEFAULTS",
    "SITES",
    "Credentials",
    "Defaults",
    "MissingCredentials",
    "Origin",
    "resolve_credentials",
    "resolve_origin",
    "site_of",
]


@frozen
class Defaults:
    """Every default of the client and the command line, in one place."""

    max_concurrency: int = 16
    timeout: float = 30.0
    max_retries: int = 5
    max_wait: float = 300.0
    max_response_bytes: int = 64 * 1024 * 1024
    max_pages: int = 10_000
    page_size: int = 100
    prefetch: int = 16


#: The defaults in use.
DEFAULTS = Defaults()

#: The Datadog sites (the reference pages' table, and ``uk1``, which Datadog's
#: official client lists), mapped to their API hosts.
SITES: Mapping[str, str] = {
    "datadoghq.com": "https://api.datadoghq.com",
    "us3.datadoghq.com": "https://api.us3.datadoghq.com",
    "us5.datadoghq.com": "https://api.us5.datadoghq.com",
    "datadoghq.eu": "https://api.datadoghq.eu",
    "ap1.datadoghq.com": "https://api.ap1.datadoghq.com",
    "ap2.datadoghq.com": "https://api.ap2.datadoghq.com",
    "uk1.datadoghq.com": "https://api.uk1.datadoghq.com",
    "ddog-gov.com": "https://api.ddog-gov.com",
    "us2.ddog-gov.com": "https://api.us2.ddog-gov.com",
}
# The reference table names the sites by their app host; accept those spellings too.
_SITE_ALIASES = {
    "app.datadoghq.com": "datadoghq.com",
    "app.datadoghq.eu": "datadoghq.eu",
    "app.ddog-gov.com": "ddog-gov.com",
}


def _redacted(value: str) -> str:
    return "<redacted>" if value else "<unset>"


@frozen
class Credentials:
    """API and application keys, or an OAuth access token.

    Never shown: ``repr`` and ``str`` redact every value.
    """

    api_key: str = field(default="", repr=_redacted)
    app_key: str = field(default="", repr=_redacted)
    access_token: str = field(default="", repr=_redacted)

    def fingerprint(self) -> str:
        """A name for these credentials that reveals nothing of them (the start of
        their SHA-256): what a budget shared in Redis is kept under."""
        secret = "\0".join((self.api_key, self.app_key, self.access_token))
        return hashlib.sha256(secret.encode()).hexdigest()[:24]

    def headers(self) -> dict[str, str]:
        """The authentication headers of every request."""
        if self.access_token:
            return {"Authorization": f"Bearer {self.access_token}"}
        return {"DD-API-KEY": self.api_key, "DD-APPLICATION-KEY": self.app_key}


def _check_header_value(name: str, value: str) -> None:
    # Keys and tokens are printable ASCII with no spaces.  Anything else would
    # split a header, be refused by aiohttp at every request, or (a non-UTF-8
    # byte in the environment, which Python keeps as a surrogate) be sent as a
    # different key: refuse it here, naming where it came from, never echoing it.
    if not value.isascii() or not value.isprintable() or " " in value:
        raise InvalidArgument(
            f"{name} contains whitespace, control or non-ASCII characters; a Datadog key or token has none"
        )


class MissingCredentials(InvalidArgument):
    """No key was given nor found in the environment; ``missing`` names the
    environment variables that would hold them."""

    def __init__(self, message: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.missing = missing


def resolve_credentials(
    api_key: str | None,
    app_key: str | None,
    access_token: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    required: bool = True,
) -> Credentials | None:
    """Keys from the arguments, else ``DD_API_KEY`` and ``DD_APP_KEY`` (or
    ``DD_APPLICATION_KEY``); an ``access_token`` (OAuth, scopes ``cases_read``
    / ``cases_write``) replaces both.  Raises
    :class:`~aiocases.errors.InvalidArgument` naming the argument or variable
    when one holds characters no key has, and :class:`MissingCredentials`
    when one is missing, unless not ``required`` (then ``None``: an injected
    transport may bring its own)."""
    env = os.environ if environ is None else environ
    if access_token is not None and (api_key is not None or app_key is not None):
        raise InvalidArgument("pass access_token or api_key/app_key, not both: an OAuth token replaces the keys")
    if access_token:
        _check_header_value("access_token", access_token)
        return Credentials(access_token=access_token)
    api, api_from = (api_key, "api_key") if api_key is not None else (env.get("DD_API_KEY", ""), "DD_API_KEY")
    if app_key is not None:
        app, app_from = app_key, "app_key"
    elif env.get("DD_APP_KEY"):
        app, app_from = env["DD_APP_KEY"], "DD_APP_KEY"
    else:
        app, app_from = env.get("DD_APPLICATION_KEY", ""), "DD_APPLICATION_KEY"
    missing = [
        (name, variable)
        for name, variable, value in (
            ("api_key", "DD_API_KEY", api),
            ("app_key", "DD_APP_KEY", app),
        )
        if not value
    ]
    if missing and not required and not api and not app:
        return None
    if missing:
        names = " and ".join(f"{name} ({variable})" for name, variable in missing)
        raise MissingCredentials(
            f"missing credentials: {names}; pass them to CasesClient or set the environment variables"
            " (or pass access_token= for an OAuth app)",
            tuple(variable for _, variable in missing),
        )
    _check_header_value(api_from, api)
    _check_header_value(app_from, app)
    return Credentials(api_key=api, app_key=app)


@frozen
class Origin:
    """Where requests go (``url``, such as ``https://api.datadoghq.eu``) and
    what chose it (``source``: ``site datadoghq.eu``, ``DD_SITE=datadoghq.eu``,
    ``base_url``, ``AIOCASES_BASE_URL``), for messages that name both."""

    url: str
    source: str

    def __str__(self) -> str:
        return f"{self.url} ({self.source})"


def resolve_origin(site: str | None, base_url: str | None, environ: Mapping[str, str] | None = None) -> Origin:
    """The API origin: ``base_url`` if given, else the host of ``site``;
    given neither, ``AIOCASES_BASE_URL`` (an API-compatible server, such as
    the fake), else the host of ``DD_SITE``, else ``datadoghq.com``.

    Raises :class:`~aiocases.errors.InvalidArgument` for both arguments at
    once, an unknown site (listing the valid ones), a ``base_url`` that is
    not an origin, or one over plain ``http://`` to a host that is not this
    machine (credentials would cross the network in clear)."""
    if site is not None and base_url is not None:
        raise InvalidArgument("pass site or base_url, not both: base_url replaces the site's API host")
    env = os.environ if environ is None else environ
    if site is None and base_url is None and env.get("AIOCASES_BASE_URL"):
        return Origin(_origin(env["AIOCASES_BASE_URL"], "AIOCASES_BASE_URL"), "AIOCASES_BASE_URL")
    if base_url is not None:
        return Origin(_origin(base_url, "base_url"), "base_url")
    if site is not None:
        given, source = site, f"site {site.strip()}"
    elif env.get("DD_SITE"):
        given, source = env["DD_SITE"], f"DD_SITE={env['DD_SITE'].strip()}"
    else:
        given, source = "datadoghq.com", "the default site datadoghq.com"
    name = site_of(given)
    if name is None:
        raise InvalidArgument(f"unknown Datadog site {given.strip()!r:.80}; valid sites: {', '.join(SITES)}")
    return Origin(SITES[name], source)


def site_of(text: str) -> str | None:
    """The Datadog site that ``text`` names, or ``None``: a site
    (``datadoghq.eu``), the host of its web app or API (``app.datadoghq.eu``,
    ``api.datadoghq.eu``), or a URL on either, copied from a browser
    (``https://app.datadoghq.eu/cases?page=2``)."""
    host = text.strip().lower()
    if "://" in host:
        try:
            host = URL(host).host or ""
        except ValueError:
            return None
    host = host.split("/", 1)[0].rstrip(".")
    host = _SITE_ALIASES.get(host, host)
    if host.startswith("api.") and host[4:] in SITES:
        host = host[4:]
    return host if host in SITES else None


def _origin(base_url: str, name: str) -> str:
    try:
        url = URL(base_url)
    except (TypeError, ValueError):
        url = URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgument(
            f"{name} must be an http(s) URL with a host, such as http://127.0.0.1:8126, got {base_url!r:.80}"
        )
    if url.query_string or url.fragment or url.user or url.password:
        raise InvalidArgument(f"{name} must not carry a query, a fragment or user info")
    if url.path not in ("", "/"):
        raise InvalidArgument(
            f"{name} must be an origin such as {url.origin()}, without a path (got {url.path!r:.80}):"
            " aiocases adds /api/v2/cases/... itself"
        )
    if url.scheme == "http" and not _loopback(url.host):
        raise InvalidArgument(
            f"{name} {str(url.origin())!r:.80} is plain http to another host: credentials would cross the network"
            " unencrypted; use https (plain http is for this machine only: 127.0.0.1, ::1, localhost)"
        )
    return str(url.origin())


def _loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
