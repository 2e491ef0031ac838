"""Archive search: the same results a subscription would give, newest first, fast paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build_ingestor
from bot.ingest import Ingestor
from bot.models import ChannelRef, Post, PostOrigin, StoredChannel
from bot.query import Document, compile_query, get_normalizer
from bot.search import ArchiveSearch, SearchFilters, channel_label
from storage.db import Database
from tests.conftest import FakeClock

NEWS = ChannelRef(1001, "official_news", "Official News")
OTHER = ChannelRef(2002, "other_chan", "Other")
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

OWN_POSTS = [
    (NEWS, 1, "Санкції проти Росії мають посилюватися."),
    (NEWS, 2, "Нові санкцій пакети обговорили в Парижі."),
    (OTHER, 3, "Говорили про гарантії безпеки та санкціях."),
    (NEWS, 4, "Шахеди атакували Харків уночі."),
    (OTHER, 5, "Drones hit Kyiv; children were hurt."),
    (NEWS, 6, "Санкційний тиск — окрема тема."),
]


@pytest.fixture
async def archive(db: Database, clock: FakeClock) -> Ingestor:
    ingestor = build_ingestor(db, clock=clock)
    for index, (channel, message_id, text) in enumerate(OWN_POSTS):
        post = Post(channel, message_id, T0 + timedelta(hours=index), text)
        await ingestor.ingest(post, origin=PostOrigin.LIVE)
    return ingestor


def _ids(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [hit.post.message_id for hit in result.hits]


async def test_word_forms_newest_first(db: Database, archive: Ingestor) -> None:
    result = await ArchiveSearch(db).search("санкції")
    assert _ids(result) == [3, 2, 1]  # not 6: the adjective is another lemma
    assert result.used_index


async def test_results_equal_the_matcher_on_every_post(db: Database, archive: Ingestor) -> None:
    queries = [
        "санкції",
        "шахед",
        "Kyiv~",
        "drone",
        "child",
        "санк*",
        "=санкцій",
        "санкції -Парижі",
        "channel:other_chan",
        "channel:other_chan санкції",
        "/харк[іо]в/",
        '"гарантії безпеки"',
    ]
    for query in queries:
        compiled = compile_query(query)
        expected = [
            mid
            for channel, mid, text in sorted(OWN_POSTS, key=lambda p: -p[1])
            if compiled.matches(
                Document(text, frozenset({channel.username or "", str(channel.telegram_id)}))
            )
        ]
        got = _ids(await ArchiveSearch(db).search(query, limit=50))
        assert got == expected, query


async def test_limit_and_offset(db: Database, archive: Ingestor) -> None:
    search = ArchiveSearch(db)
    assert _ids(await search.search("санкції", limit=2)) == [3, 2]
    assert _ids(await search.search("санкції", limit=2, offset=2)) == [1]


async def test_since_until_are_inclusive(db: Database, archive: Ingestor) -> None:
    search = ArchiveSearch(db)
    filters = SearchFilters(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    assert _ids(await search.search("санкції", filters=filters)) == [3, 2]
    scan = await search.search("/санкц/", filters=filters)
    assert _ids(scan) == [3, 2] and not scan.used_index


async def test_channel_filter(db: Database, archive: Ingestor) -> None:
    row = await db.fetch_one("SELECT id FROM channels WHERE username = 'official_news'")
    filters = SearchFilters(channel_ids=(row[0],))
    assert _ids(await ArchiveSearch(db).search("санкції", filters=filters)) == [2, 1]


async def test_edited_post_is_found_by_current_text_only(db: Database, archive: Ingestor) -> None:
    await archive.ingest(
        Post(NEWS, 4, T0 + timedelta(hours=3), "Дрони атакували Одесу."), origin=PostOrigin.LIVE
    )
    search = ArchiveSearch(db)
    assert _ids(await search.search("шахед")) == []
    hits = (await search.search("Одеса")).hits
    assert [h.post.message_id for h in hits] == [4] and hits[0].post.version == 1


async def test_deleted_posts_stay_searchable_and_say_so(db: Database, archive: Ingestor) -> None:
    await archive.ingest_deletions(NEWS, [1], detected_by="live")
    hits = (await ArchiveSearch(db).search("санкції")).hits
    deleted = {h.post.message_id: h.post.deleted_at is not None for h in hits}
    assert deleted == {3: False, 2: False, 1: True}


async def test_name_with_no_variant_in_archive_returns_nothing(
    db: Database, archive: Ingestor
) -> None:
    result = await ArchiveSearch(db).search("Witkoff~")
    assert result.hits == [] and result.examined == 0


async def test_unnarrowable_query_stops_at_time_budget(db: Database, archive: Ingestor) -> None:
    ticks = iter(range(1000))
    search = ArchiveSearch(db, time_budget_seconds=0.5, monotonic=lambda: float(next(ticks)))
    result = await search.search("/[a-zа-я]/")
    assert result.stopped_early and not result.used_index


async def test_count_caps(db: Database, archive: Ingestor) -> None:
    search = ArchiveSearch(db)
    assert await search.count("санкції", cap=2) == (2, True)
    assert await search.count("санкції", cap=10) == (3, False)


async def test_corpus_labelled_queries_through_search(
    db: Database, clock: FakeClock, corpus_dir: Path
) -> None:
    ingestor = build_ingestor(db, clock=clock)
    spec = json.loads((corpus_dir / "zelensky" / "match_dev.json").read_text(encoding="utf-8"))
    lines = (corpus_dir / "zelensky" / spec["posts_file"]).read_text(encoding="utf-8").splitlines()
    channel = ChannelRef(7777, "V_Zelenskiy_official")
    by_message: dict[int, str] = {}
    for line in lines:
        post = json.loads(line)
        message_id = int(post["id"].rsplit("/", 1)[1])
        by_message[message_id] = post["id"]
        await ingestor.ingest(
            Post(channel, message_id, T0 + timedelta(minutes=message_id % 10000), post["text"]),
            origin=PostOrigin.IMPORT,
        )
    search = ArchiveSearch(db)
    for case in spec["queries"]:
        result = await search.search(case["query"], limit=100)
        got = {by_message[h.post.message_id] for h in result.hits}
        assert got == set(case["expect"]), case["query"]


async def test_indexed_query_stops_at_time_budget(db: Database, clock: FakeClock) -> None:
    # `a -a`: FTS finds every post with the word and the matcher rejects each one, so the
    # indexed path reads candidate after candidate: the time budget must stop it too.
    ingestor = build_ingestor(db, clock=clock)
    await ingestor.ingest_batch(
        [Post(NEWS, i, T0 + timedelta(minutes=i), f"Санкції, допис {i}") for i in range(1, 41)],
        origin=PostOrigin.IMPORT,
    )
    ticks = iter(range(1000))  # each look at the clock is one second later
    search = ArchiveSearch(db, time_budget_seconds=1.5, monotonic=lambda: float(next(ticks)))
    result = await search.search("санкції -санкції", limit=1)
    assert result.used_index and result.stopped_early
    assert result.hits == [] and 0 < result.examined < 40  # the first chunk, not all 40
    unbounded = await ArchiveSearch(db).search("санкції -санкції", limit=1)
    assert unbounded.examined == 40 and not unbounded.stopped_early


async def test_loading_the_dictionaries_is_not_part_of_the_budget(
    db: Database, archive: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a regex compiles without the dictionaries, so a first search in a process would load
    # them inside its time budget: they are loaded before the budget's clock starts
    lemmatizer = get_normalizer().lemmatizer
    loaded = lemmatizer.load
    calls: list[str] = []

    def load() -> None:
        loaded()
        calls.append("load")

    def monotonic() -> float:
        calls.append("clock")
        return 0.0

    monkeypatch.setattr(lemmatizer, "load", load)
    result = await ArchiveSearch(db, monotonic=monotonic).search("/санкц/")
    assert result.hits and calls[0] == "load" and "clock" in calls


async def test_fractional_bounds_keep_only_whole_seconds_inside(
    db: Database, archive: Ingestor
) -> None:
    # Post 2 is dated 09:00:00 exactly; post dates are whole seconds.
    at = T0 + timedelta(hours=1)
    half = timedelta(milliseconds=500)
    search = ArchiveSearch(db)
    for query in ("санкції", "/санкц/"):  # the indexed path and the scan
        assert 2 not in _ids(await search.search(query, filters=SearchFilters(since=at + half)))
        assert 2 in _ids(await search.search(query, filters=SearchFilters(since=at - half)))
        assert 2 in _ids(await search.search(query, filters=SearchFilters(until=at + half)))
        assert 2 not in _ids(await search.search(query, filters=SearchFilters(until=at - half)))
        one_second = SearchFilters(since=at, until=at + half)
        assert _ids(await search.search(query, filters=one_second)) == [2], query


async def test_imported_edit_date_makes_a_post_edited(db: Database, clock: FakeClock) -> None:
    ingestor = build_ingestor(db, clock=clock)
    await ingestor.ingest_batch(
        [
            Post(NEWS, 1, T0, "Заява про обмін.", edit_date=T0 + timedelta(hours=2)),
            Post(NEWS, 2, T0 + timedelta(hours=1), "Заява про перемовини."),
        ],
        origin=PostOrigin.IMPORT,
    )
    hits = {h.post.message_id: h.post for h in (await ArchiveSearch(db).search("заява")).hits}
    assert (hits[1].version, hits[1].edited) == (0, True)  # the export gave an edit date
    assert (hits[2].version, hits[2].edited) == (0, False)
    await ingestor.ingest(
        Post(NEWS, 2, T0 + timedelta(hours=1), "Заява про перемовини, оновлено."),
        origin=PostOrigin.LIVE,
    )
    (edited,) = [h.post for h in (await ArchiveSearch(db).search("оновлено")).hits]
    assert (edited.version, edited.edited) == (1, True)  # an edit chanwatch saw


def test_channel_label_names_a_channel_without_username() -> None:
    def channel(username: str | None, title: str | None) -> StoredChannel:
        return StoredChannel(7, 4242, username, title, None, "telegram", True, True)

    assert channel_label(channel("official_news", "Official News")) == "@official_news"
    assert channel_label(channel(None, "Канал\tбез  імені\n")) == "Канал без імені"
    assert channel_label(channel(None, None)) == "c/4242"


async def test_a_listed_place_finds_its_russian_form_in_the_archive(
    db: Database, clock: FakeClock
) -> None:
    ingestor = build_ingestor(db, clock=clock)
    await ingestor.ingest_batch(
        [
            Post(NEWS, 1, T0, "Ракетний удар по Києву."),
            Post(NEWS, 2, T0 + timedelta(minutes=1), "Ракетный удар по Киеву."),
            Post(NEWS, 3, T0 + timedelta(minutes=2), "Київщина без світла."),
        ],
        origin=PostOrigin.IMPORT,
    )
    result = await ArchiveSearch(db).search("Kyiv~")
    assert result.used_index and _ids(result) == [2, 1]
