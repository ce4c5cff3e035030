"""``infra-review decision accept|dismiss|implemented|events ID``: a decision's lifecycle.

Refuses a change the lifecycle does not allow (for example ``implemented`` before
``accept``) with a message that says why, and writes nothing then.
"""

from __future__ import annotations

import argparse
import json
from datetime import date


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "decision", help="accept, dismiss or mark implemented a decision; show its events"
    )
    sub = p.add_subparsers(dest="decision_command", required=True, metavar="ACTION")
    helps = {
        "accept": "the team will do what the decision asks",
        "dismiss": "the team will not do it (--note says why)",
        "implemented": "it was done (--on DATE, default today)",
    }
    for command, text in helps.items():
        q = sub.add_parser(command, help=text)
        q.add_argument("decision_id", type=int, metavar="ID")
        q.add_argument("--by", required=True, metavar="NAME", help="who makes the change")
        q.add_argument("--note", metavar="TEXT", help="why, or what was done")
        if command == "implemented":
            q.add_argument("--on", type=_date, dest="implemented_on", metavar="DATE")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(handler=_change, command_name=command)
    q = sub.add_parser("events", help="every lifecycle event of a decision (or of all)")
    q.add_argument("decision_id", type=int, nargs="?", metavar="ID")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=_events)


def _change(args: argparse.Namespace) -> int:
    from infra_review.lifecycle.store import transition
    from infra_review.store.db import connect

    with connect() as conn:
        done = transition(
            conn,
            args.decision_id,
            args.command_name,
            args.by,
            args.note,
            getattr(args, "implemented_on", None),
        )
    if args.json:
        print(json.dumps(done, default=str))
        return 0
    line = f"decision {done['decision_id']} ({done['decision']}): {done['from_state']} -> "
    line += f"{done['to_state']} by {done['by']}"
    if done["implemented_on"]:
        line += f" on {done['implemented_on']}"
    print(line + (f": {done['note']}" if done["note"] else ""))
    return 0


def _events(args: argparse.Namespace) -> int:
    from infra_review.lifecycle.store import events
    from infra_review.store.db import connect

    with connect() as conn:
        rows = events(conn, args.decision_id)
    if args.json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
        return 0
    if not rows:
        print("no events")
    for e in rows:
        print(
            f"{e['at']:%Y-%m-%d %H:%M} decision {e['decision_id']}: "
            f"{e['from_state'] or '-'} -> {e['to_state']} by {e['author']}"
            + (f" on {e['implemented_on']}" if e["implemented_on"] else "")
            + (f": {e['note']}" if e["note"] else "")
        )
    return 0
