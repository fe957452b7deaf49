"""A client's life (new, open, closed) and exports that always end: whatever
escapes a case, its place is given back and the export raises or goes on;
it never ends short in silence nor hangs.  In memory (MockTransport)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from aiocases import CasesClient, ClientClosed, InvalidArgument, Request, Response
from aiocases.events import Event, RequestDone
from aiocases.testing import MockTransport, json_response


def one_page(request: Request) -> Response:
    return json_response(200, {"data": [{"id": request.path, "type": "timeline_cell", "attributes": {}}]})


@pytest.mark.parametrize(("ids", "concurrency"), [(["A-1", "A-2"], 8), (["A-1", "A-2", "A-3"], 1)])
async def test_an_export_on_a_closed_client_raises_at_once(ids: list[str], concurrency: int) -> None:
    """It once "succeeded" with no case (fewer ids than places), or hung (one place, three ids)."""
    client = CasesClient(transport=MockTransport(one_page))
    with pytest.raises(ClientClosed):
        client.export_timelines(ids, concurrency=concurrency)
    async with client:
        export = client.export_timelines(ids, concurrency=concurrency)
    with pytest.raises(ClientClosed):
        await asyncio.wait_for(_drain(export), 5)


async def _drain(results: object) -> list[object]:
    return [r async for r in results]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "raised",
    [asyncio.CancelledError, GeneratorExit, RuntimeError, lambda: BaseException("odd")],
    ids=["CancelledError", "GeneratorExit", "RuntimeError", "BaseException"],
)
async def test_a_hook_that_raises_anything_loses_no_case(raised: Callable[[], BaseException]) -> None:
    """A hook's exception is logged, never raised into the request: all 8 cases come back."""
    calls = 0

    def hook(event: Event) -> None:
        nonlocal calls
        calls += 1
        if isinstance(event, RequestDone) and calls % 3 == 0:
            raise raised()

    async with CasesClient(transport=MockTransport(one_page), on_event=hook) as client:
        ids = [f"A-{n}" for n in range(8)]
        results = await asyncio.wait_for(_drain(client.export_timelines(ids, concurrency=3)), 5)
    assert sorted(r.case_id for r in results) == sorted(ids) and all(r.ok for r in results)  # type: ignore[attr-defined]


async def test_a_bug_in_a_walk_is_raised_not_swallowed() -> None:
    """Something no case should meet (here a TypeError from a transport) ends the export with it."""

    def broken(request: Request) -> Response:
        if request.path.endswith("A-2/timelines"):
            raise TypeError("a bug")
        return one_page(request)

    async with CasesClient(transport=MockTransport(broken)) as client:
        with pytest.raises(TypeError, match="a bug"):
            await asyncio.wait_for(_drain(client.export_timelines(["A-1", "A-2", "A-3"], concurrency=1)), 5)


def test_an_async_hook_is_refused_when_the_client_is_made() -> None:
    async def hook(event: Event) -> None:
        pass

    class Callable:
        async def __call__(self, event: Event) -> None:
            pass

    for bad in (hook, Callable(), "not callable"):
        with pytest.raises(InvalidArgument, match="on_event"):
            CasesClient(transport=MockTransport(one_page), on_event=bad)  # type: ignore[arg-type]
