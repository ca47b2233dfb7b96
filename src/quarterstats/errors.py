"""Errors a user sees: one clear message naming the file, the column and the rule — never a traceback.

The text of an :class:`InputError` is inert wherever it is shown (console, CI log, Dagster): file names,
column names and the message come from the delivery, so control characters and bidirectional overrides
are escaped and long names cut (:func:`quarterstats.safe_text.console_text`) in ``__str__`` and
``as_dict`` themselves, where no caller can forget it. The raw values stay in the attributes.
"""

from __future__ import annotations

from pathlib import Path

from quarterstats.safe_text import console_text

#: Longest file name and column name shown (a path of a deep folder fits; a delivered name that is a
#: whole paragraph does not); the message is escaped but cut only at MAX_MESSAGE characters.
MAX_NAME = 240
MAX_MESSAGE = 4000


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
        shown = self.as_dict()
        if shown["file"]:
            where.append(f"file {shown['file']}")
        if shown["column"]:
            where.append(f"column '{shown['column']}'")
        if shown["rule"]:
            where.append(f"rule {shown['rule']}")
        prefix = ", ".join(where)
        return f"{prefix}: {shown['message']}" if prefix else shown["message"]

    def as_dict(self) -> dict[str, str | None]:
        """The parts of the message, each inert (escaped, long names cut)."""
        def inert(value: str | None, limit: int) -> str | None:
            return None if value is None else console_text(value, limit=limit)

        return {"file": inert(self.file, MAX_NAME), "column": inert(self.column, MAX_NAME),
                "rule": inert(self.rule, MAX_NAME), "message": inert(self.message, MAX_MESSAGE)}
