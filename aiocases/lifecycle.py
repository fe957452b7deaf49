"""A case's lifecycle: read it, create it, change its fields, assign,
archive and move it, count and aggregate cases, update many at once.

The calls of :class:`~aiocases.client.CasesClient` named as the official
Python client names them; each mutation answers with the whole updated
:class:`~aiocases.models.Case`, its users resolved from the answer's
``included`` array (``case.assignee.name``).  Updates set a state and are
retried as reads are; ``create_case`` and ``bulk_update_cases`` act again
each time they are sent, so they are retried only when they cannot have
been carried out (see :mod:`aiocases.retry`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar

from aiocases import arguments, operations
from aiocases.errors import InvalidArgument
from aiocases.models import JSON, Case, CaseAggregate, CaseCount, CustomAttributeValue
from aiocases.operations import Request
from aiocases.operations.request import given
from aiocases.parsing import read_case, read_one, to_api_json

__all__ = ["Lifecycle", "custom_value"]

_T = TypeVar("_T")


class Calls:
    """What the mixins of :class:`~aiocases.client.CasesClient` call: one request, its answer read."""

    async def _call(self, request: Request, parse: Callable[[JSON], _T], *, speculative: bool = False) -> _T:
        raise NotImplementedError  # pragma: no cover - CasesClient's


class Lifecycle(Calls):
    """The case calls of :class:`~aiocases.client.CasesClient` (tier (a) of the reference)."""

    async def get_case(self, case_id: str) -> Case:
        """The case with this UUID or key (``PROJ-123``)."""
        return await self._call(operations.get_case(case_id), read_case)

    async def create_case(
        self,
        *,
        title: str,
        type_id: str,
        project_id: str,
        description: str | None = None,
        priority: str | None = None,
        status_name: str | None = None,
        custom_attributes: Mapping[str, object] | None = None,
        assignee_id: str | None = None,
    ) -> Case:
        """A new case of type ``type_id`` in ``project_id``.  ``custom_attributes``
        map a configuration's key to a value (see :func:`custom_value`).  Sent
        once: an error after which it may have been created sets ``outcome_unknown``."""
        attributes = given(
            title=arguments.text("title", title),
            type_id=arguments.text("type_id", type_id),
            description=None if description is None else arguments.string("description", description),
            priority=None if priority is None else arguments.text("priority", priority),
            status_name=None if status_name is None else arguments.text("status_name", status_name),
            custom_attributes=_custom_attributes(custom_attributes),
        )
        return await self._call(operations.create_case(attributes, project_id, assignee_id), read_case)

    async def update_status(self, case_id: str, *, status_name: str | None = None, status: str | None = None) -> Case:
        """Set the case's status: ``status_name`` (one of its type's statuses,
        such as ``Open`` or ``In Progress``), or the deprecated ``status``
        (``OPEN``, ``IN_PROGRESS``, ``CLOSED``; a :class:`DeprecationWarning`)."""
        if (status_name is None) == (status is None):
            raise InvalidArgument("give exactly one of status_name (such as 'In Progress') and status (deprecated)")
        if status is not None:
            warnings.warn("status is deprecated by the API: pass status_name", DeprecationWarning, stacklevel=2)
            arguments.text("status", status)
        else:
            arguments.text("status_name", status_name)
        return await self._call(operations.update_status(case_id, status_name, status), read_case)

    async def update_priority(self, case_id: str, priority: str) -> Case:
        """Set the priority: ``P1`` to ``P5``, or ``NOT_DEFINED``."""
        return await self._call(operations.update_priority(case_id, priority), read_case)

    async def update_case_title(self, case_id: str, title: str) -> Case:
        """Set the title."""
        return await self._call(operations.update_case_title(case_id, title), read_case)

    async def update_case_description(self, case_id: str, description: str) -> Case:
        """Set the description (Markdown)."""
        return await self._call(operations.update_case_description(case_id, description), read_case)

    async def update_attributes(self, case_id: str, attributes: Mapping[str, Sequence[str]]) -> Case:
        """Set the case's labels, all of them (``{"service": ["checkout"]}``)."""
        return await self._call(operations.update_attributes(case_id, attributes), read_case)

    async def update_case_due_date(self, case_id: str, due_date: date | None) -> Case:
        """Set the due date (``None`` clears it)."""
        if due_date is not None and not isinstance(due_date, date):
            raise InvalidArgument(f"due_date must be a datetime.date or None, got {due_date!r:.80}")
        day = None if due_date is None else due_date.isoformat()[:10]
        return await self._call(operations.update_case_due_date(case_id, day), read_case)

    async def update_case_resolved_reason(self, case_id: str, reason: str) -> Case:
        """Set why a security case was resolved (``FALSE_POSITIVE``, ``TRUE_POSITIVE``, ...)."""
        return await self._call(operations.update_case_resolved_reason(case_id, reason), read_case)

    async def update_case_custom_attribute(
        self, case_id: str, key: str, value: object, *, type: str | None = None
    ) -> Case:
        """Set the custom attribute ``key`` (its configuration's key) to ``value``
        (see :func:`custom_value`: the type is inferred when not given)."""
        body = to_api_json(custom_value(value, type=type))
        return await self._call(operations.update_case_custom_attribute(case_id, key, body), read_case)

    async def delete_case_custom_attribute(self, case_id: str, key: str) -> Case:
        """Remove the custom attribute ``key`` from the case."""
        return await self._call(operations.delete_case_custom_attribute(case_id, key), read_case)

    async def assign_case(self, case_id: str, assignee_id: str) -> Case:
        """Assign the case to the user with this UUID."""
        return await self._call(operations.assign_case(case_id, assignee_id), read_case)

    async def unassign_case(self, case_id: str) -> Case:
        """Leave the case unassigned."""
        return await self._call(operations.unassign_case(case_id), read_case)

    async def archive_case(self, case_id: str) -> Case:
        """Archive the case."""
        return await self._call(operations.archive_case(case_id), read_case)

    async def unarchive_case(self, case_id: str) -> Case:
        """Bring the case back from the archive."""
        return await self._call(operations.unarchive_case(case_id), read_case)

    async def move_case_to_project(self, case_id: str, project_id: str) -> Case:
        """Move the case to the project with this UUID."""
        return await self._call(operations.move_case_to_project(case_id, project_id), read_case)

    async def count_cases(
        self, query: str | None = None, *, group_by: Sequence[str] = (), limit: int | None = None
    ) -> CaseCount:
        """How many cases match ``query`` (search syntax; ``None``: all), by
        value of each field in ``group_by`` (``limit``: values per field)."""
        return await self._call(operations.count_cases(query, group_by, limit), lambda doc: read_one(CaseCount, doc))

    async def aggregate_cases(self, query: str, *, group_by: Sequence[str], limit: int) -> CaseAggregate:
        """The cases matching ``query`` aggregated by ``group_by`` (at most ``limit`` groups, up to 1,000)."""
        request = operations.aggregate_cases(query, group_by, limit)
        return await self._call(request, lambda doc: read_one(CaseAggregate, doc))

    async def bulk_update_cases(
        self, case_ids: Sequence[str], action: str, payload: Mapping[str, str] | None = None
    ) -> None:
        """One ``action`` on many cases: ``priority``, ``status``, ``assign``,
        ``unassign``, ``archive``, ``unarchive``, ``update_project``, ...;
        ``payload`` as the action needs it (``{"priority": "P1"}``).  Sent once."""
        await self._call(operations.bulk_update_cases(case_ids, action, payload), _nothing)


