"""``infra-review demo``: the bundled sample quarter and the walk-through behind `make demo`."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="the bundled sample quarter")
    sub = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    gen = sub.add_parser("generate", help="write the sample quarter's CSV files")
    gen.add_argument("--out", type=Path, required=True, help="output folder")
    gen.add_argument("--quarter", default="2026Q3")
    gen.set_defaults(handler=_generate)
    run = sub.add_parser("run", help="migrate, load the sample quarter, run the pipeline, print")
    run.add_argument("--quarter", default="2026Q3")
    run.set_defaults(handler=_run)


def _generate(args: argparse.Namespace) -> int:
    from infra_review.demo.sample_quarter import write_sample_quarter
    from infra_review.quarter import Quarter

    files = write_sample_quarter(args.out, Quarter.parse(args.quarter))
    print(f"wrote {files.rows} samples to {files.samples}, and {files.complaints}, {files.plans}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from infra_review.demo.steps import run_demo
    from infra_review.quarter import Quarter

    run_demo(Quarter.parse(args.quarter))
    return 0
