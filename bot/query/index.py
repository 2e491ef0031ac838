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
selective group of each child of an ``AND`` before any child's second). Each query has a
dense id, filed under every anchor of its first group (``firsts``) and of its second one
(``seconds``; a query with a single group is filed under it as both); the few queries
with no group at all (e.g. ``a OR -b``) are filed under a list every post has. A post's
candidates are then the ids in some first list and some second list of its anchors (and
in no exclusion list, below): exactly the queries whose two indexed groups are both hit.
The lists are packed and intersected by a kernel (``bot.query.kernel``: C when built,
else CPython sets), so the work grows with how many queries the post's anchors are filed
under, with no step of Python per anchor or per query. All tables share one string object
per anchor (``_anchors``), so equal anchors are found by identity.

Checks. What the indexed groups do not prove is settled on the candidates: a negated
child of the query's ``AND`` with a decided group must not meet the post's anchors
(``excluded``: the query is filed under each such anchor's exclusion list, which the kernel
applies); a child with a decided group that is not indexed must meet them (``required``,
one set test per candidate); only what is left (a longer phrase, a phrase with a prefix or
a name, a negated ``AND``...) is evaluated on the Analysis, made only then. ``a b``, ``"a b" c``, ``Name~ a``, ``prefix* a``,
``channel:x a`` and ``a b -c`` need no evaluation at all; ``a b c`` needs one set test.

Per-chunk cache. Every anchor but channels and regexes belongs to one token or two
adjacent ones and depends only on their folded forms and lemma sets, and a token never
spans whitespace. So a post's anchors are found without analysing it: the text is split at
whitespace, and each distinct chunk (a word, maybe with punctuation around it) has its
part computed once and cached (``_ChunkEntry``, by text mode and chunk): the anchors of its
tokens (``_WordEntry``, cached by text mode and form) and the indexed pairs inside it, plus
the words its first token ends a pair with and those its last token begins one with, and
the packed first, second and exclusion lists of all those anchors. A post's anchors are
its chunks' entries plus the pairs across chunks (the products of one chunk's last words
with the next chunk's first words, built and looked up in C at the few places where a pair
can begin), its channel and its regexes; the kernel takes the chunks' packed lists and
those of the few other anchors. The text is analysed only when a candidate needs
evaluation. The word cache depends on the index's anchors: it is emptied whenever an anchor
of these kinds is added to the index or leaves it; the chunk cache also holds query ids and
is emptied whenever a subscription is added or removed; each is emptied when it reaches
``WORD_CACHE_SIZE`` entries per mode.

Adding or removing a subscription touches only its own entries (and empties the chunk
cache). The index and its kernel are not safe for concurrent use: guard ``add``,
``remove`` and ``match`` with one lock when several threads use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, compress, islice, pairwise, product, starmap
from operator import itemgetter
from typing import Any, Final, cast

