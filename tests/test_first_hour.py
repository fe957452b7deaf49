"""A newcomer's first hour, tried as one would: the URL in use named in
errors, refused runs that leave nothing behind, hints that name options the
command has, id files with comments, words and numbers in summaries, the
fake's order, the README's lines and the package's files."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import API_KEY, APP_KEY, CELLS, Server, run, said

from aiocases.testing import FakeCasesAPI

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def keys(truth: FakeCasesAPI) -> list[str]:
    return [case.key for case in truth.cases.values()]


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_errors_name_the_url_in_use_and_what_chose_it(server: Server, keys: list[str]) -> None:
    """Item 18: with AIOCASES_BASE_URL set, errors said "site datadoghq.com"."""
    refused = run(
        "export", keys[0], env={"DD_API_KEY": "wrong", "DD_APP_KEY": APP_KEY, "AIOCASES_BASE_URL": server.url}
    )
    line = one_line(refused, 1)
    assert f"{server.url} (AIOCASES_BASE_URL)" in line and "datadoghq.com" not in line
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = run(
        "export", keys[0], env={"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "AIOCASES_BASE_URL": nowhere}
    )
    assert f"cannot reach the API at {nowhere} (AIOCASES_BASE_URL)" in one_line(unreachable, 1)
    option = run("export", keys[0], "--base-url", nowhere)
    assert f"cannot reach the API at {nowhere} (--base-url)" in one_line(option, 1)


def test_an_unresolvable_host_says_so(keys: list[str]) -> None:
    """Item 24: a DNS failure read "Unknown error -2"."""
    result = run("export", keys[0], "--site", "https://app.datadoghq.eu", env={
        "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "HOSTALIASES": "/nonexistent"})  # fmt: skip
    line = one_line(result, 1)  # no network here: the name does not resolve, or nothing answers
    assert "Unknown error" not in line and ("did not resolve" in line or "cannot connect" in line), line


def test_refused_runs_create_no_file(server: Server, keys: list[str], tmp_path: Path) -> None:
    """Item 19: a refused --output left a .progress; --input a directory left the output and its journal."""
    out = tmp_path / "k.txt"
    out.write_text("someone's data\n")
    refused = run("export", keys[0], "--output", str(out), "--base-url", server.url)
    assert "--overwrite" in one_line(refused, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.txt"] and out.read_text() == "someone's data\n"
    directory = run(
        "export", "--input", str(tmp_path), "--output", str(tmp_path / "new.jsonl"), "--base-url", server.url
    )
    assert "is a directory" in one_line(directory, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.txt"]
    sync = run("sync", "--state", str(tmp_path / "state"), "--input", str(tmp_path), "--base-url", server.url)
    assert "is a directory" in one_line(sync, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.txt"]


def test_hints_name_only_options_the_command_has(tmp_path: Path) -> None:
    """Item 20: demo suggested --resume or --overwrite, which it rejects; Ctrl-C on /dev/null suggested --resume."""
    out = tmp_path / "demo.jsonl"
    assert (
        run(
            "demo", "--cases", "2", "--cells", "3", "--rate-limit", "0", "--faults", "0", "--output", str(out)
        ).returncode
        == 0
    )
    again = run("demo", "--cases", "2", "--cells", "3", "--rate-limit", "0", "--faults", "0", "--output", str(out))
    assert again.returncode == 2 and "Traceback" not in again.stderr
    (line,) = (line for line in again.stderr.splitlines() if line.startswith("aiocases: error"))
    assert "--resume" not in line and "--overwrite" not in line and "another --output" in line
    slow = Server("--cases", "3", "--cells", "5", "--latency", "1")
    try:
        environ = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
        command = [sys.executable, "-m", "aiocases.cli", "export", "SEC-1", "--output", "/dev/null", "--page-size", "1"]
        command += ["--base-url", slow.url]
        process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        process.send_signal(2)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130 and "interrupted by SIGINT" in err and "--resume" not in err, err
    finally:
        slow.stop()


def test_ids_with_comments_and_a_summary_in_good_words(server: Server, keys: list[str], tmp_path: Path) -> None:
    """Item 24: "INC-3 # note" failed its case; "exported 1 cases"; "1260 requests" beside "100,800 cells";
    a summary wider than 80 columns."""
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# the cases to look at\n{keys[0]}   # the first one\n\n")
    result = run("export", "--input", str(ids), "--output", str(tmp_path / "out.jsonl"), "--base-url", server.url)
    assert result.returncode == 0, result.stderr
    assert f"exported 1 case (0 failed), {CELLS} cells" in said(result) and "1 request," in said(result)
    assert all(len(line) <= 80 for line in result.stderr.splitlines()), result.stderr
    many = run("export", *keys, "--base-url", server.url, "--page-size", "1")
    assert f"{len(keys) * (CELLS + 1):,} requests" in said(many)
    assert all(len(line) <= 80 for line in many.stderr.splitlines()), many.stderr


def test_help_mentions_comments_in_id_files() -> None:
    result = run("export", "--help")
    assert "#" in result.stdout and "comment" in result.stdout


def test_the_fake_sorts_priority_highest_first_descending(server: Server) -> None:
    """Item 25: `cases --sort priority --descending` put P1 (the highest) last."""
    result = run("cases", "--sort", "priority", "--descending", "--json", "--base-url", server.url)
    priorities = [json.loads(line)["attributes"]["priority"] for line in result.stdout.splitlines()]
    order = ["P1", "P2", "P3", "P4", "P5", "NOT_DEFINED"]
    assert priorities[0] == "P1" and priorities == sorted(priorities, key=order.index)


# -- the README and the package ----------------------------------------------------------


def readme_shell_lines() -> Iterator[str]:
    """Every command line of the README's sh blocks."""
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command:
                yield command


def test_readme_lines_use_the_virtualenv_they_make() -> None:
    """Item 22: lines ran bare `python`, though the set-up line never activates .venv."""
    readme = (ROOT / "README.md").read_text()
    lines = list(readme_shell_lines())
    assert len(lines) >= 6
    for line in lines:
        activated = ". .venv/bin/activate" in readme.split(line)[0].rsplit("```sh", 1)[-1]
        for command in line.split("&&"):
            program = command.split()[0]
            assert program in ("python3", "export", ".") or program.startswith(".venv/bin/") or activated, line


def test_the_sdist_holds_the_tests_helpers_and_docs(tmp_path: Path) -> None:
    """Item 23: it shipped tests/test_*.py without conftest.py and the helpers, and no docs/."""
    # The build backend pip installs for a build: a virtualenv of Python 3.12 or newer has none of its own.
    pytest.importorskip("setuptools", reason="setuptools, the build backend, is not installed in this environment")
    built = subprocess.run(
        [sys.executable, "-c", "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    name = built.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as sdist:
        members = {member.split("/", 1)[1] for member in sdist.getnames() if "/" in member}
    for needed in ("tests/conftest.py", "tests/cli_helpers.py", "tests/redis_helpers.py", "docs/reference.md",
                   "docs/events.md", "CHANGELOG.md", "LICENSE", "benchmarks/run.py"):  # fmt: skip
        assert needed in members, needed
