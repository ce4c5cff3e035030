"""The ``infra-review`` command line: every subcommand calls the same package functions
that the DAGs call, so what works here works in Airflow.

Errors end in one line on stderr and a non-zero exit, never a traceback: 2 for bad input
(file, line, field), 3 when the database is unreachable or failed, 1 for anything else.
``--debug`` shows the traceback too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from infra_review.errors import InputError

# Each module defines register(subparsers); add a module here to add a command group.
COMMAND_MODULES = (
    "infra_review.cli.db",
    "infra_review.cli.imports",
    "infra_review.cli.servers",
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
    parser.add_argument(
        "--debug", action="store_true", help="on an error, print the Python traceback too"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _database_error(exc: BaseException) -> bool:
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return False
    return isinstance(exc, psycopg2.Error)


def _fail(exc: BaseException, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, InputError):
        print(f"infra-review: error: {exc}", file=sys.stderr)
        return 2
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    hint = "" if debug else " (run with --debug for the traceback)"
    if _database_error(exc):
        print(
            f"infra-review: database error: {first}; nothing of this command's transaction "
            f"was written{hint}",
            file=sys.stderr,
        )
        return 3
    if isinstance(exc, OSError):
        print(f"infra-review: error: {exc}{hint}", file=sys.stderr)
        return 1
    print(f"infra-review: unexpected error: {type(exc).__name__}: {first}{hint}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print(
            "infra-review: interrupted; nothing of the open transaction was written",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        # the reader went away (`infra-review criteria | head`): not an error of ours;
        # point stdout at devnull so the interpreter's final flush stays quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into messages
        return _fail(exc, args.debug)


if __name__ == "__main__":
    sys.exit(main())
