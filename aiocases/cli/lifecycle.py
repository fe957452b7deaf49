"""``aiocases case ...`` (read, create and change one case), ``aiocases
projects`` and ``aiocases types``: a human view by default, one JSON:API
object per line with ``--json``.

A project is named by its key (``OPS``) or its UUID, a case type by its name
(``Standard``, any case) or its UUID; a name costs one request to look up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from aiocases.arguments import is_uuid
from aiocases.cli.errors import EXIT_OK, UsageError, stdout
from aiocases.client import CasesClient
from aiocases.models import Case, CaseType, Project, User
from aiocases.parsing import to_api_json

__all__ = ["add_commands", "run"]

Command = Callable[[argparse.ArgumentParser], None]
_CASE = "the case's UUID or key (PROJ-123)"


def add_commands(
    commands: Any,
    command: Callable[[Any, str, str], argparse.ArgumentParser],
    api_options: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """Add ``case``, ``projects`` and ``types`` to the command line's ``commands``
    (``command`` adds one with the API's options, ``api_options`` adds them to a parser)."""
    text = "Read, create and change one case (get, create, status, assign, ...)."
    case = commands.add_parser("case", help=text, description=text)
    actions = case.add_subparsers(dest="action", metavar="ACTION", required=True, help="what to do with the case")
    for name, text, arguments in _ACTIONS:
        sub = api_options(actions.add_parser(name, help=text, description=text))
        if name != "create":
            sub.add_argument("case_id", metavar="CASE", help=_CASE)
        for flags, options in arguments:
            sub.add_argument(*flags, **options)
        sub.add_argument("--json", action="store_true", help="print the case as one JSON:API object")
    projects = command(commands, "projects", "List the projects: key, name and id.")
    projects.add_argument("--json", action="store_true", help="one JSON:API project object per line")
    types = command(commands, "types", "List the case types and their statuses.")
    types.add_argument("--json", action="store_true", help="one JSON:API case type object per line")
    types.add_argument("--deleted", action="store_true", help="list the deleted types too")


_ACTIONS: list[tuple[str, str, list[tuple[tuple[str, ...], dict[str, Any]]]]] = [
    ("get", "Show a case.", []),
    (
        "create",
        "Create a case; prints it.",
        [
            (("--title",), {"required": True, "help": "the case's title"}),
            (("--project",), {"required": True, "metavar": "PROJECT", "help": "the project's key (OPS) or UUID"}),
            (("--type",), {"default": "Standard", "metavar": "TYPE", "help": "case type name or UUID (Standard)"}),
            (("--description",), {"help": "the description, in Markdown"}),
            (("--priority",), {"help": "P1 to P5, or NOT_DEFINED"}),
            (("--status",), {"metavar": "STATUS", "help": "a status of the type (default: its first)"}),
            (("--assignee",), {"metavar": "USER_UUID", "help": "assign it to this user"}),
        ],
    ),
    ("status", "Set a case's status.", [(("status",), {"metavar": "STATUS", "help": "e.g. 'In Progress'"})]),
    ("priority", "Set a case's priority.", [(("priority",), {"metavar": "PRIORITY", "help": "P1 to P5, NOT_DEFINED"})]),
    ("title", "Set a case's title.", [(("title",), {"metavar": "TITLE", "help": "the new title"})]),
    ("description", "Set a case's description.", [(("description",), {"metavar": "TEXT", "help": "Markdown"})]),
    ("assign", "Assign a case to a user.", [(("assignee_id",), {"metavar": "USER_UUID", "help": "the user's UUID"})]),
    ("unassign", "Leave a case unassigned.", []),
    ("archive", "Archive a case.", []),
    ("unarchive", "Bring a case back from the archive.", []),
    ("move", "Move a case to another project.", [(("project",), {"metavar": "PROJECT", "help": "key or UUID"})]),
    (
        "attribute",
        "Set a custom attribute of a case (several VALUEs: a list), or remove it with --delete.",
        [
            (("key",), {"metavar": "KEY", "help": "the attribute's key, as its configuration names it"}),
            (("values",), {"nargs": "*", "metavar": "VALUE", "help": "its value (several: a list)"}),
            (("--type",), {"choices": ("URL", "TEXT", "NUMBER", "SELECT"), "help": "its type (default: TEXT)"}),
            (("--multi",), {"action": "store_true", "help": "a list, even of one value"}),
            (("--delete",), {"action": "store_true", "help": "remove the attribute from the case"}),
        ],
    ),
]


async def run(args: argparse.Namespace, client: CasesClient) -> int:
    """Run ``case ACTION``, ``projects`` or ``types``."""
    async with client:
        if args.command == "projects":
            _print_all(args, await client.get_projects(), _project_row, f"{'KEY':<10} {'NAME':<30} ID")
        elif args.command == "types":
            types = [t for t in await client.get_all_case_types() if args.deleted or not t.deleted]
            _print_all(args, types, _type_row, f"{'ID':<36}  {'NAME':<28} STATUSES")
        else:
            case = await _CHANGES[args.action](client, args)
            _print_case(args, case)
    return EXIT_OK


async def _create(client: CasesClient, args: argparse.Namespace) -> Case:
    return await client.create_case(
        title=args.title,
        type_id=await _type_id(client, args.type),
        project_id=await _project_id(client, args.project),
        description=args.description,
        priority=args.priority,
        status_name=args.status,
        assignee_id=args.assignee,
    )


async def _move(client: CasesClient, args: argparse.Namespace) -> Case:
    return await client.move_case_to_project(args.case_id, await _project_id(client, args.project))


async def _attribute(client: CasesClient, args: argparse.Namespace) -> Case:
    if args.delete:
        if args.values:
            raise UsageError("--delete takes no VALUE")
        return await client.delete_case_custom_attribute(args.case_id, args.key)
    if not args.values:
        raise UsageError("give the attribute's VALUE (several for a list), or --delete")
    values: list[Any] = [_number(v) for v in args.values] if args.type == "NUMBER" else list(args.values)
    value = values if args.multi or len(values) > 1 else values[0]
    return await client.update_case_custom_attribute(args.case_id, args.key, value, type=args.type)


def _number(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise UsageError(f"a NUMBER attribute takes numbers, got {text!r}") from None
    return int(number) if number.is_integer() and "." not in text else number


_CHANGES: dict[str, Callable[[CasesClient, argparse.Namespace], Coroutine[Any, Any, Case]]] = {
    "get": lambda c, a: c.get_case(a.case_id),
    "create": _create,
    "status": lambda c, a: c.update_status(a.case_id, status_name=a.status),
    "priority": lambda c, a: c.update_priority(a.case_id, a.priority),
    "title": lambda c, a: c.update_case_title(a.case_id, a.title),
    "description": lambda c, a: c.update_case_description(a.case_id, a.description),
    "assign": lambda c, a: c.assign_case(a.case_id, a.assignee_id),
    "unassign": lambda c, a: c.unassign_case(a.case_id),
    "archive": lambda c, a: c.archive_case(a.case_id),
    "unarchive": lambda c, a: c.unarchive_case(a.case_id),
    "move": _move,
    "attribute": _attribute,
}


async def _project_id(client: CasesClient, name: str) -> str:
    if is_uuid(name):
        return name
    projects = await client.get_projects()
    for project in projects:
        if (project.attributes.key or "").upper() == name.upper():
            return project.id
    known = ", ".join(sorted(p.attributes.key or p.id for p in projects)) or "none"
    raise UsageError(f"no project has the key {name!r} (projects: {known})")


async def _type_id(client: CasesClient, name: str) -> str:
    if is_uuid(name):
        return name
    types = [t for t in await client.get_all_case_types() if not t.deleted]
    for case_type in types:
        if (case_type.name or "").casefold() == name.casefold():
            return case_type.id
    known = ", ".join(sorted(t.name or t.id for t in types)) or "none"
    raise UsageError(f"no case type is named {name!r} (types: {known})")


def _print_all(args: argparse.Namespace, items: list[Any], row: Callable[[Any], str], header: str) -> None:
    out = stdout()
    if args.json:
        for item in items:
            out.write(json.dumps(to_api_json(item)).encode() + b"\n")
        return
    if not items:
        print(f"no {args.command} found", file=sys.stderr)
        return
    out.write(header.encode() + b"\n")
    for item in items:
        out.write(row(item).encode("utf-8", "backslashreplace") + b"\n")


def _project_row(project: Project) -> str:
    return f"{project.attributes.key or '-':<10} {project.attributes.name or '':<30} {project.id}"


def _type_row(case_type: CaseType) -> str:
    statuses = ", ".join(case_type.statuses)
    deleted = " (deleted)" if case_type.deleted else ""
    return f"{case_type.id:<36}  {(case_type.name or '') + deleted:<28} {statuses}"


def _print_case(args: argparse.Namespace, case: Case) -> None:
    out = stdout()
    if args.json:
        out.write(json.dumps(to_api_json(case)).encode() + b"\n")
        return
    lines = [f"{case.key or case.id}  {case.status or '-'}  {case.priority or '-'}  {case.title or ''}"]
    fields = {
        "id": case.id,
        "type": case.type_id,
        "project": case.project,
        "assignee": _user(case.assignee, case.assignee_id),
        "created": _when(case.created_at, _user(case.created_by, case.related("created_by"))),
        "modified": _when(case.modified_at, _user(case.modified_by, case.related("modified_by"))),
        "closed": _when(case.closed_at, None),
        "archived": _when(case.archived_at, None),
        "labels": "; ".join(f"{k}={','.join(v)}" for k, v in case.labels.items()),
        "custom": "; ".join(f"{k}={_value(v.value)}" for k, v in case.custom_attributes.items()),
        "comments": None if case.comment_count is None else str(case.comment_count),
    }
    lines += [f"  {name:<9} {value}" for name, value in fields.items() if value]
    out.write("\n".join(lines).encode("utf-8", "backslashreplace") + b"\n")


def _user(user: User | None, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    name = (user.name or user.email) if user is not None else None
    return f"{name} ({user_id})" if name else user_id


def _when(moment: datetime | None, who: str | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds") + (f" by {who}" if who else "")


def _value(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
