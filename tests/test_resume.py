"""The export file and its journal: what a kill leaves behind is cut back on resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiocases.models import TimelineCell, structure_list
from aiocases.resume import ExportWriter, ResumeError, journal_path
from aiocases.testing import Generator


def cells(count: int, seed: int) -> list[TimelineCell]:
    return structure_list(TimelineCell, Generator(seed).case(count).cells)


def read(path: Path) -> list[tuple[str, str]]:
    return [(r["case_id"], r["id"]) for r in map(json.loads, path.read_text().splitlines())]


def test_a_half_written_case_is_cut_and_redone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first, second = cells(3, 1), cells(4, 2)
    writer = ExportWriter(out, resume=False)
    writer.write_case("A", first)
    writer.write_case("EMPTY", [])
    writer.close()
    whole = out.stat().st_size
    # A kill in the middle of case B: half a line in the output, half a line in the journal.
    with out.open("ab") as handle:
        handle.write(b'{"case_id":"B","id":"cut sho')
    with journal_path(out).open("ab") as handle:
        handle.write(b'99999\t"B')

    with pytest.raises(ResumeError, match="--resume"):
        ExportWriter(out, resume=False)
    resumed = ExportWriter(out, resume=True)
    assert resumed.completed == {"A", "EMPTY"}
    assert out.stat().st_size == whole
    resumed.write_case("B", second)
    resumed.close()
    assert read(out) == [("A", c.id) for c in first] + [("B", c.id) for c in second]
    with ExportWriter(out, resume=True) as again:
        assert again.completed == {"A", "EMPTY", "B"}


def test_untrustworthy_files_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    writer = ExportWriter(out, resume=False)
    writer.write_case("A", cells(2, 3))
    writer.close()
    out.write_bytes(out.read_bytes()[:10])  # shorter than the journal says
    with pytest.raises(ResumeError, match="shorter"):
        ExportWriter(out, resume=True)
    journal_path(out).write_text("not a journal\n")
    with pytest.raises(ResumeError, match="not an aiocases export journal"):
        ExportWriter(out, resume=True)


def test_resume_without_a_journal(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"case_id": "X"}\n')
    with pytest.raises(ResumeError, match=r"no out\.jsonl\.progress"):
        ExportWriter(out, resume=True)  # not ours to trust, nor to overwrite
    out.unlink()
    writer = ExportWriter(out, resume=True)
    assert writer.completed == set()
    writer.write_case("A", cells(1, 4))
    writer.close()
    assert len(read(out)) == 1
