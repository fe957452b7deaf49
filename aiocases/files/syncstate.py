"""The state directory of an incremental export (``aiocases sync --state DIR``).

::

    DIR/lock                   held (flock) for the whole run: one sync at a time
    DIR/bookmarks.json         {"format": 1, "run": N, "cases": {case id: bookmark}}
    DIR/000001.jsonl           run 1's cells, in ``aiocases export``'s line format
    DIR/000001.jsonl.progress  run 1's journal, while its bookmarks are not yet in bookmarks.json

A run writes the cells it fetches to the next numbered file, and journals
each case, after its lines are on disk, with the bookmark it advances to
(:mod:`aiocases.resume` does both).  At the end the journal's bookmarks are
folded into ``bookmarks.json`` (written to a temporary file, synced, renamed
over the old one) and the journal is removed.

A run killed at any moment leaves its numbered file and its journal.  The
next run first recovers it: the file is cut back to its last journaled case
(a case half written is dropped, and its bookmark was never advanced), the
journal's bookmarks are folded in, and only then does the new run begin.  So,
across all the numbered files, every cell is written once: a case's cells are
either journaled with the bookmark past them, or cut off and fetched again.
A file that a run left empty is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from aiocases.files.journal import ResumeError, journal_path
from aiocases.files.lines import LINE_FORMAT
from aiocases.files.output import ExportFile
from aiocases.models import JSON
from aiocases.sync import Bookmark, bookmarks_from_json

__all__ = ["SyncState", "SyncStateError"]

_FORMAT = 1
_RUN_FILE = re.compile(r"(\d{6,})\.jsonl\Z")
_SETTINGS: Mapping[str, JSON] = {"format": LINE_FORMAT, "sync": _FORMAT}


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
        except (OSError, ValueError) as exc:
            raise SyncStateError(f"{path} cannot be read ({exc}); restore it, or sync into a new --state") from None
        try:
            if document.get("format") != _FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            run = document["run"]
            if type(run) is not int or run < 0:
                raise ValueError("run")
            cases = bookmarks_from_json(document["cases"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SyncStateError(f"{path} is damaged ({exc}); restore it, or sync into a new --state") from None
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

    def _runs(self) -> Iterator[tuple[int, Path]]:
        for entry in sorted(self.directory.iterdir()):
            match = _RUN_FILE.match(entry.name)
            if match:
                yield int(match.group(1)), entry

    def begin(self) -> ExportFile:
        """Recover any interrupted run, then open the next numbered file."""
        last = self.run
        for number, path in self._runs():
            last = max(last, number)
            journal = journal_path(path)
            if not journal.exists():
                continue
            if number > self.run:  # interrupted: cut back, and keep what its journal holds
                self.recovered += self._fold(number, path, _reopen(path))
            else:  # folded already, by a run killed before it removed the journal
                journal.unlink()
        self.path = self.directory / f"{last + 1:06d}.jsonl"
        self.export = ExportFile.open(self.path, resume=False, overwrite=False, settings=_SETTINGS)
        return self.export

    def end(self) -> None:
        """Fold this run's journal into the bookmarks (the run's file is then final)."""
        export, path = self.export, self.path
        self.export = None
        if export is None or path is None:
            return
        export.close()  # commits what is finished, cuts off what is not
        number = int(path.name.split(".")[0])
        self._fold(number, path, _reopen(path))

    def _fold(self, number: int, path: Path, export: ExportFile) -> int:
        """Take a run's journaled bookmarks, save them, then drop its journal."""
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
        self._save(max(self.run, number))
        journal_path(path).unlink()
        if path.stat().st_size == 0:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
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
