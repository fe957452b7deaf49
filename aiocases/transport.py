"""The one module that touches aiohttp: send a request, read the whole body.

Everything aiohttp or the socket raises becomes a
:class:`~aiocases.errors.TransportError` (a :class:`~aiocases.errors.Timeout`
for timeouts) naming the request, never the headers it carried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
from attrs import frozen
from yarl import URL

from aiocases.errors import Timeout, TransportError
from aiocases.sansio import Request

__all__ = ["Response", "Transport"]


@frozen
class Response:
    """Status, headers (case-insensitive) and the complete body of one response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport:
    """One :class:`aiohttp.ClientSession` bound to one origin.

    Redirects are never followed (aiohttp would forward ``DD-API-KEY`` to
    another origin); TLS verification stays on; the connection pool holds at
    least ``max_connections`` so a request never times out waiting for one.
    """

    def __init__(self, base_url: URL, headers: Mapping[str, str], *, timeout: float, max_connections: int) -> None:
        self._base = str(base_url)
        self._session = aiohttp.ClientSession(
            headers={"Accept": "application/json", "User-Agent": "aiocases", **headers},
            connector=aiohttp.TCPConnector(limit=max_connections, limit_per_host=max_connections),
            # total bounds one try from send to the last byte of the body; the
            # gate keeps the pool from ever being the thing waited on.
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=timeout),
            auto_decompress=True,
            trust_env=False,
        )

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._session.closed

    async def send(self, request: Request) -> Response:
        """Send ``request`` and read its body; transport failures are typed."""
        url = URL(self._base + request.target, encoded=True)
        try:
            async with self._session.request(request.method, url, allow_redirects=False) as response:
                body = await response.read()
                return Response(response.status, response.headers, body)
        except asyncio.TimeoutError:
            raise Timeout("timed out", method=request.method, path=request.path) from None
        except aiohttp.ClientPayloadError as exc:
            raise TransportError(
                f"response body cut short ({_describe(exc)})", method=request.method, path=request.path
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(_describe(exc), method=request.method, path=request.path) from None
        except RuntimeError:
            if self._session.closed:  # aiohttp's "Session is closed": ours to word
                raise RuntimeError("CasesClient was closed while a request was in flight") from None
            raise

    async def close(self) -> None:
        """Close the session and its connections."""
        await self._session.close()


def _describe(exc: BaseException) -> str:
    # aiohttp's messages name the URL at most, never request headers; still,
    # keep only the first line and the class.
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
