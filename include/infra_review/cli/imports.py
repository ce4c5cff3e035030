"""``infra-review import``: load CSV files by contract; a bad file writes nothing."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    imp = subparsers.add_parser(
        "import", help="import a CSV file (columns: infra-review import KIND --help)"
    )
    sub = imp.add_subparsers(dest="import_kind", required=True, metavar="KIND")
    for kind, help_text in (
        ("samples", "metric samples: ts,server,metric,value[,label]"),
        ("complaints", "user complaints: ts,service,server,category,text"),
        ("plans", "planned services: service,server,planned_for,ram_gb,cpu_cores"),
        ("invoices", "provider invoices: provider,month,line_item,amount,currency"),
        ("rates", "exchange rates: month,currency,base,rate (1 currency = rate base)"),
        ("tickets", "support tickets: provider,opened_at,first_response_at,resolved_at"),
    ):
        p = sub.add_parser(kind, help=help_text)
        p.add_argument("file", help="CSV file with a header line")
        p.set_defaults(handler=_handler(kind))


def _handler(kind: str):
    def run(args: argparse.Namespace) -> int:
        from infra_review import imports
        from infra_review.provider import loads as provider_imports

        func = {
            "samples": imports.import_samples,
            "complaints": imports.import_complaints,
            "plans": imports.import_plans,
            "invoices": provider_imports.import_invoices,
            "rates": provider_imports.import_rates,
            "tickets": provider_imports.import_tickets,
        }[kind]
        result = func(args.file)
        print(f"{kind}: {result.rows_in} row(s) read, {result.rows_written} new or changed")
        return 0

    return run
