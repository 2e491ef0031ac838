"""All subscriptions compiled into one index, so matching a post costs in its length.

Each query yields *required groups*: sets of anchor terms (a lemma, an exact form, the
first three letters of a prefix, a name key or its one-letter deletions, a channel key, a
regex) such that every post the query matches contains at least one term of each group.
A word gives one group, a phrase one per word, ``AND`` the groups of its sides, ``OR``
one group joining a group of each side, ``NOT`` none.

Two groups of a query are indexed together (``indexed_groups``: the most selective group
of each child of an ``AND`` before any child's second, since the words of one phrase occur
together and narrow little as a pair). The more selective is the *outer* group, the other
the *inner* one, and the query is filed under every pair (outer anchor, inner anchor), up
to ``PAIR_LIMIT`` pairs (beyond, under its outer group alone); a query with a single group
is filed under its anchors alone, and the few queries with no group at all (e.g.
``a OR -b``) are always candidates.
Matching a post first collects the post's anchors present in the index (its lemmas,
forms, prefix buckets, name keys, channel keys and the regexes its text matches, found by
one RE2 set) as one set of tagged strings; the outer anchors present are then found with
one set intersection, and for each of them the inner anchors present with another, so the
candidates are exactly the queries whose two indexed groups are both hit, assembled by set
operations in C. Counting hits per subscription (what an earlier version did) touched
every subscription sharing any term with the post; this touches only near-matches.

A candidate is then evaluated only on what the index did not already prove: a group that
is *decided* by its anchors (a plain word, an ``=exact`` word, ``channel:``, a regex, or an
``OR`` of those) holds exactly when the post hits it, so when such a term is a child of the
query's ``AND`` (or the whole query) and its group is indexed, the term is not tested
again; ``a b`` needs no evaluation at all, ``a b -c`` tests only ``-c``, a phrase still
checks adjacency. Adding or removing a subscription touches only its own entries.

The index is not safe for concurrent mutation: guard ``add``/``remove`` and ``match``
with one lock when several threads use it.
"""

from __future__ import annotations

from itertools import compress
from typing import Final

from bot.query.compiled import CompiledQuery, Hit, Test, compile_query
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

GROUPS_PER_QUERY: Final = 2
PAIR_LIMIT: Final = 256
"""At most this many (outer, inner) anchor pairs per query; beyond, only the outer group
is indexed (e.g. a long ``OR`` on both sides)."""
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

# Anchors of all kinds in one set of strings: a lemma as it is (lemmas are letters and
# digits), any other kind behind a control character naming the kind.
_TAGS: Final = ("", "\x01", "\x02", "\x03", "\x04", "\x05")


def _tagged(group: Group) -> list[str]:
    return [_TAGS[kind] + term for kind, term in group]


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


def decided_group(node: Node) -> Group | None:
    """The group ``node`` holds exactly when a post hits (None when there is none): a plain
    word, an ``=exact`` word, a channel, a regex, or an ``OR`` of such nodes."""
    if isinstance(node, Term):
        if len(node.atoms) == 1 and node.atoms[0].kind in (LEMMA, EXACT):
            return _atom_group(node.atoms[0])
        return None
    if isinstance(node, (Channel, Regex)):
        (group,) = required_groups(node)
        return group
    if isinstance(node, Or):
        merged: set[Anchor] = set()
        for child in node.children:
            decided = decided_group(child)
            if decided is None:
                return None
            merged.update(decided)
        return frozenset(merged)
    return None


def indexed_groups(root: Node) -> tuple[Group, ...]:
    """The (up to ``GROUPS_PER_QUERY``) groups to index a query under, most selective
    first. The words of one phrase occur together, so two groups from different children of
    an ``AND`` narrow far more than two of the same child: the best group of each child
    comes before any child's second best."""
    children = root.children if isinstance(root, And) else (root,)
    ranked: list[tuple[bool, float, Group]] = []
    for child in children:
        groups = sorted(dict.fromkeys(required_groups(child)), key=selectivity, reverse=True)
        ranked.extend((i == 0, selectivity(group), group) for i, group in enumerate(groups))
    ranked.sort(key=lambda item: item[:2], reverse=True)
    return tuple(dict.fromkeys(group for _, _, group in ranked))[:GROUPS_PER_QUERY]


def proven_nodes(root: Node, indexed: tuple[Group, ...]) -> list[Node]:
    """The root, or children of an ``AND`` root, that hold whenever the ``indexed`` groups
    are all hit (see ``decided_group``)."""
    if decided_group(root) in indexed:
        return [root]
    if isinstance(root, And):
        return [child for child in root.children if decided_group(child) in indexed]
    return []


