"""The export file and its journal: what a kill leaves behind is cut back on
resume, an output has one writer, and a case's lines stay contiguous."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aiocases.errors import DecodeError, NotFound
from aiocases.files.journal import ResumeError, journal_path
from aiocases.files.lines import cell_line
from aiocases.files.output import ExportFile
from aiocases.models import TimelineCell
from aiocases.parsing import from_api_json, structure_list
from aiocases.testing import Generator

ASCENDING = {"ascending": True, "format": 1}


def cells(count: int, seed: int) -> list[TimelineCell]:
    return structure_list(TimelineCell, Generator(seed).case(count).cells)


def read(path: Path) -> list[tuple[str, str]]:
    return [(r["case_id"], r["id"]) for r in map(json.loads, path.read_text().splitlines())]


def open_export(out: Path, *, resume: bool = False, overwrite: bool = False, settings: object = None) -> ExportFile:
    return ExportFile.open(out, resume=resume, overwrite=overwrite, settings=settings or ASCENDING)  # type: ignore[arg-type]


def test_a_half_written_case_is_cut_and_redone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    first, second = cells(3, 1), cells(4, 2)
    export = open_export(out)
    export.writer.write_case("A", first)
    export.writer.write_case("EMPTY", [])
    export.close()
    whole = out.stat().st_size
    # A kill in the middle of case B: half a line in the output, half a line in the journal.
    with out.open("ab") as handle:
        handle.write(b'{"case_id":"B","id":"cut sho')
    with journal_path(out).open("ab") as handle:
        handle.write(b'99999\t"B')

    with pytest.raises(ResumeError, match="holds an earlier export") as refused:
        open_export(out)
    assert refused.value.remedies == ("resume", "overwrite")
    resumed = open_export(out, resume=True)
    assert list(resumed.completed()) == ["A", "EMPTY"]
    assert out.stat().st_size == whole
    resumed.writer.write_case("B", second)
    resumed.close()
    assert read(out) == [("A", c.id) for c in first] + [("B", c.id) for c in second]
    again = open_export(out, resume=True)
    assert list(again.completed()) == ["A", "EMPTY", "B"]
    again.close()


def test_untrustworthy_files_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    export = open_export(out)
    export.writer.write_case("A", cells(2, 3))
    export.close()
    out.write_bytes(out.read_bytes()[:10])  # shorter than the journal says
    with pytest.raises(ResumeError, match="shorter"):
        open_export(out, resume=True)
    journal_path(out).write_text("not a journal\n")
    with pytest.raises(ResumeError, match="not an aiocases export journal"):
        open_export(out, resume=True)


def test_resume_without_a_journal(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text('{"case_id": "X"}\n')
    with pytest.raises(ResumeError, match=r"no out\.jsonl\.progress"):
        open_export(out, resume=True)  # not ours to trust, nor to overwrite
    assert out.read_text() == '{"case_id": "X"}\n'
    out.unlink()
    export = open_export(out, resume=True)
    assert list(export.completed()) == []
    export.writer.write_case("A", cells(1, 4))
    export.close()
    assert len(read(out)) == 1


def test_someone_elses_file_is_never_overwritten_without_asking(tmp_path: Path) -> None:
    out = tmp_path / "important.jsonl"
    out.write_text("my data\n")
    with pytest.raises(ResumeError, match="exists and is not empty") as refused:
        open_export(out)
    assert refused.value.remedies == ("overwrite",)
    assert out.read_text() == "my data\n" and sorted(p.name for p in tmp_path.iterdir()) == ["important.jsonl"]
    export = open_export(out, overwrite=True)
    export.writer.write_case("A", cells(2, 5))
    export.close()
    assert [case for case, _ in read(out)] == ["A", "A"]
    with pytest.raises(ResumeError, match="contradict"):
        open_export(out, resume=True, overwrite=True)


def test_an_empty_journal_is_a_fresh_start(tmp_path: Path) -> None:
    """A kill between creating the journal and writing its header."""
    out = tmp_path / "out.jsonl"
    journal_path(out).write_bytes(b"")
    for resume in (True, False):
        export = open_export(out, resume=resume)
        export.writer.write_case("A", cells(1, 6))
        export.close()
        assert len(read(out)) == 1
        out.unlink()
        journal_path(out).write_bytes(b"")


def test_a_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    export = open_export(out)
    export.writer.write_case("A", cells(2, 7))
    export.close()
    with pytest.raises(ResumeError, match="ascending: True then, False now"):
        open_export(out, resume=True, settings={"ascending": False, "format": 1})
    open_export(out, resume=True).close()


def test_one_writer_per_output(tmp_path: Path) -> None:
    """The journal is locked for the whole run, across processes."""
    out = tmp_path / "out.jsonl"
    export = open_export(out)
    code = (
        "import sys; from pathlib import Path\n"
        "from aiocases.files.output import ExportFile; from aiocases.files.journal import ResumeError\n"
        "try:\n"
        "    settings = {'ascending': True, 'format': 1}\n"
        "    ExportFile.open(Path(sys.argv[1]), resume=True, overwrite=False, settings=settings)\n"
        "except ResumeError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    other = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60)
    assert other.returncode == 3 and "in use" in other.stdout
    export.close()
    other = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=60)
    assert other.returncode == 0, other.stdout + other.stderr


def test_interleaved_pages_come_out_case_by_case(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    a, b, c = cells(6, 8), cells(6, 9), cells(6, 10)
    export = open_export(out)
    writer = export.writer
    writer.page(0, "A", a[:3])  # A owns the file: written in place
    writer.page(1, "B", b[:3])  # spooled
    writer.page(2, "C", c[:3])
    writer.page(1, "B", b[3:])
    assert writer.done(1, "B", None) is None  # finished behind A: waits in the backlog
    writer.page(0, "A", a[3:])
    assert isinstance(writer.done(2, "C", NotFound(404, [])), NotFound)  # dropped
    assert writer.done(0, "A", NotFound(404, [])) is not None  # cut back, then the backlog follows
    writer.page(3, "D", c[:2])
    writer.done(3, "D", None)
    export.close()
    assert read(out) == [("B", x.id) for x in b] + [("D", x.id) for x in c[:2]]
    resumed = open_export(out, resume=True)
    assert list(resumed.completed()) == ["B", "D"]
    resumed.close()


def test_a_cell_that_cannot_be_written_fails_its_case_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    deep: object = []
    for _ in range(200_000):  # past what json can encode on every Python (3.13's limit is higher)
        deep = [deep]
    bad = from_api_json(TimelineCell, {"id": "x", "type": "t", "attributes": {"deep": deep}})  # type: ignore[dict-item]
    export = open_export(out)
    try:
        writer = export.writer
        writer.page(0, "BAD", [bad])
        writer.page(1, "GOOD", cells(2, 11))
        assert isinstance(writer.done(0, "BAD", None), DecodeError)
        assert writer.done(1, "GOOD", None) is None
    finally:
        export.close()
    assert [case for case, _ in read(out)] == ["GOOD", "GOOD"]


def test_lines_hold_the_case_id_and_any_text() -> None:
    cell = from_api_json(
        TimelineCell,
        {"id": "s", "type": "t", "case_id": "OTHER-9", "attributes": {"cell_content": {"message": "\ud83d é"}}},
    )
    line = cell_line("SEC-1", cell)
    record = json.loads(line)
    assert record["case_id"] == "SEC-1"
    assert record["attributes"]["cell_content"]["message"] == "\ud83d é"
    assert b"\\ud83d" in line
    plain = from_api_json(TimelineCell, {"id": "p", "type": "t", "attributes": {"content": "é"}})
    assert "é".encode() in cell_line("SEC-1", plain)  # UTF-8 text stays as it is


def test_stopping_keeps_the_finished_cases_that_waited(tmp_path: Path) -> None:
    """Interrupted while one case is written in place: that case is cut off,
    and the cases that finished behind it are kept and journaled."""
    out = tmp_path / "out.jsonl"
    a, b = cells(4, 13), cells(3, 14)
    export = open_export(out)
    export.writer.page(0, "A", a[:2])  # in place, never finished
    export.writer.page(1, "B", b)
    export.writer.done(1, "B", None)  # finished behind A
    export.close()
    assert read(out) == [("B", x.id) for x in b]
    resumed = open_export(out, resume=True)
    assert list(resumed.completed()) == ["B"]
    resumed.close()
