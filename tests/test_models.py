"""Models: parsing what the real API sends, and exporting it back unchanged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from aiocases import DecodeError, TimelineCell, Watcher, from_api_json, to_api_json
from aiocases.parsing import format_timestamp, parse_timestamp, structure_list
from aiocases.testing import Generator

REAL_CELL = {
    "attributes": {
        "author": {
            "content": {
                "ID": "8146583c-0b5f-11ec-abf8-da7ad0900001",
                "active": True,
                "email": "ada@example.com",
                "handle": "ada@example.com",
                "name": "Ada Lovelace",
            },
            "type": "USER",
        },
        "cell_content": {"message": "Rolled back **checkout**."},
        "content": "Rolled back **checkout**.",
        "created_at": "2025-12-30T13:49:46.968106806Z",
        "type": "COMMENT",
    },
    "id": "aeadc05e-98a8-11ec-ac2c-da7ad0900001",
    "type": "timeline_cell",
}


def test_real_response_shape_is_parsed() -> None:
    (cell,) = structure_list(TimelineCell, [REAL_CELL])
    attributes = cell.attributes
    assert cell.id == "aeadc05e-98a8-11ec-ac2c-da7ad0900001"
    assert attributes.author is not None and attributes.author.content is not None
    assert attributes.author.content.id == "8146583c-0b5f-11ec-abf8-da7ad0900001"
    assert attributes.author.content.extra["active"] is True
    assert attributes.cell_content is not None
    assert attributes.cell_content.message == "Rolled back **checkout**."
    assert attributes.content == "Rolled back **checkout**."  # undocumented, but always sent
    assert attributes.extra == {}
    assert attributes.created_at == datetime(2025, 12, 30, 13, 49, 46, 968106, tzinfo=timezone.utc)
    assert attributes.modified_at is None and attributes.deleted_at is None


def test_documented_shape_is_parsed() -> None:
    documented = json.loads(json.dumps(REAL_CELL))
    content = documented["attributes"]["author"]["content"]
    content["id"] = content.pop("ID")
    del content["active"]
    documented["attributes"]["deleted_at"] = "2019-09-19T10:00:00.000Z"
    (cell,) = structure_list(TimelineCell, [documented])
    assert cell.attributes.author is not None and cell.attributes.author.content is not None
    assert cell.attributes.author.content.id == "8146583c-0b5f-11ec-abf8-da7ad0900001"
    assert cell.attributes.author.content.extra == {}
    assert cell.attributes.deleted_at == datetime(2019, 9, 19, 10, tzinfo=timezone.utc)


def test_export_round_trip_keeps_every_field() -> None:
    (cell,) = structure_list(TimelineCell, [REAL_CELL])
    exported = to_api_json(cell)
    assert from_api_json(TimelineCell, exported) == cell
    # Everything the API sent is still there (timestamps to the microsecond);
    # the author id under its documented name.
    content = exported["attributes"]["author"]["content"]  # type: ignore[index, call-overload]
    assert content == {
        "id": "8146583c-0b5f-11ec-abf8-da7ad0900001",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "handle": "ada@example.com",
        "active": True,
    }
    assert exported["attributes"]["content"] == "Rolled back **checkout**."  # type: ignore[index, call-overload]
    assert exported["attributes"]["created_at"] == "2025-12-30T13:49:46.968106Z"  # type: ignore[index, call-overload]


def test_equal_authors_are_shared_and_different_ones_not() -> None:
    other = json.loads(json.dumps(REAL_CELL))
    other["attributes"]["author"]["content"]["name"] = "Ada King"
    first, second, third = structure_list(TimelineCell, [REAL_CELL, json.loads(json.dumps(REAL_CELL)), other])
    assert first.attributes.author is second.attributes.author
    assert third.attributes.author != first.attributes.author
    assert third.attributes.author is not None and third.attributes.author.content is not None
    assert third.attributes.author.content.name == "Ada King"


def test_shared_authors_follow_changes_to_the_callers_dict() -> None:
    raw = json.loads(json.dumps(REAL_CELL))
    before = from_api_json(TimelineCell, raw)
    raw["attributes"]["author"]["content"]["name"] = "Renamed"
    after = from_api_json(TimelineCell, raw)
    assert before.attributes.author is not None and before.attributes.author.content is not None
    assert after.attributes.author is not None and after.attributes.author.content is not None
    assert (before.attributes.author.content.name, after.attributes.author.content.name) == ("Ada Lovelace", "Renamed")


def test_generated_timelines_round_trip() -> None:
    gen = Generator(seed=3)
    raw = gen.case(60).cells
    cells = structure_list(TimelineCell, raw)
    assert [from_api_json(TimelineCell, to_api_json(c)) for c in cells] == cells
    assert [c.id for c in cells] == [r["id"] for r in raw]


def test_unknown_types_and_shapes_are_preserved() -> None:
    odd = json.loads(json.dumps(REAL_CELL))
    odd["type"] = "timeline_cell_v2"
    odd["attributes"]["type"] = "STATUS_CHANGE"
    odd["attributes"]["author"] = {"type": "BOT", "content": "datadog-workflow"}
    odd["attributes"]["cell_content"] = ["open", "closed"]
    (cell,) = structure_list(TimelineCell, [odd])
    assert cell.type == "timeline_cell_v2"
    assert cell.attributes.type == "STATUS_CHANGE"
    assert cell.attributes.author is not None and cell.attributes.author.type == "BOT"
    assert cell.attributes.author.content is None
    assert cell.attributes.author.extra == {"content": "datadog-workflow"}
    assert cell.attributes.cell_content is None
    assert to_api_json(cell) == odd | {"attributes": to_api_json(cell)["attributes"]}
    assert to_api_json(cell)["attributes"]["cell_content"] == ["open", "closed"]  # type: ignore[index, call-overload]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda c: c.pop("id"), "data[1].id"),
        (lambda c: c.update(id=17), "data[1].id"),
        (lambda c: c.pop("attributes"), "data[1].attributes"),
        (lambda c: c["attributes"].update(created_at="yesterday"), "data[1].attributes.created_at"),
        (lambda c: c["attributes"].update(created_at=1700000000), "data[1].attributes.created_at"),
        (lambda c: c["attributes"]["author"]["content"].update(name=["x"]), "data[1].attributes.author.content.name"),
    ],
)
def test_malformed_required_field_names_it(mutate: object, field: str) -> None:
    bad = json.loads(json.dumps(REAL_CELL))
    mutate(bad)  # type: ignore[operator]
    with pytest.raises(DecodeError) as info:
        structure_list(TimelineCell, [REAL_CELL, bad])
    assert info.value.field == field
    assert field in str(info.value)
    assert not info.value.transient


def test_data_must_be_a_list() -> None:
    with pytest.raises(DecodeError, match="data"):
        structure_list(TimelineCell, {"id": "x"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-30T13:49:46.968106806Z", datetime(2025, 12, 30, 13, 49, 46, 968106, tzinfo=timezone.utc)),
        ("2025-12-30T13:49:46Z", datetime(2025, 12, 30, 13, 49, 46, tzinfo=timezone.utc)),
        ("2025-12-30T13:49:46.1Z", datetime(2025, 12, 30, 13, 49, 46, 100000, tzinfo=timezone.utc)),
        ("2025-12-30T13:49:46.123+02:00", datetime(2025, 12, 30, 11, 49, 46, 123000, tzinfo=timezone.utc)),
        ("2025-12-30T13:49:46.123456789-0530", datetime(2025, 12, 30, 19, 19, 46, 123456, tzinfo=timezone.utc)),
        ("2025-12-30t13:49:46z", datetime(2025, 12, 30, 13, 49, 46, tzinfo=timezone.utc)),
        ("2025-12-30 13:49:46", datetime(2025, 12, 30, 13, 49, 46, tzinfo=timezone.utc)),
    ],
)
def test_timestamps(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["", "2025-12-30", "2025-13-30T00:00:00Z", "2025-12-30T13:49:46.1234567890Z", "now"])
def test_bad_timestamps(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_format_timestamp_keeps_offsets() -> None:
    tz = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2025-01-02T03:04:05.000000Z"
    assert format_timestamp(datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=tz)) == "2025-01-02T03:04:05.000006+02:00"


def test_watcher_model() -> None:
    raw = {"id": "w1", "type": "watcher", "relationships": {"user": {"data": {"id": "u1", "type": "user"}}}}
    (watcher,) = structure_list(Watcher, [raw])
    assert watcher.user_id == "u1"
    assert to_api_json(watcher) == raw
    assert Watcher(id="w", type="watcher").user_id is None


def test_models_are_frozen_and_hashable() -> None:
    (cell,) = structure_list(TimelineCell, [REAL_CELL])
    with pytest.raises(AttributeError):
        cell.id = "other"  # type: ignore[misc]
    assert hash(cell) == hash(structure_list(TimelineCell, [REAL_CELL])[0])


def test_to_api_json_rejects_non_models() -> None:
    with pytest.raises(TypeError):
        to_api_json(object())


def test_models_pickle_and_deep_copy() -> None:
    """Results cross processes (multiprocessing, arq) and copy deeply; ``extra`` stays read-only."""
    import copy
    import pickle

    (cell,) = structure_list(TimelineCell, [REAL_CELL])
    odd = {**REAL_CELL, "id": "odd", "new_member": {"kept": [1, 2]}}
    (generic,) = structure_list(TimelineCell, [odd])  # an unlisted member, kept in extra
    watcher = from_api_json(
        Watcher, {"id": "w", "type": "watcher", "relationships": {"user": {"data": {"id": "u", "type": "user"}}}}
    )
    for model in (cell, generic, watcher, cell.attributes.author):
        for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model), copy.copy(model)):
            assert clone == model and hash(clone) == hash(model) and type(clone) is type(model)
            with pytest.raises(TypeError):
                clone.extra["x"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(generic)).extra == {"new_member": {"kept": [1, 2]}}
