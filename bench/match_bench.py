"""Benchmark: many subscriptions matched against many posts, index vs naive evaluation.

Builds ``--subs`` subscriptions whose terms are drawn from the real posts of the shared
corpus (two-word ANDs, phrases of adjacent words, exclusions, ``Name~`` in a Latin
spelling of names of the corpus, ``OR`` groups, prefixes, ``channel:`` restrictions, a few
regexes) and ``--posts`` posts made by recombining real sentences of the corpus (seeded).
Prints posts/s for ``SubscriptionIndex`` with a cold and with a warm token cache, posts/s
for the naive baseline (each post normalised once, then every subscription evaluated on
its own; timed on ``--naive-posts`` posts and extrapolated), checks that both give the
same results on those posts, and ends with ``speedup_vs_naive: N``. The warm index and the
naive baseline are timed in ``--rounds`` rounds of alternating slices, so that both run on
the same machine speed; N is the median of the rounds' ratios.

Run: ``.venv/bin/python bench/match_bench.py [--subs 10000] [--posts 5000]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.query import (
    CompiledQuery,
    Document,
    SubscriptionIndex,
    channel_keys,
    compile_query,
    get_normalizer,
)

REPO = Path(__file__).resolve().parents[1]
CHANNELS = [f"channel_{i:02d}" for i in range(50)]

# A Ukrainian-to-Latin spelling (national system, simplified) to write corpus names
# the way English-language media do; the engine must find them back in Cyrillic.
_ROMAN = dict(
    zip(
        "абвгґдезиіїйклмнопрстуфхцчшщьюяєжʼ",
        "a b v h g d e z y i i i k l m n o p r s t u f kh ts ch sh shch _ iu ia ie zh _".split(),
        strict=True,
    )
)


def corpus_dir() -> Path:
    env = os.environ.get("CHANWATCH_CORPUS")
    return Path(env) if env else REPO.parent / "shared" / "corpus"


def romanize(word: str) -> str:
    out = "".join(_ROMAN.get(ch, ch) for ch in word.lower()).replace("_", "")
    return out[:1].upper() + out[1:]


def load_texts() -> list[str]:
    path = corpus_dir() / "zelensky" / "posts.jsonl"
    if not path.is_file():
        sys.exit(f"corpus not found: {path}")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def sentences(texts: list[str]) -> list[str]:
    out = []
    for text in texts:
        for part in re.split(r"(?<=[.!?])\s+|\n+", text):
            part = part.strip()
            if len(part) > 20:
                out.append(part)
    return out


def build_queries(rng: random.Random, texts: list[str], count: int) -> tuple[list[str], list[str]]:
    """Subscriptions whose terms are words of the corpus.

    Real subscriptions name specific things, and most combine two of them (a phrase or
    a name with a topic word, a channel with a word, two words). Every post here is made
    of the same hundred-odd sentences, so even a word of one sentence occurs in one post
    of twenty; topic words are therefore words whose lemmas occur in a single sentence of
    the corpus, and single-word subscriptions are few. Exclusions may use any word.
    The output reports how many subscriptions a post matches on average, by kind; the
    second list names each query's kind.
    """
    normalizer = get_normalizer()
    pool = [normalizer.analyse(sentence) for sentence in sentences(texts)]
    sentence_freq: dict[str, int] = {}
    for analysis in pool:
        for lemma in analysis.lemma_set:
            sentence_freq[lemma] = sentence_freq.get(lemma, 0) + 1
    words: set[str] = set()
    rare: set[str] = set()
    bigrams: list[tuple[str, str]] = []
    names: set[str] = set()
    for analysis in pool:
        tokens = analysis.tokens
        for i, tok in enumerate(tokens):
            if len(tok.folded) < 4 or not tok.folded.isalpha():
                continue
            words.add(tok.text)
            is_rare = max(sentence_freq[lemma] for lemma in tok.lemmas) == 1
            if is_rare:
                rare.add(tok.text)
            if tok.text[0].isupper() and i:
                lemma = min(tok.lemmas, key=len)
                if re.fullmatch(r"[а-яіїєґʼ]+", lemma) and sentence_freq[lemma] <= 2:
                    names.add(romanize(lemma))
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if is_rare and nxt is not None and len(nxt.folded) >= 3:
                bigrams.append((tok.text, nxt.text))
    common, rare_words, name_list = sorted(words), sorted(rare), sorted(names)
    pick = rng.choice
    queries: list[str] = []
    kinds: list[str] = []
    for i in range(count):
        roll = rng.random()
        a, b = pick(rare_words), pick(rare_words)
        if i % 1000 == 999:
            queries.append(f"/{a.lower()}\\w* \\d+/")
            kinds.append("regex")
        elif roll < 0.40:
            queries.append(f"{a} {b}")
            kinds.append("two words")
        elif roll < 0.55:
            x, y = pick(bigrams)
            queries.append(f'"{x} {y}" {b}')
            kinds.append("phrase + word")
        elif roll < 0.70:
            queries.append(f"{a} {b} -{pick(common)}")
            kinds.append("exclusion")
        elif roll < 0.80:
            name = pick(name_list)
            if rng.random() < 0.3:  # a doubled letter, as foreign press often spells it
                j = rng.randrange(1, len(name))
                name = name[:j] + name[j] + name[j:]
            queries.append(f"{name}~ {a}")
            kinds.append("name~ + word")
        elif roll < 0.90:
            queries.append(f"channel:{pick(CHANNELS)} {a}")
            kinds.append("channel")
        elif roll < 0.95:
            queries.append(f"({a} OR {b}) {pick(rare_words)}")
            kinds.append("OR")
        elif roll < 0.99:
            stem = a.lower()[: rng.randint(4, max(4, len(a) - 1))]
            queries.append(f"{stem}* {b}")
            kinds.append("prefix")
        else:
            queries.append(a)
            kinds.append("one word")
    return queries, kinds


def build_posts(rng: random.Random, texts: list[str], count: int) -> list[Document]:
    pool = sentences(texts)
    posts = []
    for _ in range(count):
        body = " ".join(rng.sample(pool, rng.randint(3, 8)))
        posts.append(Document(body, channel_keys([rng.choice(CHANNELS)])))
    return posts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subs", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=5_000)
    parser.add_argument("--naive-posts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    texts = load_texts()
    normalizer = get_normalizer()
    normalizer.lemmatizer.load()

    queries, kinds = build_queries(rng, texts, args.subs)
    posts = build_posts(rng, texts, args.posts)

    started = time.perf_counter()
    compiled: list[CompiledQuery] = [compile_query(q) for q in queries]
    index = SubscriptionIndex()
    for sub_id, cq in enumerate(compiled):
        index.add(sub_id, cq)
    build_s = time.perf_counter() - started
    print(f"subscriptions: {len(index)} (compiled and indexed in {build_s:.2f} s)")
    # A long-running matcher freezes what it built at start-up so that the cyclic
    # garbage collector stops rescanning it after every few thousand allocations.
    gc.collect()
    gc.freeze()
    print(f"posts: {len(posts)}, {sum(len(p.text) for p in posts) / len(posts):.0f} chars avg")

    normalizer.clear_cache()
    results = []
    started = time.perf_counter()
    for doc in posts:
        results.append(index.match(doc))
    cold_s = time.perf_counter() - started
    matched = sum(map(len, results))
    by_kind = Counter(kinds[sub_id] for ids in results for sub_id in ids)
    print(f"index, cold token cache: {len(posts) / cold_s:,.0f} posts/s")

    # Warm index and naive baseline, interleaved: each round times the index on every post
    # and the naive evaluation on the sample, in alternating slices, so that both see the
    # same machine (a shared VM's speed drifts by up to 2x within a minute). The ratio is
    # the median of the rounds' ratios; posts/s figures are each side's best round.
    sample = posts[: args.naive_posts]
    slices = 5
    index_rates: list[float] = []
    naive_rates: list[float] = []
    ratios: list[float] = []
    naive_results: list[list[int]] = []
    for round_no in range(args.rounds):
        index_s = naive_s = 0.0
        for part in range(slices):
            started = time.perf_counter()
            for doc in posts[part::slices]:
                index.match(doc)
            index_s += time.perf_counter() - started
            started = time.perf_counter()
            for doc in sample[part::slices]:
                analysis = normalizer.analyse(doc.text)
                hits = [i for i, cq in enumerate(compiled) if cq.matches(doc, analysis)]
                if round_no == 0:
                    naive_results.append(hits)
            naive_s += time.perf_counter() - started
        index_rates.append(len(posts) / index_s)
        naive_rates.append(len(sample) / naive_s)
        ratios.append(index_rates[-1] / naive_rates[-1])
    print(
        f"index, warm token cache: {max(index_rates):,.0f} posts/s (best of {args.rounds} rounds)"
    )
    print(f"matches per post: {matched / len(posts):.1f} of {len(index)} subscriptions")
    subs_by_kind = Counter(kinds)
    print(
        "  by kind (subscriptions, matches per post): "
        + ", ".join(
            f"{kind} {subs_by_kind[kind]} {by_kind[kind] / len(posts):.1f}"
            for kind in sorted(subs_by_kind, key=subs_by_kind.__getitem__, reverse=True)
        )
    )
    print(
        f"naive, warm token cache: {max(naive_rates):,.1f} posts/s "
        f"(best of {args.rounds} rounds on {len(sample)} posts, extrapolated)"
    )
    print("speedup per round: " + ", ".join(f"{ratio:.0f}" for ratio in ratios))
    # the naive results were collected slice by slice, in this order
    sample_order = [doc for part in range(slices) for doc in sample[part::slices]]
    agree = sum(
        index.match(doc) == want for doc, want in zip(sample_order, naive_results, strict=True)
    )
    print(f"index agrees with naive on {agree}/{len(sample)} posts")
    if agree != len(sample):
        print("MISMATCH between index and naive evaluation", file=sys.stderr)
        return 1
    print(f"speedup_vs_naive: {statistics.median(ratios):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
