"""Comments: add, update, delete; and adding one never posts twice, however
the network fails."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from aiocases import (
    BadRequest,
    CasesClient,
    CasesError,
    DecodeError,
    NotFound,
    Response,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
)
from aiocases.operations import comment_case as comment_request
from aiocases.testing import FakeCasesAPI, Faults, MockTransport, json_response, scripted
from aiocases.testing.limits import RateLimitRule

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "real-responses"
UUID = "0b4c6a55-5b4c-4f6e-9a55-2f7c1d7a0001"
CELL = {
    "id": UUID,
    "type": "timeline_cell",
    "attributes": {"type": "COMMENT", "cell_content": {"message": "hi"}, "content": '{"message":"hi"}'},
}


def first_case(api: FakeCasesAPI) -> str:
    return next(iter(api.cases.values())).id


async def test_add_update_delete_show_in_the_timeline(
    fake_cases_api: FakeCasesAPI, client_for: Callable[..., CasesClient]
) -> None:
    case = first_case(fake_cases_api)
    async with client_for(fake_cases_api) as api:
        cell = await api.add_comment(case, "Rolled back **checkout**.")
        assert cell.attributes.cell_content is not None
        assert cell.attributes.cell_content.message == "Rolled back **checkout**."
        assert cell.attributes.content == '{"message":"Rolled back **checkout**."}'  # as the API sends it
        last = [c async for c in api.iter_timeline(case)][-1]
        assert last == cell
        await api.update_comment(case, cell.id, "Rolled back `checkout` to 1.4.2.")
        edited = [c async for c in api.iter_timeline(case)][-1]
        assert edited.id == cell.id and edited.attributes.modified_at is not None
        assert edited.attributes.cell_content is not None
        assert edited.attributes.cell_content.message == "Rolled back `checkout` to 1.4.2."
        await api.delete_comment(case, cell.id)
        deleted = [c async for c in api.iter_timeline(case)][-1]
        assert deleted.id == cell.id and deleted.attributes.deleted_at is not None
        with pytest.raises(NotFound, match="timeline cell not found"):
            await api.delete_comment(case, cell.id)
        with pytest.raises(NotFound):
            await api.update_comment(case, cell.id, "too late")
        with pytest.raises(BadRequest):  # as recorded: the API wants a UUID there
            await api.delete_comment(case, "not-an-uuid")
        with pytest.raises(NotFound):
            await api.add_comment("PROJ-999999", "nobody home")


@pytest.mark.parametrize(
    "call",
    [
        lambda api: api.add_comment("PROJ-1", ""),
        lambda api: api.add_comment("PROJ-1", "   \n"),
        lambda api: api.add_comment("PROJ-1", b"bytes"),
        lambda api: api.add_comment("PROJ/1", "hi"),
        lambda api: api.update_comment("PROJ-1", "../x", "hi"),
        lambda api: api.update_comment("PROJ-1", UUID, ""),
        lambda api: api.delete_comment("PROJ-1", "a?b"),
        lambda api: api.delete_comment("PROJ-1", ""),
    ],
)
async def test_bad_arguments_are_refused_before_sending(call: Callable[[CasesClient], object]) -> None:
    transport = MockTransport(lambda request: json_response(200, {"data": [CELL]}))
    async with CasesClient(transport=transport) as api:
        with pytest.raises(ValueError):
            await call(api)  # type: ignore[misc]
    assert transport.requests == []


def test_the_request_body_is_the_recorded_one() -> None:
    recorded = RECORDED / "comment_case_returns_ok_response__1.json"
    if not recorded.exists():
        pytest.skip("../shared/real-responses is not here")
    interaction = json.loads(recorded.read_text())
    request = comment_request("84a0af3b-6609-442a-b4de-b082652354cf", "Hello World !")
    assert (request.method, request.path) == (interaction["request"]["method"], interaction["request"]["path"])
    assert json.loads(request.body) == interaction["request"]["body"]
    assert request.effect == "once" and request.operation == interaction["operation"].replace(
        "CommentCase", "comment_case"
    )


def quick(transport: MockTransport) -> CasesClient:
    return CasesClient(transport=transport, retry_policy=RetryPolicy(max_retries=3, base=0.001, cap=0.002))


@pytest.mark.parametrize(
    ("first", "retried"),
    [
        (json_response(429, {"errors": ["slow down"]}, {"X-RateLimit-Reset": "0.01"}), True),
        (TransportError("connection refused", request_sent=False), True),
        (Timeout("timed out connecting", request_sent=False), True),
        (TransportError("connection reset by peer"), False),
        (Timeout("timed out"), False),
        (json_response(503, {"errors": ["unavailable"]}), False),
        (Response(200, {}, b'{"data": [{"id": "0b4c'), False),
    ],
)
async def test_adding_is_retried_only_when_it_cannot_have_been_done(first: object, retried: bool) -> None:
    transport = scripted(first, json_response(200, {"data": [CELL]}))  # type: ignore[arg-type]
    async with quick(transport) as api:
        if retried:
            assert (await api.add_comment("PROJ-1", "hi")).id == CELL["id"]
        else:
            with pytest.raises((TransportError, ServerError, DecodeError)) as info:
                await api.add_comment("PROJ-1", "hi")
            assert info.value.outcome_unknown
            assert "outcome unknown" in str(info.value) and "POST /api/v2/cases/PROJ-1/comment" in str(info.value)
    assert len(transport.requests) == (2 if retried else 1)


async def test_a_timeout_on_adding_is_still_a_timeout() -> None:
    async with quick(scripted(Timeout("timed out"))) as api:
        with pytest.raises(asyncio.TimeoutError) as info:
            await api.add_comment("PROJ-1", "hi")
    assert isinstance(info.value, Timeout) and info.value.outcome_unknown


async def test_updating_is_retried_like_any_idempotent_call() -> None:
    transport = scripted(TransportError("connection reset by peer"), json_response(503, {}), Response(200, {}, b""))
    async with quick(transport) as api:
        await api.update_comment("PROJ-1", UUID, "edited")
    assert len(transport.requests) == 3


async def test_a_delete_whose_answer_was_lost_then_404_is_done() -> None:
    transport = scripted(TransportError("connection reset by peer"), json_response(404, {"errors": ["gone"]}))
    async with quick(transport) as api:
        await api.delete_comment("PROJ-1", UUID)
    assert len(transport.requests) == 2
    transport = scripted(TransportError("refused", request_sent=False), json_response(404, {"errors": ["gone"]}))
    async with quick(transport) as api:
        with pytest.raises(NotFound):  # the first try never left: the comment was never there
            await api.delete_comment("PROJ-1", UUID)


async def test_no_connection_is_retried_and_never_unknown() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = RetryPolicy(max_retries=2, base=0.001, cap=0.002)
    async with CasesClient("k", "a", base_url=f"http://127.0.0.1:{port}", retry_policy=policy) as api:
        with pytest.raises(TransportError) as info:
            await api.add_comment("PROJ-1", "hi")
        assert api.stats.requests == 3
    assert not info.value.request_sent and not info.value.outcome_unknown
    assert "outcome unknown" not in str(info.value)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_flaky_network_never_posts_a_comment_twice(seed: int) -> None:
    faults = Faults(seed=seed, reset=0.1, lost=0.15, cut=0.1, truncated=0.1, server_error=0.1, stall=0.1,
                    stall_seconds=0.6)  # fmt: skip
    # A limit of 3 in flight the headers do not show: the gate cannot see it coming, so posts are refused.
    async with FakeCasesAPI(
        1, 3, seed=seed, faults=faults, rate_limit=RateLimitRule(8, 1), max_in_flight=3, latency=0.05
    ) as fake:
        case = first_case(fake)
        policy = RetryPolicy(max_retries=8, base=0.001, cap=0.01, rng=random.Random(seed))
        outcomes: dict[str, object] = {}
        async with CasesClient(fake.api_key, fake.app_key, base_url=fake.url, timeout=0.3, retry_policy=policy) as api:

            async def add(message: str) -> None:
                try:
                    outcomes[message] = await api.add_comment(case, message)
                except (TransportError, ServerError, DecodeError) as exc:
                    outcomes[message] = exc

            await asyncio.gather(*(add(f"note {seed}-{n}") for n in range(40)))
            throttled = api.stats.throttled
        await asyncio.sleep(0.8)  # let stalled requests land: the server may still add their comments
        posted = [c["attributes"]["cell_content"]["message"] for c in fake.cells(case)]  # type: ignore[index]
    assert throttled > 0, "the rate limit should have refused some posts, to be retried"
    for message, outcome in outcomes.items():
        count = posted.count(message)
        assert count <= 1, f"{message!r} was posted {count} times"
        if isinstance(outcome, Exception):
            assert getattr(outcome, "outcome_unknown", False) or count == 0, (message, outcome)
        else:
            assert count == 1
    failures = [o for o in outcomes.values() if isinstance(o, Exception)]
    assert failures and all(getattr(o, "outcome_unknown", False) for o in failures)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_a_refusal_is_an_outcome_never_unknown(status: int) -> None:
    """An answer with an error status says the comment was not added: outcome_unknown stays false
    (it was set, and its text said "may have been carried out")."""
    transport = scripted(json_response(status, {"errors": [{"status": str(status), "title": "Refused"}]}))
    async with quick(transport) as client:
        with pytest.raises(CasesError) as info:
            await client.add_comment("PROJ-1", "hello")
    assert not info.value.outcome_unknown and "outcome unknown" not in str(info.value)
    assert len(transport.requests) == 1
    unknown = scripted(json_response(502, {"errors": ["Bad Gateway"]}))
    async with quick(unknown) as client:
        with pytest.raises(CasesError) as info:
            await client.add_comment("PROJ-1", "hello")
    assert info.value.outcome_unknown and "outcome unknown" in str(info.value)
