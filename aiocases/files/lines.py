"""An export's lines: JSON Lines, one line per cell, the format ``aiocases
export``, ``aiocases sync`` and the arq workers write.

``{"case_id": ..., "id": ..., "type": ..., "attributes": ...}``: the cell as
the API gives it (:func:`~aiocases.parsing.to_api_json`), led by the case it
came from.
"""

from __future__ import annotations

import json

from aiocases.errors import DecodeError
from aiocases.models import JSON, TimelineCell
from aiocases.parsing import to_api_json

__all__ = ["LINE_FORMAT", "cell_line"]

#: The version of the line format :func:`cell_line` writes.
LINE_FORMAT = 1


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
