"""The one error the query engine raises: a query the user must fix."""

from __future__ import annotations

from bot.errors import UsageError


class QueryError(UsageError):
    """An invalid query, with the 1-based column where the problem is.

    ``str(error)`` is ``"<reason> at column <column>"``, e.g.
    ``"unclosed quote at column 7"``: one line a user can act on.
    """

    def __init__(self, reason: str, column: int) -> None:
        self.reason = reason
        self.column = max(1, column)
        super().__init__(f"{reason} at column {self.column}")
