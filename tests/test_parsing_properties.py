"""Property-based parsing: whatever shape the API sends, no crash and no loss.

Cells are drawn with arbitrary extra fields, missing optional fields, unknown
enum values, ``ID`` or ``id``, odd shapes where the API's shapes are open, and
every timestamp variant (``Z`` or an offset, 0-9 fractional digits).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiocases import DecodeError, TimelineCell, from_api_json, parsing, to_api_json
from aiocases.parsing import parse_timestamp, structure_list

JSON_LEAF = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
JSON_VALUE = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
)
EXTRA_KEYS = st.text(min_size=1, max_size=10).filter(
    lambda k: (
        k
        not in {"id", "ID", "type", "attributes", "author", "cell_content", "content", "created_at", "modified_at"}
        | {"deleted_at", "message", "name", "email", "handle"}
    )
)
EXTRAS = st.dictionaries(EXTRA_KEYS, JSON_VALUE, max_size=3)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
    digits = draw(st.integers(0, 9))
    fraction = f".{draw(st.integers(0, 10**digits - 1)):0{digits}d}" if digits else ""
    offset = draw(st.sampled_from(["Z", "z", "+00:00", "-05:30", "+14:00", "+0200"]))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset


@st.composite
def optional_fields(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, strategy in fields.items():
        if draw(st.booleans()):
            out[name] = draw(strategy)
    out.update(draw(EXTRAS))
    return out


TEXT = st.text(max_size=30)
AUTHOR_CONTENT = st.builds(
    lambda fields, id_key, user: {**fields, **({id_key: user} if user is not None else {})},
    optional_fields({"name": TEXT, "email": TEXT, "handle": TEXT, "active": st.booleans()}),
    st.sampled_from(["ID", "id"]),
    st.none() | st.uuids().map(str),
)
AUTHOR = optional_fields({"type": st.sampled_from(["USER", "BOT", "TEAM"]) | TEXT, "content": AUTHOR_CONTENT | TEXT})
CELL_CONTENT = optional_fields({"message": TEXT}) | st.lists(TEXT, max_size=2) | TEXT
ATTRIBUTES = optional_fields(
    {
        "author": AUTHOR | st.none() | TEXT,
        "cell_content": CELL_CONTENT | st.none(),
        "content": TEXT | st.none(),
        "created_at": timestamps() | st.none(),
        "modified_at": timestamps(),
        "deleted_at": timestamps() | st.none(),
        "type": st.sampled_from(["COMMENT", "STATUS_CHANGE", "ASSIGNMENT"]) | TEXT,
    }
)
CELLS = st.builds(
    lambda id_, type_, attributes, extra: {"id": id_, "type": type_, "attributes": attributes, **extra},
    st.uuids().map(str) | TEXT,
    st.sampled_from(["timeline_cell", "timeline_cell_v2"]),
    ATTRIBUTES,
    st.dictionaries(EXTRA_KEYS, JSON_VALUE, max_size=1),
)


@settings(max_examples=400, deadline=None)
@given(CELLS)
def test_any_well_formed_cell_parses_and_round_trips(raw: dict[str, object]) -> None:
    (cell,) = structure_list(TimelineCell, [copy.deepcopy(raw)])
    assert cell.id == raw["id"]
    assert from_api_json(TimelineCell, to_api_json(cell)) == cell
    attributes = cell.attributes
    for name in ("created_at", "modified_at", "deleted_at"):
        value = getattr(attributes, name)
        assert value is None or value.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(
    CELLS,
    st.sampled_from(["id", "type", "attributes", "created_at", "modified_at", "type_of_attributes", "name"]),
    st.integers() | st.lists(st.integers(), max_size=1) | st.just("not a timestamp"),
)
def test_malformed_fields_raise_decode_error_naming_them(raw: dict[str, object], target: str, bad: object) -> None:
    attributes = raw["attributes"]
    assert isinstance(attributes, dict)
    if target in ("id", "type"):
        if isinstance(bad, str):
            bad = 7
        raw[target], expected = bad, f"data[0].{target}"
    elif target == "attributes":
        if isinstance(bad, str):
            raw.pop("attributes")
        else:
            raw["attributes"] = bad
        expected = "data[0].attributes"
    elif target == "type_of_attributes":
        attributes["type"], expected = 7, "data[0].attributes.type"
    elif target == "name":
        attributes["author"] = {"type": "USER", "content": {"ID": "u", "name": [1]}}
        expected = "data[0].attributes.author.content.name"
    else:
        attributes[target], expected = bad, f"data[0].attributes.{target}"
    try:
        structure_list(TimelineCell, [raw])
    except DecodeError as exc:
        assert exc.field is not None and exc.field.startswith(expected), (exc.field, expected)
    else:
        raise AssertionError(f"no DecodeError for a malformed {expected}")


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
    st.integers(0, 9),
    st.integers(-14 * 60, 14 * 60),
)
def test_timestamp_variants(moment: datetime, digits: int, offset_minutes: int) -> None:
    tz = timezone(timedelta(minutes=offset_minutes))
    nanos = f"{moment.microsecond:06d}789"
    fraction = "." + nanos[:digits] if digits else ""
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + f"{sign}{hours:02d}:{minutes:02d}"
    parsed = parse_timestamp(text)
    assert parsed == moment.replace(microsecond=int(nanos[: min(digits, 6)].ljust(6, "0")), tzinfo=tz)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)), st.integers(0, 999))
def test_the_api_timestamp_shape_takes_one_c_call_with_the_same_result(moment: datetime, nanos: int) -> None:
    """``2025-01-06T09:22:43.961616757Z``: parsed by one shortcut, which must
    drop the digits past microseconds exactly as the general rule does."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}{nanos:03d}Z"
    assert len(text) == 30
    expected = moment.replace(tzinfo=timezone.utc)
    assert parsing._from_api_shape(text) == expected
    assert parse_timestamp(text) == expected
    assert parse_timestamp(text.replace("Z", "+00:00")) == expected  # the general rule


def test_the_recorded_response_parses() -> None:
    """The real CommentCase body (the same TimelineResponse schema as "Get case timeline")."""
    recorded = (
        Path(__file__).resolve().parents[2] / "shared" / "real-responses" / "comment_case_returns_ok_response__1.json"
    )
    if not recorded.exists():
        pytest.skip("../shared/real-responses is not here")
    body = json.loads(recorded.read_text())["response"]["body"]
    data = json.loads(body)["data"]
    (cell,) = structure_list(TimelineCell, data)
    assert cell.attributes.cell_content is not None and cell.attributes.cell_content.message == "Hello World !"
    assert cell.attributes.author is not None and cell.attributes.author.content is not None
    assert cell.attributes.author.content.extra == {"active": True}
    assert to_api_json(cell) == {
        **data[0],
        "attributes": {
            **data[0]["attributes"],
            "author": {
                "type": "USER",
                "content": {
                    **{k: v for k, v in data[0]["attributes"]["author"]["content"].items() if k != "ID"},
                    "id": data[0]["attributes"]["author"]["content"]["ID"],
                },
            },
            "created_at": to_api_json(cell)["attributes"]["created_at"],
        },
    }
