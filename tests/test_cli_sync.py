"""``aiocases sync``: each run writes only what is new, and kill -9 at any
moment loses or doubles nothing across all the numbered files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import API_KEY, APP_KEY, CASES, CELLS, SEED, Server, run, said, small_filesystem

from aiocases.testing import FakeCasesAPI


def start_sync(url: str, state: Path, ids: Path, *extra: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}
    command = [sys.executable, "-m", "aiocases.cli", "sync", "--state", str(state), "--input", str(ids)]
    return subprocess.Popen(
        [*command, "--base-url", url, "--concurrency", "2", *extra],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def synced_cells(state: Path) -> dict[str, list[str]]:
    """Every case's cell ids across the numbered files, in file order."""
    cells: dict[str, list[str]] = {}
    for path in sorted(state.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            cells.setdefault(record["case_id"], []).append(record["id"])
    return cells


def kill_at_random_moments(url: str, state: Path, ids: Path, rng: random.Random, times: int) -> None:
    for _ in range(times):
        process = start_sync(url, state, ids)
        time.sleep(rng.uniform(0.05, 1.2))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


def test_killed_syncs_lose_and_double_nothing(truth: FakeCasesAPI, tmp_path: Path) -> None:
    slow = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--latency", "0.03")
    rng = random.Random(11)
    try:
        keys = [case.key for case in truth.cases.values()]
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(keys) + "\n")
        state = tmp_path / "state"
        expected = {key: [c["id"] for c in truth.cells(key)] for key in keys}

        kill_at_random_moments(slow.url, state, ids, rng, 4)
        done = start_sync(slow.url, state, ids)
        _, err = done.communicate(timeout=120)
        assert done.returncode == 0, err
        assert synced_cells(state) == expected

        for key in keys[::5]:  # new comments on some cases
            added = run("comment", key, f"news for {key}", "--base-url", slow.url)
            assert added.returncode == 0, added.stderr
            expected[key].append(added.stdout.strip())
        kill_at_random_moments(slow.url, state, ids, rng, 4)
        done = start_sync(slow.url, state, ids)
        _, err = done.communicate(timeout=120)
        assert done.returncode == 0, err
        assert synced_cells(state) == expected
        assert not list(state.glob("*.progress")), "every journal is folded in the end"
    finally:
        slow.stop()


