"""``infra-review reporting``: the BI surface (reference data, generated docs, bi_reader)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("reporting", help="the reporting views for BI tools")
    sub = p.add_subparsers(dest="reporting_command", required=True, metavar="ACTION")
    sync = sub.add_parser(
        "sync", help="load criteria texts and thresholds and scrape intervals for the views"
    )
    sync.set_defaults(handler=_sync)
    docs = sub.add_parser("docs", help="write docs/reporting.md from the database's comments")
    docs.add_argument(
        "--out", type=Path, default=None, help="output file (default: docs/reporting.md)"
    )
    docs.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs, write nothing"
    )
    docs.set_defaults(handler=_docs)
    password = sub.add_parser(
        "bi-password",
        help="set bi_reader's login password from an environment variable (never an argument, "
        "which other users could read in the process list)",
    )
    password.add_argument("--env", default="BI_READER_PASSWORD", help="variable to read")
    password.set_defaults(handler=_password)


def _sync(args: argparse.Namespace) -> int:
    from infra_review.reporting.catalog import sync
    from infra_review.store.db import connect

    with connect() as conn:
        result = sync(conn)
    print(
        f"criteria {result.criteria_version}: {result.criteria} criteria; "
        f"{result.servers} server scrape interval(s)"
    )
    return 0


def _docs(args: argparse.Namespace) -> int:
    from infra_review.reporting.docs import describe, render_markdown, undocumented
    from infra_review.settings import project_root
    from infra_review.store.db import connect

    out: Path = args.out or project_root() / "docs" / "reporting.md"
    with connect() as conn:
        views = describe(conn)
    missing = undocumented(views)
    if missing:
        print("undocumented (add COMMENT ON): " + ", ".join(missing))
        return 1
    text = render_markdown(views)
    if args.check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print(f"{out}: {'up to date' if same else 'out of date; run infra-review reporting docs'}")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: {len(views)} views, {sum(len(v.columns) for v in views)} columns")
    return 0


def _password(args: argparse.Namespace) -> int:
    from infra_review.errors import InputError
    from infra_review.store.db import connect

    secret = os.environ.get(args.env, "")
    if len(secret) < 12:
        raise InputError(f"set {args.env} to a password of at least 12 characters", field=args.env)
    with connect() as conn, conn.cursor() as cur:
        # psycopg2 quotes the literal client-side, so the statement still takes a parameter.
        cur.execute("ALTER ROLE bi_reader WITH LOGIN PASSWORD %s", (secret,))
    print("bi_reader password set")
    return 0
