"""Archive search benchmark: fill an archive, then time `--limit 20` searches.

Fills a fresh SQLite archive with posts made by recombining real sentences of the corpus
(varying numbers and names), through the real ingest path (normalisation, FTS indexing),
and reports insert posts/s, p50/p95 latency of rare-term and common-term searches, and the
database size.

    .venv/bin/python bench/search_bench.py [--posts 200000] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.app import build_ingestor  # noqa: E402
from bot.models import ChannelRef, Post, PostOrigin  # noqa: E402
from bot.query import get_normalizer  # noqa: E402
from bot.search import ArchiveSearch  # noqa: E402
from storage.db import Database  # noqa: E402

# Words absent from the corpus, each put into a handful of posts: the rare terms.
RARE_WORDS = [
    "Антарктида",
    "гелікоптер",
    "Вірменія",
    "вулкан",
    "бібліотека",
    "телескоп",
    "Ісландія",
    "оркестр",
    "кібератака",
    "пароплав",
]
NAMES = ["Зеленський", "Єрмак", "Віткофф", "Умєров", "Сибіга", "Рютте", "Макрон", "Стармер"]
CHANNELS = [ChannelRef(10_000 + i, f"bench_channel_{i:02d}") for i in range(20)]
SENTENCE = re.compile(r"(?<=[.!?…])\s+")


def load_sentences(corpus: Path) -> list[str]:
    """Every sentence of the corpus posts."""
    sentences: list[str] = []
    for line in (corpus / "zelensky" / "posts.jsonl").read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        for paragraph in text.split("\n"):
            sentences.extend(s.strip() for s in SENTENCE.split(paragraph) if len(s.strip()) > 20)
    return sentences


def make_posts(sentences: list[str], count: int, rng: random.Random) -> list[Post]:
    """Posts of 2-6 recombined sentences with varied numbers and names, one a minute."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    posts = []
    for i in range(count):
        parts = rng.sample(sentences, rng.randint(2, 6))
        text = " ".join(parts)
        text = re.sub(r"\d+", lambda _: str(rng.randint(1, 5000)), text)
        text += f" {rng.choice(NAMES)} {rng.randint(1, 99)}."
        if rng.random() < 50 / count:
            text += f" {rng.choice(RARE_WORDS)}."
        channel = CHANNELS[i % len(CHANNELS)]
        posts.append(Post(channel, 1 + i // len(CHANNELS), start + timedelta(minutes=i), text))
    return posts


def pick_terms(posts: list[Post]) -> tuple[list[str], list[str]]:
    """Rare terms (in few posts) and common terms (in many), chosen from the data."""
    normalizer = get_normalizer()
    document_frequency: Counter[str] = Counter()
    for post in posts[:2000]:
        words = {t.folded for t in normalizer.analyse(post.text).tokens if t.folded.isalpha()}
        document_frequency.update(w for w in words if len(w) > 4)
    common = [w for w, _ in document_frequency.most_common(10)]
    return list(RARE_WORDS), common


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5, help="searches per term")
    args = parser.parse_args()

    rng = random.Random(20261128)
    sentences = load_sentences(args.corpus)
    posts = make_posts(sentences, args.posts, rng)
    rare, common = pick_terms(posts)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        db = Database(path)
        await db.open()
        ingestor = build_ingestor(db)
        started = time.perf_counter()
        for i in range(0, len(posts), args.batch):
            await ingestor.ingest_batch(posts[i : i + args.batch], origin=PostOrigin.IMPORT)
        insert_seconds = time.perf_counter() - started
        print(f"posts: {len(posts)}")
        print(f"insert_posts_per_s: {len(posts) / insert_seconds:.0f}")

        search = ArchiveSearch(db)
        for label, terms in (("rare", rare), ("common", common)):
            latencies: list[float] = []
            found: list[int] = []
            for term in terms:
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    result = await search.search(term, limit=20)
                    latencies.append((time.perf_counter() - t) * 1000)
                found.append(len(result.hits))
            print(
                f"{label}_terms: {len(terms)} (hits per search: min {min(found)}, max {max(found)})"
            )
            print(f"{label}_p50_ms: {statistics.median(latencies):.1f}")
            print(f"{label}_p95_ms: {percentile(latencies, 0.95):.1f}")
        await db.close()
        size = await asyncio.to_thread(
            lambda: sum(f.stat().st_size for f in Path(tmp).glob("bench.db*"))
        )
        print(f"db_size_mb: {size / 1e6:.1f}")
        print(f"db_bytes_per_post: {size / len(posts):.0f}")


if __name__ == "__main__":
    asyncio.run(main())
