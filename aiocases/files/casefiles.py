"""One file a case, as the arq workers export: ``<dir>/<case id>.jsonl`` in
the export's line format, written to a temporary file, synced and renamed,
so a file that exists is complete.

Rules:

1. A case's file name is its id percent-encoded (``/`` and every other
   character that is not a letter, a digit, ``-`` or ``_``; dots too, so no
   name starts with one and ``*.jsonl`` globs see every file), then
   ``.jsonl``.  An id whose name would pass 255 bytes is refused before
   anything is fetched.
2. The temporary file is ``.export-*.tmp`` in the same directory (so the
   rename is atomic); a writer that fails removes it.
3. Temporary files a killed writer left are removed by :func:`sweep` once
   they are older than any live writer can be.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterable
from pathlib import Path
from urllib.parse import quote

from aiocases.errors import InvalidArgument
from aiocases.files.lines import cell_line
from aiocases.models import TimelineCell

__all__ = ["case_path", "sweep", "write_case"]

_MAX_NAME = 255
_TEMPORARY = (".export-", ".tmp")


def case_path(directory: Path, case_id: str) -> Path:
    """Where a case's lines go (rule 1)."""
    name = quote(case_id, safe="-_").replace(".", "%2E") + ".jsonl"
    if len(name.encode()) > _MAX_NAME:
        raise InvalidArgument(
            f"case id {case_id!r:.40} is too long for a file name ({len(name.encode())} bytes once encoded;"
            f" at most {_MAX_NAME})"
        )
    return directory / name


async def write_case(target: Path, case_id: str, cells: AsyncIterable[TimelineCell]) -> int:
    """Write ``cells`` to ``target`` whole or not at all (rule 2); the count written."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=_TEMPORARY[0], suffix=_TEMPORARY[1])
    try:
        with os.fdopen(fd, "wb") as out:
            count = 0
            async for cell in cells:
                out.write(cell_line(case_id, cell))
                count += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return count


def sweep(directory: Path, older_than: float) -> int:
    """Remove the temporary files not changed for ``older_than`` seconds (rule 3); how many."""
    removed = 0
    deadline = time.time() - older_than
    for entry in directory.glob(f"{_TEMPORARY[0]}*{_TEMPORARY[1]}"):
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < deadline:
                entry.unlink()
                removed += 1
    return removed
