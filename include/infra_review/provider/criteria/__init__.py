"""The provider criteria, one class each, in the registry both reviews share
(``infra_review.criteria.registry``), grouped by module: ``financial``, ``technical``,
``strategic``. ``bind(criteria)`` pairs each class with its criteria.yaml entry and checks its
parameters through the registry, so a missing or misspelt key fails when the file is read,
naming the key and its line."""

from __future__ import annotations

from pathlib import Path

from infra_review.criteria import registry
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
    line_of = _line_finder(criteria.path)
    unknown = [r.id for r in criteria.for_review(REVIEW_TYPE) if r.id not in REGISTRY]
    if unknown:
        raise InputError(
            f"criteria.yaml lists provider criteria with no implementation: {unknown}",
            file=criteria.path,
            line=line_of(unknown[0], None),
            field=unknown[0],
        )
    try:
        return registry.bind(criteria, REVIEW_TYPE)  # type: ignore[return-value]
    except InputError as exc:
        if exc.line is not None or not exc.field or "." not in exc.field:
            raise
        cid, _, key = exc.field.rpartition(".")
        raise InputError(
            exc.reason, file=exc.file, line=line_of(cid, key), field=exc.field
        ) from exc


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
