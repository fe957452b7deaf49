"""The fake's ground truth: its cases, by UUID and by key, and their cells.

A plain store with no I/O: the handlers read it, tests read and change it
while the server runs (``add_comment`` mid-walk), and assertions compare an
export with ``cells(case_id)``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

from aiocases.models import JSON
from aiocases.testing.data import FakeCase, Generator
from aiocases.testing.org import Organization

__all__ = ["CaseStore"]


class CaseStore:
    """Seeded cases (``cases`` of ``cells`` comments each, from ``seed``), and
    the organization they belong to (``org``: users, projects, case types)."""

    def __init__(self, cases: int = 0, cells: int = 0, *, seed: int = 0) -> None:
        self.generator = Generator(seed)
        self.org = Organization(self.generator)
        for user in self.generator.users:
            self.org.user(user)
        self.cases: dict[str, FakeCase] = {}
        self._by_key: dict[str, FakeCase] = {}
        for _ in range(cases):
            self.add_case(cells)

    def add_case(self, cells: int = 0, key: str | None = None) -> FakeCase:
        """Create a case with ``cells`` seeded comments (``key``: its case key, e.g. ``PROJ-123``)."""
        if key is not None and self.find(key) is not None:
            raise ValueError(f"a case {key} exists already")
        case = self.generator.case(cells, key)
        self.org.project(case.key.split("-")[0], project_id=case.project)
        self.cases[case.id] = case
        self._by_key[case.key] = case
        return case

    def new_key(self, project_key: str) -> str:
        """A case key of the project not taken yet (``PROJ-7``)."""
        number = len(self.cases) + 1
        while f"{project_key}-{number}" in self._by_key:
            number += 1
        return f"{project_key}-{number}"

    def rekey(self, case: FakeCase, key: str) -> None:
        """Give ``case`` a new key (a case moved to another project)."""
        del self._by_key[case.key]
        case.key = key
        case.attributes["key"] = key
        self._by_key[key] = case

    def add_comment(
        self, case_id: str, message: str | None = None, *, via_api: bool = False, created_at: str | None = None
    ) -> dict[str, JSON]:
        """Add a comment (newest) to a case; returns the cell.  ``via_api``:
        shaped as the API makes it (see :meth:`Generator.comment`);
        ``created_at``: its timestamp (the API's format), else a little after the last."""
        case = self._case(case_id)
        cell = self.generator.comment(message, via_api=via_api, created_at=created_at)
        case.append(cell)
        return cell

    def edit_comment(self, case_id: str, cell_id: str, message: str) -> dict[str, JSON] | None:
        """Replace a live comment's text (and set ``modified_at``); ``None`` if there is none."""
        return self._change(
            case_id,
            cell_id,
            lambda a: a.update(
                cell_content={"message": message}, content=json.dumps({"message": message}, separators=(",", ":"))
            ),
        )

    def delete_comment(self, case_id: str, cell_id: str) -> dict[str, JSON] | None:
        """Mark a live comment deleted (``deleted_at``; it stays in the timeline);
        ``None`` if there is none."""
        return self._change(case_id, cell_id, lambda a: a.update(deleted_at=a["modified_at"]))

    def _change(self, case_id: str, cell_id: str, change: Callable[[dict[str, JSON]], None]) -> dict[str, JSON] | None:
        case = self._case(case_id)
        index = case.index_of(cell_id)
        if index is None:
            return None
        cell = copy.deepcopy(case.cells[index])
        attributes = cell["attributes"]
        assert isinstance(attributes, dict)
        if attributes.get("deleted_at") is not None:
            return None  # deleted: as good as gone (the API answers 404)
        attributes["modified_at"] = self.generator.now()
        change(attributes)
        case.replace(index, cell)
        return cell

    def _case(self, case_id: str) -> FakeCase:
        case = self.find(case_id)
        if case is None:
            raise KeyError(case_id)
        return case

    def find(self, case_id: str) -> FakeCase | None:
        """The case with this UUID or key."""
        return self.cases.get(case_id) or self._by_key.get(case_id)

    def cells(self, case_id: str, ascending: bool = True) -> list[dict[str, JSON]]:
        """A case's cells in API JSON shape, oldest first unless ``ascending`` is false."""
        case = self._case(case_id)
        return list(case.cells) if ascending else case.cells[::-1]
