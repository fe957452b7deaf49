"""Exports spread over real arq worker processes, sharing one rate budget
through a real Redis: one worker killed with SIGKILL mid-run, and still every
case exported exactly once, with almost no 429."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import API_KEY, APP_KEY, Server, small_filesystem
from redis_helpers import RedisServer, free_port, require_redis_package

from aiocases.testing import FakeCasesAPI

CASES, CELLS, SEED, WORKERS = 2000, 2, 9, 4


@pytest.fixture(autouse=True)
def _needs_arq() -> None:
    require_redis_package()
    try:
        import arq  # noqa: F401
    except ImportError:
        if os.environ.get("AIOCASES_REQUIRE_REDIS"):
            pytest.fail("arq is missing (pip install 'aiocases[arq]'), and AIOCASES_REQUIRE_REDIS is set")
        pytest.skip("arq is not installed (pip install 'aiocases[arq]')")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


def environment(redis_url: str, fake_url: str, directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIOCASES_REDIS_URL": redis_url,
        "AIOCASES_BASE_URL": fake_url,
        "AIOCASES_EXPORT_DIR": str(directory),
        "AIOCASES_JOB_TIMEOUT": "5",
        "DD_API_KEY": API_KEY,
        "DD_APP_KEY": APP_KEY,
    }


def enqueue(env: dict[str, str], ids: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "aiocases.arq", "enqueue", "--input", str(ids)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def exported(directory: Path) -> list[Path]:
    return list(directory.glob("*.jsonl"))


def fake_stats(url: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(f"{url}/_fake/stats", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_workers_export_each_case_once_even_when_one_is_killed(redis_server: RedisServer, tmp_path: Path) -> None:
    truth = FakeCasesAPI(CASES, CELLS, seed=SEED)
    keys = [case.key for case in truth.cases.values()]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(keys) + "\n")
    directory = tmp_path / "out"
    fake = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--rate-limit", "150")
    env = environment(redis_server.url, fake.url, directory)
    logs = [(tmp_path / f"worker-{n}.log").open("w") for n in range(WORKERS)]  # a pipe unread would fill and block
    command = [sys.executable, "-m", "arq", "aiocases.arq.WorkerSettings"]
    workers = [subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) for log in logs]
    try:
        assert f"queued {CASES} cases (0 already queued or done)" in enqueue(env, ids)
        assert f"queued 0 cases ({CASES} already queued or done)" in enqueue(env, ids)  # the same job ids
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(exported(directory)) < CASES // 4:
            time.sleep(0.05)
        assert len(exported(directory)) < CASES, "the kill should land mid-run"
        workers[0].send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(exported(directory)) < CASES:
            time.sleep(0.2)
        assert len(exported(directory)) == CASES
        for key in keys:
            lines = (directory / f"{key}.jsonl").read_text().splitlines()
            assert [json.loads(line)["id"] for line in lines] == [c["id"] for c in truth.cells(key)]
        by_status = fake_stats(fake.url)["by_status"]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs:
            log.close()
        fake.stop()
    answered = sum(count for status, count in by_status.items() if status != "-1")
    assert by_status.get("429", 0) < answered / 100, by_status  # one budget for the four workers


def test_enqueue_the_cases_a_search_finds(redis_server: RedisServer, tmp_path: Path) -> None:
    truth = FakeCasesAPI(30, 1, seed=SEED)
    closed = sum(1 for case in truth.cases.values() if case.attributes["status"] == "CLOSED")
    fake = Server("--cases", "30", "--cells", "1", "--seed", str(SEED))
    try:
        env = environment(redis_server.url, fake.url, tmp_path / "out")
        command = [sys.executable, "-m", "aiocases.arq", "enqueue", "--query", "status:closed"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and f"queued {closed} cases (0 already queued or done)" in done.stderr
        bad = subprocess.run([*command[:-1], "colour:blue"], env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1 and "unknown field" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        fake.stop()


class Workers:
    """``count`` real arq worker processes, their output in log files."""

    def __init__(self, env: dict[str, str], directory: Path, count: int) -> None:
        self.logs = [(directory / f"worker-{n}.log").open("w") for n in range(count)]
        command = [sys.executable, "-m", "arq", "aiocases.arq.WorkerSettings"]
        self.processes = [subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT) for log in self.logs]

    def alive(self) -> int:
        return sum(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


def test_workers_ride_out_a_redis_restart_and_clean_what_killed_ones_left(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Workers exited when Redis restarted (2 s down: 0 of 2 alive); killed workers' temporary files stayed."""
    fake = Server("--cases", "12", "--cells", "3", "--seed", "1")
    directory = tmp_path / "out"
    directory.mkdir()
    stale = directory / ".export-left-by-a-killed-worker.tmp"
    stale.write_text("{}\n")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    env = environment(redis_server.url, fake.url, directory)
    keys = [case.key for case in FakeCasesAPI(12, 3, seed=1).cases.values()]
    workers = Workers(env, tmp_path, 2)
    try:
        first, second = tmp_path / "first.txt", tmp_path / "second.txt"
        first.write_text("\n".join(keys[:6]) + "\n")
        second.write_text("\n".join(keys[6:]) + "\n")
        assert "queued 6 cases" in enqueue(env, first)
        assert wait_for(lambda: len(exported(directory)) == 6, 60)
        assert not stale.exists()  # swept at startup
        redis_server.kill()
        time.sleep(12)
        assert workers.alive() == 2
        redis_server.start()
        assert "queued 6 cases" in enqueue(env, second)
        assert wait_for(lambda: len(exported(directory)) == 12, 60), [log.name for log in workers.logs]
        assert workers.alive() == 2
    finally:
        workers.stop()
        fake.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root (CI runs as root)")
