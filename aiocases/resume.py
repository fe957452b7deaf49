"""An export file that a kill at any moment leaves in a state a resume can trust.

Cells go to the output as JSON Lines.  Beside a regular output file, a
journal (``<output>.progress``) records the settings that shape the output
(order, line format), then, for each case whose lines are complete, its id
and the output's length after it.  The journal is appended only after the
output has been flushed and synced, so on resume the output is cut back to
the last journaled length (dropping any half-written case), the journaled
cases are skipped, and every other case is done again: no cell is lost or
written twice.

Rules, in the order :meth:`ExportFile.open` applies them, all while holding
an exclusive lock on the journal (one writer per output, whole run):

1. A journal that is empty (a kill before its header) counts as none.
2. No journal: an output that is missing or empty is a fresh start; a
   non-empty one is refused unless ``overwrite``, since which of its cases
   are complete is unknown (``resume``) or it is someone's data (no flag).
3. A journal: ``resume`` continues it if its settings equal this run's
   (else refused, naming the difference); ``overwrite`` starts afresh;
   neither is refused.

Cases arrive as pages, interleaved.  One case at a time (the *owner*) writes
its pages straight into the output and, if it fails, is cut back; the pages
of the others wait in spools (memory, then a temporary file), and cases that
end while the owner runs wait in a backlog, so each case's lines stay
contiguous and memory stays bounded whatever the cases' sizes.  An output
that is not a regular file (stdout, a pipe, ``/dev/null``) has no journal and
cannot be cut back: there every case is spooled and written when it ends.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, TypeVar

from aiocases.errors import DecodeError
from aiocases.models import JSON, TimelineCell, to_api_json

__all__ = ["ExportFile", "ExportWriter", "ResumeError", "cell_line", "journal_path"]

_MAGIC = b"aiocases-export-journal"
# Version 1 had no settings; its exports were ascending, in line format 1.
_V1_HEADER = _MAGIC + b" 1\n"
#: The version of the line format ``cell_line`` writes.
LINE_FORMAT = 1
# Sync the output and append the journal at most this often (a group commit):
# syncing after every case would make an export of many small cases disk-bound.
_COMMIT_INTERVAL = 0.5
# A spool keeps this much in memory before it moves to a temporary file.
_SPOOL_MEMORY = 1 << 20
_COPY_CHUNK = 1 << 20
# No journal line is longer: a case id is at most 512 characters (6 bytes each
# once escaped), and a note (a sync's bookmark: a timestamp and at most 64 cell ids) far less than this.
_LONGEST_LINE = 1 << 20


E = TypeVar("E", bound=Exception)


class ResumeError(Exception):
    """The output and its journal do not allow this run: refused, nothing touched."""


def cell_line(case_id: str, cell: TimelineCell) -> bytes:
    """One output line: ``{"case_id": ..., "id": ..., "type": ..., "attributes": ...}``.

    The line's ``case_id`` is the case the cell was fetched from, whatever
    members the cell carries (a member of the cell named ``case_id`` is
    replaced).  Text is UTF-8; a lone surrogate, which UTF-8 cannot hold, is
    written as its ``\\ud83d`` escape.  A cell nested too deeply to encode is a
    :class:`~aiocases.errors.DecodeError` for its case.
    """
    record: dict[str, JSON] = {"case_id": case_id}
    record.update((k, v) for k, v in to_api_json(cell).items() if k != "case_id")
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        try:
            return text.encode() + b"\n"
        except UnicodeEncodeError:
            return json.dumps(record, separators=(",", ":")).encode() + b"\n"
    except RecursionError:
        raise DecodeError(f"cell {cell.id!r:.80} is nested too deeply to write", field="data") from None


def _entry(length: int, case_id: str, note: JSON) -> bytes:
    """A journal line: the output's length after the case, its id, and its note if any."""
    line = b"%d\t%s" % (length, json.dumps(case_id).encode())
    if note is not None:
        line += b"\t" + json.dumps(note, separators=(",", ":")).encode()
    return line + b"\n"


