"""The provider criteria registry: one class per criterion, grouped by module
(``financial``, ``technical``, ``strategic``). ``bind(criteria)`` pairs each class with its
criteria.yaml entry and checks its parameters, so a missing or misspelt key fails when the
file is read, with the key's line."""

from __future__ import annotations

from pathlib import Path

from infra_review.criteria.rules import CriteriaSet
from infra_review.errors import InputError
from infra_review.provider.criteria import financial, strategic, technical
from infra_review.provider.criteria.base import Context, Criterion, Param

REVIEW_TYPE = "provider"
REGISTRY: dict[str, type[Criterion]] = {
    c.id: c for c in (*financial.CRITERIA, *technical.CRITERIA, *strategic.CRITERIA)
}

__all__ = ["REGISTRY", "Context", "Criterion", "Param", "bind"]


def bind(criteria: CriteriaSet) -> dict[str, Criterion]:
    """Every provider criterion of ``criteria`` as a checked object, in the file's order."""
    rules = criteria.for_review(REVIEW_TYPE)
    line_of = _line_finder(criteria.path)
    unknown = [r.id for r in rules if r.id not in REGISTRY]
    if unknown:
        raise InputError(
            f"criteria.yaml lists provider criteria with no implementation: {unknown}",
            file=criteria.path,
            line=line_of(unknown[0], None),
            field=unknown[0],
        )
    missing = [cid for cid in REGISTRY if cid not in criteria.rules]
    if missing:
        raise InputError(f"criteria.yaml lacks the provider criteria {missing}", file=criteria.path)
    return {r.id: REGISTRY[r.id](r, criteria.path, line_of) for r in rules}


def _line_finder(path: str):
    """(criterion id, key or None) -> the line in criteria.yaml, or None when unknown."""
    import yaml

    try:
        root = yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return lambda _cid, _key: None
    lines: dict[tuple[str, str | None], int] = {}
    for top_key, top_value in getattr(root, "value", []):
        if top_key.value != "criteria" or not isinstance(top_value, yaml.SequenceNode):
            continue
        for item in top_value.value:
            if not isinstance(item, yaml.MappingNode):
                continue
            pairs = {k.value: (k, v) for k, v in item.value}
            if "id" not in pairs:
                continue
            cid = str(pairs["id"][1].value)
            lines[(cid, None)] = item.start_mark.line + 1
            for key, (k, _v) in pairs.items():
                lines[(cid, key)] = k.start_mark.line + 1

    def line_of(cid: str, key: str | None) -> int | None:
        return lines.get((cid, key)) or lines.get((cid, None))

    return line_of
