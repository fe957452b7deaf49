"""An export file that a kill at any moment leaves in a state a resume can trust.

Cells go to the output as JSON Lines, one case's lines in one write.  Beside
it, a journal (``<output>.progress``) lists the cases whose lines are
complete and the output's length after each.  The journal is appended only
after the output has been flushed and synced, so on resume the output is cut
back to the last journaled length (dropping any half-written case), the
journaled cases are skipped, and every other case is done again: no cell is
lost or written twice.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from aiocases.models import TimelineCell, to_api_json

__all__ = ["ExportWriter", "ResumeError", "cell_line"]

_HEADER = b"aiocases-export-journal 1\n"
# Sync the output and append the journal at most this often (a group commit):
# syncing after every case would make an export of many small cases disk-bound.
_COMMIT_INTERVAL = 0.5


class ResumeError(Exception):
    """The output and its journal do not allow a safe resume."""


def cell_line(case_id: str, cell: TimelineCell) -> bytes:
    """One output line: ``{"case_id": ..., "id": ..., "type": ..., "attributes": ...}``."""
    record = {"case_id": case_id, **to_api_json(cell)}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def journal_path(output: Path) -> Path:
    """Where the journal of ``output`` lives."""
    return output.with_name(output.name + ".progress")


class ExportWriter:
    """Writes cases to ``output`` and journals them; ``resume`` continues an
    earlier export instead of refusing to touch it."""

    def __init__(self, output: Path, *, resume: bool) -> None:
        self.output = output
        self.journal = journal_path(output)
        self.completed: set[str] = set()
        self._pending: list[bytes] = []
        self._last_commit = time.monotonic()
        if resume and self.journal.exists():
            offset = self._read_journal()
            self._data: BinaryIO = self._open_data(offset)
            self._log: BinaryIO = open(self.journal, "ab")  # noqa: SIM115 - closed in close()
        else:
            if not resume and self.journal.exists():
                raise ResumeError(
                    f"{output} holds an earlier export ({self.journal.name} is beside it):"
                    " pass --resume to continue it, or remove both files to start over"
                )
            if resume and output.exists() and output.stat().st_size:
                raise ResumeError(
                    f"{output} has no {self.journal.name} beside it, so which of its cases are complete is unknown;"
                    " remove it to start over"
                )
            self._data = open(output, "wb")  # noqa: SIM115
            self._log = open(self.journal, "wb")  # noqa: SIM115
            self._log.write(_HEADER)
            self._sync(self._log)

    def _read_journal(self) -> int:
        raw = self.journal.read_bytes()
        if not raw.startswith(_HEADER):
            raise ResumeError(f"{self.journal} is not an aiocases export journal")
        offset = 0
        for line in raw[len(_HEADER) :].split(b"\n")[:-1]:  # a last line without \n was cut: ignored
            length, _, case_id = line.partition(b"\t")
            try:
                offset = int(length)
                self.completed.add(json.loads(case_id))
            except ValueError:
                raise ResumeError(f"{self.journal} is damaged; remove it and the output to start over") from None
        # Keep only the journal's complete lines.
        with open(self.journal, "r+b") as log:
            log.truncate(raw.rfind(b"\n") + 1)
        return offset

    def _open_data(self, offset: int) -> BinaryIO:
        if not self.output.exists() or self.output.stat().st_size < offset:
            raise ResumeError(f"{self.output} is shorter than its journal records; cannot resume safely")
        data = open(self.output, "r+b")  # noqa: SIM115
        data.truncate(offset)
        data.seek(offset)
        return data

    def write_case(self, case_id: str, cells: Iterable[TimelineCell]) -> None:
        """Append one complete case; it is journaled at the next commit."""
        self._data.write(b"".join(cell_line(case_id, cell) for cell in cells))
        self._data.flush()
        end = self._data.tell()
        self._pending.append(b"%d\t%s\n" % (end, json.dumps(case_id).encode()))
        self.completed.add(case_id)
        if time.monotonic() - self._last_commit >= _COMMIT_INTERVAL:
            self.commit()

    def commit(self) -> None:
        """Make every written case durable, output first, then its journal line."""
        if self._pending:
            self._sync(self._data)
            self._log.write(b"".join(self._pending))
            self._sync(self._log)
            self._pending.clear()
        self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit and close both files."""
        try:
            self.commit()
        finally:
            self._data.close()
            self._log.close()

    def __enter__(self) -> ExportWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _sync(handle: BinaryIO) -> None:
        handle.flush()
        os.fsync(handle.fileno())
