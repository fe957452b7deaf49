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
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import API_KEY, APP_KEY, Server
from redis_helpers import RedisServer, require_redis_package

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
