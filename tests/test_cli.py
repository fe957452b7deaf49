"""The ``aiocases`` command line, driven as a subprocess against the fake API
served from its own process (``python -m aiocases.testing``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import (
    API_KEY,
    APP_KEY,
    CASES,
    CELLS,
    SEED,
    Server,
    expected,
    export_lines,
    fake_as_the_readme_starts_it,
    run,
)

from aiocases.testing import FakeCasesAPI


def assert_no_secrets(result: subprocess.CompletedProcess[str]) -> None:
    for secret in (API_KEY, APP_KEY, API_KEY[-6:], APP_KEY[-6:]):
        assert secret not in result.stdout and secret not in result.stderr


def test_export_to_stdout(server: Server, truth: FakeCasesAPI) -> None:
    keys = [case.key for case in list(truth.cases.values())[:3]]
    result = run("export", *keys, "--base-url", server.url, "--page-size", "10")
    assert result.returncode == 0, result.stderr
    assert export_lines(result.stdout) == expected(truth, keys)
    assert "exported 3 cases (0 failed)" in result.stderr
    assert "\r" not in result.stderr  # no progress bar when not a terminal
    assert_no_secrets(result)


def test_export_from_file_to_file(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    keys = [case.key for case in truth.cases.values()]
    ids = tmp_path / "ids.txt"
    ids.write_text("# cases to export\n\n" + "\n".join(keys[:10]) + "\n" + keys[0] + "\n   \n")
    out = tmp_path / "out.jsonl"
    result = run("export", "--input", str(ids), "--output", str(out), "--base-url", server.url, "--descending")
    assert result.returncode == 0, result.stderr
    assert export_lines(out.read_text()) == expected(truth, keys[:10], ascending=False)


def test_export_from_stdin(server: Server, truth: FakeCasesAPI) -> None:
    ids = list(truth.cases)[:4]
    result = run("export", "--input", "-", "--base-url", server.url, stdin="\n".join(ids) + "\n")
    assert result.returncode == 0, result.stderr
    assert export_lines(result.stdout) == expected(truth, ids)


def test_export_from_a_pipe_given_as_a_file(server: Server, truth: FakeCasesAPI) -> None:
    # /dev/stdin is a pipe here: it can be read once only, so it must not be counted first.
    ids = list(truth.cases)[4:7]
    result = run("export", "--input", "/dev/stdin", "--base-url", server.url, stdin="\n".join(ids) + "\n")
    assert result.returncode == 0, result.stderr
    assert export_lines(result.stdout) == expected(truth, ids)


def test_input_that_is_not_text(server: Server, tmp_path: Path) -> None:
    ids = tmp_path / "ids.bin"
    ids.write_bytes(b"PROJ-1\n\xff\xfe\x00garbage\n")
    result = run("export", "--input", str(ids), "--base-url", server.url)
    assert result.returncode == 2
    assert "UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_failed_cases_are_reported_and_the_rest_exported(server: Server, truth: FakeCasesAPI) -> None:
    keys = [case.key for case in list(truth.cases.values())[:2]]
    result = run("export", keys[0], "NOPE-404", "bad/id", keys[1], "--base-url", server.url)
    assert result.returncode == 1
    assert export_lines(result.stdout) == expected(truth, keys)
    assert "exported 2 cases (2 failed)" in result.stderr
    assert "failed NOPE-404: NotFound" in result.stderr
    assert "failed bad/id: InvalidArgument" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("export", "PROJ-1", "--base-url", "http://127.0.0.1:9"), {}, "DD_API_KEY"),
        (("export", "PROJ-1", "--site", "datadoghq.moon"), None, "unknown Datadog site"),
        (("export", "--input", "/nonexistent/ids.txt", "--base-url", "http://127.0.0.1:9"), None, "cannot read"),
        (("export", "--base-url", "http://127.0.0.1:9"), None, "no case ids"),
        (("timeline", "../admin", "--base-url", "http://127.0.0.1:9"), None, "case_id"),
        (("watch", "PROJ-1", "me", "--base-url", "http://127.0.0.1:9"), None, "user_uuid"),
        (("export", "PROJ-1", "--resume", "--base-url", "http://127.0.0.1:9"), None, "--resume needs --output"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], env: dict[str, str] | None, message: str) -> None:
    result = run(*args, env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_timeline_and_watchers(server: Server, truth: FakeCasesAPI) -> None:
    case = list(truth.cases.values())[5]
    human = run("timeline", case.key, "--base-url", server.url)
    assert human.returncode == 0, human.stderr
    first = truth.cells(case.key)[0]
    assert first["attributes"]["author"]["content"]["name"] in human.stdout  # type: ignore[index, call-overload]
    as_json = run("timeline", case.key, "--json", "--descending", "--base-url", server.url)
    assert export_lines(as_json.stdout) == expected(truth, [case.key], ascending=False)

    user = "8146583c-0b5f-11ec-abf8-da7ad0900001"
    assert run("watch", case.key, user, "--base-url", server.url).returncode == 0
    listed = run("watchers", case.key, "--base-url", server.url)
    assert listed.stdout.split() == [user]
    assert run("unwatch", case.key, user, "--base-url", server.url).returncode == 0
    nobody = run("watchers", case.key, "--base-url", server.url)
    assert nobody.stdout == "" and f"{case.key} has no watchers" in nobody.stderr
    missing = run("watchers", "NOPE-1", "--base-url", server.url)
    assert missing.returncode == 1 and "NotFound" in missing.stderr and "Traceback" not in missing.stderr


def start_export(url: str, ids: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    command = [sys.executable, "-m", "aiocases.cli", "export", "--input", str(ids), "--output", str(out)]
    return subprocess.Popen(
        [*command, "--base-url", url, "--page-size", "5", "--concurrency", "4", *extra],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_export_resumes_exactly(truth: FakeCasesAPI, tmp_path: Path, how: signal.Signals) -> None:
    slow = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--latency", "0.03")
    try:
        keys = [case.key for case in truth.cases.values()]
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(keys) + "\n")
        out = tmp_path / "out.jsonl"
        first = start_export(slow.url, ids, out)
        deadline = time.monotonic() + 30
        journal = tmp_path / "out.jsonl.progress"
        # Kill once some cases are journaled and more are being written.
        while time.monotonic() < deadline and (not journal.exists() or len(journal.read_bytes().splitlines()) < 4):
            time.sleep(0.01)
        first.send_signal(how)
        _, err = first.communicate(timeout=30)
        assert first.returncode != 0
        if how == signal.SIGINT:
            assert "--resume" in err and "Traceback" not in err
        # A kill can land mid-write: only whole lines are read here (resume cuts the rest).
        written = out.read_bytes() if out.exists() else b""
        partial = export_lines(written[: written.rfind(b"\n") + 1].decode())
        assert 0 < len(partial) < len(keys), "the kill should land mid-export"

        refused = start_export(slow.url, ids, out)
        _, err = refused.communicate(timeout=30)
        assert refused.returncode == 2 and "--resume" in err  # an earlier export is not overwritten silently

        second = start_export(slow.url, ids, out, "--resume")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert "already done" in err
        assert export_lines(out.read_text()) == expected(truth, keys)
    finally:
        slow.stop()


def test_readme_commands_are_the_ones_tested() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    first_screen = readme.split("## A short tour")[0]
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/aiocases demo" in first_screen
    assert ".venv/bin/python -m pytest" in first_screen
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci and "aiocases demo" in ci


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    result = run("demo", "--cases", "12", "--cells", "40", "--output", str(out), env={})
    assert result.returncode == 0, result.stderr
    assert "wrote 480 of 480 cells" in result.stderr
    assert len(out.read_text().splitlines()) == 480


def _run_readme_example(tmp_path: Path, start: str) -> subprocess.CompletedProcess[str]:
    """The README's python block starting with ``start``, run as written against ``python -m
    aiocases.testing`` with the environment line the fake prints."""
    import re

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = re.search(r"```python\n(" + re.escape(start) + r".*?)```", readme, re.S)
    assert example is not None
    (tmp_path / "example.py").write_text(example.group(1))
    with fake_as_the_readme_starts_it() as env:
        return subprocess.run([sys.executable, "example.py"], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_readme_library_example_runs(tmp_path: Path) -> None:
    import re

    done = _run_readme_example(tmp_path, "import asyncio\nfrom aiocases import CasesClient\n\nasync def main")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    truth = FakeCasesAPI(10, 50, seed=0)
    assert len([line for line in lines if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00 ", line)]) == 50
    assert sorted(lines[-3:]) == [
        "NOPE-1 0 GET /api/v2/cases/NOPE-1/timelines: HTTP 404: case not found (resource_not_found)",
        f"PROJ-4 {len(truth.cells('PROJ-4'))} None",
        f"SEC-5 {len(truth.cells('SEC-5'))} None",
    ]


def test_readme_react_to_a_case_example_runs(tmp_path: Path) -> None:
    """Get, comment, set the status, assign: the case as it now is, one more comment than before."""
    done = _run_readme_example(tmp_path, "import asyncio\nfrom aiocases import CasesClient\n\nasync def react")
    assert done.returncode == 0, done.stderr
    truth = FakeCasesAPI(10, 50, seed=0)
    assert done.stdout.split() == [
        "PROJ-4", "In", "Progress", "06fe1d45-8040-47eb-b161-837f416635e7", str(len(truth.cells("PROJ-4")) + 1)
    ]  # fmt: skip


def test_progress_bar_on_a_terminal(server: Server, truth: FakeCasesAPI) -> None:
    import fcntl
    import pty
    import struct
    import termios

    keys = [case.key for case in list(truth.cases.values())[:6]]
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))  # a 60-column terminal
    environ = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    try:
        done = subprocess.run(
            # Each id twice: the display counts cases, not input lines.
            [sys.executable, "-m", "aiocases.cli", "export", *keys, *keys, "--base-url", server.url],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=environ,
            timeout=60,
        )
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(leader)
    assert done.returncode == 0
    text = screen.decode()
    assert "\rcases 6/6  cells 210" in text
    assert "exported 6 cases (0 failed, 6 duplicate ids skipped)" in text
    updates = [part.split("\x1b[K")[0] for part in text.split("\r") if part.startswith("cases ")]
    assert updates and all(len(update) <= 59 for update in updates)  # never wraps
    assert "/12" not in text
    assert len(done.stdout.splitlines()) == 6 * CELLS


def test_first_five_minutes() -> None:
    """--version, a bare `aiocases` and `python -m aiocases` print what a newcomer needs."""
    import aiocases

    version = run("--version", env={})
    assert version.returncode == 0 and version.stdout.strip() == f"aiocases {aiocases.__version__}"
    bare = run(env={})
    assert bare.returncode == 0 and "usage: aiocases" in bare.stdout and "demo" in bare.stdout
    module = subprocess.run([sys.executable, "-m", "aiocases", "--help"], capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "export" in module.stdout


def test_every_option_has_help() -> None:
    import argparse

    from aiocases.cli.args import parser

    def walk(command: argparse.ArgumentParser, name: str) -> list[str]:
        missing = [f"{name} {a.dest}" for a in command._actions if not a.help and a.dest != "command"]
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    missing += walk(sub, sub_name)
        return missing

    assert walk(parser(), "aiocases") == []


@pytest.mark.parametrize("bad", [("--cells", "-1"), ("--faults", "1.5"), ("--rate-limit", "-3"), ("--cases", "0")])
def test_demo_refuses_out_of_range_options(bad: tuple[str, str]) -> None:
    result = run("demo", *bad, env={})
    assert result.returncode == 2 and f"argument {bad[0]}" in result.stderr and "Traceback" not in result.stderr


def test_demo_leaves_no_temporary_files(tmp_path: Path) -> None:
    result = run("demo", "--cases", "3", "--cells", "4", env={"TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "wrote 12 of 12 cells to a temporary file, now removed" in result.stderr
    assert list(tmp_path.iterdir()) == []
