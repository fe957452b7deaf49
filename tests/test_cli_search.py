"""``aiocases cases`` and ``aiocases export --query`` against the fake in its own process."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import Server, export_lines, run

from aiocases.testing import FakeCasesAPI


def matching(truth: FakeCasesAPI, status: str | None = None) -> list[str]:
    found = [c for c in truth.cases.values() if status is None or c.attributes["status"] == status]
    return [c.id for c in sorted(found, key=lambda c: (str(c.attributes["created_at"]), c.key))]


def test_cases_table_and_json(server: Server, truth: FakeCasesAPI) -> None:
    table = run("cases", "--base-url", server.url)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["KEY", "STATUS", "PRIORITY", "TITLE"]
    keys = [truth.find(i).key for i in matching(truth)]  # type: ignore[union-attr]
    assert [row.split()[0] for row in rows] == keys
    first = truth.find(keys[0])
    assert first is not None and str(first.attributes["title"]) in rows[0]

    closed = run("cases", "--query", "status:closed", "--json", "--base-url", server.url)
    assert closed.returncode == 0, closed.stderr
    assert [json.loads(line)["id"] for line in closed.stdout.splitlines()] == matching(truth, "CLOSED")

    none = run("cases", "--query", "key:NOPE-1", "--base-url", server.url)
    assert none.returncode == 0 and none.stdout == "" and "no cases found for 'key:NOPE-1'" in none.stderr
    bad = run("cases", "--query", "colour:blue", "--base-url", server.url)
    assert bad.returncode == 1 and "unknown field 'colour'" in bad.stderr and "Traceback" not in bad.stderr


def test_export_a_query_then_resume_it(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    out = tmp_path / "open.jsonl"
    first = run("export", "--query", "status:open", "--output", str(out), "--base-url", server.url)
    assert first.returncode == 0, first.stderr
    wanted = matching(truth, "OPEN")
    assert wanted and export_lines(out.read_text()) == {i: [c["id"] for c in truth.cells(i)] for i in wanted}
    journal = (tmp_path / "open.jsonl.progress").read_bytes().splitlines()[0]
    assert b'"query": "status:open"' in journal or b'"query":"status:open"' in journal

    other = run("export", "--query", "status:closed", "--output", str(out), "--resume", "--base-url", server.url)
    assert other.returncode == 2 and "query: 'status:open' then, 'status:closed' now" in other.stderr

    again = run("export", "--query", "status:open", "--output", str(out), "--resume", "--base-url", server.url)
    assert again.returncode == 0, again.stderr
    assert f"{len(wanted)} already done" in again.stderr
    assert export_lines(out.read_text()) == {i: [c["id"] for c in truth.cells(i)] for i in wanted}
