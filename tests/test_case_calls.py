"""The case lifecycle, projects, case types and custom attributes in memory
(MockTransport): one table of every call, the request it sends (method,
path, body) and how its answer is read; what is refused before sending; and
which calls are retried after a try that may have acted."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from aiocases import CasesClient, InvalidArgument, Request, Response, RetryPolicy, TransportError
from aiocases.models import (
    Case,
    CaseAggregate,
    CaseCount,
    CaseType,
    CustomAttributeConfig,
    CustomAttributeValue,
    NotificationRule,
    Project,
    ProjectFavorite,
)
from aiocases.testing import MockTransport, json_response, scripted

CASE_ID = "0bb969fd-0864-46a1-8e6d-35434e677004"
USER = "06fe1d45-8040-47eb-b161-837f416635e7"
PROJECT = "d4bbe1af-f36e-42f1-87c1-493ca35c320e"
TYPE = "00000000-0000-0000-0000-000000000001"
RULE = "5a5c1b7c-1111-4f4f-8d0f-fe6d36351539"
CONFIG = "d57aff81-87df-478e-af85-9553e0a5d221"
CASE = {
    "data": {
        "id": CASE_ID,
        "type": "case",
        "attributes": {"key": "DDFC-1", "status": "OPEN", "status_name": "Open", "type": "TUNKNOWN", "new": 1},
        "relationships": {"assignee": {"data": {"id": USER, "type": "user"}}},
    },
    "included": [{"id": USER, "type": "user", "attributes": {"name": "Ada", "active": False}}],
}
PROJECT_DOC = {"id": PROJECT, "type": "project", "attributes": {"key": "DDFC", "name": "Cases"}}
TYPE_DOC = {"id": TYPE, "type": "case_type", "attributes": {"name": "Standard", "internal": True}}
CONFIG_DOC = {
    "id": CONFIG,
    "type": "custom_attribute",
    "attributes": {"key": "region", "type": "TEXT", "is_multi": True},
}
RULE_DOC = {"id": RULE, "type": "notification_rule", "attributes": {"is_enabled": True}}
Call = Callable[[CasesClient], Coroutine[Any, Any, object]]
P = f"/api/v2/cases/{CASE_ID}"


def case_body(attributes: dict[str, Any] | None) -> dict[str, Any]:
    return {"data": {"type": "case", **({} if attributes is None else {"attributes": attributes})}}


#: (call, method, path and query, body sent, answer, what the result is).
TABLE: list[tuple[Call, str, str, Any, Any, Any]] = [
    (lambda c: c.get_case("DDFC-1"), "GET", "/api/v2/cases/DDFC-1", None, CASE, Case),
    (
        lambda c: c.create_case(
            title="Disk full",
            type_id=TYPE,
            project_id=PROJECT,
            priority="P2",
            assignee_id=USER,
            custom_attributes={"region": ["eu"], "cost": 2.5},
        ),
        "POST",
        "/api/v2/cases",
        {
            "data": {
                "type": "case",
                "attributes": {
                    "title": "Disk full",
                    "type_id": TYPE,
                    "priority": "P2",
                    "custom_attributes": {
                        "region": {"type": "TEXT", "is_multi": True, "value": ["eu"]},
                        "cost": {"type": "NUMBER", "is_multi": False, "value": 2.5},
                    },
                },
                "relationships": {
                    "project": {"data": {"id": PROJECT, "type": "project"}},
                    "assignee": {"data": {"id": USER, "type": "user"}},
                },
            }
        },
        CASE,
        Case,
    ),
    (
        lambda c: c.update_status(CASE_ID, status_name="In Progress"),
        "POST",
        P + "/status",
        case_body({"status_name": "In Progress"}),
        CASE,
        Case,
    ),
    (lambda c: c.update_priority(CASE_ID, "P1"), "POST", P + "/priority", case_body({"priority": "P1"}), CASE, Case),
    (lambda c: c.update_case_title(CASE_ID, "t"), "POST", P + "/title", case_body({"title": "t"}), CASE, Case),
    (
        lambda c: c.update_case_description(CASE_ID, ""),
        "POST",
        P + "/description",
        case_body({"description": ""}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_attributes(CASE_ID, {"service": ["web", "db"]}),
        "POST",
        P + "/attributes",
        case_body({"attributes": {"service": ["web", "db"]}}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_case_due_date(CASE_ID, date(2026, 12, 24)),
        "POST",
        P + "/due_date",
        case_body({"due_date": "2026-12-24"}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_case_due_date(CASE_ID, None),
        "POST",
        P + "/due_date",
        case_body({"due_date": None}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_case_resolved_reason(CASE_ID, "FALSE_POSITIVE"),
        "POST",
        P + "/resolved_reason",
        case_body({"security_resolved_reason": "FALSE_POSITIVE"}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_case_custom_attribute(CASE_ID, "region", ["Abba", "The Cure"]),
        "POST",
        P + "/custom_attributes/region",
        case_body({"type": "TEXT", "is_multi": True, "value": ["Abba", "The Cure"]}),
        CASE,
        Case,
    ),
    (
        lambda c: c.update_case_custom_attribute(CASE_ID, "site", "https://x", type="URL"),
        "POST",
        P + "/custom_attributes/site",
        case_body({"type": "URL", "is_multi": False, "value": "https://x"}),
        CASE,
        Case,
    ),
    (
        lambda c: c.delete_case_custom_attribute(CASE_ID, "region"),
        "DELETE",
        P + "/custom_attributes/region",
        None,
        CASE,
        Case,
    ),
    (lambda c: c.assign_case(CASE_ID, USER), "POST", P + "/assign", case_body({"assignee_id": USER}), CASE, Case),
    (lambda c: c.unassign_case(CASE_ID), "POST", P + "/unassign", case_body(None), CASE, Case),
    (lambda c: c.archive_case(CASE_ID), "POST", P + "/archive", case_body(None), CASE, Case),
    (lambda c: c.unarchive_case(CASE_ID), "POST", P + "/unarchive", case_body(None), CASE, Case),
    (
        lambda c: c.move_case_to_project(CASE_ID, PROJECT),
        "PATCH",
        P + "/relationships/project",
        {"data": {"type": "project", "id": PROJECT}},
        CASE,
        Case,
    ),
    (
        lambda c: c.count_cases("status:open", group_by=["priority", "status"], limit=5),
        "GET",
        "/api/v2/cases/count?query_filter=status%3Aopen&group_bys=priority%2Cstatus&limit=5",
        None,
        {
            "data": {
                "id": "x",
                "type": "case_count",
                "attributes": {"groups": [{"group": "priority", "group_values": [{"value": "P1", "count": 3}]}]},
            }
        },
        CaseCount,
    ),
    (
        lambda c: c.count_cases(),
        "GET",
        "/api/v2/cases/count",
        None,
        {"data": {"id": "x", "type": "case_count", "attributes": {"groups": []}}},
        CaseCount,
    ),
    (
        lambda c: c.aggregate_cases("status:open", group_by=["priority"], limit=10),
        "POST",
        "/api/v2/cases/aggregate",
        {
            "data": {
                "type": "aggregate",
                "attributes": {"query_filter": "status:open", "group_by": {"groups": ["priority"], "limit": 10}},
            }
        },
        {
            "data": {
                "id": "x",
                "type": "aggregate",
                "attributes": {"total": 4, "groups": [{"group": "P1", "value": [4]}]},
            }
        },
        CaseAggregate,
    ),
    (
        lambda c: c.bulk_update_cases([CASE_ID, "DDFC-2"], "priority", {"priority": "P1"}),
        "POST",
        "/api/v2/cases/bulk",
        {
            "data": {
                "type": "bulk",
                "attributes": {"case_ids": [CASE_ID, "DDFC-2"], "type": "priority", "payload": {"priority": "P1"}},
            }
        },
        b"",
        None,
    ),
    (lambda c: c.get_projects(), "GET", "/api/v2/cases/projects", None, {"data": [PROJECT_DOC]}, [Project]),
    (
        lambda c: c.get_project(PROJECT),
        "GET",
        f"/api/v2/cases/projects/{PROJECT}",
        None,
        {"data": PROJECT_DOC},
        Project,
    ),
    (
        lambda c: c.create_project(key="OPS", name="Operations"),
        "POST",
        "/api/v2/cases/projects",
        {"data": {"type": "project", "attributes": {"key": "OPS", "name": "Operations"}}},
        {"data": PROJECT_DOC},
        Project,
    ),
    (
        lambda c: c.update_project(PROJECT, name="Renamed"),
        "PATCH",
        f"/api/v2/cases/projects/{PROJECT}",
        {"data": {"type": "project", "attributes": {"name": "Renamed"}}},
        {"data": PROJECT_DOC},
        Project,
    ),
    (lambda c: c.delete_project(PROJECT), "DELETE", f"/api/v2/cases/projects/{PROJECT}", None, b"", None),
    (
        lambda c: c.list_user_case_project_favorites(),
        "GET",
        "/api/v2/cases/projects/favorites",
        None,
        {"data": [{"id": PROJECT, "type": "project_favorite"}]},
        [ProjectFavorite],
    ),
    (
        lambda c: c.favorite_case_project(PROJECT),
        "POST",
        f"/api/v2/cases/projects/{PROJECT}/favorites",
        None,
        b"",
        None,
    ),
    (
        lambda c: c.unfavorite_case_project(PROJECT),
        "DELETE",
        f"/api/v2/cases/projects/{PROJECT}/favorites",
        None,
        b"",
        None,
    ),
    (
        lambda c: c.get_project_notification_rules(PROJECT),
        "GET",
        f"/api/v2/cases/projects/{PROJECT}/notification_rules",
        None,
        {"data": [RULE_DOC]},
        [NotificationRule],
    ),
    (
        lambda c: c.create_project_notification_rule(
            PROJECT, recipients=[{"type": "EMAIL", "data": {"email": "a@b.c"}}], triggers=[{"type": "CASE_CREATED"}]
        ),
        "POST",
        f"/api/v2/cases/projects/{PROJECT}/notification_rules",
        {
            "data": {
                "type": "notification_rule",
                "attributes": {
                    "recipients": [{"type": "EMAIL", "data": {"email": "a@b.c"}}],
                    "triggers": [{"type": "CASE_CREATED"}],
                },
            }
        },
        {"data": RULE_DOC},
        NotificationRule,
    ),
    (
        lambda c: c.update_project_notification_rule(PROJECT, RULE, is_enabled=False),
        "PUT",
        f"/api/v2/cases/projects/{PROJECT}/notification_rules/{RULE}",
        {"data": {"type": "notification_rule", "attributes": {"is_enabled": False}}},
        b"",
        None,
    ),
    (
        lambda c: c.delete_project_notification_rule(PROJECT, RULE),
        "DELETE",
        f"/api/v2/cases/projects/{PROJECT}/notification_rules/{RULE}",
        None,
        b"",
        None,
    ),
    (lambda c: c.get_all_case_types(), "GET", "/api/v2/cases/types", None, {"data": [TYPE_DOC]}, [CaseType]),
    (
        lambda c: c.create_case_type(name="World", emoji="🌍"),
        "POST",
        "/api/v2/cases/types",
        {"data": {"type": "case_type", "attributes": {"name": "World", "emoji": "🌍"}}},
        {"data": TYPE_DOC},
        CaseType,
    ),
    (
        lambda c: c.update_case_type(TYPE, name="Earth"),
        "PUT",
        f"/api/v2/cases/types/{TYPE}",
        {"data": {"type": "case_type", "attributes": {"name": "Earth"}}},
        {"data": TYPE_DOC},
        CaseType,
    ),
    (lambda c: c.delete_case_type(TYPE), "DELETE", f"/api/v2/cases/types/{TYPE}", None, b"", None),
    (
        lambda c: c.get_all_custom_attributes(),
        "GET",
        "/api/v2/cases/types/custom_attributes",
        None,
        {"data": [CONFIG_DOC]},
        [CustomAttributeConfig],
    ),
    (
        lambda c: c.get_all_custom_attribute_configs_by_case_type(TYPE),
        "GET",
        f"/api/v2/cases/types/{TYPE}/custom_attributes",
        None,
        {"data": []},
        [],
    ),
    (
        lambda c: c.create_custom_attribute_config(
            TYPE, key="region", display_name="Region", type="TEXT", is_multi=True
        ),
        "POST",
        f"/api/v2/cases/types/{TYPE}/custom_attributes",
        {
            "data": {
                "type": "custom_attribute",
                "attributes": {"key": "region", "display_name": "Region", "type": "TEXT", "is_multi": True},
            }
        },
        {"data": CONFIG_DOC},
        CustomAttributeConfig,
    ),
    (
        lambda c: c.update_custom_attribute_config(TYPE, CONFIG, type="SELECT", options=["eu", "us"]),
        "PUT",
        f"/api/v2/cases/types/{TYPE}/custom_attributes/{CONFIG}",
        {
            "data": {
                "type": "custom_attribute",
                "attributes": {"type": "SELECT", "type_data": {"options": [{"value": "eu"}, {"value": "us"}]}},
            }
        },
        {"data": CONFIG_DOC},
        CustomAttributeConfig,
    ),
    (
        lambda c: c.delete_custom_attribute_config(TYPE, CONFIG),
        "DELETE",
        f"/api/v2/cases/types/{TYPE}/custom_attributes/{CONFIG}",
        None,
        b"",
        None,
    ),
]


@pytest.mark.parametrize(("call", "method", "target", "body", "document", "result"), TABLE)
async def test_a_call_sends_its_request_and_reads_its_answer(
    call: Call, method: str, target: str, body: Any, document: Any, result: Any
) -> None:
    def answer(request: Request) -> Response:
        if document == b"":
            return Response(request.expected, {}, b"")
        return json_response(request.expected, document)

    transport = MockTransport(answer)
    async with CasesClient(transport=transport) as client:
        got = await call(client)
    (sent,) = transport.requests
    assert (sent.method, sent.target) == (method, target)
    assert (json.loads(sent.body) if sent.body else None) == body
    if isinstance(result, list):
        assert isinstance(got, list) and len(got) == len(result)
        assert all(isinstance(item, kind) for item, kind in zip(got, result, strict=True))
    elif result is None:
        assert got is None
    else:
        assert isinstance(got, result)


async def test_a_case_answer_keeps_what_the_client_does_not_know_and_resolves_its_users() -> None:
    async with CasesClient(transport=MockTransport(lambda request: json_response(200, CASE))) as client:
        case = await client.get_case(CASE_ID)
    assert case.attributes.type == "TUNKNOWN" and case.attributes.extra == {"new": 1}
    assert case.assignee is not None and (case.assignee.id, case.assignee.name, case.assignee.active) == (
        USER,
        "Ada",
        False,
    )
    assert case.created_by is None and case.status_name == "Open" and case.key == "DDFC-1"


async def test_the_deprecated_status_warns() -> None:
    transport = MockTransport(lambda request: json_response(200, CASE))
    async with CasesClient(transport=transport) as client:
        with pytest.warns(DeprecationWarning, match="status_name"):
            await client.update_status(CASE_ID, status="CLOSED")
    assert json.loads(transport.requests[0].body) == case_body({"status": "CLOSED"})


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_status(CASE_ID),
        lambda c: c.update_status(CASE_ID, status_name="Open", status="OPEN"),
        lambda c: c.create_case(title=" ", type_id=TYPE, project_id=PROJECT),
        lambda c: c.create_case(title="t", type_id="", project_id=PROJECT),
        lambda c: c.create_case(title="t", type_id=TYPE, project_id=PROJECT, custom_attributes={"k": {"a": 1}}),
        lambda c: c.create_case(title="t", type_id=TYPE, project_id=PROJECT, custom_attributes={"k": [1, "a"]}),
        lambda c: c.update_priority(CASE_ID, ""),
        lambda c: c.update_case_title(CASE_ID, ""),
        lambda c: c.update_case_description(CASE_ID, None),
        lambda c: c.update_attributes(CASE_ID, {"service": "web-store"}),
        lambda c: c.update_case_due_date(CASE_ID, "2026-12-24"),
        lambda c: c.update_case_custom_attribute(CASE_ID, "k", True),
        lambda c: c.update_case_custom_attribute(CASE_ID, "", "v"),
        lambda c: c.assign_case(CASE_ID, ""),
        lambda c: c.move_case_to_project(CASE_ID, ""),
        lambda c: c.count_cases(" "),
        lambda c: c.count_cases(group_by="priority"),
        lambda c: c.aggregate_cases("status:open", group_by=["priority"], limit=1001),
        lambda c: c.bulk_update_cases([], "archive"),
        lambda c: c.bulk_update_cases([CASE_ID], "priority", {"priority": 1}),
        lambda c: c.create_project(key="CASE", name="x"),
        lambda c: c.update_project(PROJECT),
        lambda c: c.update_project_notification_rule(PROJECT, RULE),
        lambda c: c.create_custom_attribute_config(TYPE, key="k", display_name="K", type="TEXT", is_multi="yes"),
        lambda c: c.get_case("a/b"),
    ],
)
async def test_bad_arguments_are_refused_before_sending(call: Call) -> None:
    transport = MockTransport(lambda request: json_response(200, CASE))
    async with CasesClient(transport=transport) as client:
        with pytest.raises(InvalidArgument) as info:
            await call(client)
    assert isinstance(info.value, ValueError) and transport.requests == []


def quick(transport: MockTransport) -> CasesClient:
    return CasesClient(transport=transport, retry_policy=RetryPolicy(max_retries=3, base=0.001, cap=0.002))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.update_priority(CASE_ID, "P1"),
        lambda c: c.assign_case(CASE_ID, USER),
        lambda c: c.archive_case(CASE_ID),
        lambda c: c.move_case_to_project(CASE_ID, PROJECT),
        lambda c: c.delete_case_custom_attribute(CASE_ID, "k"),
    ],
)
async def test_a_state_setting_call_is_retried_after_a_try_that_may_have_acted(call: Call) -> None:
    transport = scripted(TransportError("connection reset by peer"), json_response(200, CASE))
    async with quick(transport) as client:
        assert isinstance(await call(client), Case)
    assert len(transport.requests) == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_case(title="t", type_id=TYPE, project_id=PROJECT),
        lambda c: c.create_project(key="OPS", name="Ops"),
        lambda c: c.create_case_type(name="World"),
        lambda c: c.create_custom_attribute_config(TYPE, key="k", display_name="K", type="TEXT", is_multi=False),
        lambda c: c.create_project_notification_rule(PROJECT, recipients=[], triggers=[]),
        lambda c: c.bulk_update_cases([CASE_ID], "archive"),
    ],
)
async def test_a_creation_is_never_sent_twice_when_it_may_have_acted(call: Call) -> None:
    transport = scripted(TransportError("connection reset by peer"), json_response(201, CASE))
    async with quick(transport) as client:
        with pytest.raises(TransportError) as info:
            await call(client)
    assert info.value.outcome_unknown and len(transport.requests) == 1
    transport = scripted(TransportError("refused", request_sent=False), json_response(201, {"data": PROJECT_DOC}))
    async with quick(transport) as client:
        try:
            await call(client)
        except Exception as exc:  # the answer's shape may not be this call's: only the retry matters here
            assert not isinstance(exc, TransportError)
    assert len(transport.requests) == 2


def test_a_custom_value_is_typed_from_python() -> None:
    from aiocases import custom_value

    assert custom_value("x") == CustomAttributeValue(type="TEXT", is_multi=False, value="x")
    assert custom_value([1, 2.5]) == CustomAttributeValue(type="NUMBER", is_multi=True, value=(1, 2.5))
    assert custom_value("eu", type="SELECT").type == "SELECT"
    for wrong in (None, True, {"a": 1}, ["a", 1]):
        with pytest.raises(InvalidArgument):
            custom_value(wrong)


REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "api" / "case-management-operations.md"


def test_the_readme_maps_every_official_method_of_tiers_a_to_c_to_a_call() -> None:
    """Each official method name of tiers (a)-(c) is in the README's table, and every call the table names exists."""
    if not REFERENCE.exists():
        pytest.skip("../shared/api is not here")
    tiers = REFERENCE.read_text().split("### 1(a)")[1].split("### 1(d)")[0]
    official = re.findall(r"^\| `(\w+)` \(", tiers, re.M)
    assert len(official) == 48
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("| Official client")[1].split("\n\n")[0]
    rows = [row.split(" | ") for row in table.splitlines()[2:]]
    named = {name for left, _ in rows for name in re.findall(r"`(\w+)`", left)}
    assert set(official) <= named | {"search_cases_with_pagination"}
    for left, right in rows:
        calls = re.findall(r"`(\w+)(?:\(|`)", right) if "the same" not in right else re.findall(r"`(\w+)`", left)
        for call in calls:
            assert callable(getattr(CasesClient, call, None)), call
