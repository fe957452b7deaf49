"""An export's output file and its journal, opened so that a kill at any
moment leaves a state a resume can trust.

Cells go to the output as JSON Lines (:mod:`aiocases.files.lines`).  Beside
a regular output file, a journal (:mod:`aiocases.files.journal`) records the
settings that shape the output, then each case whose lines are complete.  On
resume the output is cut back to the last journaled length (dropping any
half-written case), the journaled cases are skipped, and every other case is
done again: no cell is lost or written twice.

Rules, in the order :meth:`ExportFile.open` applies them, all while holding
an exclusive lock on the journal (one writer per output, whole run):

1. A journal that is empty (a kill before its header) counts as none.
2. No journal: an output that is missing or empty is a fresh start; a
   non-empty one is refused unless ``overwrite``, since which of its cases
   are complete is unknown (``resume``) or it is someone's data (no flag).
3. A journal: ``resume`` continues it if its settings equal this run's
   (else refused, naming the difference); ``overwrite`` starts afresh;
   neither is refused.

An output that is not a regular file (stdout, a pipe, ``/dev/null``) has no
journal and cannot be cut back: there every case is spooled and written when
it ends.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from aiocases.files.journal import Journal, ResumeError, journal_path, settings_of
from aiocases.files.writer import ExportWriter
from aiocases.models import JSON

__all__ = ["ExportFile"]


class ExportFile:
    """The output of one export and, for a regular file, its locked journal.

    Open it with :meth:`open` (a path) or :meth:`stream` (stdout); pages go
    to ``writer``; ``completed`` yields the ids a resumed journal records
    (lazily: a journal of a million cases is never held in memory)."""

    def __init__(
        self, out: BinaryIO, journal: Journal | None, *, resumed: bool, spool_dir: Path | None, owned: bool = True
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
            raise ResumeError("resuming and overwriting contradict each other: choose one")
        if not _is_regular(output):
            if resume:
                raise ResumeError(f"{output} is not a regular file, so an export to it cannot be resumed")
            return cls.stream(open(output, "wb", buffering=0), owned=True)
        created = not journal_path(output).exists()
        journal = Journal(journal_path(output))
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
            if created:  # a refused or failed run leaves no file behind
                journal_path(output).unlink(missing_ok=True)
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


def _cut_back(out: BinaryIO, journal: Journal, output: Path) -> None:
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


def _decide(journal: Journal, output: Path, *, resume: bool, overwrite: bool, settings: Mapping[str, JSON]) -> bool:
    """True to resume, False for a fresh start; ResumeError to refuse."""
    header = journal.header()
    size = output.stat().st_size if output.exists() else 0
    name = journal.path.name
    if not header:
        if size == 0 or overwrite:
            return False
        if resume:
            raise ResumeError(
                f"{output} has no {name} beside it, so which of its cases are complete is unknown", ("overwrite",)
            )
        raise ResumeError(f"{output} exists and is not empty", ("overwrite",))
    if overwrite:
        return False
    if not resume:
        raise ResumeError(f"{output} holds an earlier export ({name} is beside it)", ("resume", "overwrite"))
    recorded = settings_of(header, journal.path)
    if recorded is not None:
        keys = sorted(settings.keys() | recorded.keys())
        different = [
            f"{k}: {recorded.get(k)!r} then, {settings.get(k)!r} now"
            for k in keys
            if recorded.get(k) != settings.get(k)
        ]
        if different:
            raise ResumeError(
                f"{output} was exported with other settings ({'; '.join(different)}): resume with the same ones",
                ("overwrite",),
            )
    return True
