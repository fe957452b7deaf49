"""Every recorded real interaction (``../shared/real-responses``) replays
through the client: the call an aiocases user makes sends the recorded
request, and the recorded answer comes back as the recorded result (a model
holding the recorded ids, nothing for a 204) or as the typed error holding
the recorded error objects whole.  The few requests the client cannot send
(a wrong ``data.type``, an empty comment) are named, each with why.

Then each recorded scenario (one cassette: create a case, then act on it)
is played against the fake, which must answer the same statuses in the same
shapes.  Skipped when ``../shared`` is absent."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aiocases import CasesClient, InvalidArgument, Request, Response
from aiocases.errors import ApiError
from aiocases.models import Case, CaseType, CustomAttributeConfig, Project, TimelineCell
from aiocases.testing import FakeCasesAPI, MockTransport
from aiocases.testing.data import STANDARD_TYPE

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "real-responses"
pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason="../shared/real-responses is not here")


def _load() -> list[dict[str, Any]]:
    if not RECORDED.is_dir():
        return []
    index = json.loads((RECORDED / "index.json").read_text())["interactions"]
    return [{**json.loads((RECORDED / item["file"]).read_text()), "file": item["file"]} for item in index]


INTERACTIONS = _load()
Call = Callable[[CasesClient, dict[str, Any]], Awaitable[object]]


def _segment(request: dict[str, Any], index: int) -> str:
    return str(request["path"].split("/")[index])


def _attributes(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request["body"]["data"].get("attributes", {}))


def _related(request: dict[str, Any], name: str) -> str | None:
    relationship = request["body"]["data"].get("relationships", {}).get(name)
    return None if relationship is None else str(relationship["data"]["id"])


def _create_case(client: CasesClient, request: dict[str, Any]) -> Awaitable[Case]:
    project, assignee = _related(request, "project"), _related(request, "assignee")
    attributes = _attributes(request)
    if attributes.pop("type", None) == "STANDARD":  # recorded in 2025, before type_id was required
        attributes["type_id"] = STANDARD_TYPE
    return client.create_case(**attributes, project_id=project or "", assignee_id=assignee)


async def _status(client: CasesClient, request: dict[str, Any]) -> Case:
    with pytest.warns(DeprecationWarning, match="status_name"):  # the recordings use the deprecated status
        return await client.update_status(_segment(request, 4), **_attributes(request))


def _custom_attribute(client: CasesClient, request: dict[str, Any]) -> Awaitable[Case]:
    value = _attributes(request)
    return client.update_case_custom_attribute(
        _segment(request, 4), _segment(request, 6), value["value"], type=value["type"]
    )


async def _search(client: CasesClient, request: dict[str, Any]) -> list[Case]:
    query = request["query"]
    return [case async for case in client.search_cases(query["filter"], page_size=int(query["page[size]"]))]


#: The aiocases call of each recorded operation, from its recorded request.
CALLS: dict[str, Call] = {
    "GetCase": lambda c, r: c.get_case(_segment(r, 4)),
    "CreateCase": _create_case,
    "UpdateStatus": _status,
    "UpdatePriority": lambda c, r: c.update_priority(_segment(r, 4), _attributes(r)["priority"]),
    "UpdateCaseTitle": lambda c, r: c.update_case_title(_segment(r, 4), _attributes(r)["title"]),
    "UpdateCaseDescription": lambda c, r: c.update_case_description(_segment(r, 4), _attributes(r)["description"]),
    "UpdateAttributes": lambda c, r: c.update_attributes(_segment(r, 4), _attributes(r)["attributes"]),
    "UpdateCaseCustomAttribute": _custom_attribute,
    "DeleteCaseCustomAttribute": lambda c, r: c.delete_case_custom_attribute(_segment(r, 4), _segment(r, 6)),
    "AssignCase": lambda c, r: c.assign_case(_segment(r, 4), _attributes(r)["assignee_id"]),
    "UnassignCase": lambda c, r: c.unassign_case(_segment(r, 4)),
    "ArchiveCase": lambda c, r: c.archive_case(_segment(r, 4)),
    "UnarchiveCase": lambda c, r: c.unarchive_case(_segment(r, 4)),
    "CommentCase": lambda c, r: c.add_comment(_segment(r, 4), _attributes(r)["comment"]),
    "DeleteCaseComment": lambda c, r: c.delete_comment(_segment(r, 4), _segment(r, 6)),
    "SearchCases": _search,
    "UpdateProject": lambda c, r: c.update_project(_segment(r, 5), **_attributes(r)),
    "GetAllCaseTypes": lambda c, r: c.get_all_case_types(),
    "CreateCaseType": lambda c, r: c.create_case_type(**_attributes(r)),
    "DeleteCaseType": lambda c, r: c.delete_case_type(_segment(r, 5)),
    "GetAllCustomAttributes": lambda c, r: c.get_all_custom_attributes(),
    "GetAllCustomAttributeConfigsByCaseType": lambda c, r: c.get_all_custom_attribute_configs_by_case_type(
        _segment(r, 5)
    ),
    "CreateCustomAttributeConfig": lambda c, r: c.create_custom_attribute_config(_segment(r, 5), **_attributes(r)),
    "DeleteCustomAttributeConfig": lambda c, r: c.delete_custom_attribute_config(_segment(r, 5), _segment(r, 7)),
}

#: Recorded requests the client does not send as recorded, and why.
NOT_SENT_AS_RECORDED = {
    # The client writes every document's type itself: a wrong one cannot be sent.
    "archive_case_returns_bad_request_response__1.json": "data.type project",
    "unarchive_case_returns_bad_request_response__1.json": "data.type project",
    "unassign_case_returns_bad_request_response__1.json": "data.type project",
    "create_a_case_returns_bad_request_response__0.json": "relationship type userx",
    "update_a_project_returns_bad_request_response__0.json": "data.type invalid_type, no attributes",
    **{
        item["file"]: "the deprecated type STANDARD, not type_id (recorded in 2025): sent as type_id"
        for item in INTERACTIONS
        if item["operation"] == "CreateCase" and "type_id" not in item["request"]["body"]["data"]["attributes"]
    },
}
#: Recorded requests the client refuses before sending (the API refused them too).
REFUSED_BEFORE_SENDING = {
    "comment_case_returns_bad_request_response__1.json": "an empty comment",
    "update_case_title_returns_bad_request_response__1.json": "an empty title",
    "update_case_attributes_returns_bad_request_response__1.json": "a label that is a string, not a list",
    "update_a_project_returns_bad_request_response__0.json": "nothing to change",
}


def _by_scenario() -> dict[str, list[dict[str, Any]]]:
    scenarios: dict[str, list[dict[str, Any]]] = {}
    for item in INTERACTIONS:
        scenarios.setdefault(item["file"].rsplit("__", 1)[0], []).append(item)
    return scenarios


def test_every_recorded_operation_has_its_call() -> None:
    assert {item["operation"] for item in INTERACTIONS} <= set(CALLS)
    assert len(INTERACTIONS) >= 100


def _answer(interaction: dict[str, Any]) -> Response:
    response = interaction["response"]
    return Response(response["status"], dict(response["headers"]), response["body"].encode())


@pytest.mark.parametrize("interaction", INTERACTIONS, ids=[item["file"] for item in INTERACTIONS])
async def test_a_recorded_interaction_replays(interaction: dict[str, Any]) -> None:
    recorded, name = interaction["request"], interaction["file"]
    search = [i for i in INTERACTIONS if i["operation"] == "SearchCases"]

    def answer(request: Request) -> Response:
        if interaction["operation"] == "SearchCases":  # one walk: the recorded pages by number
            number = re.search(r"page%5Bnumber%5D=(\d+)", request.query)
            assert number is not None
            pages = {int(i["request"]["query"]["page[number]"]): i for i in search}
            return _answer(pages[max(int(number.group(1)), 1)])
        return _answer(interaction)

    transport = MockTransport(answer)
    async with CasesClient(transport=transport) as client:
        if name in REFUSED_BEFORE_SENDING:
            with pytest.raises(InvalidArgument):
                await CALLS[interaction["operation"]](client, recorded)
            assert transport.requests == []
            return
        status = interaction["response"]["status"]
        if status >= 400:
            with pytest.raises(ApiError) as info:
                await CALLS[interaction["operation"]](client, recorded)
            assert info.value.status == status
            assert info.value.errors == interaction["response"]["json"]["errors"]
            result: object = None
        else:
            result = await CALLS[interaction["operation"]](client, recorded)
    sent = transport.requests[0]
    if name not in NOT_SENT_AS_RECORDED:
        assert (sent.method, sent.path) == (recorded["method"], recorded["path"])
        assert (json.loads(sent.body) if sent.body else None) == recorded["body"]
    if status < 400:
        pages = [i["response"]["json"]["data"] for i in search] if interaction["operation"] == "SearchCases" else []
        _assert_holds(result, interaction["response"].get("json"), pages)


def _assert_holds(result: object, document: Any, pages: list[dict[str, Any]]) -> None:
    """The result is the recorded document read: its ids, in order, as models, its users resolved."""
    if document is None:
        assert result is None
        return
    recorded = [item for page in pages for item in page] if pages else document["data"]
    recorded = [recorded] if isinstance(recorded, dict) else recorded
    items = result if isinstance(result, list) else [result]
    assert [item.id for item in items] == [item["id"] for item in recorded]
    assert all(isinstance(item, (Case, CaseType, CustomAttributeConfig, Project, TimelineCell)) for item in items)
    users = {user["id"]: user["attributes"]["name"] for user in document.get("included", [])}
    for case in (item for item in items if isinstance(item, Case) and not pages):
        for name in ("assignee", "created_by", "modified_by"):
            user, user_id = getattr(case, name), case.related(name)
            assert (None if user is None else user.name) == (None if user_id is None else users[user_id])


# -- the fake answers the recorded scenarios as the API did ----------------------------------------------

#: The project every recorded case was made in (ids the recorder chose as unknown are unknown to the fake too).
_ORG_PROJECT = "d4bbe1af-f36e-42f1-87c1-493ca35c320e"


def _shape(value: Any) -> Any:
    """The keys of a document, recursively, with every value's JSON type: what "the same shape" compares."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


