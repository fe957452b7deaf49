"""Exports spread over arq workers (``pip install 'aiocases[arq]'``).

Run workers with ``arq aiocases.arq.WorkerSettings`` and queue cases with
``python -m aiocases.arq enqueue --input ids.txt`` (or ids as arguments, or
``--query 'status:open'``: the cases a search finds, by UUID).
Both read the environment:

* ``AIOCASES_REDIS_URL``: the Redis of arq's queue, and of the rate budget
  every worker shares (:mod:`aiocases.redisbudget`);
* ``AIOCASES_EXPORT_DIR``: where each case's lines go, one file a case;
* ``DD_API_KEY`` / ``DD_APP_KEY`` and ``DD_SITE`` (or ``AIOCASES_BASE_URL``),
  as for :class:`~aiocases.CasesClient`;
* ``AIOCASES_JOB_TIMEOUT``: seconds one case may take (default 300); a job
  whose worker died is run again that long plus 10 s later (arq's rule).

Each worker opens one client at startup, shared by its jobs, and removes the
temporary files that killed workers left.  A job exports one case to
``<dir>/<case id, percent-encoded>.jsonl`` (:mod:`aiocases.files.casefiles`)
in ``aiocases export``'s line format: written to a temporary file, synced,
then renamed, so a file that exists is complete.  A job finding its file
already there does nothing.  Job ids are ``aiocases-export:<case id>``:
enqueueing a case again while its job is queued, running or done adds
nothing, and a case whose file exists is never exported twice; a case whose
job failed (a full disk, say) is queued again.  A worker killed mid-job leaves
at most a temporary file behind; arq runs the job again elsewhere.  Workers
ride out a Redis that restarts or is unreachable for up to a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from aiocases.client import CasesClient
from aiocases.errors import CasesError
from aiocases.files.casefiles import case_path, sweep, write_case
from aiocases.files.ids import clean

__all__ = ["WorkerSettings", "case_path", "enqueue", "export_case", "job_id"]

try:  # imported by name: the type check passes without the extra installed
    _arq = importlib.import_module("arq")
    _connections = importlib.import_module("arq.connections")
    _constants = importlib.import_module("arq.constants")
    _jobs = importlib.import_module("arq.jobs")
    _retry = importlib.import_module("redis.asyncio.retry")
    _backoff = importlib.import_module("redis.backoff")
    _exceptions = importlib.import_module("redis.exceptions")
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("aiocases.arq needs arq: pip install 'aiocases[arq]'") from exc

# Seconds between tries of a lost Redis connection, at most; seconds a worker waits for Redis to come back.
_RETRY_CAP = 1.0
_RIDE_OUT = 60
_log = logging.getLogger("aiocases")

_DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _redis_url() -> str:
    return os.environ.get("AIOCASES_REDIS_URL") or _DEFAULT_REDIS


def job_id(case_id: str) -> str:
    """The arq job id of a case's export: the same for the same case, always."""
    return f"aiocases-export:{case_id}"


async def export_case(ctx: dict[str, Any], case_id: str) -> int:
    """The arq job: export one case's timeline to its own file; returns the cells
    written, or -1 when the file was there already."""
    client: CasesClient = ctx["aiocases_client"]
    directory: Path = ctx["aiocases_dir"]
    target = case_path(directory, case_id)
    if await asyncio.to_thread(os.path.exists, target):
        return -1
    # No read-ahead: the worker's other jobs fill the budget.
    return await write_case(target, case_id, client.iter_timeline(case_id, prefetch=1))


def _job_timeout() -> int:
    return int(os.environ.get("AIOCASES_JOB_TIMEOUT") or 300)


async def _startup(ctx: dict[str, Any]) -> None:
    directory = Path(os.environ.get("AIOCASES_EXPORT_DIR") or "aiocases-export")
    os.makedirs(directory, exist_ok=True)
    sweep(directory, older_than=_job_timeout() + 60)  # what killed workers left; live jobs touch theirs
    client = CasesClient(budget=_redis_url())
    await client.__aenter__()
    ctx["aiocases_client"], ctx["aiocases_dir"] = client, directory


async def _shutdown(ctx: dict[str, Any]) -> None:
    client: CasesClient | None = ctx.get("aiocases_client")
    if client is not None:
        await client.close()


