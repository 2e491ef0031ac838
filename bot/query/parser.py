"""Query text -> AST. Grammar (precedence NOT/``-`` > AND > OR, parentheses override)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*           -- juxtaposition is AND
    unary   := ("NOT" | "-") unary | primary     -- "-" only at the start of a term
    primary := "(" or_expr ")" | "phrase" | /regex/ | channel:X | =word | prefix* | Name~ | word

Operators are the upper-case words ``AND``, ``OR``, ``NOT``; lower-case ones are words.
A bare word is split into tokens like post text: ``дронам-перехоплювачам`` or ``U.S.`` are
adjacent parts, each matched the way the term says (lemma, exact, prefix for the last part,
name). Inside a phrase each word may carry the same markers (``"=неба ясного"``).
Phrases are quoted with ``"…"``, ``“…”``, ``„…“`` or ``«…»``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.query.errors import QueryError
from bot.query.exonyms import other_forms
from bot.query.names import max_edits, name_key
from bot.query.nodes import (
    EXACT,
    LEMMA,
    NAME,
    PREFIX,
    And,
    Atom,
    AtomKind,
    Channel,
    Node,
    Not,
    Or,
    Query,
    Regex,
    Term,
    TermKind,
)
from bot.query.normalize import Normalizer, get_normalizer, split_words
from bot.query.regex import compile_regex

MAX_QUERY_LENGTH: Final = 2000
MIN_PREFIX_LETTERS: Final = 3

_QUOTES: Final = {'"': '"', "“": '”"', "„": '“”"', "«": "»"}
_OPERATORS: Final = frozenset(("AND", "OR", "NOT"))
_CHANNEL_RE: Final = re.compile(r"(?:https?://)?(?:t\.me/|telegram\.me/)?@?([A-Za-z0-9_]+|-?\d+)")


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "(" ")" AND OR NOT NEG WORD PHRASE REGEX END
    column: int
    text: str = ""


def _lex(query: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Tok(ch, col))
            i += 1
        elif ch in _QUOTES:
            closers = _QUOTES[ch]
            j = i + 1
            while j < n and query[j] not in closers:
                j += 1
            if j >= n:
                raise QueryError("unclosed quote", col)
            out.append(_Tok("PHRASE", col, query[i + 1 : j]))
            i = j + 1
        elif ch == "/":
            j = i + 1
            while j < n and query[j] != "/":
                j += 2 if query[j] == "\\" else 1
            if j >= n:
                raise QueryError("unclosed regex (expected a closing /)", col)
            if j + 1 < n and not (query[j + 1].isspace() or query[j + 1] in "()"):
                raise QueryError("expected a space or ) after the regex", j + 2)
            out.append(_Tok("REGEX", col, query[i + 1 : j]))
            i = j + 1
        elif ch == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QueryError("expected a term after -", col)
            out.append(_Tok("NEG", col))
            i += 1
        else:
            j = i
            while j < n and not (query[j].isspace() or query[j] in "()" or query[j] in _QUOTES):
                j += 1
            word = query[i:j]
            out.append(_Tok(word if word in _OPERATORS else "WORD", col, word))
            i = j
    out.append(_Tok("END", n + 1))
    return out


_TERM_START: Final = frozenset(("(", "NOT", "NEG", "WORD", "PHRASE", "REGEX"))


class _Parser:
    def __init__(self, query: str, normalizer: Normalizer) -> None:
        self.query = query
        self.normalizer = normalizer
        self.toks = _lex(query)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect_term(self, after: _Tok) -> None:
        nxt = self.peek()
        if nxt.kind not in _TERM_START:
            name = "-" if after.kind == "NEG" else after.kind
            raise QueryError(f"expected a term after {name}", nxt.column)

    def parse(self) -> Node:
        first = self.peek()
        if first.kind == "END":
            raise QueryError("empty query", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            raise QueryError("unexpected ) without a matching (", tok.column)
        if tok.kind != "END":  # pragma: no cover - every other token starts or joins a term
            raise QueryError(f"unexpected {tok.kind}", tok.column)
        return node

    def or_expr(self) -> Node:
        first = self.peek()
        children = [self.and_expr()]
        while self.peek().kind == "OR":
            op = self.take()
            self.expect_term(op)
            children.append(self.and_expr())
        return _flatten(Or, first.column, children)

    def and_expr(self) -> Node:
        first = self.peek()
        if first.kind in ("AND", "OR"):
            raise QueryError(f"expected a term before {first.kind}", first.column)
        children = [self.unary()]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                self.take()
                self.expect_term(tok)
                children.append(self.unary())
            elif tok.kind in _TERM_START:
                children.append(self.unary())
            else:
                break
        return _flatten(And, first.column, children)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "NEG"):
            self.take()
            self.expect_term(tok)
            return Not(tok.column, self.unary())
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise QueryError("expected a term inside ( )", self.peek().column)
            node = self.or_expr()
            close = self.peek()
            if close.kind != ")":
                raise QueryError("unclosed (", tok.column)
            self.take()
            return node
        if tok.kind == "PHRASE":
            return self.phrase(tok)
        if tok.kind == "REGEX":
            return Regex(tok.column, compile_regex(tok.text, tok.column), tok.text)
        if tok.kind == "WORD":
            return self.word(tok.text, tok.column)
        if tok.kind == ")":
            raise QueryError("unexpected ) without a matching (", tok.column)
        if tok.kind == "END":
            raise QueryError("expected a term", tok.column)
        raise QueryError(f"expected a term before {tok.kind}", tok.column)

    # -- terms -------------------------------------------------------------------------
    def word(self, text: str, column: int) -> Node:
        if text[:8].lower() == "channel:":
            return self.channel(text, column)
        kind, atoms = self.atoms(text, column)
        term = Term(column, kind, text, tuple(atoms))
        if kind != "name" or len(atoms) != 1:
            return term
        # a place whose Russian form is beyond the name's bound: `Kyiv~` is `Kyiv~ OR Киев~`
        others = other_forms(atoms[0].key)
        if not others:
            return term
        forms = [
            Term(column, "name", f"{written}~", (_name_atom(written, key),))
            for written, key in others
        ]
        return Or(column, (term, *forms))

    def channel(self, text: str, column: int) -> Channel:
        value = text[8:]
        m = _CHANNEL_RE.fullmatch(value)
        if not value or m is None:
            raise QueryError("expected a channel username or id after channel:", column + 8)
        return Channel(column, value, m.group(1).lower())

    def phrase(self, tok: _Tok) -> Term:
        atoms: list[Atom] = []
        base = tok.column + 1
        for m in re.finditer(r"\S+", tok.text):
            atoms.extend(self.atoms(m.group(), base + m.start())[1])
        if not atoms:
            raise QueryError("expected words inside the quotes", tok.column)
        return Term(tok.column, "phrase", " ".join(tok.text.split()), tuple(atoms))

    def atoms(self, text: str, column: int) -> tuple[TermKind, list[Atom]]:
        """The atoms of one whitespace-free chunk, by its markers."""
        body, offset = text, 0
        kind: TermKind = "word"
        if body.startswith("="):
            kind, body, offset = "exact", body[1:], 1
        if body.endswith("*"):
            if kind == "exact":
                raise QueryError("=word and prefix* cannot be combined", column)
            kind, body = "prefix", body[:-1]
        elif body.endswith("~"):
            if kind == "exact":
                raise QueryError("=word and Name~ cannot be combined", column)
            kind, body = "name", body[:-1]
        for marker in "*~":
            at = body.find(marker)
            if at >= 0:
                where = "the end of a word" if marker == "*" else "the end of a name"
                raise QueryError(f"{marker} is only allowed at {where}", column + offset + at)
        words = split_words(body)
        if not words:
            raise QueryError("expected a word", column)
        atoms = []
        last = len(words) - 1
        for index, (start, end, folded) in enumerate(words):
            written = body[start:end]
            if kind == "word":
                atoms.append(
                    Atom(LEMMA, written, folded, lemmas=self.normalizer.query_lemmas(folded))
                )
                continue
            if kind == "name":
                key = name_key(folded)
                if not key:
                    raise QueryError("a name needs letters", column + offset + start)
                atoms.append(Atom(NAME, written, folded, key=key, edits=max_edits(key)))
                continue
            atom_kind: AtomKind = PREFIX if kind == "prefix" and index == last else EXACT
            if atom_kind == PREFIX and len(folded) < MIN_PREFIX_LETTERS:
                raise QueryError(
                    f"a prefix needs at least {MIN_PREFIX_LETTERS} letters",
                    column + offset + start,
                )
            atoms.append(Atom(atom_kind, written, folded))
        return kind, atoms


def _name_atom(written: str, key: str) -> Atom:
    folded = written.casefold()
    return Atom(NAME, written, folded, key=key, edits=max_edits(key))


def _flatten(cls: type[And] | type[Or], column: int, children: list[Node]) -> Node:
    if len(children) == 1:
        return children[0]
    flat: list[Node] = []
    for child in children:
        if isinstance(child, cls):
            flat.extend(child.children)
        else:
            flat.append(child)
    return cls(column, tuple(flat))


def _matches_nothing_required(node: Node) -> bool:
    """True when the node matches a post with no words and no channel (no positive term)."""
    if isinstance(node, Not):
        return not _matches_nothing_required(node.child)
    if isinstance(node, And):
        return all(_matches_nothing_required(child) for child in node.children)
    if isinstance(node, Or):
        return any(_matches_nothing_required(child) for child in node.children)
    return False


def _check_positive(root: Node) -> None:
    if not _matches_nothing_required(root):
        return
    if isinstance(root, Or):
        for child in root.children:
            if _matches_nothing_required(child):
                raise QueryError(
                    "each side of OR needs a positive term "
                    "(NOT x OR y would match almost every post)",
                    child.column,
                )
    raise QueryError("a query needs at least one positive term", 1)


def parse_query(text: str, normalizer: Normalizer | None = None) -> Query:
    """Parse a query into its AST; raises QueryError naming the column and the problem."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is longer than {MAX_QUERY_LENGTH} characters", MAX_QUERY_LENGTH)
    root = _Parser(text, normalizer or get_normalizer()).parse()
    _check_positive(root)
    return Query(text, root)
