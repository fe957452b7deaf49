"""The dlt source and ``aiocases load``, against real dlt and a real DuckDB:
exactly once (every cell once, a second load adds exactly what is new),
killed at random moments while extracting and while loading then run
again (the tables end equal to the fake's ground truth), one request per
case when nothing changed, and one-line refusals that leave no file."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import API_KEY, APP_KEY, Server, fake_as_the_readme_starts_it, small_filesystem

from aiocases import CasesClient
from aiocases.testing import FakeCasesAPI

try:
    import dlt
    import duckdb
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("AIOCASES_REQUIRE_DLT"):  # CI sets it: there these tests may not skip
        raise
    pytest.skip("dlt is not installed: pip install 'aiocases[dlt]'", allow_module_level=True)
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # no network but the fake's

from aiocases.dlt import cases_source  # after the skip when dlt is absent


def table(database: Path, query: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        rows: list[tuple[Any, ...]] = connection.sql(query).fetchall()
        return rows


def truth_cells(fake: FakeCasesAPI) -> dict[str, str]:
    """Every cell id of the fake, with its case's UUID."""
    return {str(cell["id"]): case.id for case in fake.store.cases.values() for cell in case.cells}


def timeline_requests(fake: FakeCasesAPI, since: int = 0) -> int:
    return sum(1 for r in fake.requests[since:] if r.raw_path.endswith("/timelines"))


async def load(fake: FakeCasesAPI, tmp_path: Path, **options: Any) -> Any:
    """One run of the source into tmp_path/cases.duckdb, through a client of this loop."""
    async with CasesClient(fake.api_key, fake.app_key, base_url=fake.url) as client:
        source = cases_source(client=client, **options)
        pipeline = dlt.pipeline(
            "cases",
            destination=dlt.destinations.duckdb(str(tmp_path / "cases.duckdb")),
            dataset_name="datadog_cases",
            pipelines_dir=str(tmp_path / "pipelines"),
        )
        return await asyncio.to_thread(pipeline.run, source)


def test_importing_aiocases_does_not_import_dlt() -> None:
    code = "import sys, aiocases, aiocases.cli, aiocases.cli.args; assert 'dlt' not in sys.modules, 'dlt imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_every_cell_once_then_exactly_what_is_new(tmp_path: Path) -> None:
    async with FakeCasesAPI(cases=12, cells=40, seed=4) as fake:
        await load(fake, tmp_path)
        database = tmp_path / "cases.duckdb"
        rows = table(database, "select id, case_id from datadog_cases.timeline_cells")
        assert len(rows) == len({row[0] for row in rows}) and dict(rows) == truth_cells(fake)
        assert {row[0] for row in table(database, "select id from datadog_cases.cases")} == set(fake.store.cases)
        (first_load,) = {row[0] for row in table(database, "select _dlt_load_id from datadog_cases.timeline_cells")}

        changed = list(fake.store.cases.values())[:3]
        added = [fake.store.add_comment(case.id, f"news {n}")["id"] for n, case in enumerate(changed)]
        changed[0].attributes["title"] = "Renamed"
        before = len(fake.requests)
        await load(fake, tmp_path)
        assert timeline_requests(fake, before) == len(fake.store.cases)  # one per case: nothing else was new
        rows = table(database, "select id, case_id, _dlt_load_id from datadog_cases.timeline_cells")
        assert {row[0]: row[1] for row in rows} == truth_cells(fake) and len(rows) == len(truth_cells(fake))
        assert sorted(row[0] for row in rows if row[2] != first_load) == sorted(added)
        titles = dict(table(database, "select id, title from datadog_cases.cases"))
        assert titles[changed[0].id] == "Renamed" and len(titles) == len(fake.store.cases)

        before = len(fake.requests)
        await load(fake, tmp_path)  # nothing new: one timeline request per case, no row added
        assert timeline_requests(fake, before) == len(fake.store.cases)
        assert len(table(database, "select id from datadog_cases.timeline_cells")) == len(truth_cells(fake))


async def test_cases_by_id_and_one_that_cannot_be_read(tmp_path: Path) -> None:
    async with FakeCasesAPI(cases=5, cells=8, seed=2) as fake:
        keys = [case.key for case in fake.store.cases.values()][:3]
        failures: dict[str, object] = {}
        await load(fake, tmp_path, case_ids=[*keys, "NOPE-404"], on_error=failures.__setitem__)
        assert list(failures) == ["NOPE-404"]
        wanted = {case.id for case in fake.store.cases.values() if case.key in keys}
        cells = table(tmp_path / "cases.duckdb", "select distinct case_id from datadog_cases.timeline_cells")
        assert {row[0] for row in cells} == wanted


