"""Case types and custom-attribute configurations (tier (c) of
``shared/api/case-management-operations.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiocases.operations.request import CASES, Request, document, segment

__all__ = [
    "create_case_type",
    "create_custom_attribute_config",
    "delete_case_type",
    "delete_custom_attribute_config",
    "get_all_case_types",
    "get_all_custom_attribute_configs_by_case_type",
    "get_all_custom_attributes",
    "update_case_type",
    "update_custom_attribute_config",
]

_TYPES = f"{CASES}/types"


def _type(case_type_id: str, *tail: str) -> str:
    return "/".join((_TYPES, segment("case_type_id", case_type_id), *tail))


def _attribute(case_type_id: str, custom_attribute_id: str) -> str:
    return _type(case_type_id, "custom_attributes", segment("custom_attribute_id", custom_attribute_id))


def get_all_case_types() -> Request:
    """``GET /api/v2/cases/types``: every case type, deleted ones included."""
    return Request("get_all_case_types", "GET", _TYPES, "", "types", 200)


def create_case_type(attributes: Mapping[str, Any]) -> Request:
    """``POST /api/v2/cases/types``: 201, the new type."""
    return Request(
        "create_case_type", "POST", _TYPES, "", "types", 201, document("case_type", attributes), effect="once"
    )


def update_case_type(case_type_id: str, attributes: Mapping[str, Any]) -> Request:
    """``PUT /api/v2/cases/types/{case_type_id}``."""
    body = document("case_type", attributes)
    return Request("update_case_type", "PUT", _type(case_type_id), "", "types", 200, body, effect="set")


def delete_case_type(case_type_id: str) -> Request:
    """``DELETE /api/v2/cases/types/{case_type_id}``: 204 (again for a type deleted already)."""
    path = _type(case_type_id)
    return Request(
        "delete_case_type", "DELETE", path, "", "types", 204, document=False, effect="set", gone_is_done=True
    )


def get_all_custom_attributes() -> Request:
    """``GET /api/v2/cases/types/custom_attributes``: the configurations of every type."""
    return Request("get_all_custom_attributes", "GET", f"{_TYPES}/custom_attributes", "", "types", 200)


def get_all_custom_attribute_configs_by_case_type(case_type_id: str) -> Request:
    """``GET /api/v2/cases/types/{case_type_id}/custom_attributes``."""
    path = _type(case_type_id, "custom_attributes")
    return Request("get_all_custom_attribute_configs_by_case_type", "GET", path, "", "types", 200)


def create_custom_attribute_config(case_type_id: str, attributes: Mapping[str, Any]) -> Request:
    """``POST /api/v2/cases/types/{case_type_id}/custom_attributes``: 201, the new configuration."""
    path = _type(case_type_id, "custom_attributes")
    body = document("custom_attribute", attributes)
    return Request("create_custom_attribute_config", "POST", path, "", "types", 201, body, effect="once")


def update_custom_attribute_config(
    case_type_id: str, custom_attribute_id: str, attributes: Mapping[str, Any]
) -> Request:
    """``PUT /api/v2/cases/types/{case_type_id}/custom_attributes/{custom_attribute_id}``."""
    body = document("custom_attribute", attributes)
    path = _attribute(case_type_id, custom_attribute_id)
    return Request("update_custom_attribute_config", "PUT", path, "", "types", 200, body, effect="set")


def delete_custom_attribute_config(case_type_id: str, custom_attribute_id: str) -> Request:
    """``DELETE /api/v2/cases/types/{case_type_id}/custom_attributes/{custom_attribute_id}``: 204."""
    path = _attribute(case_type_id, custom_attribute_id)
    return Request(
        "delete_custom_attribute_config", "DELETE", path, "", "types", 204,
        document=False, effect="set", gone_is_done=True,
    )  # fmt: skip
