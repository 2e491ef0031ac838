"""``/regex/`` terms: RE2 (google-re2), case-insensitive, on the original text, bounded.

RE2 runs in time linear in the text and the program, never backtracks, and cannot stall
the process. On top of that a pattern is limited to ``MAX_PATTERN_LENGTH`` characters and a
compiled program of ``MAX_PROGRAM_SIZE`` instructions, and RE2 gets ``MAX_MEMORY`` bytes;
so one regex over one post costs at most (program size x text length) steps. Constructs RE2
lacks (lookaround, backreferences) are reported as query errors with their column.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import re2

from bot.query.errors import QueryError

MAX_PATTERN_LENGTH: Final = 500
MAX_PROGRAM_SIZE: Final = 5000
MAX_MEMORY: Final = 1 << 20
SET_CHUNK: Final = 200
"""Patterns per RE2 set (several small sets compile faster and stay within memory)."""


def _options(max_mem: int = MAX_MEMORY) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = max_mem
    return options


_LOOKAROUND: Final = (
    ("(?<=", "lookbehind (?<="),
    ("(?<!", "lookbehind (?<!"),
    ("(?=", "lookahead (?="),
    ("(?!", "lookahead (?!"),
    ("(?P=", "backreference (?P="),
    ("(?>", "atomic group (?>"),
)


def unsupported_construct(pattern: str) -> tuple[int, str] | None:
    """``(offset, description)`` of the first construct RE2 lacks, outside classes."""
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if not in_class and nxt in tuple("123456789"):
                return i, f"backreference \\{nxt}"
            if not in_class and nxt == "k" and pattern[i + 2 : i + 3] in ("<", "{", "'"):
                return i, "backreference \\k"
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "[":
            in_class = True
            i += 1
            if pattern[i : i + 1] == "^":
                i += 1
            if pattern[i : i + 1] == "]":  # a literal ] first in a class
                i += 1
            continue
        if ch == "(":
            for prefix, what in _LOOKAROUND:
                if pattern.startswith(prefix, i):
                    return i, what
        i += 1
    return None


class BoundedRegex:
    """One compiled, bounded, case-insensitive RE2 pattern."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str, compiled: Any) -> None:
        self.pattern = pattern
        self._compiled = compiled

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text``."""
        return self._compiled.search(text) is not None

    def spans(self, text: str, limit: int = 20) -> Iterator[tuple[int, int]]:
        """Up to ``limit`` non-empty match spans (character offsets) in ``text``."""
        count = 0
        for m in self._compiled.finditer(text):
            start, end = m.span()
            if end > start:
                yield start, end
                count += 1
                if count >= limit:
                    return


def compile_regex(pattern: str, column: int) -> BoundedRegex:
    """Compile a ``/pattern/`` whose opening slash is at ``column``; QueryError if invalid."""
    body_column = column + 1
    if not pattern:
        raise QueryError("empty regex", column)
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise QueryError(f"regex is longer than {MAX_PATTERN_LENGTH} characters", column)
    found = unsupported_construct(pattern)
    if found is not None:
        offset, what = found
        raise QueryError(f"regex {what} is not supported (RE2 syntax)", body_column + offset)
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise QueryError(f"invalid regex: {detail}", column) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise QueryError(
            f"regex is too complex ({compiled.programsize} > {MAX_PROGRAM_SIZE} instructions)",
            column,
        )
    if compiled.search("") is not None:
        raise QueryError("regex matches every post (it matches empty text)", column)
    return BoundedRegex(pattern, compiled)


class RegexSet:
    """Many patterns tested against one text at once, with RE2 sets of ``SET_CHUNK`` each.

    Adding or removing a pattern only recompiles its own chunk, lazily at the next match.
    A chunk RE2 refuses to compile as a set (too much memory together) has its patterns
    tested one by one instead, so results never depend on how patterns were grouped.
    """

    def __init__(self, regexes: Iterable[BoundedRegex] = ()) -> None:
        self._chunks: list[dict[str, BoundedRegex]] = []
        self._compiled: list[tuple[Any, list[str]] | None] = []
        self._chunk_of: dict[str, int] = {}
        for regex in regexes:
            self.add(regex)

    def __len__(self) -> int:
        return len(self._chunk_of)

    def __contains__(self, pattern: object) -> bool:
        return pattern in self._chunk_of

    @property
    def patterns(self) -> frozenset[str]:
        """Every pattern in the set."""
        return frozenset(self._chunk_of)

    def add(self, regex: BoundedRegex) -> None:
        """Add a pattern (no-op when present)."""
        if regex.pattern in self._chunk_of:
            return
        free = [i for i, chunk in enumerate(self._chunks) if len(chunk) < SET_CHUNK]
        if free:
            index = free[0]
        else:
            self._chunks.append({})
            self._compiled.append(None)
            index = len(self._chunks) - 1
        self._chunks[index][regex.pattern] = regex
        self._compiled[index] = None
        self._chunk_of[regex.pattern] = index

    def discard(self, pattern: str) -> None:
        """Remove a pattern (no-op when absent)."""
        index = self._chunk_of.pop(pattern, None)
        if index is not None:
            del self._chunks[index][pattern]
            self._compiled[index] = None

    def _compile(self, index: int) -> tuple[Any, list[str]]:
        patterns = list(self._chunks[index])
        try:
            compiled = re2.Set.SearchSet(_options(max_mem=64 * MAX_MEMORY))
            for pattern in patterns:
                compiled.Add(pattern)
            compiled.Compile()
        except re2.error:
            compiled = None
        built = (compiled, patterns)
        self._compiled[index] = built
        return built

    def matching(self, text: str) -> set[str]:
        """The patterns that match somewhere in ``text``."""
        found: set[str] = set()
        for index, chunk in enumerate(self._chunks):
            if not chunk:
                continue
            built = self._compiled[index] or self._compile(index)
            compiled, patterns = built
            if compiled is None:
                found.update(p for p, regex in chunk.items() if regex.search(text))
                continue
            hits = compiled.Match(text)
            if hits:
                found.update(patterns[i] for i in hits)
        return found
