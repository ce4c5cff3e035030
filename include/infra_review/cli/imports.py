"""``infra-review import``: load CSV files by contract; a bad file writes nothing."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    imp = subparsers.add_parser("import", help="import a CSV file (contracts in DESIGN.md)")
    sub = imp.add_subparsers(dest="import_kind", required=True, metavar="KIND")
    for kind, help_text in (
        ("samples", "metric samples: ts,server,metric,value[,label]"),
        ("complaints", "user complaints: ts,service,server,category,text"),
        ("plans", "planned services: service,server,planned_for,ram_gb,cpu_cores"),
    ):
        p = sub.add_parser(kind, help=help_text)
        p.add_argument("file", help="CSV file with a header line")
        p.set_defaults(handler=_handler(kind))


def _handler(kind: str):
    def run(args: argparse.Namespace) -> int:
        from infra_review import imports

        func = {
            "samples": imports.import_samples,
            "complaints": imports.import_complaints,
            "plans": imports.import_plans,
        }[kind]
        result = func(args.file)
        print(f"{kind}: {result.rows_in} row(s) read, {result.rows_written} new or changed")
        return 0

    return run
