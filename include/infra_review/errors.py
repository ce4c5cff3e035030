"""Errors that point the user at the bad input instead of a stack trace."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names the file, line and field so the user can fix it.

    Raised before anything is written, so a failed import leaves the tables untouched.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if file is not None:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
