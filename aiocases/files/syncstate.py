"""The state directory of an incremental export (``aiocases sync --state DIR``).

::

    DIR/lock                   held (flock) for the whole run: one sync at a time
    DIR/bookmarks.json         {"format": 1, "run": N, "cases": {case id: bookmark}}
    DIR/000001.jsonl           run 1's cells, in ``aiocases export``'s line format
    DIR/000001.jsonl.progress  run 1's journal, while its bookmarks are not yet in bookmarks.json

A run writes the cells it fetches to the next numbered file, and journals
each case, after its lines are on disk, with the bookmark it advances to
(:mod:`aiocases.files.output` does both).  At the end the journal's
bookmarks are folded into ``bookmarks.json`` (written to a temporary file,
synced, renamed over the old one) and the journal is removed.  The rules,
which hold whatever moment a run is killed at (``tests/test_cli_sync.py``):

1. Runs are numbered from ``bookmarks.json``'s ``run``, the last run whose
   file holds cells: a run with nothing new leaves no file and takes no number.
2. Before a run begins, every run that left a journal is recovered: its file
   is cut back to its last journaled case (a case half written is dropped,
   and its bookmark was never advanced), the journal's bookmarks are folded
   in, then the journal is removed.  A journal without its file (a kill, or
   no inode left, between the two) is recovered the same way; one whose run
   was folded already is removed.
3. A run file left empty is removed (before its journal: a kill in between
   leaves a journal, recovered by rule 2), and so is an empty run file
   without a journal.

So, across all the numbered files, every cell is written once: a case's
cells are either journaled with the bookmark past them, or cut off and
fetched again.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from aiocases.files.journal import ResumeError, journal_path
from aiocases.files.lines import LINE_FORMAT
from aiocases.files.output import ExportFile
from aiocases.models import JSON
from aiocases.sync import Bookmark, bookmarks_from_json

__all__ = ["SyncState", "SyncStateError"]

_FORMAT = 1
_RUN_ENTRY = re.compile(r"(\d{6,})\.jsonl(?:\.progress)?\Z")
_SETTINGS: Mapping[str, JSON] = {"format": LINE_FORMAT, "sync": _FORMAT}
_RESTORE = "restore it, or sync into a new --state"


class SyncStateError(Exception):
    """The state directory cannot be used (in use, damaged, not a directory): one line for the user."""


class SyncState:
    """An open, locked state directory: the bookmarks, and the file of this run.

    Use as a context manager; :meth:`begin` recovers an interrupted run and
    opens the next numbered file, :meth:`end` folds this run's journal into
    the bookmarks."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bookmarks: dict[str, Bookmark] = {}
        self.run = 0
        self.export: ExportFile | None = None
        self.path: Path | None = None
        self.recovered = 0  # cases of an interrupted run whose bookmarks were recovered
        self._lock: BinaryIO | None = None

    def __enter__(self) -> SyncState:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.directory / "lock", "ab")
        except OSError as exc:
            raise SyncStateError(f"cannot use --state {self.directory}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise SyncStateError(f"{self.directory} is in use by another aiocases sync") from None
        try:
            self.run, self.bookmarks = self._load()
        except BaseException:
            self._lock.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.export is not None:
                self.end()
        finally:
            if self._lock is not None:
                self._lock.close()

    # -- the bookmarks file ---------------------------------------------------------

    def _load(self) -> tuple[int, dict[str, Bookmark]]:
        path = self.directory / "bookmarks.json"
        try:
            document = json.loads(path.read_bytes())
        except FileNotFoundError:
            return 0, {}
        except RecursionError:
            raise SyncStateError(f"{path} is damaged (nested too deeply); {_RESTORE}") from None
        except (OSError, ValueError) as exc:
            raise SyncStateError(f"{path} cannot be read ({exc}); {_RESTORE}") from None
        try:
            if document.get("format") != _FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            run = document["run"]
            if type(run) is not int or run < 0:
                raise ValueError("run")
            cases = bookmarks_from_json(document["cases"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SyncStateError(f"{path} is damaged ({exc}); {_RESTORE}") from None
        return run, cases

    def _save(self, run: int) -> None:
        """Write the bookmarks as of ``run``: a temporary file, synced, renamed over the old one."""
        path = self.directory / "bookmarks.json"
        temporary = path.with_name(path.name + ".tmp")
        cases: dict[str, JSON] = {case_id: mark.to_json() for case_id, mark in self.bookmarks.items()}
        document: dict[str, JSON] = {"format": _FORMAT, "run": run, "cases": cases}
        with open(temporary, "wb") as handle:
            handle.write(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _sync_directory(self.directory)
        self.run = run

    # -- runs -------------------------------------------------------------------------

    def _numbers(self) -> list[int]:
        """The numbers of the runs that left a file or a journal."""
        found = (_RUN_ENTRY.match(entry.name) for entry in self.directory.iterdir())
        return sorted({int(match.group(1)) for match in found if match})

    def _file(self, number: int) -> Path:
        return self.directory / f"{number:06d}.jsonl"

    def begin(self) -> ExportFile:
        """Recover what earlier runs left (rules 2 and 3), then open the next numbered file."""
        numbers = self._numbers()
        for number in numbers:
            path = self._file(number)
            if journal_path(path).exists():
                if number > self.run:
                    self.recovered += self._fold(number, path, _reopen(path))
                else:  # folded already, by a run killed before it removed the journal
                    journal_path(path).unlink()
            elif path.exists() and path.stat().st_size == 0:
                path.unlink()
        last = max([self.run, *(n for n in numbers if self._file(n).exists())])
        self.path = self._file(last + 1)
        self.export = ExportFile.open(self.path, resume=False, overwrite=False, settings=_SETTINGS)
        return self.export

    def end(self) -> None:
        """Fold this run's journal into the bookmarks (the run's file is then final)."""
        export, path = self.export, self.path
        self.export = None
        if export is None or path is None:
            return
        export.close()  # commits what is finished, cuts off what is not
        self._fold(int(path.name.split(".")[0]), path, _reopen(path))

    def _fold(self, number: int, path: Path, export: ExportFile) -> int:
        """Take a run's journaled bookmarks, save them, then drop its journal (rules 1 to 3)."""
        folded = 0
        try:
            for case_id, note in export.notes():
                if note is None:
                    continue  # a case journaled without a new bookmark
                try:
                    self.bookmarks[case_id] = Bookmark.from_json(note)
                except ValueError as exc:
                    raise ResumeError(f"{journal_path(path)} is damaged ({exc})") from None
                folded += 1
        finally:
            export.close()
        kept = path.stat().st_size > 0
        self._save(max(self.run, number) if kept else self.run)
        if not kept:
            path.unlink()
        journal_path(path).unlink()
        return folded


def _reopen(path: Path) -> ExportFile:
    """A run's file and journal, cut back to its last journaled case."""
    return ExportFile.open(path, resume=True, overwrite=False, settings=_SETTINGS)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