async def test_a_source_of_its_own_client_closes_it(tmp_path: Path) -> None:
    """With client options instead of a client: its own loop and client, closed with the source."""
    async with FakeCasesAPI(cases=3, cells=5, seed=3) as fake:
        source = cases_source("status:open", api_key=fake.api_key, app_key=fake.app_key, base_url=fake.url)
        pipeline = dlt.pipeline("own", destination=dlt.destinations.duckdb(str(tmp_path / "own.duckdb")),
                                dataset_name="d", pipelines_dir=str(tmp_path / "p"))  # fmt: skip
        await asyncio.to_thread(pipeline.run, source)
        opened = [case for case in fake.store.cases.values() if case.attributes["status"] == "OPEN"]
        rows = table(tmp_path / "own.duckdb", "select id from d.cases")
        assert {row[0] for row in rows} == {case.id for case in opened}
        del source
        import gc

        gc.collect()
        assert not [t for t in __import__("threading").enumerate() if t.name == "aiocases-dlt"]


def test_a_client_given_outside_its_loop_is_refused() -> None:
    from aiocases import InvalidArgument

    with pytest.raises(InvalidArgument, match="event loop the client runs in"):
        cases_source(client=CasesClient("k", "a", base_url="http://127.0.0.1:9"))


# -- the command line, killed and run again ----------------------------------------------------------

CASES, CELLS, SEED = 24, 120, 9


@pytest.fixture(scope="module")
def slow_server() -> Iterator[Server]:
    """A fake slow enough that a load spends about a second extracting."""
    running = Server("--cases", str(CASES), "--cells", str(CELLS), "--seed", str(SEED), "--latency", "0.03")
    yield running
    running.stop()


def load_command(server: Server, cwd: Path, *more: str) -> list[str]:
    return [sys.executable, "-m", "aiocases.cli", "load", "--all-cases", "--base-url", server.url,
            "--pipelines-dir", str(cwd / "pipelines"), *more]  # fmt: skip