@pytest.mark.parametrize("scenario", sorted(_by_scenario()), ids=str)
async def test_the_fake_answers_a_recorded_scenario_as_recorded(scenario: str) -> None:
    interactions = _by_scenario()[scenario]
    if any(i["operation"] in ("SearchCases", "GetAllCaseTypes", "GetAllCustomAttributes") for i in interactions):
        pytest.skip("answers about the whole of Datadog's recording org (its 206 case types, its cases)")
    async with FakeCasesAPI() as fake:
        fake.store.org.project("DDFC", "Datadog Feature Cases", _ORG_PROJECT)
        ids: dict[str, str] = {}
        async with _raw(fake) as session:
            for interaction in interactions:
                request, expected = interaction["request"], interaction["response"]
                path = _swap(request["path"], ids)
                body = None if request["body"] is None else json.loads(_swap(json.dumps(request["body"]), ids))
                async with session.request(request["method"], fake.url + path, json=body) as response:
                    text = await response.text()
                assert response.status == expected["status"], (interaction["file"], text)
                got = json.loads(text) if text else None
                if expected.get("json") is None:
                    assert got is None
                    continue
                assert response.content_type == "application/vnd.api+json"
                if "errors" in expected["json"]:
                    assert _error_shape(got) == _error_shape(expected["json"]), interaction["file"]
                    continue
                data = expected["json"]["data"]
                if isinstance(data, list) and len(data) == 1:  # a new comment
                    ids[data[0]["id"]] = got["data"][0]["id"]
                if isinstance(data, dict):
                    ids[data["id"]] = got["data"]["id"]
                    _assert_same_case_shape(got["data"], json.loads(_swap(json.dumps(data), ids)), interaction["file"])
                    assert len(got.get("included", [])) == len(expected["json"].get("included", [])), interaction[
                        "file"
                    ]


