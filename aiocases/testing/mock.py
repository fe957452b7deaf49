"""``MockTransport``: answer a client's requests in memory, as httpx's
``MockTransport`` does, for unit tests that need no server::

    def handler(request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, b'{"data": []}')

    async with CasesClient(transport=MockTransport(handler)) as client:
        assert await client.get_timeline_page("PROJ-1") == []

The handler may be a coroutine function, may raise a
:class:`~aiocases.errors.TransportError` to play a network failure, and sees
every try (retries included); ``requests`` keeps what it was sent.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping

from aiocases.models import JSON
from aiocases.operations import Request
from aiocases.transport import Response

__all__ = ["MockTransport", "json_response", "scripted"]

Handler = Callable[[Request], Response | Awaitable[Response]]


class MockTransport:
    """A transport whose answers come from ``handler(request)``."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"MockTransport({getattr(self._handler, '__qualname__', self._handler)!r})"

    async def send(self, request: Request) -> Response:
        """The handler's answer to ``request``."""
        self.requests.append(request)
        answer = self._handler(request)
        return await answer if inspect.isawaitable(answer) else answer


def json_response(status: int, document: JSON, headers: Mapping[str, str] | None = None) -> Response:
    """A response carrying ``document`` as JSON:API JSON."""
    return Response(
        status, {"Content-Type": "application/vnd.api+json", **(headers or {})}, json.dumps(document).encode()
    )


def scripted(*answers: Response | Exception) -> MockTransport:
    """A transport giving ``answers`` in order, one per try (retries included);
    an exception among them is raised for that try, as a network failure
    would be (a :class:`~aiocases.errors.TransportError`, say)."""
    queue = list(answers)

    def handler(request: Request) -> Response:
        if not queue:
            raise AssertionError(f"no answer left for {request.method} {request.target}")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return MockTransport(handler)
