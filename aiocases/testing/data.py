"""Seeded, realistic Case Management data for the fake API.

Cells are stored in the shape real responses have, which differs from the
reference page (``shared/api/README.md``): the author id as ``ID`` with an
undocumented ``active``, an undocumented ``content`` string in the
attributes, ``modified_at``/``deleted_at`` often absent, and timestamps with
nine fractional digits and ``Z``.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone

from attrs import define, field

from aiocases.models import JSON

__all__ = ["STANDARD_TYPE", "FakeCase", "Generator", "format_nanos"]

#: The id of the built-in Standard case type.
STANDARD_TYPE = "00000000-0000-0000-0000-000000000001"

_FIRST = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Tim", "Radia", "Guido", "Hedy"]
_LAST = [
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Berners-Lee",
    "Perlman",
]
_PROJECTS = ["PROJ", "SEC", "OPS", "INC"]
_PHRASES = [
    "Paged the on-call for **{svc}**; error rate at {n}% since the last deploy.",
    "Rolled back `{svc}` to the previous build. Watching the dashboards.",
    "Root cause looks like connection pool exhaustion in {svc}:\n\n- p99 latency {n}ms\n- retries doubled",
    "Customer impact confirmed for {n} accounts. See [the runbook](https://example.invalid/runbooks/{svc}).",
    "Closing the loop: `{svc}` healthy for {n} minutes, lowering severity.",
    "> {svc} alert fired again\n\nSilenced for {n} minutes while we investigate.",
    "Timeline note: unicode is fine here too, ✓ {svc} — {n} ünïcödé points.",
]
_SERVICES = ["checkout", "auth-gateway", "search-api", "billing", "ingest", "notifications"]
_TITLES = [
    "Error rate spike on {svc}",
    "Memory leak investigation on {svc}",
    "Latency regression after deploy of {svc}",
    "Customer reports: {svc} timing out",
    "Certificate expiry on {svc}",
]
_STATUSES = ["OPEN", "IN_PROGRESS", "CLOSED"]
_PRIORITIES = ["NOT_DEFINED", "P1", "P2", "P3", "P4", "P5"]


def format_nanos(moment: datetime, nanos: int) -> str:
    """``2025-12-30T13:49:46.968106806Z``: UTC, nine fractional digits, as the API sends."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@define
class FakeCase:
    """One case of the fake: its UUID, its key, cells oldest first (API JSON
    shape, pre-encoded for speed), watcher UUIDs, and what "Search cases"
    shows of it (``attributes`` and ``relationships``, in the shape real
    responses have)."""

    id: str
    key: str
    cells: list[dict[str, JSON]] = field(factory=list)
    encoded: list[bytes] = field(factory=list)
    watchers: list[str] = field(factory=list)
    attributes: dict[str, JSON] = field(factory=dict)
    relationships: dict[str, JSON] = field(factory=dict)

    def document(self, *, search: bool = False) -> dict[str, JSON]:
        """The case as "Get case" and every update answer it, or as "Search
        cases" does (``search``: with ``created_by_author``), ``comment_count``
        as of now."""
        attributes = {**self.attributes, "comment_count": len(self.cells)}
        if not search:
            del attributes["created_by_author"]
        return {"id": self.id, "type": "case", "attributes": attributes, "relationships": self.relationships}

    @property
    def project(self) -> str:
        """The id of the case's project."""
        project = self.relationships["project"]
        assert isinstance(project, dict) and isinstance(project["data"], dict)
        return str(project["data"]["id"])

    def append(self, cell: dict[str, JSON]) -> None:
        """Add a cell at the newest end."""
        self.cells.append(cell)
        self.encoded.append(_encode(cell))

    def index_of(self, cell_id: str) -> int | None:
        """Where the cell with this id is, oldest first."""
        for index, cell in enumerate(self.cells):
            if cell["id"] == cell_id:
                return index
        return None

    def replace(self, index: int, cell: dict[str, JSON]) -> None:
        """Put ``cell`` in place of the cell at ``index`` (an edit or a deletion)."""
        self.cells[index] = cell
        self.encoded[index] = _encode(cell)