def test_later_runs_write_only_what_is_new(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    keys = [case.key for case in truth.cases.values()][:6]
    state = tmp_path / "state"
    first = run("sync", "--state", str(state), *keys, "--base-url", server.url)
    assert first.returncode == 0, first.stderr
    assert f"synced 6 cases (0 failed), {6 * CELLS:,} cells to {state / '000001.jsonl'}" in said(first)

    unchanged = run("sync", "--state", str(state), *keys, "--base-url", server.url)
    assert unchanged.returncode == 0 and "0 cells (nothing new)" in said(unchanged)
    assert "; 6 requests," in said(unchanged)  # one a case
    assert sorted(p.name for p in state.glob("*.jsonl")) == ["000001.jsonl"]

    added = run("comment", keys[2], "one more", "--base-url", server.url)
    changed = run("sync", "--state", str(state), *keys, "--base-url", server.url)
    assert changed.returncode == 0 and "; 6 requests," in said(changed)
    (line,) = (state / "000002.jsonl").read_text().splitlines()  # the run with nothing new took no number
    assert json.loads(line)["id"] == added.stdout.strip() and json.loads(line)["case_id"] == keys[2]

    refresh = run("sync", "--state", str(state), *keys, "--full-refresh", "--base-url", server.url)
    assert refresh.returncode == 0, refresh.stderr
    assert len((state / "000003.jsonl").read_text().splitlines()) == 6 * CELLS + 1


def test_the_state_directory_is_guarded(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    key = next(iter(truth.cases.values())).key
    state = tmp_path / "state"
    assert run("sync", "--state", str(state), key, "--base-url", server.url).returncode == 0
    (state / "bookmarks.json").write_text("{not json")
    damaged = run("sync", "--state", str(state), key, "--base-url", server.url)
    assert damaged.returncode == 2 and "bookmarks.json cannot be read" in damaged.stderr
    assert "Traceback" not in damaged.stderr
    (state / "bookmarks.json").write_text("[" * 100_000 + "]" * 100_000)
    nested = run("sync", "--state", str(state), key, "--base-url", server.url)
    assert nested.returncode == 2 and len(nested.stderr.splitlines()) == 1, nested.stderr
    assert "bookmarks.json is damaged (nested too deeply)" in nested.stderr
    missing = run("sync", "--state", str(state), "--base-url", server.url)
    assert missing.returncode == 2 and "no case ids" in missing.stderr
    blocked = tmp_path / "file"
    blocked.write_text("")
    not_dir = run("sync", "--state", str(blocked), key, "--base-url", server.url)
    assert not_dir.returncode == 2 and "cannot use --state" in not_dir.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fcntl locks")
def test_one_sync_at_a_time(truth: FakeCasesAPI, tmp_path: Path) -> None:
    slow = Server("--cases", "4", "--cells", "5", "--latency", "0.5")
    try:
        ids = tmp_path / "ids.txt"
        ids.write_text("\n".join(c.key for c in FakeCasesAPI(4, 5).cases.values()) + "\n")
        first = start_sync(slow.url, tmp_path / "state", ids)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (tmp_path / "state" / "lock").exists():
            time.sleep(0.01)
        time.sleep(0.3)
        second = run("sync", "--state", str(tmp_path / "state"), "--input", str(ids), "--base-url", slow.url)
        assert second.returncode == 2 and "in use by another aiocases sync" in second.stderr
        _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    finally:
        slow.stop()


def journal_of_a_run_killed_at_its_start(state: Path, number: int) -> Path:
    """What a kill right after a run wrote its journal's header leaves: the journal, and no numbered file."""
    from aiocases.files.journal import Journal

    journal = Journal(state / f"{number:06d}.jsonl.progress")
    journal.start({"format": 1, "sync": 1})
    journal.close()
    return journal.path


def test_what_a_kill_leaves_at_any_step_is_recovered(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    """A journal without its numbered file once stuck a state directory for good ("holds an earlier
    export ... pass --resume or --overwrite", options sync does not have); an empty run file left
    without its journal stayed forever."""
    keys = [case.key for case in truth.cases.values()][-3:]  # cases no other test of the module comments on
    state = tmp_path / "state"
    assert run("sync", "--state", str(state), *keys, "--base-url", server.url).returncode == 0
    journal_of_a_run_killed_at_its_start(state, 2)
    (state / "000003.jsonl").write_bytes(b"")  # a run killed between removing its journal and its empty file
    added = run("comment", keys[1], "after the kills", "--base-url", server.url)
    again = run("sync", "--state", str(state), *keys, "--base-url", server.url)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in state.iterdir()) == ["000001.jsonl", "000002.jsonl", "bookmarks.json", "lock"]
    (line,) = (state / "000002.jsonl").read_text().splitlines()
    assert json.loads(line)["id"] == added.stdout.strip()
    expected = {key: [c["id"] for c in truth.cells(key)] for key in keys}
    expected[keys[1]].append(added.stdout.strip())
    assert synced_cells(state) == expected


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root (CI runs as root)")
def test_no_inode_left_then_room_again(server: Server, truth: FakeCasesAPI, tmp_path: Path) -> None:
    """A filesystem out of inodes between a run's journal and its file: one line, and the next run,
    once there is room, completes the sync."""
    keys = [case.key for case in truth.cases.values()][-6:-3]
    with small_filesystem(tmp_path / "disk", "1m", "nr_inodes=12") as disk:
        state = disk / "state"
        assert run("sync", "--state", str(state), keys[0], "--base-url", server.url).returncode == 0
        fillers = []
        for n in range(64):  # take every inode but one: the next journal gets it, its file does not
            try:
                (disk / f"filler-{n}").write_bytes(b"")
            except OSError:
                break
            fillers.append(disk / f"filler-{n}")
        fillers.pop().unlink()
        full = run("sync", "--state", str(state), *keys, "--base-url", server.url)
        assert full.returncode == 1 and len(full.stderr.strip().splitlines()) == 1, full.stderr
        assert "No space left" in full.stderr and "Traceback" not in full.stderr
        for filler in fillers:
            filler.unlink()
        again = run("sync", "--state", str(state), *keys, "--base-url", server.url)
        assert again.returncode == 0, again.stderr
        assert synced_cells(state) == {key: [c["id"] for c in truth.cells(key)] for key in keys}
