"""All subscriptions compiled into one index, so matching a post costs in its length.

Each query yields *required groups*: sets of anchor terms (a lemma, an exact form, the
first three letters of a prefix, a name key or its one-letter deletions, a channel key, a
regex) such that every post the query matches contains at least one term of each group.
A word gives one group, a phrase one per word, ``AND`` the groups of its sides, ``OR``
one group joining a group of each side, ``NOT`` none. Up to ``GROUPS_PER_QUERY`` of the
most selective groups are indexed.

Matching a post looks up the post's own terms (its lemmas, forms, prefix buckets, name
keys, channel keys and the regexes its text matches, found by one RE2 set), counts for
each subscription how many of its indexed groups were hit, and fully evaluates only the
subscriptions whose every indexed group was hit, plus the few queries with no group at
all (e.g. ``a OR -b``). Adding or removing a subscription touches only its own entries.

The index is not safe for concurrent mutation: guard ``add``/``remove`` and ``match``
with one lock when several threads use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from bot.query.compiled import CompiledQuery, Hit, compile_query
from bot.query.document import Document
from bot.query.names import deletions, word_probes
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
    Regex,
    Term,
)
from bot.query.normalize import Analysis, Normalizer, get_normalizer
from bot.query.regex import RegexSet

GROUPS_PER_QUERY: Final = 3
NAME_CACHE_SIZE: Final = 1 << 17

K_LEMMA: Final = 0
K_FORM: Final = 1
K_PREFIX: Final = 2
K_NAME: Final = 3
K_CHANNEL: Final = 4
K_REGEX: Final = 5
_KINDS: Final = 6

Anchor = tuple[int, str]
Group = frozenset[Anchor]


def _atom_group(atom: Atom) -> Group:
    if atom.kind == LEMMA:
        return frozenset((K_LEMMA, lemma) for lemma in atom.lemmas)
    if atom.kind == EXACT:
        return frozenset(((K_FORM, atom.folded),))
    if atom.kind == PREFIX:
        return frozenset(((K_PREFIX, atom.folded[:3]),))
    assert atom.kind == NAME
    keys = {atom.key}
    if atom.edits:
        keys.update(deletions(atom.key))
    return frozenset((K_NAME, key) for key in keys)


def required_groups(node: Node) -> list[Group]:
    """Groups of anchors of which every matching post contains at least one each."""
    if isinstance(node, Term):
        return [_atom_group(atom) for atom in node.atoms]
    if isinstance(node, Channel):
        return [frozenset(((K_CHANNEL, node.key),))]
    if isinstance(node, Regex):
        return [frozenset(((K_REGEX, node.pattern),))]
    if isinstance(node, Not):
        return []
    if isinstance(node, And):
        return [group for child in node.children for group in required_groups(child)]
    if isinstance(node, Or):
        merged: set[Anchor] = set()
        for child in node.children:
            groups = required_groups(child)
            if not groups:
                return []
            best: Group = max(groups, key=selectivity)
            merged.update(best)
        return [frozenset(merged)]
    raise TypeError(f"unknown query node {node!r}")


def selectivity(group: Group) -> float:
    """A guess of how rarely a post hits ``group`` (higher = rarer): longer words are rarer,
    a channel is about as rare as a short word, regexes and prefix buckets are common, and
    alternatives add up."""
    kinds = {kind for kind, _ in group}
    if kinds == {K_NAME}:
        return 2.0 + min(10, max(len(value) for _, value in group))
    if K_CHANNEL in kinds:
        base = 6.0
    elif K_REGEX in kinds:
        base = 2.0
    elif K_PREFIX in kinds:
        base = 3.0
    else:
        base = 2.0 + min(10, min(len(value) for _, value in group))
    return base - 0.25 * (len(group) - 1)


# The role of an indexed group: a query's only group, one of two, or one of three.
ROLES_BY_COUNT: Final = {1: (0,), 2: (1, 2), 3: (3, 4, 5)}
_ROLES: Final = 6


class SubscriptionIndex:
    """Subscriptions by id, matched together against each post."""

    def __init__(self, normalizer: Normalizer | None = None) -> None:
        self._normalizer = normalizer or get_normalizer()
        self._queries: dict[int, CompiledQuery] = {}
        # kind -> anchor term -> how many (subscription, group) entries use it
        self._postings: list[dict[str, int]] = [{} for _ in range(_KINDS)]
        # kind -> role (see ROLES_BY_COUNT) -> anchor term -> subscription ids
        self._roles: list[list[dict[str, set[int]]]] = [
            [{} for _ in range(_ROLES)] for _ in range(_KINDS)
        ]
        self._tests: dict[int, Callable[[Analysis, frozenset[str]], bool]] = {}
        self._name_cache: dict[tuple[str, frozenset[str]], frozenset[str]] = {}
        self._name_term_set: frozenset[str] | None = None
        self._entries: dict[int, list[tuple[int, Group]]] = {}
        self._always: set[int] = set()
        self._regexes = RegexSet()
        self._regex_users: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, sub_id: object) -> bool:
        return sub_id in self._queries

    def query(self, sub_id: int) -> CompiledQuery:
        """The compiled query of a subscription (KeyError when absent)."""
        return self._queries[sub_id]

    def add(self, sub_id: int, query: str | CompiledQuery) -> CompiledQuery:
        """Add or replace a subscription; raises QueryError for an invalid query text."""
        compiled = (
            query if isinstance(query, CompiledQuery) else compile_query(query, self._normalizer)
        )
        if sub_id in self._queries:
            self.remove(sub_id)
        self._queries[sub_id] = compiled
        self._tests[sub_id] = compiled.test
        groups = list(dict.fromkeys(required_groups(compiled.query.root)))
        chosen = sorted(groups, key=selectivity, reverse=True)[:GROUPS_PER_QUERY]
        entries = list(zip(ROLES_BY_COUNT.get(len(chosen), ()), chosen, strict=False))
        for role, group in entries:
            for kind, term in group:
                table = self._postings[kind]
                if term not in table:
                    table[term] = 0
                    if kind == K_NAME:
                        self._name_cache.clear()
                        self._name_term_set = None
                table[term] += 1
                self._roles[kind][role].setdefault(term, set()).add(sub_id)
        self._entries[sub_id] = entries
        if not entries:
            self._always.add(sub_id)
        for node in compiled.query.walk():
            if isinstance(node, Regex):
                self._regex_users[node.pattern] = self._regex_users.get(node.pattern, 0) + 1
                self._regexes.add(node.regex)
        return compiled

    def remove(self, sub_id: int) -> None:
        """Remove a subscription (no-op when absent)."""
        compiled = self._queries.pop(sub_id, None)
        if compiled is None:
            return
        del self._tests[sub_id]
        for role, group in self._entries.pop(sub_id, []):
            for kind, term in group:
                by_role = self._roles[kind][role]
                subs = by_role[term]
                subs.discard(sub_id)
                if not subs:
                    del by_role[term]
                table = self._postings[kind]
                table[term] -= 1
                if not table[term]:
                    del table[term]
                    if kind == K_NAME:
                        self._name_cache.clear()
                        self._name_term_set = None
        self._always.discard(sub_id)
        for node in compiled.query.walk():
            if isinstance(node, Regex):
                users = self._regex_users[node.pattern] - 1
                if users:
                    self._regex_users[node.pattern] = users
                else:
                    del self._regex_users[node.pattern]
                    self._regexes.discard(node.pattern)

    def _present(self, doc: Document, an: Analysis) -> list[tuple[int, set[str]]]:
        """The anchor terms of the index the post contains, by kind."""
        terms = self._postings
        present = [
            (K_LEMMA, terms[K_LEMMA].keys() & an.lemma_set),
            (K_FORM, terms[K_FORM].keys() & an.form_set),
        ]
        if terms[K_PREFIX]:
            present.append((K_PREFIX, terms[K_PREFIX].keys() & an.prefix_buckets()))
        if terms[K_NAME]:
            present.append((K_NAME, self._name_terms(an)))
        if terms[K_CHANNEL]:
            present.append((K_CHANNEL, terms[K_CHANNEL].keys() & doc.channel_keys))
        if self._regex_users:
            matched = self._regexes.matching(an.text)
            results = dict.fromkeys(self._regex_users, False)
            results.update(dict.fromkeys(matched, True))
            an.remember_regex_results(results)
            present.append((K_REGEX, terms[K_REGEX].keys() & matched))
        return present

    def _name_terms(self, an: Analysis) -> set[str]:
        """Name anchors the post's words reach, cached per word until names change."""
        cache = self._name_cache
        names = self._postings[K_NAME].keys()
        forms: dict[str, list[str]] = {}
        for word in an.words().items():
            hits = cache.get(word)
            if hits is None:
                hits = frozenset(names & word_probes(*word))
                if len(cache) >= NAME_CACHE_SIZE:
                    cache.clear()
                cache[word] = hits
            for term in hits:
                forms.setdefault(term, []).append(word[0])
        if self._name_term_set is None:
            self._name_term_set = frozenset(names)
        an.remember_name_anchors(forms, self._name_term_set)
        return set(forms)

    def candidates(self, doc: Document, analysis: Analysis) -> set[int]:
        """Subscriptions whose indexed groups the post all hits, plus unindexed ones."""
        hits: list[set[int]] = [set() for _ in range(_ROLES)]
        for kind, present in self._present(doc, analysis):
            if present:
                for hit, by_role in zip(hits, self._roles[kind], strict=True):
                    if by_role:
                        hit.update(*filter(None, map(by_role.get, present)))
        single, pair_a, pair_b, triple_a, triple_b, triple_c = hits
        found = single | (pair_a & pair_b) | self._always
        if triple_a:
            found |= triple_a & triple_b & triple_c
        return found

    def match(self, doc: Document, analysis: Analysis | None = None) -> list[int]:
        """Ids of the subscriptions the post matches, ascending."""
        an = analysis if analysis is not None else self._normalizer.analyse(doc.text)
        keys = doc.channel_keys
        tests = self._tests
        return sorted(s for s in self.candidates(doc, an) if tests[s](an, keys))

    def explain(self, sub_id: int, doc: Document, analysis: Analysis | None = None) -> list[Hit]:
        """Why subscription ``sub_id`` matched the post ([] when it does not)."""
        return self._queries[sub_id].explain(doc, analysis)
