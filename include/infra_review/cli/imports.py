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
        if kind == "samples":
            p.add_argument(
                "--strict",
                action="store_true",
                help="refuse server names that fleet.yaml does not list (typos such as app-l)",
            )
            p.add_argument(
                "--force",
                action="store_true",
                help="import even if this exact file was imported before",
            )
            p.set_defaults(handler=_samples)
        else:
            p.set_defaults(handler=_handler(kind))


def _samples(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infra_review.imports import import_samples
    from infra_review.progress import Progress

    progress = Progress(Path(args.file).name)
    try:
        result = import_samples(args.file, strict=args.strict, force=args.force, progress=progress)
    finally:
        progress.close()
    if result.already_loaded_at is not None:
        print(
            f"samples: already imported at {result.already_loaded_at:%Y-%m-%d %H:%M:%S %Z} "
            f"({result.source}, same content and contract): {result.rows_in} row(s); "
            "nothing to do (--force imports it again)"
        )
        return 0
    print(
        f"samples: {result.rows_in} row(s) read, {result.rows_written} new or changed, "
        f"{result.new_series} new series"
    )
    if result.unknown_servers:
        names = ", ".join(
            f"{name} (line {line})" for name, line in sorted(result.unknown_servers.items())
        )
        print(
            f"note: {len(result.unknown_servers)} server(s) not in fleet.yaml: {names}. "
            "A typo? `infra-review servers forget NAME` removes one with its samples; "
            "--strict refuses them."
        )
    return 0


def _handler(kind: str):
    def run(args: argparse.Namespace) -> int:
        from infra_review import imports
        from infra_review.provider import loads as provider_imports

        func = {
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
