"""Errors a user sees: one clear message naming the file, the column and the rule — never a traceback."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """An input file that is unusable as a whole (the run stops; nothing downstream is written)."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        rule: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.column = column
        self.rule = rule
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rule:
            where.append(f"rule {self.rule}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"file": self.file, "column": self.column, "rule": self.rule, "message": self.message}
