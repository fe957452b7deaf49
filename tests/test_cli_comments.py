"""``aiocases comment`` and ``aiocases uncomment`` against the fake in its own
process (this module's server: comments change its data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cli_helpers import API_KEY, APP_KEY, Server, run

from aiocases.testing import FakeCasesAPI


def timeline(server: Server, case: str) -> list[dict[str, object]]:
    result = run("timeline", case, "--json", "--base-url", server.url)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_comment_then_uncomment(server: Server, truth: FakeCasesAPI) -> None:
    case = next(iter(truth.cases.values())).key
    added = run("comment", case, "Rolled back **checkout**.", "--base-url", server.url)
    assert added.returncode == 0, added.stderr
    cell_id = added.stdout.strip()
    last = timeline(server, case)[-1]
    assert last["id"] == cell_id
    assert last["attributes"]["cell_content"] == {"message": "Rolled back **checkout**."}  # type: ignore[index]

    piped = run("comment", case, "-", "--json", "--base-url", server.url, stdin="from\nstdin ✓\n")
    assert piped.returncode == 0, piped.stderr
    line = json.loads(piped.stdout)
    assert line["case_id"] == case and line["attributes"]["cell_content"]["message"] == "from\nstdin ✓\n"

    removed = run("uncomment", case, cell_id, "--base-url", server.url)
    assert removed.returncode == 0 and f"deleted comment {cell_id} from {case}" in removed.stderr
    gone = next(c for c in timeline(server, case) if c["id"] == cell_id)
    assert gone["attributes"]["deleted_at"]  # type: ignore[index]
    again = run("uncomment", case, cell_id, "--base-url", server.url)
    assert again.returncode == 1 and "timeline cell not found" in again.stderr and "Traceback" not in again.stderr


def test_bad_comment_arguments_are_usage_errors(server: Server, truth: FakeCasesAPI) -> None:
    case = next(iter(truth.cases.values())).key
    for args, stdin, message in (
        (("comment", case, "   "), None, "message must not be empty"),
        (("comment", case, "-"), "", "message must not be empty"),
        (("uncomment", case, "a/b"), None, "cell_id must not contain '/'"),
    ):
        result = run(*args, "--base-url", server.url, stdin=stdin)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def test_a_comment_from_stdin_closed_or_not_utf8_is_refused_in_one_line(server: Server, truth: FakeCasesAPI) -> None:
    """It printed a traceback with stdin closed, and posted mojibake ('\\udcff\\udcfe...') for UTF-16 input."""
    case = next(iter(truth.cases.values())).key
    before = len(timeline(server, case))
    environ = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    arguments = ["comment", case, "-", "--base-url", server.url]
    closed = subprocess.run(  # stdin not open at all: descriptor 0 closed
        [sys.executable, "-c", "import os, runpy, sys; os.close(0); sys.argv[0] = 'aiocases';"
         " runpy.run_module('aiocases.cli', run_name='__main__')", *arguments],
        capture_output=True, text=True, env=environ,
    )  # fmt: skip
    assert closed.returncode == 2 and "stdin is closed" in closed.stderr, closed.stderr
    assert len(closed.stderr.splitlines()) == 1
    command = [sys.executable, "-m", "aiocases.cli", *arguments]
    utf16 = subprocess.run(command, input="a comment".encode("utf-16"), capture_output=True, env=environ)
    assert utf16.returncode == 2 and b"not UTF-8 text" in utf16.stderr and b"Traceback" not in utf16.stderr
    assert len(timeline(server, case)) == before  # nothing posted
