"""The ``infra-review`` command line: every subcommand calls the same package functions
that the DAGs call, so what works here works in Airflow."""

from __future__ import annotations

import argparse
import importlib
import sys

from infra_review.errors import InputError

# Each module defines register(subparsers); add a module here to add a command group.
COMMAND_MODULES = (
    "infra_review.cli.db",
    "infra_review.cli.imports",
    "infra_review.cli.decisions",
    "infra_review.cli.decision",
    "infra_review.cli.summary",
    "infra_review.cli.demo",
    "infra_review.cli.review",
    "infra_review.cli.reporting",
    "infra_review.cli.collect",
    "infra_review.cli.criteria",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infra-review",
        description="Quarterly capacity and hosting-provider reviews, decided from evidence.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InputError as exc:
        print(f"infra-review: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
