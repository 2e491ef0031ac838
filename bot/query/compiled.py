"""Evaluating one query on one analysed post, and explaining why it matched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bot.query.document import Document
from bot.query.nodes import (
    EXACT,
    LEMMA,
    PREFIX,
    And,
    Atom,
    Channel,
    Node,
    Not,
    Or,
    Query,
    Regex,
    Term,
)
from bot.query.normalize import Analysis, Normalizer, get_normalizer
from bot.query.parser import parse_query


@dataclass(frozen=True, slots=True)
class Hit:
    """One reason a post matched: which text matched which query term, and why.

    ``reason`` is one of ``lemma``, ``exact``, ``prefix``, ``name variant``, ``phrase``,
    ``regex``, ``channel``; ``start``/``end`` are offsets into the original text (``-1``
    for ``channel``, which matches no text); ``detail`` says more (the shared lemma, the
    name key).
    """

    term: str
    token: str
    start: int
    end: int
    reason: str
    detail: str = ""


_TERM_REASON: Final = {
    "word": "lemma",
    "exact": "exact",
    "prefix": "prefix",
    "name": "name variant",
    "phrase": "phrase",
}


def atom_present(atom: Atom, an: Analysis) -> bool:
    """Whether some token of the text satisfies ``atom``."""
    if atom.kind == LEMMA:
        return not atom.lemmas.isdisjoint(an.lemma_set)
    if atom.kind == EXACT:
        return atom.folded in an.form_set
    return bool(atom_positions(atom, an))


def atom_positions(atom: Atom, an: Analysis) -> list[int]:
    """Positions of the tokens satisfying ``atom``, ascending."""
    if atom.kind == LEMMA:
        return an.lemma_positions(atom.lemmas)
    if atom.kind == EXACT:
        return an.form_positions(atom.folded)
    if atom.kind == PREFIX:
        return an.prefix_positions(atom.folded)
    return an.name_positions(atom.key, atom.edits)


class _Eval:
    __slots__ = ("node",)
    cost = 5

    def __init__(self, node: Node) -> None:
        self.node = node

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        raise NotImplementedError

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        return []


class _LemmaWord(_Eval):
    __slots__ = ("lemmas",)
    cost = 1

    def __init__(self, node: Term) -> None:
        super().__init__(node)
        self.lemmas = node.atoms[0].lemmas

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        return not self.lemmas.isdisjoint(an.lemma_set)

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        node = self.node
        assert isinstance(node, Term)
        return _Sequence(node).hits(an, keys)


class _ExactWord(_Eval):
    __slots__ = ("form",)
    cost = 1

    def __init__(self, node: Term) -> None:
        super().__init__(node)
        self.form = node.atoms[0].folded

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        return self.form in an.form_set

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        node = self.node
        assert isinstance(node, Term)
        return _Sequence(node).hits(an, keys)


class _Sequence(_Eval):
    """Any term: its atoms on adjacent tokens, in order (one atom: anywhere)."""

    __slots__ = ("atoms",)
    cost = 3

    def __init__(self, node: Term) -> None:
        super().__init__(node)
        self.atoms = node.atoms

    def starts(self, an: Analysis) -> list[int]:
        atoms = self.atoms
        for atom in atoms:
            if not atom_present(atom, an):
                return []
        starts = atom_positions(atoms[0], an)
        for offset in range(1, len(atoms)):
            if not starts:
                break
            following = set(atom_positions(atoms[offset], an))
            starts = [p for p in starts if p + offset in following]
        return starts

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        return bool(self.starts(an))

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        term = self.node
        assert isinstance(term, Term)
        tokens = an.tokens
        span = len(self.atoms)
        out = []
        for p in self.starts(an):
            first, last = tokens[p], tokens[p + span - 1]
            if span == 1:
                reason, detail = _atom_reason(self.atoms[0], first.lemmas, first.folded)
            else:
                reason = _TERM_REASON[term.kind]
                detail = "adjacent, in order" if term.kind == "phrase" else "adjacent parts"
            text = an.text[first.start : last.end]
            out.append(Hit(term.text, text, first.start, last.end, reason, detail))
        return out


def _atom_reason(atom: Atom, lemmas: frozenset[str], folded: str) -> tuple[str, str]:
    if atom.kind == LEMMA:
        shared = sorted(atom.lemmas & lemmas)
        return "lemma", "lemma " + ", ".join(shared)
    if atom.kind == EXACT:
        return "exact", ""
    if atom.kind == PREFIX:
        return "prefix", f"starts with {atom.folded}"
    return "name variant", f"key {atom.key}" + (f" ±{atom.edits}" if atom.edits else "")


class _ChannelTerm(_Eval):
    __slots__ = ("key",)
    cost = 0

    def __init__(self, node: Channel) -> None:
        super().__init__(node)
        self.key = node.key

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        return self.key in keys

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        node = self.node
        assert isinstance(node, Channel)
        return [Hit(f"channel:{node.name}", self.key, -1, -1, "channel")]


class _RegexTerm(_Eval):
    __slots__ = ()
    cost = 6

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        node = self.node
        assert isinstance(node, Regex)
        return an.regex_result(node.regex)

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        node = self.node
        assert isinstance(node, Regex)
        term = f"/{node.pattern}/"
        return [Hit(term, an.text[s:e], s, e, "regex") for s, e in node.regex.spans(an.text)]


class _NotEval(_Eval):
    __slots__ = ("child",)
    cost = 2

    def __init__(self, node: Not) -> None:
        super().__init__(node)
        self.child = build(node.child)

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        return not self.child.test(an, keys)


class _AndEval(_Eval):
    __slots__ = ("children", "ordered")
    cost = 4

    def __init__(self, node: And) -> None:
        super().__init__(node)
        self.children = [build(child) for child in node.children]
        # cheap and selective tests first; the result does not depend on the order
        self.ordered = tuple(sorted(self.children, key=lambda e: e.cost))

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        for child in self.ordered:
            if not child.test(an, keys):
                return False
        return True

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        return [hit for child in self.children for hit in child.hits(an, keys)]


class _OrEval(_Eval):
    __slots__ = ("children", "ordered")
    cost = 4

    def __init__(self, node: Or) -> None:
        super().__init__(node)
        self.children = [build(child) for child in node.children]
        self.ordered = tuple(sorted(self.children, key=lambda e: e.cost))

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        for child in self.ordered:
            if child.test(an, keys):
                return True
        return False

    def hits(self, an: Analysis, keys: frozenset[str]) -> list[Hit]:
        return [
            hit for child in self.children if child.test(an, keys) for hit in child.hits(an, keys)
        ]


def build(node: Node) -> _Eval:
    """The evaluator of one AST node."""
    if isinstance(node, Term):
        if len(node.atoms) == 1 and node.atoms[0].kind == LEMMA:
            return _LemmaWord(node)
        if len(node.atoms) == 1 and node.atoms[0].kind == EXACT:
            return _ExactWord(node)
        return _Sequence(node)
    if isinstance(node, Channel):
        return _ChannelTerm(node)
    if isinstance(node, Regex):
        return _RegexTerm(node)
    if isinstance(node, Not):
        return _NotEval(node)
    if isinstance(node, And):
        return _AndEval(node)
    if isinstance(node, Or):
        return _OrEval(node)
    raise TypeError(f"unknown query node {node!r}")


class CompiledQuery:
    """A parsed query ready to be evaluated on many posts."""

    __slots__ = ("_normalizer", "_root", "query")

    def __init__(self, query: Query, normalizer: Normalizer | None = None) -> None:
        self.query = query
        self._normalizer = normalizer or get_normalizer()
        self._root = build(query.root)

    @property
    def text(self) -> str:
        """The query as typed."""
        return self.query.text

    def describe(self) -> str:
        """How the query was understood (see ``Query.describe``)."""
        return self.query.describe()

    def analyse(self, doc: Document, analysis: Analysis | None = None) -> Analysis:
        """``analysis`` when given (it must be of ``doc.text``), else a fresh one."""
        return analysis if analysis is not None else self._normalizer.analyse(doc.text)

    def test(self, analysis: Analysis, channel_keys: frozenset[str]) -> bool:
        """The fast path: evaluate on an existing analysis and the post's channel keys."""
        return self._root.test(analysis, channel_keys)

    def matches(self, doc: Document, analysis: Analysis | None = None) -> bool:
        """Whether the post matches. Pass the post's Analysis to avoid normalising again."""
        return self._root.test(self.analyse(doc, analysis), doc.channel_keys)

    def explain(self, doc: Document, analysis: Analysis | None = None) -> list[Hit]:
        """Why the post matched: the hits of every satisfied positive term ([] if no match)."""
        an = self.analyse(doc, analysis)
        if not self._root.test(an, doc.channel_keys):
            return []
        hits = self._root.hits(an, doc.channel_keys)
        unique = dict.fromkeys(hits)
        return sorted(unique, key=lambda h: (h.start, h.end, h.term))

    def __repr__(self) -> str:
        return f"CompiledQuery({self.text!r})"


def compile_query(query: str | Query, normalizer: Normalizer | None = None) -> CompiledQuery:
    """Parse (if needed) and compile a query; raises QueryError on an invalid one."""
    parsed = query if isinstance(query, Query) else parse_query(query, normalizer)
    return CompiledQuery(parsed, normalizer)
