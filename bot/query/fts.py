"""SQLite FTS5 pre-filters for archive search: a query -> a MATCH expression.

The contract with storage:

* The FTS5 column holds ``" ".join(Normalizer.index_terms(text))`` under the tokenizer
  ``unicode61 remove_diacritics 0``; every index term is one token of it.
* ``fts_expression(query, vocab)`` returns an expression every post matching ``query``
  satisfies (a superset: the matcher confirms each candidate), or ``None`` when FTS
  cannot narrow the search (only regexes, channels or negations, or an ``OR`` with such a
  side): then scan, newest first. It returns ``FTS_NO_MATCH`` when nothing in the archive
  can match (a ``Name~`` with no variant in the vocabulary on a required side).
* Words become an ``OR`` of their lemma terms, ``=word`` its folded form, ``prefix*`` an
  FTS prefix query on the folded prefix, phrases and hyphenated words the ``AND`` of their
  words (the index does not keep adjacency); ``AND``/``OR`` structure is kept and ``NOT``
  parts are dropped.
* ``Name~`` needs the vocabulary: ``vocab(prefix)`` must return the distinct index terms
  starting with ``prefix`` (it is called with ``""``, meaning all terms; returning more
  than asked is harmless, they are filtered here). Storage implements it with an
  ``fts5vocab`` table. Without ``vocab`` a ``Name~`` cannot narrow (``None`` for it).

The expression is meant for a table whose only indexed column holds the terms (or wrap it
as ``{column} : (expression)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from bot.query.compiled import CompiledQuery
from bot.query.names import name_key, within
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

FTS_NO_MATCH: Final = '"\u02bc\u02bc"'
"""An expression no indexed post satisfies (no index term is made of apostrophes)."""

Vocab = Callable[[str], Iterable[str]]


class _Nothing:
    """Marker: this part cannot match any indexed post."""


_NOTHING: Final = _Nothing()
_Expr = str | None | _Nothing


def _is_term(value: str) -> bool:
    return bool(value) and value.isalnum()


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _any_of(terms: Iterable[str]) -> _Expr:
    quoted = sorted({_quote(t) for t in terms if _is_term(t)})
    if not quoted:
        return _NOTHING
    if len(quoted) == 1:
        return quoted[0]
    return "(" + " OR ".join(quoted) + ")"


class _Builder:
    def __init__(self, vocab: Vocab | None) -> None:
        self.vocab = vocab
        self._terms: list[str] | None = None

    def all_terms(self) -> list[str]:
        if self._terms is None:
            assert self.vocab is not None
            self._terms = [t for t in dict.fromkeys(self.vocab("")) if _is_term(t)]
        return self._terms

    def atom(self, atom: Atom) -> _Expr:
        if atom.kind == LEMMA:
            return _any_of(atom.lemmas)
        if atom.kind == EXACT:
            return _any_of((atom.folded,))
        if atom.kind == PREFIX:
            return f"{_quote(atom.folded)}*" if _is_term(atom.folded) else None
        if self.vocab is None:
            return None
        return _any_of(t for t in self.all_terms() if within(atom.key, name_key(t), atom.edits))

    def node(self, node: Node) -> _Expr:
        if isinstance(node, Term):
            return self.all_of([self.atom(atom) for atom in node.atoms])
        if isinstance(node, Channel | Regex | Not):
            return None
        if isinstance(node, And):
            return self.all_of([self.node(child) for child in node.children])
        if isinstance(node, Or):
            parts = [self.node(child) for child in node.children]
            if any(part is None for part in parts):
                return None
            texts = sorted({part for part in parts if isinstance(part, str)})
            if not texts:
                return _NOTHING
            return texts[0] if len(texts) == 1 else "(" + " OR ".join(texts) + ")"
        raise TypeError(f"unknown query node {node!r}")

    @staticmethod
    def all_of(parts: list[_Expr]) -> _Expr:
        if any(isinstance(part, _Nothing) for part in parts):
            return _NOTHING
        texts = list(dict.fromkeys(part for part in parts if isinstance(part, str)))
        if not texts:
            return None
        return texts[0] if len(texts) == 1 else "(" + " AND ".join(texts) + ")"


def fts_expression(query: Query | CompiledQuery, vocab: Vocab | None = None) -> str | None:
    """An FTS5 MATCH expression every post matching ``query`` satisfies (see the module
    docstring for the contract), ``None`` when FTS cannot narrow the search, or
    ``FTS_NO_MATCH`` when no post can match."""
    parsed = query.query if isinstance(query, CompiledQuery) else query
    result = _Builder(vocab).node(parsed.root)
    if isinstance(result, _Nothing):
        return FTS_NO_MATCH
    return result