def _raw(fake: FakeCasesAPI) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"DD-API-KEY": fake.api_key, "DD-APPLICATION-KEY": fake.app_key})


def _swap(text: str, ids: dict[str, str]) -> str:
    for recorded, ours in ids.items():
        text = text.replace(recorded, ours)
    return text


def _error_shape(document: Any) -> list[tuple[Any, ...]]:
    return [
        (e.get("status"), e.get("title") if e.get("code") is None else e["code"], sorted(e)) for e in document["errors"]
    ]


#: Fields a recording may lack or have that depend on when it was recorded (see the reference, 5.2).
_LATE_FIELDS = {"status_name", "status_group", "modified_at"}


def _assert_same_case_shape(got: dict[str, Any], recorded: dict[str, Any], where: str) -> None:
    assert got["type"] == recorded["type"], where
    if recorded["type"] != "case":  # case types recorded before 2025-10 lack internal and statuses_config
        assert set(recorded["attributes"]) <= set(got["attributes"]), where
        for name in recorded["attributes"]:
            assert _shape(got["attributes"][name]) == _shape(recorded["attributes"][name]), (where, name)
        return
    ours, theirs = set(got["attributes"]), set(recorded["attributes"])
    assert ours - _LATE_FIELDS == theirs - _LATE_FIELDS, (where, ours ^ theirs)
    for name in theirs & ours:
        assert _shape(got["attributes"][name]) == _shape(recorded["attributes"][name]), (where, name)
    assert set(got["relationships"]) == set(recorded["relationships"]), where
    for name in ("status", "status_name", "priority", "title", "description", "type", "type_id", "custom_attributes"):
        if name in recorded["attributes"] and name in got["attributes"]:
            assert got["attributes"][name] == recorded["attributes"][name], (where, name)