def _nothing(document: JSON) -> None:
    return None


def custom_value(value: object, *, type: str | None = None) -> CustomAttributeValue:
    """A custom attribute's value as the API takes it: ``value`` a string, a
    number, or a list of strings or of numbers (then ``is_multi``); ``type``
    (``URL``, ``TEXT``, ``NUMBER``, ``SELECT``) inferred when not given: a
    number is ``NUMBER``, a string ``TEXT``.  A :class:`CustomAttributeValue`
    passes as it is."""
    if isinstance(value, CustomAttributeValue):
        return value
    multi = isinstance(value, (list, tuple))
    items: list[Any] = list(value) if multi else [value]  # type: ignore[call-overload]
    if all(isinstance(item, str) for item in items):
        kind = "TEXT"
    elif all(isinstance(item, (int, float)) and not isinstance(item, bool) for item in items):
        kind = "NUMBER"
    else:
        raise InvalidArgument(
            f"a custom attribute's value is a string, a number, or a list of strings or of numbers; got {value!r:.80}"
        )
    if type is not None:
        kind = arguments.text("type", type)
    return CustomAttributeValue(type=kind, is_multi=multi, value=tuple(items) if multi else items[0])


def _custom_attributes(values: Mapping[str, object] | None) -> dict[str, JSON] | None:
    if values is None:
        return None
    if not isinstance(values, Mapping) or not all(isinstance(key, str) and key for key in values):
        raise InvalidArgument(f"custom_attributes must map attribute keys to values, got {values!r:.80}")
    return {key: to_api_json(custom_value(value)) for key, value in values.items()}
