"""Cases: the documents of "Get case", "Search cases", every case mutation,
"Count cases" and "Aggregate cases" (``shared/api/case-management-operations.md``
sections 3.2 to 3.4 and 3.10)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from attrs import frozen

from aiocases.models._base import JSON, Value, included, mapping, unlisted, values
from aiocases.models.timeline import Author, ResourceRef

__all__ = [
    "Case",
    "CaseAggregate",
    "CaseAggregateAttributes",
    "CaseAggregateGroup",
    "CaseAttributes",
    "CaseCount",
    "CaseCountAttributes",
    "CaseCountGroup",
    "CaseCountValue",
    "CaseInsight",
    "CaseRelationships",
    "CustomAttributeValue",
    "CustomValue",
    "JiraIssue",
    "JiraIssueResult",
    "Relationship",
    "ServiceNowTicket",
    "ServiceNowTicketResult",
    "User",
    "UserAttributes",
]

#: A custom attribute's value: one string or number, or a list of them (``is_multi``).
CustomValue = str | float | tuple[str, ...] | tuple[float, ...]


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class Relationship(Value):
    """A JSON:API relationship: ``{"data": {"id": ..., "type": ...}}`` (``data`` may be null)."""

    data: ResourceRef | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseRelationships(Value):
    """``relationships`` of a case: the users it is assigned to, created and
    modified by, and its project."""

    assignee: Relationship | None = None
    created_by: Relationship | None = None
    modified_by: Relationship | None = None
    project: Relationship | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class UserAttributes(Value):
    """``attributes`` of a user of ``included``: real answers carry ``active``,
    ``email``, ``handle`` and ``name`` (empty for a user never signed in)."""

    name: str | None = None
    email: str | None = None
    handle: str | None = None
    active: bool | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class User(Value):
    """A user of a document's ``included`` array (the API's schema lists none:
    real answers carry one for each user a case refers to)."""

    id: str
    type: str
    attributes: UserAttributes | None = None
    extra: Mapping[str, JSON] = unlisted()

    @property
    def name(self) -> str | None:
        """The user's name (``attributes.name``)."""
        return None if self.attributes is None else self.attributes.name

    @property
    def email(self) -> str | None:
        """The user's e-mail address (``attributes.email``)."""
        return None if self.attributes is None else self.attributes.email

    @property
    def handle(self) -> str | None:
        """The user's handle (``attributes.handle``)."""
        return None if self.attributes is None else self.attributes.handle

    @property
    def active(self) -> bool | None:
        """Whether the user is active (``False`` for one never signed in)."""
        return None if self.attributes is None else self.attributes.active


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseInsight(Value):
    """A resource linked to a case (``type`` such as ``MONITOR``, ``ref`` a path inside Datadog)."""

    type: str | None = None
    ref: str | None = None
    resource_id: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CustomAttributeValue(Value):
    """A custom attribute's value on a case, and the body that sets it:
    ``type`` (``URL``, ``TEXT``, ``NUMBER``, ``SELECT``), ``is_multi`` (then
    ``value`` is a tuple) and ``value``."""

    type: str | None = None
    is_multi: bool | None = None
    value: CustomValue | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class JiraIssueResult(Value):
    """``jira_issue.result``: the issue a case created or was linked to."""

    issue_id: str | None = None
    issue_key: str | None = None
    issue_url: str | None = None
    project_key: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class JiraIssue(Value):
    """``jira_issue`` of a case: ``status`` ``IN_PROGRESS``, ``COMPLETED`` or ``FAILED``."""

    result: JiraIssueResult | None = None
    status: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class ServiceNowTicketResult(Value):
    """``service_now_ticket.result``."""

    sys_target_link: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class ServiceNowTicket(Value):
    """``service_now_ticket`` of a case: ``status`` as :class:`JiraIssue`'s."""

    result: ServiceNowTicketResult | None = None
    status: str | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseAttributes(Value):
    """``attributes`` of a case: every field of the reference, and those real
    answers carry beyond it (``comment_count``, ``creation_source``,
    ``insights``, ``internal_id``, ``merge_status``, ``public_id``, and
    ``created_by_author`` on search results).  ``status`` and ``type`` are
    deprecated by the API (``status_name`` and ``type_id`` replace them);
    values the client does not know (``TUNKNOWN``) stay as sent.
    ``attributes`` are the case's labels (``{"service": ("checkout",)}``)."""

    key: str | None = None
    public_id: str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    status_name: str | None = None
    status_group: str | None = None
    priority: str | None = None
    type: str | None = None
    type_id: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    closed_at: datetime | None = None
    archived_at: datetime | None = None
    created_by_author: Author | None = None
    attributes: Mapping[str, tuple[str, ...]] = mapping()
    custom_attributes: Mapping[str, CustomAttributeValue] = mapping()
    insights: tuple[CaseInsight, ...] = values()
    comment_count: int | None = None
    creation_source: str | None = None
    internal_id: str | None = None
    merge_status: str | None = None
    jira_issue: JiraIssue | None = None
    service_now_ticket: ServiceNowTicket | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class Case(Value):
    """One case, with its most used fields at hand (``case.key``,
    ``case.status``, ``case.project``, ...).  ``assignee``, ``created_by`` and
    ``modified_by`` are the users of the answer's ``included`` array its
    relationships name (``None`` when the answer had none)."""

    id: str
    type: str
    attributes: CaseAttributes
    relationships: CaseRelationships | None = None
    extra: Mapping[str, JSON] = unlisted()
    assignee: User | None = included()  # noqa: RUF009
    created_by: User | None = included()  # noqa: RUF009
    modified_by: User | None = included()  # noqa: RUF009

    @property
    def key(self) -> str | None:
        """The case's key, such as ``PROJ-123``."""
        return self.attributes.key

    @property
    def public_id(self) -> str | None:
        """The case's public number (real responses carry it; the schema does not list it)."""
        return self.attributes.public_id

    @property
    def title(self) -> str | None:
        """The case's title."""
        return self.attributes.title

    @property
    def description(self) -> str | None:
        """The case's description."""
        return self.attributes.description

    @property
    def status(self) -> str | None:
        """``status_name`` where the response has it (``Open``, ``Closed``, ...), else the deprecated ``status``."""
        return self.attributes.status_name or self.attributes.status

    @property
    def priority(self) -> str | None:
        """``P1`` to ``P5``, or ``NOT_DEFINED``."""
        return self.attributes.priority

    @property
    def status_name(self) -> str | None:
        """The status, one of the case type's (``Open``, ``In Progress``, ``Closed``, ...)."""
        return self.attributes.status_name

    @property
    def status_group(self) -> str | None:
        """``SG_OPEN``, ``SG_IN_PROGRESS`` or ``SG_CLOSED``."""
        return self.attributes.status_group

    @property
    def type_id(self) -> str | None:
        """The id of the case's type (see :meth:`~aiocases.CasesClient.get_all_case_types`)."""
        return self.attributes.type_id

    @property
    def comment_count(self) -> int | None:
        """How many comments the case has (real answers carry it; the schema does not list it)."""
        return self.attributes.comment_count

    @property
    def labels(self) -> Mapping[str, tuple[str, ...]]:
        """The case's labels, ``attributes.attributes`` (``{"service": ("checkout",)}``)."""
        return self.attributes.attributes

    @property
    def custom_attributes(self) -> Mapping[str, CustomAttributeValue]:
        """The custom attributes set on the case, by their configuration's key."""
        return self.attributes.custom_attributes

    @property
    def created_at(self) -> datetime | None:
        """When the case was created."""
        return self.attributes.created_at

    @property
    def modified_at(self) -> datetime | None:
        """When the case was last modified."""
        return self.attributes.modified_at

    @property
    def closed_at(self) -> datetime | None:
        """When the case was closed (``None`` while it is not)."""
        return self.attributes.closed_at

    @property
    def archived_at(self) -> datetime | None:
        """When the case was archived (``None`` while it is not)."""
        return self.attributes.archived_at

    @property
    def archived(self) -> bool:
        """Whether the case is archived (``archived_at`` is set)."""
        return self.attributes.archived_at is not None

    @property
    def project(self) -> str | None:
        """The id of the case's project, from ``relationships.project``."""
        return self.related("project")

    @property
    def assignee_id(self) -> str | None:
        """The assigned user's UUID, from ``relationships.assignee`` (``None``: unassigned)."""
        return self.related("assignee")

    @property
    def author(self) -> Author | None:
        """Who created the case (``attributes.created_by_author``, on search results)."""
        return self.attributes.created_by_author

    def related(self, name: str) -> str | None:
        """The id a relationship (``assignee``, ``created_by``, ``modified_by``, ``project``) points to."""
        relationship: Relationship | None = getattr(self.relationships, name, None)
        return None if relationship is None or relationship.data is None else relationship.data.id


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseCountValue(Value):
    """One value of a field and how many cases have it."""

    value: str | None = None
    count: int | None = None
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseCountGroup(Value):
    """The counts of one field (``group``), by value."""

    group: str | None = None
    group_values: tuple[CaseCountValue, ...] = values()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseCountAttributes(Value):
    """``attributes`` of a "Count cases" answer."""

    groups: tuple[CaseCountGroup, ...] = values()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseCount(Value):
    """The answer of "Count cases": counts by value of each field grouped by."""

    id: str
    type: str
    attributes: CaseCountAttributes
    extra: Mapping[str, JSON] = unlisted()

    @property
    def groups(self) -> tuple[CaseCountGroup, ...]:
        """``attributes.groups``."""
        return self.attributes.groups


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseAggregateGroup(Value):
    """One group of an aggregation: its value (such as ``OPEN``) and numbers."""

    group: str | None = None
    value: tuple[float, ...] = values()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseAggregateAttributes(Value):
    """``attributes`` of an "Aggregate cases" answer."""

    total: float | None = None
    groups: tuple[CaseAggregateGroup, ...] = values()
    extra: Mapping[str, JSON] = unlisted()


@frozen(slots=False, getstate_setstate=False)  # see aiocases/models/_base.py
class CaseAggregate(Value):
    """The answer of "Aggregate cases": a total and one number per group."""

    id: str
    type: str
    attributes: CaseAggregateAttributes
    extra: Mapping[str, JSON] = unlisted()

    @property
    def total(self) -> float | None:
        """``attributes.total``."""
        return self.attributes.total

    @property
    def groups(self) -> tuple[CaseAggregateGroup, ...]:
        """``attributes.groups``."""
        return self.attributes.groups
