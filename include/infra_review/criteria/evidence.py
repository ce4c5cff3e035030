"""The evidence keys that the reporting views read out of ``criterion_results.evidence``.

``include/sql/005_reporting.sql`` (``reporting.criterion_results``) parses these paths out of
the JSON; a criterion that renames one of them empties a BI column silently. They are named
here, once, and ``tests/unit/test_evidence_contract.py`` checks that the view reads exactly
these paths and that the criteria write them with these JSON types.
"""

from __future__ import annotations

from typing import Any

# path in the evidence JSON -> the jsonb type the view expects there
SQL_EVIDENCE_KEYS: dict[tuple[str, ...], str] = {
    ("comparator",): "string",
    ("metric",): "string",
    ("label",): "string",
    ("samples",): "number",
    ("coverage",): "number",
    ("reason",): "string",
    ("insufficient", "reasons"): "array",
    ("longest_run", "start"): "string",
    ("longest_run", "end"): "string",
    ("longest_run", "duration_s"): "number",
    ("longest_run", "peak"): "number",
    ("longest_run", "samples"): "number",
}
_JSON_TYPES = {"string": (str,), "number": (int, float), "array": (list,), "object": (dict,)}


def contract_violations(evidence: dict[str, Any]) -> list[str]:
    """The SQL-read paths whose value has another type than the view expects (None is fine:
    the view gives NULL)."""
    out = []
    for path, kind in SQL_EVIDENCE_KEYS.items():
        value: Any = evidence
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        ok = isinstance(value, _JSON_TYPES[kind]) and not isinstance(value, bool)
        if not ok:
            out.append(f"{'.'.join(path)}: expected {kind}, got {type(value).__name__}")
    return out
