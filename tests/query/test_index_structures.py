"""The index's precomputed structures stay in step with its subscriptions, and the lookups
that replaced per-token scans give the same answers as the scans."""

from __future__ import annotations

import random

from bot.query import Document, Normalizer, SubscriptionIndex, compile_query
from bot.query.compiled import atom_at
from bot.query.index import checked_groups, decided_group, indexed_groups, proven_nodes
from bot.query.kernel import Kernel
from bot.query.nodes import Term
from bot.query.normalize import Analysis
from bot.query.parser import parse_query

_SHAPES = [
    "{a} {b}", "{a} {b} -{c}", '"{a} {b}" {c}', "({a} OR {b}) {c}", "{p}* {b}", "{a}~ {b}",
    "channel:news_ua {a}", "/{a}/ {b}", "{a} OR NOT NOT {b}", "={a} {b}", "{a}", '"{a} {b}"',
    "{a} -channel:news_ua", '({a} OR "{b} {c}") -{p}*', "{a} -{b} -{b}", "{a} -{c} -({c} OR {b})",
]  # fmt: skip


def _queries(rng: random.Random, words: list[str], count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        if len(a) < 3 or "\u02bc" in a[:3]:
            continue
        out.append(rng.choice(_SHAPES).format(a=a, b=b, c=c, p=a[:3]))
    return out


def _words(docs: list[Document], normalizer: Normalizer) -> list[str]:
    forms = {f for d in docs for f in normalizer.analyse(d.text).folded}
    return sorted(f for f in forms if f.isalpha())


def test_add_remove_replace_then_match_equals_a_fresh_index(
    case_docs: list[Document], kernel: Kernel
) -> None:
    normalizer = Normalizer()
    rng = random.Random(11)
    words = _words(case_docs, normalizer)
    live: dict[int, str] = {}
    index = SubscriptionIndex(normalizer, kernel)
    for step in range(600):
        sub_id = rng.randrange(150)
        if sub_id in live and rng.random() < 0.4:
            index.remove(sub_id)
            del live[sub_id]
        else:  # add, or replace an existing subscription
            query = _queries(rng, words, 1)[0]
            index.add(sub_id, query)
            live[sub_id] = query
        if step % 150 == 149:
            # one kernel serves both indexes: its marks hold nothing between calls
            fresh = SubscriptionIndex(normalizer, kernel)
            for i, q in live.items():
                fresh.add(i, q)
            compiled = {i: compile_query(q, normalizer) for i, q in live.items()}
            for doc in case_docs:
                analysis = normalizer.analyse(doc.text)
                expected = sorted(i for i, cq in compiled.items() if cq.matches(doc, analysis))
                assert index.match(doc, analysis) == expected
                assert fresh.match(doc) == expected
    for sub_id in list(live):
        index.remove(sub_id)
    assert len(index) == 0
    # nothing of a removed subscription is left behind
    assert not any(index._filed) and not index._always and not index._dense
    assert not index._checks and not index._entries
    assert not any(index._terms) and not index._anchors and not index._regex_users
    assert not index._prefix_lengths and not index._lengths
    assert not index._names and not index._name_probes
    assert not index._pair_anchors and not index._pair_firsts and not index._pair_ends


def _assert_empty(index: SubscriptionIndex) -> None:
    assert len(index) == 0
    assert not any(index._filed) and not index._always and not index._dense
    assert not index._checks and not index._entries and not any(index._terms)


def test_an_anchor_excluded_twice_is_filed_and_removed_once(kernel: Kernel) -> None:
    index = SubscriptionIndex(Normalizer(), kernel)
    post = Document("Шахеди атакували Одесу вночі.")
    for query in ("Одеса -санкції -санкції", "Одеса -санкції -(санкції OR Київ)"):
        index.add(1, query)
        assert index.match(post) == [1]
        index.remove(1)  # raised KeyError on the second copy and left the index half-cleared
        _assert_empty(index)
        assert index.match(post) == []
        index.add(2, query)
        index.add(2, "Одеса")  # a replacement removes the old filing first
        assert index.match(post) == [2]
        index.remove(2)
        _assert_empty(index)


def test_decided_groups_spare_the_evaluation() -> None:
    def left(query: str) -> tuple[int, int, bool]:
        """(groups to hit, groups to miss, whether a test remains) once a candidate."""
        compiled = compile_query(query)
        root = compiled.query.root
        settled = proven_nodes(root, indexed_groups(root))
        required, excluded = checked_groups(root, settled)
        return len(required), len(excluded), compiled.residual(settled) is not None

    assert left("санкції") == (0, 0, False)
    assert left("санкції Одеса") == (0, 0, False)
    assert left("(санкції OR шахеди) Одеса") == (0, 0, False)
    assert left("=санкції channel:news_ua") == (0, 0, False)
    # a two-word phrase is one group of adjacent pairs; names and prefixes are exact
    assert left('"гарантії безпеки" Одеса') == (0, 0, False)
    assert left("Kyiv~ Одеса") == (0, 0, False)
    assert left("санкц* Одеса") == (0, 0, False)
    # the exclusion and a third group are set tests on the post's anchors
    assert left("санкції Одеса -шахед") == (0, 1, False)
    assert left("санкції Одеса Харків") == (1, 0, False)
    # what no group decides is still evaluated
    assert left('"гарантії безпеки України" Одеса') == (0, 0, True)
    assert left("Одеса -(санкції шахеди)") == (0, 0, True)
    assert decided_group(parse_query("Kyiv~").root) is not None
    assert decided_group(parse_query('"гарантії безпеки України"').root) is None
    assert decided_group(parse_query("Одеса -санкції").root) is None


def test_the_two_indexed_groups_come_from_different_sides_of_and() -> None:
    root = parse_query('"перехоплювачами шахедів зранку" Одеса').root
    groups = indexed_groups(root)
    assert len(groups) == 2
    assert frozenset({(0, "одеса")}) in groups  # not the phrase's words alone


def _scanned(analysis: Analysis, lemmas: frozenset[str]) -> list[int]:
    return [i for i, lem in enumerate(analysis.lemmas) if not lemmas.isdisjoint(lem)]


def test_lemma_positions_through_forms_by_lemma_equal_a_scan(case_docs: list[Document]) -> None:
    normalizer = Normalizer()
    for doc in case_docs:
        analysis = normalizer.analyse(doc.text)
        for lemmas in {frozenset(lem) for lem in analysis.lemmas} | {
            frozenset(("неіснуюче",)),
            frozenset().union(*analysis.lemmas[:3]),
        }:
            assert analysis.lemma_positions(lemmas) == _scanned(analysis, lemmas)


def test_positions_stay_right_when_the_normaliser_forgets_forms() -> None:
    normalizer = Normalizer(cache_size=8)  # resets its caches every few dozen words
    texts = [
        "Шахеди атакували Одесу, шахедів збили над Одесою.",
        "Нові санкції проти Росії: санкцій стане більше, каже Зеленський.",
        "Зеленський і Сибіга говорили про гарантії безпеки та санкції.",
    ]
    before = normalizer.analyse(texts[0])
    generation = normalizer.generation
    for _ in range(3):
        for text in texts:
            analysis = normalizer.analyse(text)
            for lem in analysis.lemmas:
                assert analysis.lemma_positions(lem) == _scanned(analysis, lem)
    normalizer.clear_cache()
    assert normalizer.generation > generation
    # an analysis made before the reset falls back to scanning, with the same answer
    for lem in before.lemmas:
        assert before.lemma_positions(lem) == _scanned(before, lem)


def test_phrases_by_forms_and_by_positions_agree() -> None:
    normalizer = Normalizer()
    texts = [
        "Безпеки гарантії, гарантій безпеки! Гарантії — безпеки; гарантіями безпека.",
        "Гарантії. Безпеки немає: безпека, гарантія, безпеки гарантіям.",
        "гарантій гарантій безпеки безпеки гарантій",
    ]
    queries = [
        '"гарантії безпеки"', '"безпеки гарантії"', '"=гарантій безпеки"',
        '"гарантії =безпека"', '"безпеки гарантії безпеки"', '"безпека безпеки"',
        '"гарантій гарантій"', '"=безпеки =гарантіям"', '"гарантії безпеки гарантії"',
    ]  # fmt: skip
    for text in texts:
        doc = Document(text)
        for query in queries:
            compiled = compile_query(query, normalizer)
            analysis = normalizer.analyse(text)
            (term,) = compiled.query.walk()
            assert isinstance(term, Term)
            n = len(term.atoms)
            expected = [
                start
                for start in range(len(analysis) - n + 1)
                if all(atom_at(atom, analysis, start + i) for i, atom in enumerate(term.atoms))
            ]
            # the test looks for forms side by side; explain finds positions
            assert compiled.matches(doc, analysis) == bool(expected), (text, query)
            assert len(compiled.explain(doc, analysis)) == len(expected), (text, query)


def test_the_chunk_cache_follows_text_mode_and_subscriptions() -> None:
    # the per-chunk anchor cache is keyed by text mode (the same chunk has other lemmas in
    # a Russian text than in a Ukrainian one) and forgotten when the index's anchors change
    index = SubscriptionIndex()
    index.add(1, "живет")  # Russian only ("жить" is also a Ukrainian form of "жити")
    index.add(2, '"жили мы"')
    russian = Document("Жили мы там.")  # "ы": a Russian text, "жили" is a form of "жить"
    ukrainian = Document("Жили ми там і тут.")  # "і": a Ukrainian text, "жити" or "жила"
    assert index.match(russian) == [1, 2]
    assert index.match(ukrainian) == []
    assert index.match(russian) == [1, 2]
    index.add(3, "жити")
    assert index.match(ukrainian) == [3]
    assert index.match(russian) == [1, 2]
    index.remove(1)
    index.remove(2)
    assert index.match(russian) == []
    index.remove(3)
    assert index.match(ukrainian) == []


def test_chunks_without_a_token_do_not_break_a_phrase() -> None:
    # "a — b" and "a 🇺🇦 b": the chunk between holds no token, so a and b are adjacent, as
    # in the Analysis; pairs inside one chunk ("гарантії,безпеки") are found too
    index = SubscriptionIndex()
    index.add(1, '"гарантії безпеки"')
    for text in (
        "гарантії — безпеки",
        "гарантії 🇺🇦 безпеки",
        "гарантії,безпеки",
        "Гарантій\nбезпеки",
        "слово гарантій безпеки",
    ):
        assert index.match(Document(text)) == [1], text
    assert index.match(Document("гарантії слово безпеки")) == []
    assert index.match(Document("безпеки гарантії")) == []