def _redis_settings(url: str, *, ride_out: float) -> Any:
    """arq's settings for ``url``, retrying a lost connection for about ``ride_out`` seconds."""
    settings = _connections.RedisSettings.from_dsn(url)
    retries = int(ride_out / _RETRY_CAP)
    settings.retry = _retry.Retry(_backoff.ExponentialBackoff(cap=_RETRY_CAP, base=0.05), retries)
    settings.retry_on_error = [_exceptions.ConnectionError, _exceptions.TimeoutError]
    settings.conn_retries, settings.conn_retry_delay = retries, 1
    return settings


_ArqRedis: Any = _connections.ArqRedis


class _PatientRedis(_ArqRedis):  # type: ignore[misc]
    """The worker's connection to Redis: a command that cannot reach Redis
    (restarting, unreachable) is tried again, a second apart, for up to a
    minute, so the worker rides it out instead of exiting.  redis-py's own
    retries cover a command whose connection breaks, not one that cannot
    connect."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        waited = 0.0
        while True:
            try:
                return await super().execute_command(*args, **options)
            except (_exceptions.ConnectionError, _exceptions.TimeoutError) as exc:
                if waited >= _RIDE_OUT:
                    raise
                if not waited:
                    _log.warning("Redis is unreachable (%s): trying again for up to %d s", exc, _RIDE_OUT)
                await asyncio.sleep(_RETRY_CAP)
                waited += _RETRY_CAP


class WorkerSettings:
    """``arq aiocases.arq.WorkerSettings``: the export job, a client per worker."""

    functions: ClassVar[list[Any]] = [export_case]
    on_startup = _startup
    on_shutdown = _shutdown
    redis_settings = _redis_settings(_redis_url(), ride_out=_RIDE_OUT)
    redis_pool = _PatientRedis(_connections.ConnectionPool.from_url(_redis_url()))
    job_timeout = _job_timeout()
    max_tries = 5


async def enqueue(case_ids: Iterable[str], redis_url: str | None = None) -> tuple[int, int, int]:
    """Queue the export of each case; returns (queued, already queued or done,
    queued again after a failure)."""
    pool = await _arq.create_pool(_redis_settings(redis_url or _redis_url(), ride_out=0))
    queued = known = again = 0
    try:
        for case_id in case_ids:
            job = await pool.enqueue_job("export_case", case_id, _job_id=job_id(case_id))
            if job is None and await _failed(pool, job_id(case_id)):
                await pool.delete(_constants.result_key_prefix + job_id(case_id))  # forget it, and queue it again
                job = await pool.enqueue_job("export_case", case_id, _job_id=job_id(case_id))
                again += job is not None
            queued, known = (queued + 1, known) if job is not None else (queued, known + 1)
    finally:
        await pool.aclose()
    return queued, known, again


async def _failed(pool: Any, job: str) -> bool:
    """Whether arq remembers ``job`` as done and failed."""
    info = await _jobs.Job(job, pool).result_info()
    return info is not None and not info.success


def _ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.case_ids)
    if args.input:
        text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
        ids += clean(text.splitlines())
    return ids


async def _searched(query: str) -> list[str]:
    """The ids of the cases a search finds (credentials and site from the environment)."""
    async with CasesClient(budget=_redis_url()) as client:
        return [case.id async for case in client.search_cases(query)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m aiocases.arq enqueue [CASE_ID ...] [--input FILE]``."""
    parser = argparse.ArgumentParser(prog="python -m aiocases.arq", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    queue = commands.add_parser("enqueue", help="queue the export of cases (AIOCASES_REDIS_URL)")
    queue.add_argument("case_ids", nargs="*", metavar="CASE_ID")
    queue.add_argument("--input", metavar="FILE", help="case ids, one per line (- for stdin)")
    queue.add_argument("--query", metavar="Q", help="the cases this search finds, e.g. 'status:open'")
    args = parser.parse_args(argv)
    try:
        ids = _ids(args)
        if args.query:
            ids += asyncio.run(_searched(args.query))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"aiocases.arq: error: cannot read --input: {exc}", file=sys.stderr)
        return 2
    except (ValueError, CasesError) as exc:
        print(f"aiocases.arq: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    try:
        queued, known, again = asyncio.run(enqueue(ids))
    except (OSError, _exceptions.RedisError) as exc:
        print(
            f"aiocases.arq: error: cannot reach Redis at {_redis_url()!r} (set AIOCASES_REDIS_URL):"
            f" {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            file=sys.stderr,
        )
        return 1
    failed = f", {again} of them queued again after a failure" if again else ""
    print(f"queued {queued} cases ({known} already queued or done{failed})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
