"""All subscriptions compiled into one index, so matching a post costs in its length.

Anchors. The index knows a post by its *anchors*: tagged strings (see ``_TAGS``) each
saying one fact about the post that a query term can ask: a token has this lemma
(``K_LEMMA``), this exact form (``K_FORM``), starts with this prefix (``K_PREFIX``), is
within the edit bound of this name key (``K_NAME``, the ``Name~`` rule itself, not just a
hint); two adjacent tokens have these two lemmas or forms (``K_PHRASE``); the post's
channel has this key (``K_CHANNEL``); the text matches this regex (``K_REGEX``).

Groups. Each query yields *required groups*: sets of anchors such that every post the
query matches holds at least one anchor of each group. A word gives one group, ``=word``,
``prefix*`` and ``Name~`` one anchor each, a two-word phrase one group of adjacent pairs,
a longer phrase one per adjacent pair of words (and one per prefix or name part), ``AND``
the groups of its sides, ``OR`` one group joining a group of each side, ``NOT`` none. A
group is *decided* (``decided_group``) when the post holds one of its anchors exactly when
the node holds: one-word terms of any kind, two-word phrases of words and exact forms,
``channel:``, regexes and ``OR`` of those.

Candidates. Two groups of a query are indexed together (``indexed_groups``: the most
selective group of each child of an ``AND`` before any child's second). One is the *outer*
group, the other the *inner* one, and the query is filed under every pair (outer anchor,
inner anchor), up to ``PAIR_LIMIT`` pairs (beyond, under its first group alone); a query
with a single group is filed under its anchors alone, and the few queries with no group at
all (e.g. ``a OR -b``) are always candidates. A post's anchors present in the index form
one set; the outer anchors present are found with one set intersection and, for each of
them, the inner anchors present with another (each outer anchor keeps its inner anchors as
a set of their own, which intersects on stored hashes), so the candidates are exactly the
queries whose two indexed groups are both hit, assembled by set operations in C. Which
group is outer does not change the candidates, only the work: each outer anchor a post
holds costs a step of Python, its inner anchors only C probes, no more than the post has
anchors. So the outer group is the more selective one unless the other one's anchors
already have their outer tables (``_new_tables``). All tables share one string object per
anchor (``_anchors``), so equal anchors are found by identity.

Checks. What the indexed groups do not prove is settled on the candidates: a negated
child of the query's ``AND`` with a decided group must not meet the post's anchors
(``excluded``: each such anchor lists the queries it excludes, so the post's excluded
candidates are dropped by set operations in C); a child with a decided group that is not
indexed must meet them (``required``, one set test per candidate); only what is left (a
longer phrase, a phrase with a prefix or a name, a negated ``AND``...) is evaluated on the
Analysis, made only then. ``a b``, ``"a b" c``, ``Name~ a``, ``prefix* a``,
``channel:x a`` and ``a b -c`` need no evaluation at all; ``a b c`` needs one set test.

Per-chunk cache. Every anchor but channels and regexes belongs to one token or two
adjacent ones and depends only on their folded forms and lemma sets, and a token never
spans whitespace. So a post's anchors are found without analysing it: the text is split at
whitespace, and each distinct chunk (a word, maybe with punctuation around it) has its
part computed once and cached (``_ChunkEntry``, by text mode and chunk): the anchors of its
tokens (``_WordEntry``, cached by text mode and form) and the indexed pairs inside it, plus
the words its first token ends a pair with and those its last token begins one with. A
post's anchors are the union of its chunks' entries plus the pairs across chunks: the
products of one chunk's last words with the next chunk's first words, built and looked up
in C at the few places where a pair can begin. The text is analysed only when a candidate
needs evaluation. Both caches depend on the index's anchors: they are emptied whenever an
anchor of these kinds is added to the index or leaves it, and when one reaches
``WORD_CACHE_SIZE`` entries per mode.

Adding or removing a subscription touches only its own entries. The index is not safe for
concurrent mutation: guard ``add``/``remove`` and ``match`` with one lock when several
threads use it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain, compress, islice, pairwise, product, starmap
from operator import itemgetter
from typing import Final, cast

from bot.query.compiled import CompiledQuery, Hit, Test, compile_query
from bot.query.document import Document
from bot.query.names import name_reach, within, word_keys, word_probes
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
from bot.query.normalize import Analysis, Normalizer, get_normalizer, text_mode
from bot.query.regex import RegexSet

GROUPS_PER_QUERY: Final = 2
PAIR_LIMIT: Final = 256
"""At most this many (outer, inner) anchor pairs per query; beyond, only the outer group
is indexed (e.g. a long ``OR`` on both sides)."""
WORD_CACHE_SIZE: Final = 1 << 17
"""At most this many forms (and chunks) per text mode in the per-word (per-chunk) anchor
cache (emptied when full)."""

K_LEMMA: Final = 0
K_FORM: Final = 1
K_PREFIX: Final = 2
K_NAME: Final = 3
K_CHANNEL: Final = 4
K_REGEX: Final = 5
K_PHRASE: Final = 6
_KINDS: Final = 7
_WORD_KINDS: Final = frozenset((K_LEMMA, K_FORM, K_PREFIX, K_NAME, K_PHRASE))
"""Kinds of anchors found per token (or pair of adjacent tokens), through the word cache."""

Anchor = tuple[int, str]
Group = frozenset[Anchor]

# Anchors of all kinds in one set of strings: a lemma as it is (lemmas are letters and
# digits), any other kind behind a control character naming the kind.
_TAGS: Final = ("", "\x01", "\x02", "\x03", "\x04", "\x05", "\x06")
_PAIR_JOIN: Final = "\x00"
"""Between the two words of a ``K_PHRASE`` anchor (each a lemma or a tagged form)."""

Check = tuple[tuple[frozenset[str], ...], Test | None]
"""What a candidate must still pass besides its exclusions: groups of tagged anchors each
of which the post must hit, and a test of the rest (or None)."""

_WordEntry = tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]
"""One token's part of the post's anchors: its tagged anchors present in the index, its
words (lemmas, tagged form) that begin an indexed ``K_PHRASE`` pair, and those that end
one (cached by text mode and form)."""
_ChunkEntry = tuple[frozenset[str], tuple[str, ...], tuple[str, ...]]
"""One whitespace-separated chunk's part of the post's anchors: its tokens' anchors with
the indexed pairs of adjacent tokens inside it, the words its first token ends a pair
with, and those its last token begins one with (cached by text mode and chunk)."""
_BLANK: Final = cast("_ChunkEntry", ())
"""The entry of a chunk without a token: empty, so that ``filter(None, ...)`` drops it."""
_NO_ANCHORS: Final[frozenset[str]] = frozenset()
_ANCHORS: Final = itemgetter(0)
_HEAD_ENDS: Final = itemgetter(1)
_TAIL_FIRSTS: Final = itemgetter(2)


def name_term(key: str, edits: int) -> str:
    """The ``K_NAME`` anchor of ``Name~`` with this key and edit bound."""
    return f"{edits}{key}"


def _words_of(atom: Atom) -> list[str]:
    """How an adjacent pair anchor spells a lemma or exact atom: each lemma as it is, an
    exact form tagged as a form."""
    if atom.kind == LEMMA:
        return sorted(atom.lemmas)
    return [_TAGS[K_FORM] + atom.folded]


def _pair_group(first: Atom, second: Atom) -> Group:
    return frozenset(
        (K_PHRASE, a + _PAIR_JOIN + b) for a in _words_of(first) for b in _words_of(second)
    )


def _atom_group(atom: Atom) -> Group:
    if atom.kind == LEMMA:
        return frozenset((K_LEMMA, lemma) for lemma in atom.lemmas)
    if atom.kind == EXACT:
        return frozenset(((K_FORM, atom.folded),))
    if atom.kind == PREFIX:
        return frozenset(((K_PREFIX, atom.folded),))
    assert atom.kind == NAME
    return frozenset(((K_NAME, name_term(atom.key, atom.edits)),))


def _is_word(atom: Atom) -> bool:
    return atom.kind in (LEMMA, EXACT)


def _term_groups(atoms: Sequence[Atom]) -> list[Group]:
    """A pair group for each two adjacent words (lemma or exact atoms), an atom group for
    each atom in no such pair."""
    if len(atoms) == 1:
        return [_atom_group(atoms[0])]
    groups: list[Group] = []
    paired = [False] * len(atoms)
    for i in range(len(atoms) - 1):
        if _is_word(atoms[i]) and _is_word(atoms[i + 1]):
            groups.append(_pair_group(atoms[i], atoms[i + 1]))
            paired[i] = paired[i + 1] = True
    groups.extend(_atom_group(atom) for atom, done in zip(atoms, paired, strict=True) if not done)
    return groups


def required_groups(node: Node) -> list[Group]:
    """Groups of anchors of which every matching post contains at least one each."""
    if isinstance(node, Term):
        return _term_groups(node.atoms)
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


def _rarity(kind: int, term: str) -> float:
    if kind == K_PHRASE:
        return 14.0
    if kind == K_CHANNEL:
        return 6.0
    if kind == K_REGEX:
        return 2.0
    if kind == K_PREFIX:
        return min(10, len(term)) - 1.0
    if kind == K_NAME:
        return 2.0 + min(10, len(term) - 1)
    return 2.0 + min(10, len(term))


def selectivity(group: Group) -> float:
    """A guess of how rarely a post hits ``group`` (higher = rarer): longer words are rarer,
    a pair of adjacent words rarer still, a channel is about as rare as a short word,
    regexes and short prefixes are common, and alternatives add up."""
    return min(_rarity(kind, term) for kind, term in group) - 0.25 * (len(group) - 1)


def decided_group(node: Node) -> Group | None:
    """The group ``node`` holds exactly when a post hits (None when there is none): a
    one-word term, a two-word phrase of lemmas or exact forms, a channel, a regex, or an
    ``OR`` of such nodes."""
    if isinstance(node, Term):
        atoms = node.atoms
        if len(atoms) == 1:
            return _atom_group(atoms[0])
        if len(atoms) == 2 and _is_word(atoms[0]) and _is_word(atoms[1]):
            return _pair_group(atoms[0], atoms[1])
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
    first. The parts of one term occur together, so two groups from different children of
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


def checked_groups(root: Node, settled: list[Node]) -> tuple[list[Group], list[Group]]:
    """The decided groups of the root (or of the children of an ``AND`` root) not in
    ``settled`` that the post must hit, and those of negated ones it must not; the nodes
    they settle are appended to ``settled``."""
    required: list[Group] = []
    excluded: list[Group] = []
    done = {id(node) for node in settled}
    for child in root.children if isinstance(root, And) else (root,):
        if id(child) in done:
            continue
        group = decided_group(child)
        if group is not None:
            required.append(group)
        elif isinstance(child, Not) and (group := decided_group(child.child)) is not None:
            excluded.append(group)
        else:
            continue
        settled.append(child)
    return required, excluded


def _count(counts: dict[str, int], key: str, change: int) -> None:
    count = counts.get(key, 0) + change
    if count:
        counts[key] = count
    else:
        del counts[key]


def _settled(check: Check, present: set[str]) -> bool | None:
    """Whether a candidate passes its check's anchor groups: False when it misses one,
    True when it hits all and has nothing else to test, None when its test is left."""
    required, test = check
    for group in required:
        if present.isdisjoint(group):
            return False
    return True if test is None else None


class SubscriptionIndex:
    """Subscriptions by id, matched together against each post."""

    def __init__(self, normalizer: Normalizer | None = None) -> None:
        self._normalizer = normalizer or get_normalizer()
        self._queries: dict[int, CompiledQuery] = {}
        # kind -> anchor term -> how many groups (indexed or checked) use it
        self._terms: list[dict[str, int]] = [{} for _ in range(_KINDS)]
        # tagged anchor -> the one string object for it that the index's tables and the
        # word cache share: set operations then find equal anchors by identity
        self._anchors: dict[str, str] = {}
        # tagged anchor -> subscriptions whose only indexed group holds it
        self._single: dict[str, set[int]] = {}
        # tagged outer anchor -> its inner anchors, and tagged inner anchor -> subscriptions
        self._pairs: dict[str, tuple[set[str], dict[str, set[int]]]] = {}
        self._always: set[int] = set()
        # what is left to check once a subscription is a candidate; absent: nothing
        self._checks: dict[int, Check] = {}
        # tagged anchor -> subscriptions a post holding it fails (a negated decided child)
        self._excluders: dict[str, set[int]] = {}
        # sub id -> (indexed groups, every group whose anchors it registered, the anchors
        # it is filed under in ``_excluders``)
        self._entries: dict[int, tuple[tuple[Group, ...], list[Group], list[str]]] = {}
        # derived from the anchor terms, for the per-word lookups:
        self._prefix_lengths: dict[int, int] = {}  # prefix length -> prefixes of it
        self._lengths: tuple[int, ...] = ()  # those lengths, ascending
        self._names: dict[str, tuple[str, int]] = {}  # name term -> (key, edits)
        self._name_probes: dict[str, set[str]] = {}  # probe -> name terms reaching it
        self._pair_anchors: dict[tuple[str, str], str] = {}  # (first, second) -> anchor
        self._pair_firsts: dict[str, int] = {}  # first word -> pair anchors with it
        self._pair_ends: dict[str, int] = {}  # second word -> pair anchors with it
        self._words: dict[str, dict[str, _WordEntry]] = {}  # text mode -> form -> entry
        self._chunks: dict[str, dict[str, _ChunkEntry]] = {}  # text mode -> chunk -> entry
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
        elif len(chosen) == 2 and self._new_tables(chosen[1]) < self._new_tables(chosen[0]):
            chosen = chosen[::-1]
        settled = proven_nodes(root, chosen)
        required, excluded = checked_groups(root, settled)
        registered = [*chosen, *required, *excluded]
        for group in registered:
            for kind, term in group:
                self._register(kind, term)
        if len(chosen) == 2:
            outer, inner = map(self._strings, chosen)
            for a in outer:
                inner_keys, by_inner = self._pairs.setdefault(a, (set(), {}))
                inner_keys.update(inner)
                for b in inner:
                    by_inner.setdefault(b, set()).add(sub_id)
        elif chosen:
            for a in self._strings(chosen[0]):
                self._single.setdefault(a, set()).add(sub_id)
        else:
            self._always.add(sub_id)
        excluders = [anchor for group in excluded for anchor in self._strings(group)]
        self._entries[sub_id] = (chosen, registered, excluders)
        test = compiled.residual(settled)
        if required or test is not None:
            self._checks[sub_id] = (
                tuple(frozenset(self._strings(group)) for group in required),
                test,
            )
        for anchor in excluders:
            self._excluders.setdefault(anchor, set()).add(sub_id)
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
        self._checks.pop(sub_id, None)
        chosen, registered, excluders = self._entries.pop(sub_id)
        for anchor in excluders:
            subs = self._excluders[anchor]
            subs.discard(sub_id)
            if not subs:
                del self._excluders[anchor]
        if len(chosen) == 2:
            outer, inner = map(self._strings, chosen)
            for a in outer:
                inner_keys, by_inner = self._pairs[a]
                for b in inner:
                    subs = by_inner[b]
                    subs.discard(sub_id)
                    if not subs:
                        del by_inner[b]
                        inner_keys.discard(b)
                if not by_inner:
                    del self._pairs[a]
        elif chosen:
            for a in self._strings(chosen[0]):
                subs = self._single[a]
                subs.discard(sub_id)
                if not subs:
                    del self._single[a]
        else:
            self._always.discard(sub_id)
        for group in registered:
            for kind, term in group:
                self._unregister(kind, term)
        for node in compiled.query.walk():
            if isinstance(node, Regex):
                users = self._regex_users[node.pattern] - 1
                if users:
                    self._regex_users[node.pattern] = users
                else:
                    del self._regex_users[node.pattern]
                    self._regexes.discard(node.pattern)

    # -- anchor terms and what is derived from them -----------------------------------
    def _register(self, kind: int, term: str) -> None:
        table = self._terms[kind]
        if term in table:
            table[term] += 1
            return
        table[term] = 1
        tagged = _TAGS[kind] + term
        self._anchors[tagged] = tagged
        if kind == K_PREFIX:
            self._count_prefix_length(len(term), 1)
        elif kind == K_NAME:
            key, edits = term[1:], int(term[0])
            self._names[term] = (key, edits)
            for probe in name_reach(key, edits):
                self._name_probes.setdefault(probe, set()).add(term)
        elif kind == K_PHRASE:
            first, second = term.split(_PAIR_JOIN)
            self._pair_anchors[first, second] = tagged
            _count(self._pair_firsts, first, 1)
            _count(self._pair_ends, second, 1)
        if kind in _WORD_KINDS:
            self._forget_words()

    def _unregister(self, kind: int, term: str) -> None:
        table = self._terms[kind]
        table[term] -= 1
        if table[term]:
            return
        del table[term]
        del self._anchors[_TAGS[kind] + term]
        if kind == K_PREFIX:
            self._count_prefix_length(len(term), -1)
        elif kind == K_NAME:
            key, edits = self._names.pop(term)
            for probe in name_reach(key, edits):
                terms = self._name_probes[probe]
                terms.discard(term)
                if not terms:
                    del self._name_probes[probe]
        elif kind == K_PHRASE:
            first, second = term.split(_PAIR_JOIN)
            del self._pair_anchors[first, second]
            _count(self._pair_firsts, first, -1)
            _count(self._pair_ends, second, -1)
        if kind in _WORD_KINDS:
            self._forget_words()

    def _forget_words(self) -> None:
        """Empty the per-word and per-chunk caches (their entries name the anchors)."""
        self._words.clear()
        self._chunks.clear()

    def _new_tables(self, group: Group) -> int:
        """How many outer tables filing a query under ``group`` as its outer group adds.

        Each outer table a post's anchors reach costs a step of Python, while a larger
        inner table costs only C probes, no more than the post has anchors; and which group
        is outer does not change the candidates. So the group adding fewer tables is the
        outer one (the more selective one on a tie).
        """
        return sum(_TAGS[kind] + term not in self._pairs for kind, term in group)

    def _strings(self, group: Group) -> list[str]:
        """The index's tagged strings of a registered group's anchors."""
        return [self._anchors[_TAGS[kind] + term] for kind, term in group]

    def _count_prefix_length(self, length: int, change: int) -> None:
        lengths = self._prefix_lengths
        lengths[length] = lengths.get(length, 0) + change
        if not lengths[length]:
            del lengths[length]
        self._lengths = tuple(sorted(self._prefix_lengths))

    # -- matching ---------------------------------------------------------------------
    def _word_entry(self, form: str, mode: str) -> _WordEntry:
        """One token's part of a post's anchors (see ``_WordEntry``), cached per form."""
        cache = self._words.get(mode)
        if cache is None:
            cache = self._words[mode] = {}
        entry = cache.get(form)
        if entry is not None:
            return entry
        if len(cache) >= WORD_CACHE_SIZE:
            cache.clear()
        lemmas = self._normalizer.lemmas(form, mode)
        anchors = self._anchors
        found = [anchors[lemma] for lemma in lemmas if lemma in anchors]  # untagged kind
        tagged_form = _TAGS[K_FORM] + form
        if tagged_form in anchors:
            found.append(anchors[tagged_form])
        for length in self._lengths:
            if length > len(form):
                break
            prefix = _TAGS[K_PREFIX] + form[:length]
            if prefix in anchors:
                found.append(anchors[prefix])
        if self._names:
            found.extend(
                anchors[_TAGS[K_NAME] + term] for term in self._names_reached(form, lemmas)
            )
        words = (*lemmas, tagged_form)
        entry = cache[form] = (
            frozenset(found) if found else _NO_ANCHORS,
            tuple(word for word in words if word in self._pair_firsts),
            tuple(word for word in words if word in self._pair_ends),
        )
        return entry

    def _cached_chunk(self, cache: dict[str, _ChunkEntry], chunk: str, mode: str) -> _ChunkEntry:
        """A chunk cache miss: compute the entry and keep it."""
        entry = cache[chunk] = self._chunk_entry(chunk, mode)
        return entry

    def _chunk_entry(self, chunk: str, mode: str) -> _ChunkEntry:
        """One whitespace-separated chunk's part of a post's anchors (see ``_ChunkEntry``):
        its tokens' entries joined, with the indexed pairs of adjacent tokens inside it."""
        forms = self._normalizer.chunk_forms(chunk)
        if not forms:
            return _BLANK
        words = [self._word_entry(form, mode) for form in forms]
        anchors = set().union(*map(_ANCHORS, words))
        pair_anchors = self._pair_anchors
        for left, right in pairwise(words):
            for pair in product(left[1], right[2]):
                found = pair_anchors.get(pair)
                if found is not None:
                    anchors.add(found)
        return (frozenset(anchors) if anchors else _NO_ANCHORS, words[0][2], words[-1][1])

    def _names_reached(self, form: str, lemmas: frozenset[str]) -> list[str]:
        """The ``K_NAME`` terms of the index a token satisfies: the key of its form or of
        a lemma is within the name's bound. Candidates are the names whose key or
        one-letter deletions meet the token's own (``word_probes``)."""
        table = self._name_probes
        reached: set[str] = set()
        for probe in table.keys() & word_probes(form, lemmas):
            reached.update(table[probe])
        if not reached:
            return []
        keys = word_keys(form, lemmas)
        names = self._names
        out = []
        for term in reached:
            key, edits = names[term]
            if any(within(key, k, edits) for k in keys):
                out.append(term)
        return out

    def _present(self, doc: Document) -> tuple[set[str], dict[str, bool] | None]:
        """The anchors of the index the post contains, tagged by kind (see ``_TAGS``), and
        the outcome of every indexed regex (None when there is none)."""
        text = doc.text
        mode = text_mode(text)
        cache = self._chunks.get(mode)
        if cache is None:
            cache = self._chunks[mode] = {}
        chunks = text.split()
        try:  # one C call when every chunk is cached; a missing one raises KeyError
            entries = itemgetter(*chunks)(cache) if len(chunks) > 1 else [cache[chunks[0]]]
        except (KeyError, IndexError):
            if len(cache) >= WORD_CACHE_SIZE:
                cache.clear()
            entries = [
                cache[chunk] if chunk in cache else self._cached_chunk(cache, chunk, mode)
                for chunk in chunks
            ]
        # chunks without a token (a dash, an emoji) are empty tuples: dropped here, so that
        # the chunks on either side are adjacent
        known = cast("list[_ChunkEntry]", list(filter(None, entries)))
        present: set[str] = set().union(*map(_ANCHORS, known))
        if self._pair_anchors:
            # the (first, second) words of adjacent chunks' last and first tokens that may
            # form an indexed pair: where a chunk ends with first words, their product with
            # the next chunk's head's second words; all built and looked up in C
            firsts = list(map(_TAIL_FIRSTS, known))
            ends = map(_HEAD_ENDS, islice(known, 1, None))  # zip stops with it: the last
            starts = compress(zip(firsts, ends, strict=False), firsts)  # chunk begins none
            adjacent = cast(
                "Iterator[tuple[str, str]]", chain.from_iterable(starmap(product, starts))
            )
            present.update(filter(None, map(self._pair_anchors.get, adjacent)))
        terms = self._terms
        if terms[K_CHANNEL]:
            keys = doc.channel_keys
            present.update(_TAGS[K_CHANNEL] + t for t in terms[K_CHANNEL].keys() & keys)
        results = None
        if self._regex_users:
            matched = self._regexes.matching(text)
            results = dict.fromkeys(self._regex_users, False)
            results.update(dict.fromkeys(matched, True))
            present.update(_TAGS[K_REGEX] + t for t in terms[K_REGEX].keys() & matched)
        return present, results

    def _gather(self, present: set[str]) -> set[int]:
        """The candidates of a post with these anchors (see the module docstring)."""
        found = set(self._always)
        # the inner anchors of an outer one are a set of their own: an intersection of two
        # sets runs on their stored hashes (a dict's keys would be hashed again)
        for inner_keys, by_inner in map(self._pairs.__getitem__, self._pairs.keys() & present):
            for b in inner_keys & present:
                found |= by_inner[b]
        single = self._single
        for a in single.keys() & present:
            found |= single[a]
        return found

    def candidates(self, doc: Document) -> set[int]:
        """Subscriptions whose indexed groups the post all hits, plus unindexed ones."""
        return self._gather(self._present(doc)[0])

    def match(self, doc: Document, analysis: Analysis | None = None) -> list[int]:
        """Ids of the subscriptions the post matches, ascending.

        ``analysis`` (of ``doc.text`` by this index's normaliser) saves analysing the text
        when a candidate has to be evaluated on it; the anchors come from the chunk cache.
        """
        present, regex_results = self._present(doc)
        found = self._gather(present)
        excluders = self._excluders
        if excluders:
            hit = excluders.keys() & present
            if hit:
                found.difference_update(*map(excluders.__getitem__, hit))
        checks = self._checks
        tested = checks.keys() & found
        if tested:
            found -= tested
            evaluate = []
            for sub_id in tested:
                settled = _settled(checks[sub_id], present)
                if settled is None:
                    evaluate.append(sub_id)
                elif settled:
                    found.add(sub_id)
            if evaluate:
                an = analysis if analysis is not None else self._normalizer.analyse(doc.text)
                if regex_results is not None:
                    an.remember_regex_results(regex_results)
                keys = doc.channel_keys
                for sub_id in evaluate:
                    test = checks[sub_id][1]
                    assert test is not None
                    if test(an, keys):
                        found.add(sub_id)
        return sorted(found)

    def explain(self, sub_id: int, doc: Document, analysis: Analysis | None = None) -> list[Hit]:
        """Why subscription ``sub_id`` matched the post ([] when it does not)."""
        return self._queries[sub_id].explain(doc, analysis)