def journal_path(output: Path) -> Path:
    """Where the journal of ``output`` lives."""
    return output.with_name(output.name + ".progress")


def _header(settings: Mapping[str, JSON]) -> bytes:
    return _MAGIC + b" 2 " + json.dumps(dict(settings), sort_keys=True).encode() + b"\n"


def _sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


class _Journal:
    """The journal's open file, locked for the whole run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.file: BinaryIO = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise ResumeError(
                f"{path.name[: -len('.progress')]} is in use by another aiocases export (its journal is locked)"
            ) from None
        except BaseException:
            self.file.close()
            raise

    def header(self) -> bytes:
        self.file.seek(0)
        return self.file.readline()

    def start(self, settings: Mapping[str, JSON]) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.file.write(_header(settings))
        _sync(self.file)

    def entries(self) -> Iterator[tuple[int, str, JSON]]:
        """(output length, case id, note) of each complete entry after the
        header (a last line cut short by a kill is not one); the note is
        what the writer recorded with the case (``None`` if nothing)."""
        self.file.seek(0)
        self.file.readline()
        for line in self.file:
            if not line.endswith(b"\n"):
                return
            length, _, rest = line[:-1].partition(b"\t")
            case_id, _, note = rest.partition(b"\t")
            try:
                entry = int(length), json.loads(case_id), json.loads(note) if note else None
            except ValueError:
                raise ResumeError(f"{self.path} is damaged; remove it and the output to start over") from None
            if not isinstance(entry[1], str):
                raise ResumeError(f"{self.path} is damaged; remove it and the output to start over")
            yield entry

    def drop_partial_line(self) -> None:
        """Cut a last line a kill left short, so that new entries start on a line of their own."""
        size = self.file.seek(0, os.SEEK_END)
        start = max(0, size - _LONGEST_LINE)  # the last line lies within this tail: no need to read it all
        self.file.seek(start)
        cut = self.file.read().rfind(b"\n")
        if cut >= 0:
            self.file.truncate(start + cut + 1)

    def append(self, lines: list[bytes]) -> None:
        self.file.seek(0, os.SEEK_END)
        self.file.write(b"".join(lines))
        _sync(self.file)

    def close(self) -> None:
        self.file.close()  # releases the lock


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

    def __init__(self, out: BinaryIO, journal: _Journal | None = None, *, spool_dir: Path | None = None) -> None:
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
            self._pending.append(_entry(start + end, case_id, note))
        self._backlog.close()
        self._backlog, self._backlog_cases = _Spool(self._spool_dir), []
        self._maybe_commit()

    def _finished(self, case_id: str, note: JSON) -> None:
        self._out.flush()
        if self._journal is not None:
            self._pending.append(_entry(self._out.tell(), case_id, note))
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


class ExportFile:
    """The output of one export and, for a regular file, its locked journal.

    Open it with :meth:`open` (a path) or :meth:`stream` (stdout); pages go
    to ``writer``; ``completed`` yields the ids a resumed journal records
    (lazily: a journal of a million cases is never held in memory)."""

    def __init__(
        self, out: BinaryIO, journal: _Journal | None, *, resumed: bool, spool_dir: Path | None, owned: bool = True
    ) -> None:
        self.writer = ExportWriter(out, journal, spool_dir=spool_dir)
        self.resumed = resumed
        self._out = out
        self._journal = journal
        self._owned = owned

    @classmethod
    def stream(cls, out: BinaryIO, *, owned: bool = False) -> ExportFile:
        """An output that cannot be cut back or resumed, such as stdout
        (flushed, not closed, at the end unless ``owned``)."""
        return cls(out, None, resumed=False, spool_dir=None, owned=owned)

    @classmethod
    def open(cls, output: Path, *, resume: bool, overwrite: bool, settings: Mapping[str, JSON]) -> ExportFile:
        """Open ``output`` by the rules of this module; raises
        :class:`ResumeError` when they refuse, :class:`OSError` when the
        system does."""
        if resume and overwrite:
            raise ResumeError("--resume and --overwrite contradict each other: choose one")
        if not _is_regular(output):
            if resume:
                raise ResumeError(f"{output} is not a regular file, so an export to it cannot be resumed")
            return cls.stream(open(output, "wb", buffering=0), owned=True)
        journal = _Journal(journal_path(output))
        out: BinaryIO | None = None
        try:
            resumed = _decide(journal, output, resume=resume, overwrite=overwrite, settings=settings)
            if resumed:
                out = os.fdopen(os.open(output, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), "r+b")
                _cut_back(out, journal, output)
            else:
                journal.start(settings)  # before the output is emptied: a kill in between leaves a fresh start
                out = open(output, "wb")  # noqa: SIM115 - closed by close()
        except BaseException:
            if out is not None:
                out.close()
            journal.close()
            raise
        return cls(out, journal, resumed=resumed, spool_dir=output.parent)

    def completed(self) -> Iterator[str]:
        """The ids of the cases a resumed journal records as complete."""
        for case_id, _ in self.notes():
            yield case_id

    def notes(self) -> Iterator[tuple[str, JSON]]:
        """(case id, note) of each case a resumed journal records as complete."""
        if self._journal is not None and self.resumed:
            for _, case_id, note in self._journal.entries():
                yield case_id, note

    def close(self) -> None:
        """Commit, then close the output and release the journal's lock."""
        try:
            self.writer.close()
        finally:
            try:
                if self._owned:
                    self._out.close()
            finally:
                if self._journal is not None:
                    self._journal.close()


