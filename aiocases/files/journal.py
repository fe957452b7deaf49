"""An export's journal (``<output>.progress``): the settings that shaped the
output, then a line per case whose lines are complete, with the output's
length after it (and a note: the bookmark a sync advances to).  Locked for
the whole run: one writer per output.  See :mod:`aiocases.files.output` for
how a run uses it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from aiocases.models import JSON

__all__ = ["Journal", "ResumeError", "entry", "journal_path", "settings_of", "sync"]

_MAGIC = b"aiocases-export-journal"
# Version 1 had no settings; its exports were ascending, in line format 1.
_V1_HEADER = _MAGIC + b" 1\n"
# No journal line is longer: a case id is at most 512 characters (6 bytes each
# once escaped), and a note (a sync's bookmark) far less than this.
_LONGEST_LINE = 1 << 20


class ResumeError(Exception):
    """The output and its journal do not allow this run: refused, nothing
    touched.  ``remedies`` names what would allow it (``"resume"``,
    ``"overwrite"``), for the caller to word in its own terms."""

    def __init__(self, message: str, remedies: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.remedies = remedies


def entry(length: int, case_id: str, note: JSON) -> bytes:
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


def sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


class Journal:
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
        sync(self.file)

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
            except (ValueError, RecursionError):
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
        sync(self.file)

    def close(self) -> None:
        self.file.close()  # releases the lock


def settings_of(header: bytes, path: Path) -> dict[str, JSON] | None:
    if header == _V1_HEADER:
        return {"ascending": True, "format": 1}
    prefix = _MAGIC + b" 2 "
    if header.startswith(prefix) and header.endswith(b"\n"):
        try:
            settings = json.loads(header[len(prefix) :])
        except ValueError:
            settings = None
        if isinstance(settings, dict):
            return settings
    raise ResumeError(f"{path} is not an aiocases export journal")