from bot.query.compiled import CompiledQuery, Hit, Test, compile_query
from bot.query.document import Document
from bot.query.kernel import Kernel, make_kernel
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
_ChunkEntry = tuple[frozenset[str], tuple[str, ...], tuple[str, ...], Any, Any, Any]
"""One whitespace-separated chunk's part of the post's anchors: its tokens' anchors with
the indexed pairs of adjacent tokens inside it, the words its first token ends a pair
with, those its last token begins one with, and the kernel's packed first, second and
exclusion lists of those anchors (cached by text mode and chunk)."""
_BLANK: Final = cast("_ChunkEntry", ())
"""The entry of a chunk without a token: empty, so that ``filter(None, ...)`` drops it."""
_NO_ANCHORS: Final[frozenset[str]] = frozenset()
_ANCHORS: Final = itemgetter(0)
_HEAD_ENDS: Final = itemgetter(1)
_TAIL_FIRSTS: Final = itemgetter(2)
_FIRSTS: Final = itemgetter(3)
_SECONDS: Final = itemgetter(4)
_EXCLUSIONS: Final = itemgetter(5)
FIRST, SECOND, EXCLUSION = 0, 1, 2
"""The lists a query is filed under (see the module docstring)."""


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

    def __init__(self, normalizer: Normalizer | None = None, kernel: Kernel | None = None) -> None:
        self._normalizer = normalizer or get_normalizer()
        self._kernel = kernel or make_kernel()
        self._queries: dict[int, CompiledQuery] = {}
        # kind -> anchor term -> how many groups (indexed or checked) use it
        self._terms: list[dict[str, int]] = [{} for _ in range(_KINDS)]
        # tagged anchor -> the one string object for it that the index's tables and the
        # word cache share: set operations then find equal anchors by identity
        self._anchors: dict[str, str] = {}
        # subscription id <-> dense id (the kernel's); freed dense ids are reused
        self._dense: dict[int, int] = {}
        self._sub_of: list[int] = []
        self._free_ids: list[int] = []
        # FIRST, SECOND, EXCLUSION: tagged anchor -> dense ids filed under it there
        self._filed: tuple[dict[str, set[int]], ...] = ({}, {}, {})
        self._always: set[int] = set()  # dense ids of queries with no indexed group
        self._always_packed: Any = None  # their packed list (None: not packed yet)
        self._anchor_lists: dict[str, tuple[Any, Any, Any]] = {}  # packed, per anchor
        # what is left to check once a subscription is a candidate; absent: nothing
        self._checks: dict[int, Check] = {}
        # sub id -> (every group whose anchors it registered, the (list, anchor) pairs it
        # is filed under)
        self._entries: dict[int, tuple[list[Group], list[tuple[int, str]]]] = {}
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
        settled = proven_nodes(root, chosen)
        required, excluded = checked_groups(root, settled)
        registered = [*chosen, *required, *excluded]
        for group in registered:
            for kind, term in group:
                self._register(kind, term)
        dense = self._free_ids.pop() if self._free_ids else len(self._sub_of)
        if dense == len(self._sub_of):
            self._sub_of.append(sub_id)
        else:
            self._sub_of[dense] = sub_id
        self._dense[sub_id] = dense
        filing: list[tuple[int, str]] = []
        if chosen:
            filing.extend((FIRST, anchor) for anchor in self._strings(chosen[0]))
            filing.extend((SECOND, anchor) for anchor in self._strings(chosen[-1]))
        else:
            self._always.add(dense)
        filing.extend((EXCLUSION, a) for group in excluded for a in self._strings(group))
        filing = list(dict.fromkeys(filing))  # `a -b -b` files b once; remove() drops it once
        for slot, anchor in filing:
            self._filed[slot].setdefault(anchor, set()).add(dense)
        self._entries[sub_id] = (registered, filing)
        self._forget_lists()
        test = compiled.residual(settled)
        if required or test is not None:
            self._checks[sub_id] = (
                tuple(frozenset(self._strings(group)) for group in required),
                test,
            )
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
        registered, filing = self._entries.pop(sub_id)
        dense = self._dense.pop(sub_id)
        for slot, anchor in filing:
            table = self._filed[slot]
            ids = table[anchor]
            ids.discard(dense)
            if not ids:
                del table[anchor]
        self._always.discard(dense)
        self._sub_of[dense] = -1
        self._free_ids.append(dense)
        self._forget_lists()
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

    def _forget_lists(self) -> None:
        """Empty what holds packed lists of query ids (a subscription came or went)."""
        self._chunks.clear()
        self._anchor_lists.clear()
        self._always_packed = None

    def _packed(self, slot: int, anchors: Iterable[str]) -> Any:
        """The kernel's packed list of the ids filed under any of ``anchors`` in ``slot``
        (the anchor's own cached list when only one of them is filed there, so that the
        chunks of one word share it)."""
        table = self._filed[slot]
        filed = [anchor for anchor in anchors if anchor in table]
        if not filed:
            return self._kernel.empty
        if len(filed) == 1:
            return self._lists_of(filed[0])[slot]
        return self._kernel.pack(set().union(*(table[anchor] for anchor in filed)))

    def _lists_of(self, anchor: str) -> tuple[Any, Any, Any]:
        """An anchor's packed first, second and exclusion lists (cached)."""
        lists = self._anchor_lists.get(anchor)
        if lists is None:
            kernel = self._kernel
            lists = self._anchor_lists[anchor] = (
                kernel.pack(self._filed[FIRST].get(anchor, ())),
                kernel.pack(self._filed[SECOND].get(anchor, ())),
                kernel.pack(self._filed[EXCLUSION].get(anchor, ())),
            )
        return lists

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
        return (
            frozenset(anchors) if anchors else _NO_ANCHORS,
            words[0][2],
            words[-1][1],
            self._packed(FIRST, anchors),
            self._packed(SECOND, anchors),
            self._packed(EXCLUSION, anchors),
        )

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

    def _chunk_part(
        self, doc: Document
    ) -> tuple[list[_ChunkEntry], list[str], dict[str, bool] | None]:
        """The post's chunk entries (tokenless chunks left out), its other anchors of the
        index (pairs across chunks, channel, regexes), and the outcome of every indexed
        regex (None when there is none)."""
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
        extra: list[str] = []
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
            extra.extend(filter(None, map(self._pair_anchors.get, adjacent)))
        terms = self._terms
        if terms[K_CHANNEL]:
            keys = doc.channel_keys
            extra.extend(_TAGS[K_CHANNEL] + t for t in terms[K_CHANNEL].keys() & keys)
        results = None
        if self._regex_users:
            matched = self._regexes.matching(text)
            results = dict.fromkeys(self._regex_users, False)
            results.update(dict.fromkeys(matched, True))
            extra.extend(_TAGS[K_REGEX] + t for t in terms[K_REGEX].keys() & matched)
        return known, extra, results

    def _gather(self, known: list[_ChunkEntry], extra: list[str]) -> set[int]:
        """The candidates of a post with these chunk entries and other anchors (see the
        module docstring), exclusions applied."""
        firsts = list(map(_FIRSTS, known))
        seconds = list(map(_SECONDS, known))
        exclusions = list(map(_EXCLUSIONS, known))
        for anchor in extra:
            first, second, exclusion = self._lists_of(anchor)
            firsts.append(first)
            seconds.append(second)
            exclusions.append(exclusion)
        if self._always:
            if self._always_packed is None:
                self._always_packed = self._kernel.pack(self._always)
            firsts.append(self._always_packed)
            seconds.append(self._always_packed)
        found = self._kernel.candidates(firsts, seconds, exclusions, len(self._sub_of))
        return set(map(self._sub_of.__getitem__, found))

    def candidates(self, doc: Document) -> set[int]:
        """Subscriptions whose indexed groups the post all hits (and no excluded anchor),
        plus those with no indexed group; what is left to check is not checked."""
        known, extra, _ = self._chunk_part(doc)
        return self._gather(known, extra)

    def match(self, doc: Document, analysis: Analysis | None = None) -> list[int]:
        """Ids of the subscriptions the post matches, ascending.

        ``analysis`` (of ``doc.text`` by this index's normaliser) saves analysing the text
        when a candidate has to be evaluated on it; the anchors come from the chunk cache.
        """
        known, extra, regex_results = self._chunk_part(doc)
        found = self._gather(known, extra)
        checks = self._checks
        tested = checks.keys() & found
        if tested:
            found -= tested
            present: set[str] = set().union(*map(_ANCHORS, known))
            present.update(extra)
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
