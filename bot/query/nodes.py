"""The query AST: what ``parse_query`` returns and ``Query.describe`` explains."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from bot.query.regex import BoundedRegex

AtomKind = Literal["lemma", "exact", "prefix", "name"]
TermKind = Literal["word", "exact", "prefix", "name", "phrase"]

LEMMA: Final = "lemma"
EXACT: Final = "exact"
PREFIX: Final = "prefix"
NAME: Final = "name"


@dataclass(frozen=True, slots=True)
class Atom:
    """One word position of a term: how a single token must look."""

    kind: AtomKind
    text: str
    folded: str
    lemmas: frozenset[str] = frozenset()
    key: str = ""
    edits: int = 0

    def describe(self) -> str:
        """``«word» (how it matches)``."""
        if self.kind == LEMMA:
            return f"«{self.text}» (lemmas: {', '.join(sorted(self.lemmas))})"
        if self.kind == EXACT:
            return f"«{self.folded}» (exact)"
        if self.kind == PREFIX:
            return f"«{self.folded}*» (prefix)"
        return f"«{self.text}~» ({_key_text(self)})"


def _key_text(atom: Atom) -> str:
    bound = f"up to {atom.edits} edit" if atom.edits else "exact key"
    return f"key: {atom.key}, {bound}"


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every query node; ``column`` is where it starts in the query (1-based)."""

    column: int

    def describe(self) -> str:
        raise NotImplementedError

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self


@dataclass(frozen=True, slots=True)
class Term(Node):
    """A word, ``=exact`` word, ``prefix*``, ``Name~`` or ``"phrase"``: adjacent atoms."""

    kind: TermKind
    text: str
    atoms: tuple[Atom, ...]

    def describe(self) -> str:
        if self.kind == "phrase":
            inner = ", ".join(atom.describe() for atom in self.atoms)
            return f"phrase «{self.text}» [{inner}]"
        if len(self.atoms) > 1:
            inner = ", ".join(atom.describe() for atom in self.atoms)
            return f"{self.kind} «{self.text}» [adjacent parts: {inner}]"
        atom = self.atoms[0]
        if self.kind == "word":
            return f"word «{self.text}» [lemmas: {', '.join(sorted(atom.lemmas))}]"
        if self.kind == "exact":
            return f"exact «{atom.folded}»"
        if self.kind == "prefix":
            return f"prefix «{atom.folded}*»"
        return f"name «{self.text}» [{_key_text(atom)}]"


@dataclass(frozen=True, slots=True)
class Channel(Node):
    """``channel:X``: the post's channel has X as its username, a former one, or its id."""

    name: str
    key: str

    def describe(self) -> str:
        return f"channel «{self.key}»"


@dataclass(frozen=True, slots=True)
class Regex(Node):
    """``/pattern/``: RE2, case-insensitive, on the original text."""

    regex: BoundedRegex = field(compare=False)
    pattern: str

    def describe(self) -> str:
        return f"regex /{self.pattern}/ (case-insensitive)"


@dataclass(frozen=True, slots=True)
class Not(Node):
    """``NOT x`` / ``-x``."""

    child: Node

    def describe(self) -> str:
        return f"NOT {self.child.describe()}"

    def walk(self) -> Iterator[Node]:
        yield self
        yield from self.child.walk()


@dataclass(frozen=True, slots=True)
class And(Node):
    """All children (implicit AND or ``AND``)."""

    children: tuple[Node, ...]

    def describe(self) -> str:
        return f"ALL({', '.join(child.describe() for child in self.children)})"

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Or(Node):
    """Any child (``OR``)."""

    children: tuple[Node, ...]

    def describe(self) -> str:
        return f"ANY({', '.join(child.describe() for child in self.children)})"

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the text as typed and its tree."""

    text: str
    root: Node

    def describe(self) -> str:
        """How the query was understood, readable and deterministic."""
        return self.root.describe()

    def walk(self) -> Iterator[Node]:
        """Every node of the tree, depth first."""
        return self.root.walk()
