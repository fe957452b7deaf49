"""The models of a case never fail on what the API adds or leaves out: every
recorded case object (``../shared/real-responses``), with fields removed,
unknown fields added and enum values the client does not know, still parses;
an unknown value stays the string sent, unknown fields land in ``extra``,
and the document comes back out unchanged.  (Datadog's generated clients
fail here: an enum value they do not know, such as ``TUNKNOWN``, used to
refuse the whole answer.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiocases.models import Case, CaseAttributes
from aiocases.parsing import parse_timestamp, read_case, to_api_json

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "real-responses"


def _documents() -> list[dict[str, Any]]:
    """Every recorded answer holding cases, as one-case documents with their ``included``."""
    if not RECORDED.is_dir():
        return []
    found = []
    for path in sorted(RECORDED.glob("*__*.json")):
        document = json.loads(path.read_text())["response"].get("json") or {}
        data = document.get("data")
        for case in data if isinstance(data, list) else [data]:
            if isinstance(case, dict) and case.get("type") == "case":
                found.append({"data": case, "included": document.get("included", [])})
    return found


DOCUMENTS = _documents()
pytestmark = pytest.mark.skipif(not DOCUMENTS, reason="../shared/real-responses is not here")
#: The fields whose values are enums in the spec (or in practice).
ENUMS = ("status", "status_group", "priority", "type", "merge_status", "creation_source")
NAMES = st.text(st.characters(categories=["Ll"], max_codepoint=0x7A), min_size=3, max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def test_there_are_the_recorded_case_objects() -> None:
    assert len(DOCUMENTS) >= 46
    types = {document["data"]["attributes"]["type"] for document in DOCUMENTS}
    assert {"STANDARD", "TUNKNOWN", "ERROR_TRACKING_ISSUE"} <= types


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d["data"]["attributes"].get("key", "?") for d in DOCUMENTS])
def test_every_recorded_case_parses_and_comes_back_unchanged(document: dict[str, Any]) -> None:
    case = read_case(document)
    _assert_comes_back(case, document)
    included = {user["id"] for user in document["included"]}
    for name in ("assignee", "created_by", "modified_by"):
        user_id = case.related(name)
        assert (getattr(case, name) is not None) == (user_id is not None and user_id in included)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0),
    removed=st.sets(st.integers(min_value=0, max_value=40), max_size=8),
    added=st.dictionaries(NAMES, VALUES, max_size=3),
    enums=st.dictionaries(st.sampled_from(ENUMS), st.text(min_size=1, max_size=20), max_size=3),
    drop_relationships=st.booleans(),
    drop_included=st.booleans(),
)
def test_a_case_with_fields_and_values_the_client_does_not_know_still_parses(
    index: int,
    removed: set[int],
    added: dict[str, Any],
    enums: dict[str, str],
    drop_relationships: bool,
    drop_included: bool,
) -> None:
    document = copy.deepcopy(DOCUMENTS[index % len(DOCUMENTS)])
    attributes = document["data"]["attributes"]
    names = sorted(attributes)
    for position in removed:
        attributes.pop(names[position % len(names)], None)
    unknown = {name: value for name, value in added.items() if name not in _ALL_FIELDS}
    attributes.update(unknown)
    attributes.update(enums)
    if drop_relationships:
        document["data"].pop("relationships", None)
    if drop_included:
        document.pop("included")

    case = read_case(document)

    for name, value in enums.items():
        assert getattr(case.attributes, name) == value  # kept as sent, comparable as a string
    assert dict(case.attributes.extra) == unknown
    _assert_comes_back(case, document)
    if drop_included:
        assert case.assignee is case.created_by is case.modified_by is None


def _assert_comes_back(case: Case, document: dict[str, Any]) -> None:
    """Out as it came in: every member the same, timestamps the same instants (to the microsecond kept),
    an author's ``ID`` as the documented ``id``, a collection left out as an empty one."""
    out = to_api_json(case)
    assert isinstance(out, dict)
    sent, back = dict(document["data"]["attributes"]), dict(out["attributes"])
    author = sent.get("created_by_author")
    if isinstance(author, dict) and isinstance(author.get("content"), dict) and "ID" in author["content"]:
        content = {("id" if key == "ID" else key): value for key, value in author["content"].items()}
        sent["created_by_author"] = {**author, "content": content}
    for name in [name for name, value in back.items() if value in ({}, []) and name not in sent]:
        del back[name]
    for name in [name for name in sent if name.endswith("_at") and isinstance(sent[name], str)]:
        assert parse_timestamp(back.pop(name)) == parse_timestamp(sent.pop(name))
    assert back == sent
    assert {**out, "attributes": None} == {**document["data"], "attributes": None}


_ALL_FIELDS = {field.name for field in attrs.fields(CaseAttributes)}