def test_a_case_that_failed_on_a_full_disk_is_queued_again(redis_server: RedisServer, tmp_path: Path) -> None:
    """Jobs failed on a full disk were never retried, and enqueue said '0 queued (8 already queued or done)'."""
    fake = Server("--cases", "8", "--cells", "400", "--seed", "2")
    keys = [case.key for case in FakeCasesAPI(8, 400, seed=2).cases.values()]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(keys) + "\n")
    with small_filesystem(tmp_path / "disk", "64k") as disk:
        env = environment(redis_server.url, fake.url, disk)
        workers = Workers(env, tmp_path, 2)
        try:
            assert "queued 8 cases (0 already queued or done)" in enqueue(env, ids)
            pool_done = wait_for(lambda: "No space left" in "".join(p.read_text() for p in tmp_path.glob("*.log")), 60)
            assert pool_done and len(exported(disk)) < 8
            time.sleep(1)  # the failed jobs' results are written
            subprocess.run(["mount", "-o", "remount,size=16m", str(disk)], check=True)
            again = enqueue(env, ids)
            assert "queued again after a failure" in again, again
            assert wait_for(lambda: len(exported(disk)) == 8, 60)
            for key in keys:
                assert len((disk / f"{key}.jsonl").read_text().splitlines()) == 400
            assert not list(disk.glob(".export-*.tmp"))
        finally:
            workers.stop()
            fake.stop()


def test_enqueue_without_redis_is_one_line(tmp_path: Path) -> None:
    env = environment(f"redis://127.0.0.1:{free_port()}/0", "http://127.0.0.1:9", tmp_path)
    done = subprocess.run([sys.executable, "-m", "aiocases.arq", "enqueue", "PROJ-1"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "AIOCASES_REDIS_URL" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("case_id", "name"),
    [(".hidden", "%2Ehidden.jsonl"), ("..-cli", "%2E%2E-cli.jsonl"), ("a/b c", "a%2Fb%20c.jsonl"),
     ("PROJ-1", "PROJ-1.jsonl")],
)  # fmt: skip
def test_case_files_are_seen_by_globs(case_id: str, name: str, tmp_path: Path) -> None:
    """Names could start with a dot, which ``*.jsonl`` skips."""
    from aiocases.files.casefiles import case_path

    assert case_path(tmp_path, case_id).name == name
    assert not name.startswith(".")


def test_an_id_too_long_for_a_file_name_is_refused_before_fetching() -> None:
    from aiocases import InvalidArgument
    from aiocases.files.casefiles import case_path

    case_path(Path("/x"), "é" * 40)  # 40 characters, 240 bytes encoded: fits
    with pytest.raises(InvalidArgument, match="too long for a file name"):
        case_path(Path("/x"), "é" * 50)
