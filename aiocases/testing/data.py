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

__all__ = ["FakeCase", "Generator", "format_nanos"]

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


def format_nanos(moment: datetime, nanos: int) -> str:
    """``2025-12-30T13:49:46.968106806Z``: UTC, nine fractional digits, as the API sends."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@define
class FakeCase:
    """One case of the fake: its UUID, its key, cells oldest first (API JSON
    shape, pre-encoded for speed) and watcher UUIDs."""

    id: str
    key: str
    cells: list[dict[str, JSON]] = field(factory=list)
    encoded: list[bytes] = field(factory=list)
    watchers: list[str] = field(factory=list)

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
        self._clock = start or datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
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
        for _ in range(cells):
            case.append(self.comment())
        return case

    @property
    def api_user(self) -> dict[str, JSON]:
        """The user whose keys call the fake: the author of comments added through the API."""
        return self._users[0]

    def now(self) -> str:
        """A timestamp a little after the last one, in the API's format."""
        self._clock += timedelta(seconds=self._rng.randint(1, 3600))
        return format_nanos(self._clock, self._rng.randrange(10**9))

    def comment(
        self, message: str | None = None, author: dict[str, JSON] | None = None, *, via_api: bool = False
    ) -> dict[str, JSON]:
        """A comment cell, created a little after the previous one.  ``via_api``:
        as a comment added through the API looks (recorded): by the API's user,
        with ``content`` holding the ``cell_content`` object as a JSON string,
        never edited or deleted yet."""
        created = self.now()
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
