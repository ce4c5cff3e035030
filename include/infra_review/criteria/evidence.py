"""Typed evidence, and the evidence keys that the reporting views read out of
``criterion_results.evidence``.

``Evidence`` is the base of every criterion's evidence dataclass (both reviews): ``to_dict``
gives the JSON stored in ``criterion_results.evidence``, ``from_dict`` reads a stored record
back (a key the record lacks takes the field's default, so older records still load).

``include/sql/005_reporting.sql`` (``reporting.criterion_results``) parses the paths in
``SQL_EVIDENCE_KEYS`` out of the JSON; a criterion that renames one of them empties a BI
column silently. They are named here, once, and ``tests/unit/test_evidence_contract.py``
checks that the view reads exactly these paths, that the criteria write them with these JSON
types, and that each is a field of the evidence class of the criteria that write it.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, ClassVar

ABSENT: Any = type("Absent", (), {"__repr__": lambda _self: "ABSENT"})()  # left out of the JSON


def key_of(f: Field) -> str:
    """The JSON key of a field: its name, or ``key`` in its metadata (``from`` is a keyword)."""
    return f.metadata.get("key", f.name)


def piece(evidence: type[Evidence], default: Any = ABSENT, key: str | None = None) -> Any:
    """A field holding a nested evidence object (or a list of them), read back as ``evidence``."""
    meta: dict[str, Any] = {"evidence": evidence}
    if key:
        meta["key"] = key
    return field(default=default, metadata=meta)


@dataclass
class Evidence:
    """A criterion's typed evidence. ``to_dict`` gives the JSON stored in
    ``criterion_results.evidence`` (a field left ``ABSENT``, or one in ``OPTIONAL`` left None,
    is left out, as the dicts stored before left it out), ``from_dict`` reads a stored record
    back: a key the record lacks keeps the field's default (``ABSENT`` for keys newer than
    the record, so it is written back as it was stored), a key the class does not name is
    dropped."""

    OPTIONAL: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is ABSENT or (value is None and f.name in self.OPTIONAL):
                continue
            if isinstance(value, Evidence):
                value = value.to_dict()
            elif isinstance(value, list):
                value = [v.to_dict() if isinstance(v, Evidence) else v for v in value]
            out[key_of(f)] = value
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if key_of(f) not in doc:
                continue
            value, nested = doc[key_of(f)], f.metadata.get("evidence")
            if nested is not None and isinstance(value, dict):
                value = nested.from_dict(value)
            elif nested is not None and isinstance(value, list):
                value = [nested.from_dict(v) if isinstance(v, dict) else v for v in value]
            kwargs[f.name] = value
        return cls(**kwargs)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The JSON keys this class can write, in order."""
        return tuple(key_of(f) for f in fields(cls))

    @classmethod
    def nested(cls, key: str) -> type[Evidence] | None:
        """The evidence class of the nested object under ``key`` (None: a plain value)."""
        return next((f.metadata.get("evidence") for f in fields(cls) if key_of(f) == key), None)

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """Keys every record of this class has (fields without a default)."""
        return tuple(
            key_of(f) for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        )


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
