"""Reading YAML with a line for every field path, so each error names file, line and field
(for example ``providers[1].price_list[2].currency``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml

from infra_review.errors import InputError

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def line_for(lines: dict[str, int], field_path: str) -> int | None:
    """The line of ``field_path``, or of its nearest parent when the field itself is absent."""
    path = field_path
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path)
    return None


def line_index(text: str) -> dict[str, int]:
    """Map every field path in the YAML document to its 1-based line."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if path:
            lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                key_path = f"{path}.{key.value}" if path else str(key.value)
                lines[key_path] = key.start_mark.line + 1
                walk(value, key_path)
                lines[key_path] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, f"{path}[{i}]")

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return lines


class Reader:
    """Typed access to the parsed document that raises InputError with line and field."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines

    def fail(self, message: str, field_path: str) -> InputError:
        return InputError(
            message, file=self.path, line=line_for(self.lines, field_path), field=field_path
        )

    def mapping(self, value: Any, where: str, *, optional: bool = False) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise self.fail("expected a mapping", where)
        return value

    def seq(self, value: Any, where: str, *, optional: bool = False) -> list[Any]:
        if value is None and optional:
            return []
        if not isinstance(value, list):
            raise self.fail("expected a list", where)
        return value

    def text(self, value: Any, where: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value).strip() == "":
            raise self.fail("expected a non-empty text", where)
        text = str(value).strip()
        if pattern is not None and not pattern.match(text):
            raise self.fail(f"{text!r} does not match {pattern.pattern}", where)
        return text

    def number(
        self, value: Any, where: str, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"expected a number, got {value!r}", where)
        number = float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise self.fail("expected a finite number", where)
        if minimum is not None and number < minimum:
            raise self.fail(f"must be at least {minimum}, got {value!r}", where)
        if maximum is not None and number > maximum:
            raise self.fail(f"must be at most {maximum}, got {value!r}", where)
        return number

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(f"expected true or false, got {value!r}", where)
        return value

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise self.fail(f"expected a date YYYY-MM-DD, got {value!r}", where) from exc

    def currency(self, value: Any, where: str) -> str:
        return self.text(value, where, CURRENCY_RE)
