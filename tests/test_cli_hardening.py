"""``aiocases export`` tried as an adversary would: odd files, full disks,
concurrent runs, signals, slow pipes and refusing servers.  Every failure is
one line and a non-zero exit, and what is on disk stays resumable."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import API_KEY, APP_KEY, CASES, CELLS, SEED, Server, expected, export_lines, run, small_filesystem

from aiocases.testing import FakeCasesAPI


@pytest.fixture(scope="module")
def keys(truth: FakeCasesAPI) -> list[str]:
    return [case.key for case in truth.cases.values()]


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("aiocases: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- data is never lost or damaged ---------------------------------------------------------------


def test_an_existing_file_is_not_overwritten(
    server: Server, keys: list[str], truth: FakeCasesAPI, tmp_path: Path
) -> None:
    out = tmp_path / "important.jsonl"
    out.write_text("my data\n")
    line = one_line_error(run("export", keys[0], "--output", str(out), "--base-url", server.url))
    assert "--overwrite" in line and out.read_text() == "my data\n"
    replaced = run("export", keys[0], "--output", str(out), "--overwrite", "--base-url", server.url)
    assert replaced.returncode == 0, replaced.stderr
    assert export_lines(out.read_text()) == expected(truth, keys[:1])


@pytest.mark.parametrize("how", ["same", "symlink", "stdin"])
def test_input_and_output_the_same_file(server: Server, keys: list[str], tmp_path: Path, how: str) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(keys[:3]) + "\n")
    before = ids.read_bytes()
    if how == "stdin":
        with ids.open() as stdin:
            result = subprocess.run(
                [sys.executable, "-m", "aiocases.cli", "export", "--input", "-", "--output", str(ids)],
                stdin=stdin,
                capture_output=True,
                text=True,
                env={**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY},
                timeout=60,
            )
    else:
        target = ids
        if how == "symlink":
            target = tmp_path / "link.txt"
            target.symlink_to(ids)
        result = run("export", "--input", str(ids), "--output", str(target), "--overwrite", "--base-url", server.url)
    assert "same file" in one_line_error(result)
    assert ids.read_bytes() == before


def test_resume_with_another_order_is_refused(server: Server, keys: list[str], tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert run("export", *keys[:2], "--output", str(out), "--base-url", server.url).returncode == 0
    line = one_line_error(
        run("export", *keys[:4], "--output", str(out), "--resume", "--descending", "--base-url", server.url)
    )
    assert "ascending: True then, False now" in line


def test_one_export_per_output(truth: FakeCasesAPI, keys: list[str], tmp_path: Path) -> None:
    slow = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--latency", "0.05")
    try:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(keys) + "\n")
        out = tmp_path / "out.jsonl"
        command = [sys.executable, "-m", "aiocases.cli", "export", "--input", str(ids), "--output", str(out)]
        env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
        start = [*command, "--base-url", slow.url, "--page-size", "10", "--concurrency", "2"]
        # Two at the same instant, then a --resume while the winner runs.
        runs = [subprocess.Popen(start, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        time.sleep(1.0)
        late = subprocess.run([*start, "--resume"], env=env, capture_output=True, text=True, timeout=60)
        outcomes = [(p.wait(timeout=120), p.communicate()[1]) for p in runs]
        assert "in use" in one_line_error(late)
        codes = sorted(code for code, _ in outcomes)
        assert codes == [0, 2], outcomes
        assert any("in use" in err for _, err in outcomes)
        assert export_lines(out.read_text()) == expected(truth, keys)
    finally:
        slow.stop()


async def test_hostile_text_is_written_faithfully(tmp_path: Path) -> None:
    async with FakeCasesAPI(seed=3) as api:
        odd = api.add_case(2, key="SUR-1")
        api.add_comment(odd.key, "half an emoji: \ud83d")
        plain = api.add_case(3, key="OK-1")
        out = tmp_path / "out.jsonl"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "aiocases.cli", "export", odd.key, plain.key, "--output", str(out),
            "--base-url", api.url,
            env={**os.environ, "DD_API_KEY": api.api_key, "DD_APP_KEY": api.app_key},
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
    assert process.returncode == 0, err
    text = out.read_text(encoding="utf-8")
    assert export_lines(text) == {
        odd.key: [c["id"] for c in api.cells(odd.key)],
        plain.key: [c["id"] for c in api.cells(plain.key)],
    }
    assert "half an emoji: \\ud83d" in text


# -- nothing hangs ---------------------------------------------------------------------------------


def test_a_slow_pipe_does_not_hold_back_the_export(
    server: Server, truth: FakeCasesAPI, keys: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiocases.cli",
            "export",
            "--input",
            "-",
            "--output",
            str(out),
            "--base-url",
            server.url,
        ],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "PYTHONASYNCIODEBUG": "1"},
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(keys[0] + "\n")
    process.stdin.flush()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(out.read_bytes().splitlines() if out.exists() else []) < CELLS:
        time.sleep(0.05)
    assert out.exists() and len(out.read_bytes().splitlines()) == CELLS, "the first case waited for the pipe"
    process.stdin.write(keys[1] + "\n")
    process.stdin.close()
    assert process.stderr is not None
    with process.stderr:
        err = process.stderr.read()
    process.wait(timeout=60)
    assert process.returncode == 0, err
    assert "Executing" not in err  # asyncio debug mode: no step blocked the loop
    assert export_lines(out.read_text()) == expected(truth, keys[:2])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_stop_and_flush_for_resume(
    truth: FakeCasesAPI, keys: list[str], tmp_path: Path, sig: signal.Signals
) -> None:
    slow = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--latency", "0.03")
    try:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(keys) + "\n")
        out = tmp_path / "out.jsonl"
        env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
        command = [sys.executable, "-m", "aiocases.cli", "export", "--input", str(ids), "--output", str(out)]
        command += ["--base-url", slow.url, "--page-size", "5", "--concurrency", "3"]
        first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        journal = tmp_path / "out.jsonl.progress"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not journal.exists() or len(journal.read_bytes().splitlines()) < 3):
            time.sleep(0.01)
        first.send_signal(sig)
        _, err = first.communicate(timeout=30)
        assert first.returncode == 128 + sig, err
        assert f"interrupted by {sig.name}" in err and "--resume" in err and "Traceback" not in err
        second = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        assert "already done" in second.stderr
        assert export_lines(out.read_text()) == expected(truth, keys)
    finally:
        slow.stop()


def test_refused_credentials_stop_at_once(server: Server, keys: list[str]) -> None:
    env = {"DD_API_KEY": "wrong-key", "DD_APP_KEY": APP_KEY}
    started = time.monotonic()
    result = run("export", *keys, "--base-url", server.url, "--concurrency", "4", env=env)
    line = one_line_error(result, code=1)
    assert "DD_API_KEY" in line and "DD_APP_KEY" in line and server.url in line
    assert "failed" not in result.stderr  # no per-case lines
    assert time.monotonic() - started < 20


def test_an_unreachable_host_stops_at_once(keys: list[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ids = [f"CASE-{n}" for n in range(200)]
    started = time.monotonic()
    result = run("export", *ids, "--base-url", f"http://127.0.0.1:{port}")
    line = one_line_error(result, code=1)
    assert "cannot reach" in line
    assert time.monotonic() - started < 30


def test_credentials_with_control_characters(server: Server, keys: list[str]) -> None:
    line = one_line_error(
        run("export", keys[0], "--base-url", server.url, env={"DD_API_KEY": "ab\x01cd", "DD_APP_KEY": APP_KEY})
    )
    assert "DD_API_KEY" in line and "ab\x01cd" not in line


def test_byte_order_mark_and_duplicates(server: Server, truth: FakeCasesAPI, keys: list[str], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"\xef\xbb\xbf" + ("\n".join(keys[:3] * 2) + "\n").encode())
    result = run("export", "--input", str(ids), "--base-url", server.url)
    assert result.returncode == 0, result.stderr
    assert export_lines(result.stdout) == expected(truth, keys[:3])
    assert "exported 3 cases (0 failed, 3 duplicate ids skipped)" in result.stderr


# -- file errors are one line, and what is written stays resumable --------------------------------


def test_output_problems_are_one_line(server: Server, keys: list[str], tmp_path: Path) -> None:
    base = ("--base-url", server.url)
    assert "No such file" in one_line_error(run("export", keys[0], "--output", str(tmp_path / "no" / "o.jsonl"), *base))
    assert "is a directory" in one_line_error(run("export", keys[0], "--output", str(tmp_path), *base))
    assert "not a regular file" in one_line_error(run("export", keys[0], "--output", "/dev/null", "--resume", *base))


def test_dev_null_has_no_journal(server: Server, keys: list[str]) -> None:
    stray = Path("/dev/null.progress")  # what an export used to leave there
    before = stray.stat().st_mtime_ns if stray.exists() else None
    result = run("export", keys[0], "--output", "/dev/null", "--base-url", server.url)
    assert result.returncode == 0, result.stderr
    assert (stray.stat().st_mtime_ns if stray.exists() else None) == before


def test_a_fifo_is_written_without_a_journal(
    server: Server, truth: FakeCasesAPI, keys: list[str], tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    base = ("--base-url", server.url)
    assert "not a regular file" in one_line_error(run("export", keys[0], "--output", str(fifo), "--resume", *base))
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    result = run("export", keys[0], "--output", str(fifo), *base)
    out, _ = reader.communicate(timeout=60)
    assert result.returncode == 0, result.stderr
    assert export_lines(out) == expected(truth, keys[:1])
    assert not (tmp_path / "pipe.progress").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_device_is_one_line(server: Server, keys: list[str]) -> None:
    line = one_line_error(run("export", keys[0], "--output", "/dev/full", "--base-url", server.url), code=1)
    assert "No space left" in line


def test_closed_stdout(server: Server, keys: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aiocases.cli", "export", keys[0], "--base-url", server.url],
        capture_output=False,
        stdout=None,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY},
        preexec_fn=lambda: os.close(1),
        timeout=60,
    )
    assert "stdout is closed" in one_line_error(result)


def test_demo_to_stdout(tmp_path: Path) -> None:
    result = run("demo", "--cases", "4", "--cells", "10", "--output", "-", "--faults", "0", env={})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 40


def limit_file_size(size: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))


def test_file_size_limit_then_resume(server: Server, truth: FakeCasesAPI, keys: list[str], tmp_path: Path) -> None:
    """``ulimit -f``: the write fails mid-export; the journal still tells the
    truth, so a resume once the limit is lifted is exact."""
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(keys) + "\n")
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "aiocases.cli", "export", "--input", str(ids), "--output", str(out)]
    command += ["--base-url", server.url, "--concurrency", "2"]
    env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    limited = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, preexec_fn=lambda: limit_file_size(60_000)
    )
    line = one_line_error(limited, code=1)
    assert "File too large" in line and "--resume" in line
    assert 0 < out.stat().st_size <= 60_000
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "already done" in resumed.stderr  # the cases written before the failure were journaled
    assert export_lines(out.read_text()) == expected(truth, keys)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root (CI runs as root)")
def test_disk_full_then_resume(server: Server, truth: FakeCasesAPI, keys: list[str], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(keys) + "\n")
    env = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}

    def export(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "aiocases.cli", "export", "--input", str(ids), "--output", str(out)]
        command += ["--base-url", server.url, "--concurrency", "2", *extra]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    moved = tmp_path / "out.jsonl"
    with small_filesystem(tmp_path / "disk", "80k") as disk:
        line = one_line_error(export(disk / "out.jsonl"), code=1)
        assert "No space left" in line and "--resume" in line
        # Space is freed by moving the export to a roomier place, journal and all.
        shutil.copy(disk / "out.jsonl", moved)
        shutil.copy(disk / "out.jsonl.progress", tmp_path / "out.jsonl.progress")
    resumed = export(moved, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert export_lines(moved.read_text()) == expected(truth, keys)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a read-only filesystem needs root (CI runs as root)")
def test_read_only_filesystem(server: Server, keys: list[str], tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "ro", "1m", "ro") as disk:
        line = one_line_error(run("export", keys[0], "--output", str(disk / "out.jsonl"), "--base-url", server.url))
        assert "Read-only" in line
