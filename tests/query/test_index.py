"""SubscriptionIndex: the same answers as evaluating each query, incrementally maintained."""

from __future__ import annotations

import json
import random
from typing import Any

from bot.query import Document, SubscriptionIndex, compile_query, get_normalizer
from bot.query.index import (
    K_CHANNEL,
    K_FORM,
    K_NAME,
    K_PHRASE,
    K_PREFIX,
    name_term,
    required_groups,
    selectivity,
)
from bot.query.kernel import Kernel
from bot.query.parser import parse_query


def test_index_agrees_with_each_query_on_every_labelled_case(
    cases: dict[str, Any], case_docs: list[Document]
) -> None:
    queries = [case["query"] for case in cases["queries"]]
    index = SubscriptionIndex()
    for sub_id, query in enumerate(queries):
        index.add(sub_id, query)
    assert len(index) == len(queries)
    normalizer = get_normalizer()
    for doc in case_docs:
        analysis = normalizer.analyse(doc.text)
        expected = [i for i, q in enumerate(queries) if compile_query(q).matches(doc, analysis)]
        assert index.match(doc, analysis) == expected
        assert index.match(doc) == expected


def test_index_agrees_on_random_combinations(case_docs: list[Document], kernel: Kernel) -> None:
    rng = random.Random(7)
    words = sorted({t.folded for d in case_docs for t in get_normalizer().analyse(d.text).tokens})
    shapes = ["{a} {b}", "{a} OR {b}", '"{a} {b}"', "{a} -{b}", "({a} OR {b}) -{c}", "{p}*",
              "{a}~ {b}", "channel:news_ua {a}", "/{a}/ OR {b}", "{a} OR NOT NOT {b}"]  # fmt: skip
    queries = []
    for _ in range(300):
        a, b, c = rng.choice(words), rng.choice(words), rng.choice(words)
        shape = rng.choice(shapes)
        if shape == "{p}*" and len(a) < 3:
            continue
        queries.append(shape.format(a=a, b=b, c=c, p=a[:3]))
    index = SubscriptionIndex(kernel=kernel)
    compiled = {i: compile_query(q) for i, q in enumerate(queries)}
    for i, cq in compiled.items():
        index.add(i, cq)
    for doc in case_docs:
        expected = [i for i, cq in compiled.items() if cq.matches(doc)]
        assert index.match(doc) == expected


def test_add_remove_and_replace_are_incremental() -> None:
    index = SubscriptionIndex()
    doc = Document("Нові санкції проти Росії, шахеди над Одесою")
    index.add(1, "санкції")
    index.add(2, "шахед Одеса")
    index.add(3, "/одес/")
    index.add(4, "Kyiv~")
    assert index.match(doc) == [1, 2, 3]
    index.remove(2)
    assert index.match(doc) == [1, 3] and len(index) == 3 and 2 not in index
    index.add(1, "Kyiv~ OR /ОДЕС/")  # replaces subscription 1
    assert index.match(doc) == [1, 3]
    index.remove(3)
    assert index.match(doc) == [1]
    index.remove(1)
    index.remove(1)  # absent: no-op
    assert index.match(doc) == [] and len(index) == 1
    explained = SubscriptionIndex()
    explained.add(9, "санкції")
    assert [h.token for h in explained.explain(9, doc)] == ["санкції"]


def test_queries_without_anchors_are_evaluated_always() -> None:
    assert required_groups(parse_query("a OR NOT NOT b").root) == []
    index = SubscriptionIndex()
    index.add(1, "шахед OR NOT NOT санкції")
    assert index.match(Document("санкції")) == [1]
    assert index.match(Document("нічого")) == []


def test_empty_and_one_chunk_posts() -> None:
    index = SubscriptionIndex()
    index.add(1, "санкції")
    index.add(2, "шахед OR NOT NOT санкції")  # no anchors: always a candidate
    assert index.match(Document("")) == []
    assert index.match(Document("  \n ")) == []
    assert index.match(Document("санкції")) == [1, 2]
    assert index.match(Document("«санкцій»")) == [1, 2]
    assert index.match(Document("🇺🇦")) == []


def test_exclusions_follow_add_replace_and_remove() -> None:
    index = SubscriptionIndex()
    doc = Document("Шахеди над Одесою, нові санкції")
    index.add(1, "шахед Одеса -санкції")
    index.add(2, "шахед Одеса -Київ")
    index.add(3, "шахед -санкції -Київ")
    index.add(4, '"нові санкції" -Київ')
    assert index.match(doc) == [2, 4]
    index.add(1, "шахед Одеса -Харків")  # replaces 1: санкції no longer excludes it
    assert index.match(doc) == [1, 2, 4]
    index.remove(3)
    index.remove(2)
    assert index.match(Document("Шахеди над Одесою, Київ і Харків")) == []
    assert index.match(Document("Шахеди над Одесою, Київ")) == [1]
    assert index.match(Document("нові санкції, Харків")) == [4]


def test_groups_of_each_node() -> None:
    groups = required_groups(parse_query('"ударні дрони" channel:x -шахед').root)
    # the two adjacent words of the phrase as one pair, and the channel; NOT adds none
    assert groups == [frozenset({(K_PHRASE, "ударний\x00дрон")}), frozenset({(K_CHANNEL, "x")})]
    (merged,) = required_groups(parse_query("санкції OR Kyiv~").root)
    assert (0, "санкція") in merged and (K_NAME, name_term("kiv", 0)) in merged
    # a longer phrase: a pair for each two adjacent words; a prefix part on its own
    groups = required_groups(parse_query('"нові санкції проти" дрон-атак*').root)
    assert len(groups) == 4
    assert [{kind for kind, _ in group} for group in groups] == [
        {K_PHRASE},
        {K_PHRASE},
        {K_FORM},
        {K_PREFIX},
    ]
    assert selectivity(frozenset({(0, "перехоплювач")})) > selectivity(frozenset({(0, "і")}))


def test_index_json_roundtrip_of_fixture_posts(case_lines: list[str]) -> None:
    # the fixture file is valid JSON Lines for `chanwatch match`
    assert all(isinstance(json.loads(line), dict) for line in case_lines)
