"""``aiocases case ...``, ``aiocases projects`` and ``aiocases types`` against
the fake in its own process (this module's server: the commands change its data)."""

from __future__ import annotations

import asyncio
import json

import pytest
from cli_helpers import API_KEY, APP_KEY, Server, run

from aiocases import CasesClient
from aiocases.testing import FakeCasesAPI


def case_json(server: Server, *args: str) -> dict[str, object]:
    result = run("case", *args, "--json", "--base-url", server.url)
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def test_a_case_from_creation_to_archive(server: Server) -> None:
    created = run("case", "create", "--title", "Disk full", "--project", "ops", "--priority", "P2",
                  "--base-url", server.url)  # fmt: skip
    assert created.returncode == 0, created.stderr
    head, *fields = created.stdout.splitlines()
    assert head.startswith("OPS-") and head.endswith("Open  P2  Disk full")
    key = head.split()[0]
    assert any(line.split()[0] == "created" for line in fields)
    case = case_json(server, "status", key, "In Progress")
    assert case["attributes"]["status_name"] == "In Progress"  # type: ignore[index]
    assert case_json(server, "priority", key, "P1")["attributes"]["priority"] == "P1"  # type: ignore[index]
    assert case_json(server, "title", key, "Disk full on db-1")["attributes"]["title"] == "Disk full on db-1"  # type: ignore[index]
    assert case_json(server, "description", key, "df -h")["attributes"]["description"] == "df -h"  # type: ignore[index]
    user = "06fe1d45-8040-47eb-b161-837f416635e7"
    assigned = case_json(server, "assign", key, user)
    assert assigned["relationships"]["assignee"] == {"data": {"id": user, "type": "user"}}  # type: ignore[index]
    assert "assignee" not in case_json(server, "unassign", key)["relationships"]  # type: ignore[operator]
    archived = run("case", "archive", key, "--base-url", server.url)
    assert archived.returncode == 0 and any(line.split()[0] == "archived" for line in archived.stdout.splitlines()[1:])
    assert "archived_at" not in case_json(server, "unarchive", key)["attributes"]  # type: ignore[operator]
    moved = case_json(server, "move", key, "SEC")
    projects = run("projects", "--json", "--base-url", server.url)
    by_key = {p["attributes"]["key"]: p["id"] for p in map(json.loads, projects.stdout.splitlines())}
    assert moved["relationships"]["project"]["data"]["id"] == by_key["SEC"]  # type: ignore[index]
    got = run("case", "get", key, "--base-url", server.url)
    assert got.returncode == 0 and got.stdout.splitlines()[0] == f"{key}  In Progress  P1  Disk full on db-1"


def test_projects_and_types_are_tables(server: Server, truth: FakeCasesAPI) -> None:
    projects = run("projects", "--base-url", server.url)
    assert projects.returncode == 0, projects.stderr
    lines = projects.stdout.splitlines()
    assert lines[0].split() == ["KEY", "NAME", "ID"]
    assert {line.split()[0] for line in lines[1:]} >= {"SEC", "OPS", "INC", "PROJ"}
    types = run("types", "--base-url", server.url)
    assert types.returncode == 0 and "Change Request" in types.stdout
    assert "Pending Approval, Approved, Implementing" in types.stdout
    as_json = [json.loads(line) for line in run("types", "--json", "--base-url", server.url).stdout.splitlines()]
    assert {t["type"] for t in as_json} == {"case_type"} and len(as_json) == 6


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (("case", "get", "NOPE-9"), 1, "HTTP 404: case not found (resource_not_found)"),
        (("case", "status", "SEC-1", "Nope"), 1, "invalid status name Nope. Must be one of Open, In Progress, Closed"),
        (("case", "priority", "SEC-1", "P9"), 1, "invalid priority P9"),
        (("case", "create", "--title", "x", "--project", "NOPE"), 2, "no project has the key 'NOPE' (projects:"),
        (("case", "create", "--title", "x", "--project", "OPS", "--type", "Odd"), 2, "no case type is named 'Odd'"),
        (("case", "create", "--title", " ", "--project", "OPS"), 2, "title must not be empty or blank"),
        (("case", "attribute", "SEC-1", "region"), 2, "give the attribute's VALUE"),
        (("case", "attribute", "SEC-1", "n", "x", "--type", "NUMBER"), 2, "a NUMBER attribute takes numbers"),
        (("case", "attribute", "SEC-1", "region", "eu"), 1, "custom attribute configuration not found"),
        (("case", "assign", "SEC-1", "not-a-user"), 1, "HTTP 400: Bad Request"),
        (("case",), 2, "the following arguments are required: ACTION"),
    ],
)
def test_mistakes_are_one_line_with_the_usual_exit_status(
    server: Server, args: tuple[str, ...], status: int, message: str
) -> None:
    result = run(*args, "--base-url", server.url) if len(args) > 1 else run(*args)
    assert result.returncode == status, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3  # argparse adds its usage lines


def test_a_custom_attribute_from_the_command_line(server: Server) -> None:
    """A type with a configuration, made through the API, then set and removed from the command line."""

    async def configure() -> str:
        async with CasesClient(API_KEY, APP_KEY, base_url=server.url) as client:
            made = await client.create_case_type(name="Migration")
            await client.create_custom_attribute_config(made.id, key="hosts", display_name="Hosts", type="NUMBER",
                                                        is_multi=True)  # fmt: skip
            project = (await client.get_projects())[0]
            case = await client.create_case(title="Move", type_id=made.id, project_id=project.id)
            assert case.key is not None
            return case.key

    key = asyncio.run(configure())
    case = case_json(server, "attribute", key, "hosts", "3", "4.5", "--type", "NUMBER")
    assert case["attributes"]["custom_attributes"]["hosts"] == {"type": "NUMBER", "is_multi": True, "value": [3, 4.5]}  # type: ignore[index]
    one = case_json(server, "attribute", key, "hosts", "7", "--type", "NUMBER", "--multi")
    assert one["attributes"]["custom_attributes"]["hosts"]["value"] == [7]  # type: ignore[index]
    removed = case_json(server, "attribute", key, "hosts", "--delete")
    assert removed["attributes"]["custom_attributes"] == {}  # type: ignore[index]