class SubscriptionIndex:
    """Subscriptions by id, matched together against each post."""

    def __init__(self, normalizer: Normalizer | None = None) -> None:
        self._normalizer = normalizer or get_normalizer()
        self._queries: dict[int, CompiledQuery] = {}
        # kind -> anchor term -> how many indexed groups use it
        self._terms: list[dict[str, int]] = [{} for _ in range(_KINDS)]
        # tagged anchor -> subscriptions whose only indexed group holds it
        self._single: dict[str, set[int]] = {}
        # tagged outer anchor -> tagged inner anchor -> subscriptions
        self._pairs: dict[str, dict[str, set[int]]] = {}
        self._always: set[int] = set()
        # what is left to test once a subscription is a candidate; absent: nothing
        self._residual: dict[int, Test] = {}
        self._entries: dict[int, tuple[Group, ...]] = {}
        self._name_cache: dict[tuple[str, frozenset[str]], frozenset[str]] = {}
        self._name_term_set: frozenset[str] | None = None
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
        root = compiled.query.root
        chosen = indexed_groups(root)
        if len(chosen) == 2 and len(chosen[0]) * len(chosen[1]) > PAIR_LIMIT:
            chosen = chosen[:1]
        for group in chosen:
            for kind, term in group:
                table = self._terms[kind]
                if term not in table:
                    table[term] = 0
                    if kind == K_NAME:
                        self._names_changed()
                table[term] += 1
        if len(chosen) == 2:
            outer, inner = map(_tagged, chosen)
            for a in outer:
                by_inner = self._pairs.setdefault(a, {})
                for b in inner:
                    by_inner.setdefault(b, set()).add(sub_id)
        elif chosen:
            for a in _tagged(chosen[0]):
                self._single.setdefault(a, set()).add(sub_id)
        else:
            self._always.add(sub_id)
        self._entries[sub_id] = chosen
        residual = compiled.residual(proven_nodes(root, chosen))
        if residual is not None:
            self._residual[sub_id] = residual
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
        self._residual.pop(sub_id, None)
        chosen = self._entries.pop(sub_id)
        if len(chosen) == 2:
            outer, inner = map(_tagged, chosen)
            for a in outer:
                by_inner = self._pairs[a]
                for b in inner:
                    subs = by_inner[b]
                    subs.discard(sub_id)
                    if not subs:
                        del by_inner[b]
                if not by_inner:
                    del self._pairs[a]
        elif chosen:
            for a in _tagged(chosen[0]):
                subs = self._single[a]
                subs.discard(sub_id)
                if not subs:
                    del self._single[a]
        else:
            self._always.discard(sub_id)
        for group in chosen:
            for kind, term in group:
                table = self._terms[kind]
                table[term] -= 1
                if not table[term]:
                    del table[term]
                    if kind == K_NAME:
                        self._names_changed()
        for node in compiled.query.walk():
            if isinstance(node, Regex):
                users = self._regex_users[node.pattern] - 1
                if users:
                    self._regex_users[node.pattern] = users
                else:
                    del self._regex_users[node.pattern]
                    self._regexes.discard(node.pattern)

    def _names_changed(self) -> None:
        self._name_cache.clear()
        self._name_term_set = None

    def _present(self, doc: Document, an: Analysis) -> set[str]:
        """The anchors of the index the post contains, tagged by kind (see ``_TAGS``)."""
        terms = self._terms
        present: set[str] = terms[K_LEMMA].keys() & an.lemma_set
        if terms[K_FORM]:
            present.update(_TAGS[K_FORM] + t for t in terms[K_FORM].keys() & an.form_set)
        if terms[K_PREFIX]:
            buckets = an.prefix_buckets()
            present.update(_TAGS[K_PREFIX] + t for t in terms[K_PREFIX].keys() & buckets)
        if terms[K_NAME]:
            present.update(_TAGS[K_NAME] + t for t in self._name_terms(an))
        if terms[K_CHANNEL]:
            keys = doc.channel_keys
            present.update(_TAGS[K_CHANNEL] + t for t in terms[K_CHANNEL].keys() & keys)
        if self._regex_users:
            matched = self._regexes.matching(an.text)
            results = dict.fromkeys(self._regex_users, False)
            results.update(dict.fromkeys(matched, True))
            an.remember_regex_results(results)
            present.update(_TAGS[K_REGEX] + t for t in terms[K_REGEX].keys() & matched)
        return present

    def _name_terms(self, an: Analysis) -> list[str]:
        """Name anchors the post's words reach, cached per word until names change."""
        cache = self._name_cache
        words = list(zip(an.folded, an.lemmas, strict=True))
        reached = list(map(cache.get, words))
        if None in reached:
            names = self._terms[K_NAME].keys()
            if len(cache) >= NAME_CACHE_SIZE:
                cache.clear()
            for i, word in enumerate(words):
                if reached[i] is None:
                    reached[i] = cache[word] = frozenset(names & word_probes(*word))
        forms: dict[str, list[str]] = {}
        for (form, _), hits in compress(zip(words, reached, strict=True), reached):
            for term in hits:  # type: ignore[union-attr]
                forms.setdefault(term, []).append(form)
        if self._name_term_set is None:
            self._name_term_set = frozenset(self._terms[K_NAME])
        an.remember_name_anchors(forms, self._name_term_set)
        return list(forms)

    def candidates(self, doc: Document, analysis: Analysis) -> set[int]:
        """Subscriptions whose indexed groups the post all hits, plus unindexed ones."""
        present = self._present(doc, analysis)
        pairs = self._pairs
        found = set(self._always)
        for a in pairs.keys() & present:
            by_inner = pairs[a]
            for b in by_inner.keys() & present:
                found |= by_inner[b]
        single = self._single
        for a in single.keys() & present:
            found |= single[a]
        return found

    def match(self, doc: Document, analysis: Analysis | None = None) -> list[int]:
        """Ids of the subscriptions the post matches, ascending."""
        an = analysis if analysis is not None else self._normalizer.analyse(doc.text)
        keys = doc.channel_keys
        residual = self._residual
        found = self.candidates(doc, an)
        tested = residual.keys() & found
        if tested:
            found -= tested
            found.update(s for s in tested if residual[s](an, keys))
        return sorted(found)

    def explain(self, sub_id: int, doc: Document, analysis: Analysis | None = None) -> list[Hit]:
        """Why subscription ``sub_id`` matched the post ([] when it does not)."""
        return self._queries[sub_id].explain(doc, analysis)
