"""``infra-review criteria``: every criterion with the module that implements it, its
parameters (the values criteria.yaml gives, checked) and the roadmap's text (02.04.04)."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "criteria",
        help="list every criterion: its module, its parameters from criteria.yaml and the "
        "roadmap's text (section 02.04.04)",
    )
    p.add_argument("--review", choices=("capacity", "provider"), help="only this review")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_run)


def listing(review: str | None = None) -> list[dict]:
    """criteria.yaml's entries in its order, each with its registered module (or None)."""
    from infra_review.criteria.registry import criterion_class, describe
    from infra_review.criteria.rules import load_criteria
    from infra_review.provider.criteria import REGISTRY as PROVIDER
    from infra_review.provider.criteria import bind as bind_provider

    criteria = load_criteria()
    described = {d["id"]: d for d in describe()}
    if review in (None, "provider"):
        bind_provider(criteria)  # checks the provider entries' parameters
    out = []
    for rule in criteria.rules.values():
        if review and rule.review != review:
            continue
        cls = criterion_class(rule.id)
        if cls is not None:
            cls.validate(rule, criteria.path)
        cls = cls or PROVIDER.get(rule.id)
        spec = described.get(rule.id, {})
        out.append(
            {
                "id": rule.id,
                "review": rule.review,
                "group": rule.group,
                "module": cls.__module__ if cls else None,
                "class": cls.__qualname__ if cls else None,
                "params": rule.params,
                "declared_params": spec.get("params"),
                "plot": spec.get("plot"),
                "text_ru": rule.text_ru,
                "text_en": rule.text_en,
            }
        )
    return out


def _run(args: argparse.Namespace) -> int:
    rows = listing(args.review)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return 0
    for row in rows:
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items() if k != "default_source")
        where = f"{row['module']}.{row['class']}" if row["module"] else "(not registered)"
        print(f"{row['id']:<22} {where}")
        print(f"    roadmap: {row['text_ru']}")
        print(f"    en:      {row['text_en']}")
        print(f"    params:  {params or '-'}")
    return 0