def _cut_back(out: BinaryIO, journal: _Journal, output: Path) -> None:
    """Cut the output back to the journal's last complete case (dropping a half-written one)."""
    end = 0
    for length, _, _ in journal.entries():
        end = length
    journal.drop_partial_line()
    if os.fstat(out.fileno()).st_size < end:
        raise ResumeError(f"{output} is shorter than its journal records; cannot resume safely")
    out.truncate(end)
    out.seek(end)


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return True  # created as one


def _decide(journal: _Journal, output: Path, *, resume: bool, overwrite: bool, settings: Mapping[str, JSON]) -> bool:
    """True to resume, False for a fresh start; ResumeError to refuse."""
    header = journal.header()
    size = output.stat().st_size if output.exists() else 0
    name = journal.path.name
    if not header:
        if size == 0 or overwrite:
            return False
        if resume:
            raise ResumeError(
                f"{output} has no {name} beside it, so which of its cases are complete is unknown;"
                " remove it to start over, or pass --overwrite"
            )
        raise ResumeError(f"{output} exists and is not empty: pass --overwrite to replace it")
    if overwrite:
        return False
    if not resume:
        raise ResumeError(
            f"{output} holds an earlier export ({name} is beside it): pass --resume to continue it,"
            " or --overwrite to start over"
        )
    recorded = _settings_of(header, journal.path)
    if recorded is not None:
        different = [f"{k}: {recorded.get(k)!r} then, {v!r} now" for k, v in settings.items() if recorded.get(k) != v]
        if different:
            raise ResumeError(
                f"{output} was exported with other settings ({'; '.join(different)}): resume with the same ones,"
                " or pass --overwrite to start over"
            )
    return True


def _settings_of(header: bytes, path: Path) -> dict[str, JSON] | None:
    if header == _V1_HEADER:
        return {"ascending": True, "format": LINE_FORMAT}
    prefix = _MAGIC + b" 2 "
    if header.startswith(prefix) and header.endswith(b"\n"):
        try:
            settings = json.loads(header[len(prefix) :])
        except ValueError:
            settings = None
        if isinstance(settings, dict):
            return settings
    raise ResumeError(f"{path} is not an aiocases export journal")