def environment() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DD_", "AIOCASES_", "DESTINATION__"))}
    return {**environ, "DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY, "RUNTIME__DLTHUB_TELEMETRY": "false"}


def assert_equal_to_the_truth(database: Path) -> None:
    truth = FakeCasesAPI(CASES, CELLS, seed=SEED)
    rows = table(database, "select id, case_id from datadog_cases.timeline_cells")
    assert len(rows) == len({row[0] for row in rows}), "a cell loaded twice"
    assert dict(rows) == truth_cells(truth)
    assert {row[0] for row in table(database, "select id from datadog_cases.cases")} == set(truth.store.cases)


def _loading(cwd: Path) -> bool:
    """Whether dlt holds a normalized package, ready or being loaded."""
    folder = cwd / "pipelines" / "aiocases" / "load" / "normalized"
    return folder.is_dir() and any(folder.iterdir())


@pytest.mark.parametrize(("seed", "phase"), [(1, "extract"), (2, "extract"), (3, "extract"), (4, "load"),
                                             (5, "load"), (6, "load")])  # fmt: skip
def test_killed_at_random_then_run_again_the_tables_are_the_truth(
    slow_server: Server, tmp_path: Path, seed: int, phase: str
) -> None:
    rng = random.Random(seed)
    started = time.monotonic()
    process = subprocess.Popen(
        load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(), stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    assert process.stderr.readline().startswith("load: into")  # the pipeline is starting
    if phase == "extract":
        time.sleep(rng.uniform(0.0, 0.8))
    else:
        while not _loading(tmp_path) and process.poll() is None and time.monotonic() - started < 60:
            time.sleep(0.002)
        assert _loading(tmp_path), "the run ended before dlt had a package to load"
        time.sleep(rng.uniform(0.0, 0.05))
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    again = subprocess.run(
        load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(), capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert_equal_to_the_truth(tmp_path / "aiocases.duckdb")


def test_load_twice_from_the_command_line(slow_server: Server, tmp_path: Path) -> None:
    first = subprocess.run(load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"loaded {CASES} cases and {CASES * CELLS:,} new or changed cells" in first.stderr
    again = subprocess.run(load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(), capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0 and "and 0 new or changed cells" in again.stderr
    assert f"({CASES + 1} requests)" in again.stderr  # one search page, then one timeline request per case
    full = subprocess.run(load_command(slow_server, tmp_path, "--full-refresh"), cwd=tmp_path, env=environment(),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert full.returncode == 0 and f"{CASES * CELLS:,} new or changed cells" in full.stderr
    assert_equal_to_the_truth(tmp_path / "aiocases.duckdb")


# -- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("more", "message"),
    [
        (("--destination", "nowhere"), "--destination 'nowhere' is not one dlt knows"),
        (("--dataset-name", "My Data!"), "the dataset name 'My Data!' is not one duckdb takes as given"),
        (("--dataset-name", ""), "the dataset name '' is not one duckdb takes as given"),
        (("--pipeline-name", "../up"), "--pipeline-name '../up'"),
        (("--query", " "), "--query is blank"),
        (("SEC-1", "--query", "status:open"), "give case ids (as arguments or --input) or --query/--all-cases"),
    ],
)
def test_a_refused_load_is_one_line_and_leaves_no_file(
    slow_server: Server, tmp_path: Path, more: tuple[str, ...], message: str
) -> None:
    command = [c for c in load_command(slow_server, tmp_path, *more) if c != "--all-cases" or "--query" not in more]
    done = subprocess.run(command, cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_destination_whose_packages_are_missing_is_refused(slow_server: Server, tmp_path: Path) -> None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("psycopg2 is installed here")
    done = subprocess.run(load_command(slow_server, tmp_path, "--destination", "postgres"), cwd=tmp_path,
                          env=environment(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "pip install 'dlt[postgres]'" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_pipelines_dir_that_cannot_be_made_is_refused(slow_server: Server, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    done = subprocess.run(load_command(slow_server, tmp_path, "--pipelines-dir", str(tmp_path / "a-file" / "sub")),
                          cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "is not a directory" in done.stderr and "Traceback" not in done.stderr
    with small_filesystem(tmp_path / "ro", "1m", "ro") as read_only:
        done = subprocess.run(load_command(slow_server, tmp_path, "--pipelines-dir", str(read_only / "p")),
                              cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "is not writable" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "ro"]


def test_the_readme_load_section_runs_as_written(tmp_path: Path) -> None:
    """Its load line against ``python -m aiocases.testing`` (as the README's first example), then its query."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Load into DuckDB and ask a question")[1].split("\n## ")[0]
    shell = re.search(r"```sh\n(.*?)```", section, re.S)
    query = re.search(r"```python\n(.*?)```", section, re.S)
    assert shell is not None and query is not None
    lines = [line.split("  #")[0].strip() for line in shell.group(1).splitlines()]
    (load_line,) = [line for line in lines if line.startswith(".venv/bin/aiocases load")]
    (tmp_path / "query.py").write_text(query.group(1))
    with fake_as_the_readme_starts_it() as fake_env:
        env = {**environment(), **fake_env}
        loaded = subprocess.run([sys.executable, "-m", "aiocases.cli", *shlex.split(load_line)[1:]], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr
        asked = subprocess.run([sys.executable, "query.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert asked.returncode == 0, asked.stderr
    assert re.fullmatch(r"\d+ days?, \d+:\d\d:\d\d(\.\d+)?\n", asked.stdout), asked.stdout


def test_progress_on_a_terminal(slow_server: Server, tmp_path: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(),
                               stdout=follower, stderr=follower)  # fmt: skip
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0
    text = screen.decode()
    assert re.search(r"\rload: \d+ cases, [\d,]+ new cells fetched\x1b\[K", text), text
    assert f"loaded {CASES} cases and {CASES * CELLS:,} new or changed cells" in text


def test_a_duckdb_file_configured_the_dlt_way_is_used(slow_server: Server, tmp_path: Path) -> None:
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text(
        f'[destination.duckdb]\ncredentials = "{tmp_path / "mine.duckdb"}"\n'
    )
    done = subprocess.run(load_command(slow_server, tmp_path), cwd=tmp_path, env=environment(), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "into duckdb (dataset datadog_cases)" in done.stderr and not (tmp_path / "aiocases.duckdb").exists()
    assert_equal_to_the_truth(tmp_path / "mine.duckdb")