def _encode(cell: dict[str, JSON]) -> bytes:
    try:
        return json.dumps(cell, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: sent as its \uXXXX escape, as JSON allows
        return json.dumps(cell, separators=(",", ":")).encode()


class Generator:
    """Makes users, cases and comments from one seed: the same seed gives the same data."""

    def __init__(self, seed: int = 0, start: datetime | None = None) -> None:
        self._rng = random.Random(seed)
        self._seed = seed
        self._clock = start or datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
        self._start = self._clock - timedelta(days=365)
        self._users = [self._user() for _ in range(12)]
        self._serial = 0

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _user(self) -> dict[str, JSON]:
        first, last = self._rng.choice(_FIRST), self._rng.choice(_LAST)
        email = f"{first}.{last}@example.com".lower()
        return {"ID": self._uuid(), "name": f"{first} {last}", "email": email, "handle": email, "active": True}

    def user_uuid(self) -> str:
        """A fresh user UUID (not one of the authors)."""
        return self._uuid()

    def case(self, cells: int, key: str | None = None) -> FakeCase:
        """A new case with ``cells`` comments (``key``: its case key, else a generated one)."""
        self._serial += 1
        project = _PROJECTS[self._serial % len(_PROJECTS)]
        case = FakeCase(id=self._uuid(), key=key or f"{project}-{self._serial}")
        self._describe(case, (key or project).split("-")[0])
        for _ in range(cells):
            case.append(self.comment())
        return case

    def _describe(self, case: FakeCase, project: str) -> None:
        """What search shows of a case, from a generator of its own (so that
        the cells of a seed are the same as before search existed)."""
        rng = random.Random(f"{self._seed}|case|{self._serial}")
        status = rng.choice(_STATUSES)
        author = rng.choice(self._users)
        created = self._start + timedelta(seconds=self._serial * 600 + rng.randrange(600))
        modified = created + timedelta(hours=rng.randrange(1, 500))
        case.attributes = {
            "attributes": {},
            "creation_source": "MANUAL",
            "internal_id": case.id,
            "key": case.key,
            "public_id": str(70000 + self._serial),
            "title": f"{rng.choice(_TITLES).format(svc=rng.choice(_SERVICES))} ({case.key})",
            "description": "",
            "status": status,
            "status_name": status.replace("_", " ").title(),
            "status_group": f"SG_{status}",
            "priority": rng.choice(_PRIORITIES),
            "type": "STANDARD",
            "type_id": STANDARD_TYPE,
            "created_at": format_nanos(created, rng.randrange(10**9)),
            "modified_at": format_nanos(modified, rng.randrange(10**9)),
            "created_by_author": {"type": "USER", "content": dict(author)},
            "custom_attributes": {},
            "insights": [],
            "merge_status": "NOT_MERGED",
        }
        if status == "CLOSED":
            case.attributes["closed_at"] = case.attributes["modified_at"]
        project_id = self.project_id(project)
        case.relationships = {
            "created_by": {"data": {"id": author["ID"], "type": "user"}},
            "project": {"data": {"id": project_id, "type": "project"}},
        }

    def project_id(self, project: str) -> str:
        """The id of the project whose case keys start with ``project`` (``PROJ``)."""
        return str(uuid.UUID(int=random.Random(f"{self._seed}|project|{project}").getrandbits(128), version=4))

    @property
    def users(self) -> list[dict[str, JSON]]:
        """The organization's users, as timeline authors show them (``ID``, ``name``, ...)."""
        return list(self._users)

    @property
    def api_user(self) -> dict[str, JSON]:
        """The user whose keys call the fake: the author of comments added through the API."""
        return self._users[0]

    def now(self) -> str:
        """A timestamp a little after the last one, in the API's format."""
        self._clock += timedelta(seconds=self._rng.randint(1, 3600))
        return format_nanos(self._clock, self._rng.randrange(10**9))

    def comment(
        self,
        message: str | None = None,
        author: dict[str, JSON] | None = None,
        *,
        via_api: bool = False,
        created_at: str | None = None,
    ) -> dict[str, JSON]:
        """A comment cell, created a little after the previous one (or at
        ``created_at``, a timestamp in the API's format).  ``via_api``: as a
        comment added through the API looks (recorded): by the API's user,
        with ``content`` holding the ``cell_content`` object as a JSON string,
        never edited or deleted yet."""
        created = self.now() if created_at is None else created_at
        text = message if message is not None else self._message()
        attributes: dict[str, JSON] = {
            "author": {
                "type": "USER",
                "content": dict(author or (self.api_user if via_api else self._rng.choice(self._users))),
            },
            "cell_content": {"message": text},
            "content": json.dumps({"message": text}, separators=(",", ":")) if via_api else text,
            "created_at": created,
            "type": "COMMENT",
        }
        roll = self._rng.random()
        if via_api:
            pass
        elif roll < 0.2:
            attributes["modified_at"] = format_nanos(self._clock + timedelta(minutes=5), self._rng.randrange(10**9))
        elif roll < 0.25:
            attributes["modified_at"] = created
            attributes["deleted_at"] = format_nanos(self._clock + timedelta(hours=1), self._rng.randrange(10**9))
        return {"attributes": attributes, "id": self._uuid(), "type": "timeline_cell"}

    def _message(self) -> str:
        phrase = self._rng.choice(_PHRASES)
        return phrase.format(svc=self._rng.choice(_SERVICES), n=self._rng.randint(1, 99))
