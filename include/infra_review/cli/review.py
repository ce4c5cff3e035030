"""``infra-review review``: run a review from the command line (same code as the DAGs)."""

from __future__ import annotations

import importlib

# Each module defines register(review_subparsers); one module per review type.
REVIEW_MODULES: tuple[str, ...] = (
    "infra_review.cli.review_capacity",
    "infra_review.cli.review_provider",
)


def register(subparsers) -> None:
    review = subparsers.add_parser("review", help="run a quarterly review")
    sub = review.add_subparsers(dest="review_command", required=True, metavar="TYPE")
    for name in REVIEW_MODULES:
        importlib.import_module(name).register(sub)
