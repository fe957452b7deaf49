"""How a request reaches the API: the one-method :class:`Transport` interface
(as httpx's ``BaseTransport``), and :class:`AiohttpTransport`, the one module
that touches aiohttp.

A transport takes a :class:`~aiocases.operations.Request`, which carries
where it goes (``url``) and its credentials (``headers``), as the client set
them, and returns the whole :class:`Response`, or raises a
:class:`~aiocases.errors.TransportError` (a :class:`~aiocases.errors.Timeout`
for timeouts).  ``CasesClient(transport=...)`` takes any object with that one
method, for instance :class:`aiocases.testing.MockTransport` in unit tests.
Everything aiohttp or the socket raises becomes a typed error naming the
request, never the headers it carried.
"""

from __future__ import annotations

import asyncio
import os
import socket
import zlib
from collections.abc import Mapping
from typing import Protocol

import aiohttp
from attrs import field, frozen
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from aiocases.errors import ClientClosed, DecodeError, ResponseTooLarge, Timeout, TransportError
from aiocases.operations import Request

__all__ = ["AiohttpTransport", "Response", "Transport"]


def _headers(value: Mapping[str, str]) -> Mapping[str, str]:
    # Header names are case-insensitive; a plain dict from a test is made so too.
    return value if isinstance(value, CIMultiDictProxy) else CIMultiDictProxy(CIMultiDict(value))


@frozen
class Response:
    """Status, headers (case-insensitive) and the complete body of one response."""

    status: int
    headers: Mapping[str, str] = field(factory=dict, converter=_headers)
    body: bytes = b""


class Transport(Protocol):
    """Sends one request and returns its whole response."""

    async def send(self, request: Request) -> Response:
        """The response to ``request``; a :class:`~aiocases.errors.TransportError` if none came."""


class AiohttpTransport:
    """A :class:`Transport` over one :class:`aiohttp.ClientSession`.

    Redirects are never followed (aiohttp would forward ``DD-API-KEY`` to
    another origin); TLS verification stays on; the connection pool holds at
    least ``max_connections`` so a request never times out waiting for one.
    Bodies are decompressed here, not by aiohttp, so that no more than
    ``max_body`` bytes are ever produced from one response (a small gzip body
    can expand a thousandfold).
    """

    def __init__(self, *, timeout: float, max_connections: int, max_body: int) -> None:
        self._max_body = max_body
        self._session = aiohttp.ClientSession(
            headers={"Accept": "application/json", "Accept-Encoding": "gzip, deflate", "User-Agent": "aiocases"},
            connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections),
            # total bounds one try from send to the last byte of the body; the
            # gate keeps the pool from ever being the thing waited on.
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=timeout),
            auto_decompress=False,
            trust_env=False,
        )

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._session.closed

    async def send(self, request: Request) -> Response:
        """Send ``request`` and read its body; transport failures are typed."""
        url = URL(request.url, encoded=True)
        if self._session.closed:
            raise ClientClosed("the client was closed", method=request.method, path=request.path)
        headers = {**request.headers, **_JSON_BODY} if request.body else request.headers
        try:
            async with self._session.request(
                request.method, url, data=request.body or None, headers=headers, allow_redirects=False
            ) as response:
                body = await _read_body(response, self._max_body, request)
                return Response(response.status, response.headers, body)
        except aiohttp.ConnectionTimeoutError:
            raise Timeout(
                "timed out connecting", method=request.method, path=request.path, request_sent=False
            ) from None
        except asyncio.TimeoutError:
            raise Timeout("timed out", method=request.method, path=request.path) from None
        except aiohttp.ClientConnectorError as exc:
            # No connection was made: nothing of the request left this process.
            raise TransportError(_describe(exc), method=request.method, path=request.path, request_sent=False) from None
        except aiohttp.ClientPayloadError as exc:
            raise TransportError(
                f"response body cut short ({_describe(exc)})", method=request.method, path=request.path
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            if self._session.closed:
                raise ClientClosed(
                    "the client was closed", method=request.method, path=request.path, request_sent=True
                ) from None
            raise TransportError(_describe(exc), method=request.method, path=request.path) from None
        except RuntimeError:
            if self._session.closed:  # aiohttp's "Session is closed": ours to word
                raise ClientClosed(
                    "the client was closed while this request was in flight",
                    method=request.method,
                    path=request.path,
                    request_sent=True,
                ) from None
            raise

    async def close(self) -> None:
        """Close the session and its connections."""
        await self._session.close()


_JSON_BODY = {"Content-Type": "application/json"}
_CHUNK = 1 << 16
# zlib's window bits: 47 reads a gzip or a zlib header; -15 a raw deflate stream.
_WBITS = {"gzip": 47, "x-gzip": 47, "deflate": 47}


async def _read_body(response: aiohttp.ClientResponse, limit: int, request: Request) -> bytes:
    """The whole body, decompressed, refusing to produce more than ``limit`` bytes."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding == "identity":
        length = response.content_length
        if length is not None and length <= limit:
            return await response.read()  # the usual case: no copy, no counting
        decompress = None
    elif encoding in _WBITS:
        decompress = zlib.decompressobj(_WBITS[encoding])
    else:
        raise DecodeError(f"unsupported Content-Encoding {encoding[:40]!r}", method=request.method, path=request.path)
    body = bytearray()
    try:
        async for chunk in response.content.iter_chunked(_CHUNK):
            if decompress is not None:
                chunk = decompress.decompress(chunk, limit + 1 - len(body))
            body += chunk
            if len(body) > limit or (decompress is not None and decompress.unconsumed_tail):
                raise ResponseTooLarge(limit, method=request.method, path=request.path)
        if decompress is not None:
            body += decompress.flush()
    except zlib.error:
        raise DecodeError(
            f"{encoding} body could not be decompressed", transient=True, method=request.method, path=request.path
        ) from None
    if len(body) > limit:
        raise ResponseTooLarge(limit, method=request.method, path=request.path)
    return bytes(body)


# aiohttp 3.11 and later say when a name did not resolve (older ones give a gaierror).
_DNS_ERROR: type[BaseException] | tuple[()] = getattr(aiohttp, "ClientConnectorDNSError", ())


def _describe(exc: BaseException) -> str:
    # aiohttp's messages name the URL at most, never request headers; still,
    # keep only the first line and the class.
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(exc, aiohttp.ClientSSLError):
        # Its own text says "ssl:default" even for http:// URLs: name only what failed.
        error = exc.os_error
        if isinstance(error, socket.gaierror) or isinstance(exc, _DNS_ERROR):
            return f"the host name {exc.host} did not resolve (DNS: {error.strerror or error})"
        reason = os.strerror(error.errno) if error.errno and error.errno > 0 else str(error) or type(error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
