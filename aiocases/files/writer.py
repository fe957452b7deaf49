"""Assembling the interleaved pages of many cases into contiguous cases in
an export's output, journaling each finished case.

Cases arrive as pages, interleaved.  One case at a time (the *owner*) writes
its pages straight into the output and, if it fails, is cut back; the pages
of the others wait in spools (memory, then a temporary file), and cases that
end while the owner runs wait in a backlog, so each case's lines stay
contiguous and memory stays bounded whatever the cases' sizes.  The journal
is appended only after the output has been synced (a group commit at most
every half second): a kill at any moment leaves a journal the output agrees with.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, TypeVar

from aiocases.errors import DecodeError
from aiocases.files.journal import Journal, entry
from aiocases.files.lines import cell_line
from aiocases.models import JSON, TimelineCell

__all__ = ["ExportWriter"]

# Sync the output and append the journal at most this often (a group commit):
# syncing after every case would make an export of many small cases disk-bound.
_COMMIT_INTERVAL = 0.5
# A spool keeps this much in memory before it moves to a temporary file.
_SPOOL_MEMORY = 1 << 20
_COPY_CHUNK = 1 << 20

E = TypeVar("E", bound=Exception)


class _Spool:
    """Bytes kept in memory up to a limit, then in an unnamed temporary file."""

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._memory = bytearray()
        self._file: BinaryIO | None = None
        self.size = 0

    def write(self, data: bytes | bytearray) -> None:
        self.size += len(data)
        if self._file is None and len(self._memory) + len(data) <= _SPOOL_MEMORY:
            self._memory += data
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed in close()
            self._file.write(self._memory)
            self._memory = bytearray()
        self._file.write(data)

    def copy_to(self, out: BinaryIO | _Spool) -> None:
        if self._file is None:
            out.write(self._memory)
            return
        self._file.seek(0)
        while chunk := self._file.read(_COPY_CHUNK):
            out.write(chunk)

    def close(self) -> None:
        self._memory = bytearray()
        if self._file is not None:
            self._file.close()
            self._file = None


class ExportWriter:
    """Assembles interleaved pages of many cases into contiguous cases in
    ``out``; journals each finished case when ``journal`` is given (and then
    ``out`` must be a seekable regular file)."""

    def __init__(self, out: BinaryIO, journal: Journal | None = None, *, spool_dir: Path | None = None) -> None:
        self._out = out
        self._journal = journal
        self._spool_dir = spool_dir
        self._owner: int | None = None
        self._owner_start = 0
        self._spools: dict[int, _Spool] = {}
        self._backlog = _Spool(spool_dir)
        self._backlog_cases: list[tuple[str, int, JSON]] = []
        self._pending: list[bytes] = []
        self._last_commit = time.monotonic()
        self._whole_cases = 0
        self._unwritable: dict[int, DecodeError] = {}

    def page(self, index: int, case_id: str, cells: Iterable[TimelineCell]) -> None:
        """Add one page of case number ``index``.  A cell that cannot be
        written (:func:`cell_line`) fails its case alone: see :meth:`done`."""
        if index in self._unwritable:
            return
        try:
            data = b"".join(cell_line(case_id, cell) for cell in cells)
        except DecodeError as exc:
            self._unwritable[index] = exc
            return
        if self._journal is not None and self._owner in (None, index):
            if self._owner is None:
                self._owner, self._owner_start = index, self._out.tell()
                spool = self._spools.pop(index, None)
                if spool is not None:
                    spool.copy_to(self._out)
                    spool.close()
            self._out.write(data)
        else:
            spool = self._spools.get(index)
            if spool is None:
                spool = self._spools[index] = _Spool(self._spool_dir)
            spool.write(data)

    def done(self, index: int, case_id: str, error: E | None, note: JSON = None) -> E | DecodeError | None:
        """Case number ``index`` ended, with ``error`` if it failed: keep its
        lines if it did not, else drop them.  ``note`` is journaled with the
        case (JSON, such as the bookmark a sync advances to).  Returns the
        case's error (or the one that kept one of its pages from being written)."""
        failure = error or self._unwritable.pop(index, None)
        self._end(index, case_id, failure is None, note)
        return failure

    def _end(self, index: int, case_id: str, ok: bool, note: JSON) -> None:
        if index == self._owner:
            self._owner = None
            if ok:
                self._finished(case_id, note)
            else:
                self._out.truncate(self._owner_start)
                self._out.seek(self._owner_start)
            self._drain_backlog()
            return
        spool = self._spools.pop(index, None)
        if ok and self._owner is None:
            if spool is not None:
                spool.copy_to(self._out)
            self._finished(case_id, note)
        elif ok:  # the owner's lines are being written: wait behind them
            if spool is not None:
                spool.copy_to(self._backlog)
            self._backlog_cases.append((case_id, self._backlog.size, note))
        if spool is not None:
            spool.close()

    def _drain_backlog(self) -> None:
        if not self._backlog_cases:
            return
        start = self._out.tell()
        self._backlog.copy_to(self._out)
        self._out.flush()
        for case_id, end, note in self._backlog_cases:
            self._pending.append(entry(start + end, case_id, note))
        self._backlog.close()
        self._backlog, self._backlog_cases = _Spool(self._spool_dir), []
        self._maybe_commit()

    def _finished(self, case_id: str, note: JSON) -> None:
        self._out.flush()
        if self._journal is not None:
            self._pending.append(entry(self._out.tell(), case_id, note))
            self._maybe_commit()

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= _COMMIT_INTERVAL:
            self.commit()

    def write_case(self, case_id: str, cells: Iterable[TimelineCell], note: JSON = None) -> None:
        """Add one whole case (a page and its end)."""
        self._whole_cases -= 1  # negative: an index no page event uses
        self.page(self._whole_cases, case_id, cells)
        error = self.done(self._whole_cases, case_id, None, note)
        if error is not None:
            raise error

    def commit(self) -> None:
        """Make every finished case durable, output first, then its journal line."""
        if self._pending and self._journal is not None:
            # Each pending case was flushed when it ended, so the kernel holds
            # its lines even when a later write failed (a full disk): sync
            # those, not Python's buffer, and journal them.
            os.fsync(self._out.fileno())
            self._journal.append(self._pending)
            self._pending.clear()
        else:
            self._out.flush()
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Stop: commit what is finished, cut off the case being written in
        place, keep the finished cases that waited behind it, and drop the
        spools of unfinished ones.  Should a write fail on the way (a full
        disk), what was committed before still stands for a resume."""
        try:
            self.commit()
            if self._owner is not None:
                self._out.truncate(self._owner_start)
                self._out.seek(self._owner_start)
                self._owner = None
            self._drain_backlog()
            self.commit()
        finally:
            for spool in (*self._spools.values(), self._backlog):
                spool.close()
            self._spools.clear()
