"""Evaluating one query on one analysed post, and explaining why it matched.

Tests ask the Analysis for set lookups first (a lemma or a form anywhere in the text) and
for positions only where order matters. A sequence (a phrase or a hyphenated word) of
lemmas and exact forms is tested by looking for the text's matching forms side by side in
``Analysis.joined``; with a prefix or a name among its atoms, by the positions of its
cheapest atom, each other atom being checked on the token at its offset. ``residual``
gives an index the test of what its own lookups did not prove.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from itertools import product
from typing import Final

from bot.query.document import Document
from bot.query.names import within, word_keys
from bot.query.nodes import (
    EXACT,
    LEMMA,
    NAME,
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
    if atom.kind == PREFIX:
        return an.has_prefix(atom.folded)
    return bool(an.name_forms(atom.key, atom.edits))


def atom_positions(atom: Atom, an: Analysis) -> list[int]:
    """Positions of the tokens satisfying ``atom``, ascending."""
    if atom.kind == LEMMA:
        return an.lemma_positions(atom.lemmas)
    if atom.kind == EXACT:
        return an.form_positions(atom.folded)
    if atom.kind == PREFIX:
        return an.prefix_positions(atom.folded)
    return an.name_positions(atom.key, atom.edits)


def atom_at(atom: Atom, an: Analysis, position: int) -> bool:
    """Whether the token at ``position`` satisfies ``atom``."""
    if atom.kind == LEMMA:
        return not atom.lemmas.isdisjoint(an.lemmas[position])
    if atom.kind == EXACT:
        return an.folded[position] == atom.folded
    if atom.kind == PREFIX:
        return an.folded[position].startswith(atom.folded)
    form = an.folded[position]
    key, edits = atom.key, atom.edits
    return any(within(key, k, edits) for k in word_keys(form, an.lemmas[position]))


_MAX_FORM_COMBINATIONS: Final = 16
"""Beyond this many combinations of forms a sequence is tested by positions."""

# How costly finding an atom's positions is (the cheapest one anchors a sequence).
_LOOKUP_COST: Final = {LEMMA: 0, EXACT: 0, PREFIX: 1, NAME: 2}


Test = Callable[[Analysis, frozenset[str]], bool]
"""A test of one analysed post and its channel keys."""


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
    """Any term: its atoms on adjacent tokens, in order (one atom: anywhere).

    The positions of one atom (the cheapest to look up: a lemma or an exact form) are
    looked up; every other atom is then checked on the token at its offset only.
    """

    __slots__ = ("anchor", "atoms", "by_forms", "others", "quick")
    cost = 3

    def __init__(self, node: Term) -> None:
        super().__init__(node)
        atoms = self.atoms = node.atoms
        order = sorted(range(len(atoms)), key=lambda i: _LOOKUP_COST[atoms[i].kind])
        self.anchor = order[0]
        self.others = tuple((i, atoms[i]) for i in order[1:])
        # atoms whose absence from the whole text is a set lookup: checked first
        self.quick = tuple(atom for atom in atoms if atom.kind in (LEMMA, EXACT))
        # lemmas and exact forms only: the test looks for the text's matching forms side
        # by side in ``Analysis.joined``, with no positions
        self.by_forms = len(atoms) > 1 and len(self.quick) == len(atoms)

    def starts(self, an: Analysis) -> list[int]:
        for atom in self.quick:
            if not atom_present(atom, an):
                return []
        anchor = self.anchor
        positions = atom_positions(self.atoms[anchor], an)
        others = self.others
        if not others or not positions:
            return positions
        last = len(an.folded) - len(self.atoms)
        starts = []
        for p in positions:
            start = p - anchor
            if 0 <= start <= last and all(atom_at(a, an, start + i) for i, a in others):
                starts.append(start)
        return starts

    def test(self, an: Analysis, keys: frozenset[str]) -> bool:
        if len(self.atoms) == 1:
            return atom_present(self.atoms[0], an)
        if self.by_forms:
            options = []
            count = 1
            for atom in self.atoms:
                if atom.kind == LEMMA:
                    forms = an.lemma_forms(atom.lemmas)
                elif atom.folded in an.form_set:
                    forms = [atom.folded]
                else:
                    return False
                if not forms:
                    return False
                options.append(forms)
                count *= len(forms)
            if count <= _MAX_FORM_COMBINATIONS:
                joined = an.joined
                return any(f" {' '.join(combo)} " in joined for combo in product(*options))
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

    def residual(self, proven: Collection[Node]) -> Test | None:
        """The test of what is left to check once the nodes ``proven`` are known to hold.

        ``proven`` may hold the root or children of an ``AND`` root (others are ignored):
        the result tests the remaining children only, or is None when nothing remains.
        The fast path of an index that proved some terms by its own lookups.
        """
        root = self._root
        skip = {id(node) for node in proven}
        if id(root.node) in skip:
            return None
        if not isinstance(root, _AndEval) or not skip:
            return root.test
        rest = tuple(child.test for child in root.ordered if id(child.node) not in skip)
        if not rest:
            return None
        if len(rest) == 1:
            return rest[0]

        def test(analysis: Analysis, channel_keys: frozenset[str]) -> bool:
            for child in rest:
                if not child(analysis, channel_keys):
                    return False
            return True

        return test

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
