"""Load the versioned criteria file; reviews record its version and hash."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from infra_review.errors import InputError
from infra_review.settings import config_dir

_REQUIRED = ("id", "review", "group", "text_ru", "text_en")
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rule:
    """One criterion's definition: seed text, English text and its parameters."""

    id: str
    review: str
    group: str
    text_ru: str
    text_en: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        return float(self.params["threshold"])

    def duration(self, key: str = "duration") -> timedelta:
        return parse_duration(self.params[key])


@dataclass(frozen=True)
class CriteriaSet:
    version: str
    sha256: str
    path: str
    defaults: dict[str, Any]
    rules: dict[str, Rule]

    def for_review(self, review: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.review == review]

    def __getitem__(self, criterion_id: str) -> Rule:
        return self.rules[criterion_id]


def parse_duration(text: Any) -> timedelta:
    """``"24h"``, ``"15m"``, ``"90s"``, ``"2d"`` into a timedelta."""
    match = _DURATION_RE.match(str(text).strip())
    if not match:
        raise InputError(f"bad duration {text!r}: expected a number and s, m, h or d")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def load_criteria(path: str | Path | None = None) -> CriteriaSet:
    path = Path(path) if path else config_dir() / "criteria.yaml"
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"malformed YAML: {exc}", file=str(path), line=mark.line + 1 if mark else None
        ) from exc
    if not isinstance(doc, dict) or "version" not in doc or "criteria" not in doc:
        raise InputError("expected a mapping with 'version' and 'criteria'", file=str(path))
    rules: dict[str, Rule] = {}
    for index, item in enumerate(doc["criteria"]):
        where = f"criteria[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where} is not a mapping", file=str(path))
        for key in _REQUIRED:
            if not item.get(key):
                raise InputError(f"{where} lacks '{key}'", file=str(path), field=key)
        if item["id"] in rules:
            raise InputError(f"duplicate criterion id {item['id']!r}", file=str(path), field="id")
        params = {k: v for k, v in item.items() if k not in _REQUIRED}
        for key in ("duration",):
            if key in params:
                parse_duration(params[key])
        rules[item["id"]] = Rule(
            id=item["id"],
            review=item["review"],
            group=item["group"],
            text_ru=item["text_ru"],
            text_en=item["text_en"],
            params=params,
        )
    return CriteriaSet(
        version=str(doc["version"]),
        sha256=hashlib.sha256(raw).hexdigest(),
        path=str(path),
        defaults=dict(doc.get("defaults") or {}),
        rules=rules,
    )
