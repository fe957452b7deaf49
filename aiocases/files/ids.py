"""Case ids for an export of the command line: read without ever blocking the
event loop, each once, minus those already exported, in bounded memory.

Input (a file, a pipe, stdin) is read by a daemon thread, a chunk at a time,
whatever is there: a slow pipe never stalls the export, and ids are exported
as soon as they arrive.  Ids are kept, in input order, in a private temporary
SQLite database on disk (Python's standard library), so that de-duplicating a
million ids and skipping a million journaled ones costs no more memory than
ten thousand: a Python set of them would cost about 90 bytes an id.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterable, Iterator

__all__ = ["IdQueue", "InputError", "read_ids"]

_CHUNK = 1 << 16
# States of an id: queued by this run, journaled as done and not (yet) in the
# input, journaled and met in the input.
_QUEUED, _DONE, _DONE_SEEN = 0, 1, 2
_BATCH = 512


class InputError(Exception):
    """The ids could not be read (not UTF-8, an I/O error): one line for the user."""


def clean(lines: Iterable[str]) -> list[str]:
    """Ids from lines: a ``#`` starts a comment (no case id holds one), then
    each line is stripped; lines left blank are left out."""
    return [text for text in (line.partition("#")[0].strip() for line in lines) if text]


class IdQueue:
    """Ids in the order added, each once, minus those marked done.

    ``unique`` counts the ids queued, ``duplicates`` the repeats left out,
    ``already_done`` the ids left out because a journal records them;
    ``total`` is ``unique`` once the input has ended (``None`` before).
    Iterate it (``async for``) to take the queued ids: the iteration waits
    for more while the input goes on, and raises the input's error, if any,
    at its end."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "": a private temporary database on disk
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE ids (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, state INTEGER NOT NULL)")
        self.unique = self.duplicates = self.already_done = 0
        self.ended = False
        self._error: BaseException | None = None
        self._added = asyncio.Event()

    @property
    def total(self) -> int | None:
        """How many ids will be exported, once the input has ended."""
        return self.unique if self.ended else None

    def mark_done(self, case_ids: Iterable[str]) -> None:
        """Ids never to queue (a resumed journal's finished cases)."""
        batch: list[tuple[str]] = []
        for case_id in case_ids:
            batch.append((case_id,))
            if len(batch) >= _BATCH:
                self._insert_done(batch)
                batch = []
        self._insert_done(batch)

    def _insert_done(self, batch: list[tuple[str]]) -> None:
        with self._transaction():
            self._db.executemany(f"INSERT OR IGNORE INTO ids(id, state) VALUES (?, {_DONE})", batch)

    def add(self, case_ids: Iterable[str]) -> None:
        """Queue the ids not seen before and not done."""
        with self._transaction():
            for case_id in case_ids:
                if self._db.execute(f"INSERT OR IGNORE INTO ids(id, state) VALUES (?, {_QUEUED})", (case_id,)).rowcount:
                    self.unique += 1
                elif self._db.execute(
                    f"UPDATE ids SET state = {_DONE_SEEN} WHERE id = ? AND state = {_DONE}", (case_id,)
                ).rowcount:
                    self.already_done += 1
                else:
                    self.duplicates += 1
        self._added.set()

    def end(self, error: BaseException | None = None) -> None:
        """No more ids will come (``error``: why the input stopped early)."""
        self.ended, self._error = True, error
        self._added.set()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    async def __aiter__(self) -> AsyncIterator[str]:
        last = 0
        while True:
            rows = self._db.execute(
                f"SELECT n, id FROM ids WHERE n > ? AND state = {_QUEUED} ORDER BY n LIMIT {_BATCH}", (last,)
            ).fetchall()
            for n, case_id in rows:
                last = n
                yield case_id
            if rows:
                continue
            if self.ended:
                if self._error is not None:
                    raise self._error
                return
            self._added.clear()
            await self._added.wait()

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()


async def read_ids(fd: int, name: str) -> AsyncIterator[list[str]]:
    """Batches of ids from the file descriptor ``fd`` (UTF-8 text, a
    byte-order mark allowed), as they arrive; raises :class:`InputError`."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | OSError] = asyncio.Queue()
    credit = threading.Semaphore(4)  # chunks read ahead: the thread waits past that

    def pump() -> None:
        try:
            while True:
                credit.acquire()
                try:
                    data: bytes | OSError = os.read(fd, _CHUNK)
                except OSError as exc:
                    data = exc
                loop.call_soon_threadsafe(chunks.put_nowait, data)
                if not isinstance(data, bytes) or not data:
                    return
        except RuntimeError:  # the loop is gone: nobody wants the rest
            return

    threading.Thread(target=pump, name="aiocases-input", daemon=True).start()
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    tail, offset = "", 0
    while True:
        data = await chunks.get()
        credit.release()
        if isinstance(data, OSError):
            raise InputError(f"cannot read --input {name}: {data.strerror or data}")
        try:
            text = tail + decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise InputError(f"--input is not UTF-8 text ({exc.reason} at byte {offset + exc.start})") from None
        offset += len(data)
        lines = text.split("\n")
        tail = lines.pop() if data else ""
        yield clean(lines)
        if not data:
            return
