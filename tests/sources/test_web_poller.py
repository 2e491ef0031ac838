"""The web preview poller against a local HTTP server serving (rewritten) saved pages.

The pages are the real `full.html` of the fixtures; new posts are clones of its posts, edits
and deletions rewrite it, older pages are served for `?before=`. Time is a fake clock and the
poller's sleep only advances it, so nothing waits on the wall clock except the timeout case.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.config import WebSettings
from bot.ingest import ChangeKind, Ingestor
from bot.models import ChannelRef, PostOrigin, StoredChannel, to_epoch
from bot.sources.budget import RequestBudget
from bot.sources.web import (
    FetchErrorKind,
    PollResult,
    PollStatus,
    WebPoller,
    judge_deletions,
)
from bot.sources.web_parse import parse_page
from storage import channels as channel_repo
from storage import cursors as cursor_repo
from storage.db import Database
from storage.web_state import load_states
from tests.conftest import FakeClock
from tests.harness.web_preview import CHANNEL_ID, SLUG, WRAPS, FakeChannel, PreviewServer

INTERVAL = 60
AFTER_INTERVAL = INTERVAL * 1.1 + 1  # past any jitter


# --- the rig -----------------------------------------------------------------------------------
@dataclass
class Rig:
    db: Database
    server: PreviewServer
    clock: FakeClock
    session: aiohttp.ClientSession
    ingestor: Ingestor
    slept: list[float] = field(default_factory=list)
    poller: WebPoller = field(init=False)

    def __post_init__(self) -> None:
        self.poller = self.make_poller()

    async def watch(self, name: str, channel: FakeChannel | None = None) -> StoredChannel:
        if channel is not None:
            self.server.channels[name] = channel
        async with self.db.write() as conn:
            return await channel_repo.configure_channel(
                conn, name, source="web", now=to_epoch(self.clock())
            )

    async def later(self, seconds: float = AFTER_INTERVAL) -> list[PollResult]:
        self.clock.advance(seconds)
        return await self.poller.tick()

    def make_poller(self, **changes: object) -> WebPoller:
        settings = WebSettings.model_validate(
            {
                "enabled": True,
                "base_url": self.server.base_url,
                "interval_seconds": INTERVAL,
                "requests_per_minute": 600,
                "timeout_seconds": 0.3,
                "max_pages": 10,
                **changes,
            }
        )

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)
            self.clock.advance(seconds)

        return WebPoller(
            self.db,
            self.ingestor,
            settings,
            session=self.session,
            clock=self.clock,
            sleep=sleep,
            rng=random.Random(5),
            budget=RequestBudget(settings.requests_per_minute, burst=20, clock=self.clock),
        )

    async def posts(self, username: str = SLUG) -> dict[int, str]:
        rows = await self.db.fetch_all(
            "SELECT p.message_id, p.origin FROM posts p JOIN channels c ON c.id = p.channel_id "
            "WHERE c.username = ? ORDER BY p.message_id",
            (username,),
        )
        return {int(r["message_id"]): str(r["origin"]) for r in rows}

    async def deleted(self) -> dict[int, str]:
        rows = await self.db.fetch_all("SELECT message_id, detected_by FROM deletions")
        return {int(r["message_id"]): str(r["detected_by"]) for r in rows}

    async def cursor(self, username: str = SLUG) -> tuple[int | None, str | None]:
        async with self.db.read() as conn:
            channel = await channel_repo.find_channel_by_key(conn, username)
            assert channel is not None
            cursor = await cursor_repo.get_cursor(conn, channel.id)
        if cursor is None:
            return None, None
        return cursor.last_message_id, cursor.last_error


@pytest.fixture
async def rig(db: Database, clock: FakeClock) -> AsyncIterator[Rig]:
    server = await PreviewServer().start()
    session = aiohttp.ClientSession()
    ingestor = Ingestor(db, clock=clock)
    rig = Rig(db, server, clock, session, ingestor)
    try:
        yield rig
    finally:
        await session.close()
        await server.stop()


def only(results: list[PollResult], username: str = SLUG) -> PollResult:
    found = [r for r in results if r.username == username]
    assert len(found) == 1, results
    return found[0]


FULL_IDS = set(WRAPS) | {70993, 70994, 71001, 71002, 71003, 71004, 71005}


# --- first sight and new posts ------------------------------------------------------------------
async def test_first_sight_records_the_page_without_alerting(rig: Rig) -> None:
    await rig.watch(SLUG, FakeChannel.from_full())
    result = only(await rig.poller.tick())
    assert result.status is PollStatus.FIRST_SIGHT
    assert {c.origin for c in result.changes} == {PostOrigin.FIRST_SIGHT}
    assert {c.kind for c in result.changes} == {ChangeKind.NEW}
    stored = await rig.posts()
    assert set(stored) == FULL_IDS
    assert set(stored.values()) == {"first_sight"}
    assert await rig.cursor() == (71008, None)
    # The page has a "load more" link, but first sight never pages back.
    assert rig.server.requests == [(SLUG, None)]
    async with rig.db.read() as conn:
        channel = await channel_repo.find_channel_by_key(conn, SLUG)
    assert channel is not None
    assert (channel.telegram_id, channel.title, channel.source) == (
        CHANNEL_ID,
        "Военное обозрение",
        "web",
    )


@pytest.mark.parametrize(
    "page_name",
    [
        "full.html",
        "message_link_preview.html",
        "message_media_forwarded_from.html",
        "message_media_photo_and_video.html",
        "message_poll.html",
        "message_text.html",
        "message_voice.html",
        "message_with_from_author.html",
    ],
)
async def test_every_saved_corpus_page_is_read_over_http(
    rig: Rig, corpus_dir: Path, page_name: str
) -> None:
    html_text = (corpus_dir / "web_preview" / page_name).read_text("utf-8")
    page = parse_page(html_text)
    assert page.username is not None
    rig.server.raw_pages[page.username] = html_text
    await rig.watch(page.username)
    result = only(await rig.poller.tick(), page.username)
    assert result.status is PollStatus.FIRST_SIGHT
    assert await rig.posts(page.username) == {p.message_id: "first_sight" for p in page.posts}
    assert await rig.cursor(page.username) == (max(page.all_ids), None)


async def test_new_posts_after_first_sight_are_web_posts(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    channel.add(71009, "Перше нове повідомлення")
    channel.add(71010, "Друге нове\nповідомлення")
    result = only(await rig.later())
    assert result.status is PollStatus.OK
    assert result.of_kind(ChangeKind.NEW) == [71009, 71010]
    assert {c.origin for c in result.changes} == {PostOrigin.WEB}
    assert result.of_kind(ChangeKind.EDIT) == [] and result.of_kind(ChangeKind.DELETION) == []
    stored = await rig.posts()
    assert stored[71009] == stored[71010] == "web"
    assert {v for k, v in stored.items() if k < 71009} == {"first_sight"}
    text = await rig.db.fetch_one("SELECT text FROM posts WHERE message_id = 71010", ())
    assert text is not None and text["text"] == "Друге нове\nповідомлення"
    assert await rig.cursor() == (71010, None)


async def test_a_channel_is_polled_once_per_interval_with_jitter(rig: Rig) -> None:
    await rig.watch(SLUG, FakeChannel.from_full())
    first = only(await rig.poller.tick())
    assert first.next_poll_at is not None
    waited = (first.next_poll_at - rig.clock()).total_seconds()
    assert INTERVAL * 0.9 <= waited <= INTERVAL * 1.1
    assert await rig.poller.tick() == []
    assert await rig.later(INTERVAL * 0.85) == []
    assert len(await rig.later(INTERVAL * 0.3)) == 1
    assert len(rig.server.requests) == 2


async def test_jitter_spreads_channels_apart(rig: Rig) -> None:
    for index in range(4):
        await rig.watch(f"chan_{index}x", FakeChannel.from_full(f"chan_{index}x", 500 + index))
    results = await rig.poller.tick()
    assert len(results) == 4
    next_times = {r.next_poll_at for r in results}
    assert len(next_times) == 4


# --- edits and deletions --------------------------------------------------------------------------
async def test_edit_of_a_post_still_on_the_page(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    channel.edit(70999, "Виправлений текст повідомлення")
    result = only(await rig.later())
    (edit,) = [c for c in result.changes if c.kind is ChangeKind.EDIT]
    assert edit.message_id == 70999
    assert edit.previous_text is not None and edit.previous_text.startswith("Ночью ВСУ")
    assert edit.post is not None and edit.post.text == "Виправлений текст повідомлення"
    assert edit.origin is PostOrigin.WEB
    result = only(await rig.later())
    assert result.of_kind(ChangeKind.EDIT) == []


async def test_an_older_post_coming_into_view_is_archived_without_alert(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    oldest = min(channel.wraps)
    for message_id in range(oldest - 40, oldest):
        channel.add(message_id, f"older post {message_id}")  # history below the first page
    await rig.watch(SLUG, channel)
    only(await rig.poller.tick())  # first sight: the newest page only
    stored = await rig.posts()
    slid = min(stored) - 1
    assert slid not in stored
    channel.remove(70997)  # a post on the page is deleted: an older one slides into view
    result = only(await rig.later())
    new = {c.message_id: c.origin for c in result.changes if c.kind is ChangeKind.NEW}
    assert new == {slid: PostOrigin.BACKFILL}  # archived, never alerted
    assert (await rig.posts())[slid] == "backfill"
    channel.add(71010, "a really new post")
    result = only(await rig.later())
    new = {c.message_id: c.origin for c in result.changes if c.kind is ChangeKind.NEW}
    assert new == {71010: PostOrigin.WEB}


async def test_deletion_needs_two_consecutive_polls(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    channel.remove(70997)
    first = only(await rig.later())
    assert first.of_kind(ChangeKind.DELETION) == []
    assert await rig.deleted() == {}
    second = only(await rig.later())
    assert second.of_kind(ChangeKind.DELETION) == [70997]
    assert await rig.deleted() == {70997: "web"}
    third = only(await rig.later())
    assert third.of_kind(ChangeKind.DELETION) == []
    row = await rig.db.fetch_one("SELECT text FROM posts WHERE message_id = 70997")
    assert row is not None and row["text"].startswith("Минобороны России сообщило")


async def test_a_post_missing_once_is_not_deleted(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    wrap = channel.remove(70997)
    await rig.later()
    channel.wraps[70997] = wrap
    await rig.later()
    channel.remove(70997)
    assert only(await rig.later()).of_kind(ChangeKind.DELETION) == []
    assert await rig.deleted() == {}
    assert only(await rig.later()).of_kind(ChangeKind.DELETION) == [70997]


async def test_newest_and_oldest_ids_are_never_taken_for_deletions(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    channel.remove(71008)  # no newer id remains on the page
    channel.remove(70989)  # no older id remains: it may simply have scrolled off
    for _ in range(3):
        await rig.later()
    assert await rig.deleted() == {}
    # Once a newer post appears, the missing newest id is judged like any other.
    channel.add(71009, "новий")
    await rig.later()
    assert await rig.deleted() == {}
    await rig.later()
    assert await rig.deleted() == {71008: "web"}


async def test_album_members_are_never_deleted(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    assert {71001, 71005} <= set(await rig.posts())
    # The album loses its members on the page (they were never shown on their own).
    wrap = channel.wraps[71000]
    for member in range(71001, 71006):
        wrap = wrap.replace(f"{SLUG}/{member}?single", f"{SLUG}/71000?single")
    channel.wraps[71000] = wrap
    for _ in range(3):
        result = only(await rig.later())
        assert result.status is PollStatus.OK
    assert await rig.deleted() == {}


def test_deletion_rule_as_a_function() -> None:
    shown = [10, 11, 13, 15]
    first = judge_deletions({10, 11, 12, 13, 14, 15, 16}, [], shown)
    assert first.deleted == ()
    assert dict(first.missing) == {12: 1, 14: 1}  # 16: nothing newer is shown
    assert first.seen_ids == {10, 11, 12, 13, 14, 15, 16}
    second = judge_deletions(first.seen_ids, first.missing, [9, 10, 11, 12, 13, 15])
    assert second.deleted == (14,)
    assert dict(second.missing) == {}  # 12 came back; 16 still waits
    assert 16 in second.seen_ids and 14 not in second.seen_ids
    scrolled = judge_deletions({5, 6, 7}, [(5, 1)], [7, 8, 9])
    assert scrolled.deleted == () and scrolled.seen_ids == {7, 8, 9}
    empty = judge_deletions({1, 2}, [(1, 1)], [])
    assert empty.deleted == () and dict(empty.missing) == {1: 1}


# --- paging -------------------------------------------------------------------------------------
async def test_paging_back_fills_a_gap_exactly(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    new_ids = list(range(71009, 71054))  # 45 posts: more than two pages
    for message_id in new_ids:
        channel.add(message_id, f"Пост {message_id}")
    rig.server.requests.clear()
    result = only(await rig.later())
    assert rig.server.requests == [(SLUG, None), (SLUG, 71034), (SLUG, 71014)]
    assert result.pages == 3
    assert result.of_kind(ChangeKind.NEW) == new_ids
    assert {c.origin for c in result.changes} == {PostOrigin.WEB}
    stored = await rig.posts()
    assert set(stored) == FULL_IDS | set(new_ids)
    assert await rig.cursor() == (71053, None)
    rig.server.requests.clear()
    again = only(await rig.later())
    assert rig.server.requests == [(SLUG, None)]
    assert again.of_kind(ChangeKind.NEW) == []


async def test_paging_is_bounded_by_max_pages(rig: Rig) -> None:
    rig.poller = rig.make_poller(max_pages=2)
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    for message_id in range(71009, 71074):
        channel.add(message_id, f"Пост {message_id}")
    rig.server.requests.clear()
    result = only(await rig.later())
    assert rig.server.requests == [(SLUG, None), (SLUG, 71054)]
    assert result.of_kind(ChangeKind.NEW) == list(range(71034, 71074))
    assert result.error is not None and "71009..71033" in result.error
    last_id, error = await rig.cursor()
    assert last_id == 71073 and error is not None and "were not fetched" in error


async def test_a_failed_older_page_keeps_the_cursor_and_is_retried(rig: Rig) -> None:
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    for message_id in range(71009, 71040):
        channel.add(message_id, f"Пост {message_id}")
    rig.server.failures[(SLUG, 71020)] = "500"
    result = only(await rig.later())
    assert result.status is PollStatus.ERROR and result.error_kind is FetchErrorKind.HTTP
    assert result.of_kind(ChangeKind.NEW) == list(range(71020, 71040))
    last_id, error = await rig.cursor()
    assert last_id == 71008 and error == "web: HTTP 500"
    del rig.server.failures[(SLUG, 71020)]
    assert await rig.later() == []  # backing off
    retry = only(await rig.later(INTERVAL * 2.5))
    assert retry.status is PollStatus.OK
    assert retry.of_kind(ChangeKind.NEW) == list(range(71009, 71020))
    assert await rig.cursor() == (71039, None)


async def test_paging_waits_for_the_budget(rig: Rig) -> None:
    rig.poller = rig.make_poller(requests_per_minute=6)
    rig.poller.budget = RequestBudget(6, burst=1, clock=rig.clock)
    channel = FakeChannel.from_full()
    await rig.watch(SLUG, channel)
    await rig.poller.tick()
    for message_id in range(71009, 71040):
        channel.add(message_id, f"Пост {message_id}")
    result = only(await rig.later())
    assert result.pages == 2
    assert rig.slept and sum(rig.slept) >= 10 - 1e-9  # one request every 10 s
    assert result.of_kind(ChangeKind.NEW) == list(range(71009, 71040))


# --- failures -----------------------------------------------------------------------------------
async def test_bad_channels_never_stop_the_others(rig: Rig) -> None:
    bad = {
        "aa_redirect": "redirect",
        "bb_error": "500",
        "cc_hangs": "hang",
        "dd_broken": "malformed",
    }
    for name, failure in bad.items():
        rig.server.failures[name] = failure
        await rig.watch(name)
    await rig.watch("ee_missing")  # the server answers 404
    await rig.watch(SLUG, FakeChannel.from_full())
    results = await rig.poller.tick()
    by_name = {r.username: r for r in results}
    assert set(by_name) == {*bad, "ee_missing", SLUG}
    assert by_name[SLUG].status is PollStatus.FIRST_SIGHT
    kinds = {name: r.error_kind for name, r in by_name.items() if name and name != SLUG}
    assert kinds == {
        "aa_redirect": FetchErrorKind.NO_PREVIEW,
        "bb_error": FetchErrorKind.HTTP,
        "cc_hangs": FetchErrorKind.TIMEOUT,
        "dd_broken": FetchErrorKind.MALFORMED,
        "ee_missing": FetchErrorKind.HTTP,
    }
    errors = {name: (await rig.cursor(name))[1] for name in kinds}
    assert errors["aa_redirect"] is not None and "no public preview" in errors["aa_redirect"]
    assert errors["bb_error"] == "web: HTTP 500"
    assert errors["cc_hangs"] is not None and "no answer within" in errors["cc_hangs"]
    assert errors["dd_broken"] is not None and "unreadable page" in errors["dd_broken"]
    assert errors["ee_missing"] == "web: HTTP 404"
    assert set((await rig.posts()).values()) == {"first_sight"}
    # The good channel keeps its rhythm; the bad ones back off.
    again = await rig.later()
    assert [r.username for r in again] == [SLUG]


async def test_backoff_grows_and_resets_after_success(rig: Rig) -> None:
    rig.server.failures["flaky_chan"] = "500"
    stored = await rig.watch("flaky_chan", FakeChannel.from_full("flaky_chan", 42))
    start = rig.clock()
    delays = []
    for _ in range(3):
        (result,) = await rig.poller.tick()
        assert result.status is PollStatus.ERROR and result.next_poll_at is not None
        delays.append((result.next_poll_at - rig.clock()).total_seconds())
        rig.clock.now = result.next_poll_at
    assert INTERVAL * 2 <= delays[0] <= INTERVAL * 2 * 1.1
    assert INTERVAL * 4 <= delays[1] <= INTERVAL * 4 * 1.1
    assert INTERVAL * 8 <= delays[2] <= INTERVAL * 8 * 1.1
    assert rig.clock() > start
    async with rig.db.read() as conn:
        state = (await load_states(conn))[stored.id]
    assert state.failures == 3 and state.last_status == "http"
    del rig.server.failures["flaky_chan"]
    (result,) = await rig.poller.tick()
    assert result.status is PollStatus.FIRST_SIGHT
    assert result.next_poll_at is not None
    assert (result.next_poll_at - rig.clock()).total_seconds() <= INTERVAL * 1.1
    assert await rig.cursor("flaky_chan") == (71008, None)
    async with rig.db.read() as conn:
        assert (await load_states(conn))[stored.id].failures == 0


async def test_backoff_is_capped(rig: Rig) -> None:
    rig.poller = rig.make_poller(max_backoff_seconds=300)
    rig.server.failures["down_chan"] = "redirect"
    await rig.watch("down_chan")
    for _ in range(6):
        (result,) = await rig.poller.tick()
        assert result.next_poll_at is not None
        assert (result.next_poll_at - rig.clock()).total_seconds() <= 300
        rig.clock.now = result.next_poll_at


async def test_429_pauses_every_channel_until_retry_after(rig: Rig) -> None:
    rig.server.failures["aa_limited"] = "429"
    await rig.watch("aa_limited")
    await rig.watch(SLUG, FakeChannel.from_full())
    start = rig.clock()
    results = await rig.poller.tick()
    assert [(r.username, r.error_kind) for r in results] == [
        ("aa_limited", FetchErrorKind.RATE_LIMITED)
    ]
    assert results[0].next_poll_at is not None
    assert (results[0].next_poll_at - start).total_seconds() >= 120
    _, error = await rig.cursor("aa_limited")
    assert error is not None and "429" in error
    assert await rig.later(60) == []  # the whole budget waits
    del rig.server.failures["aa_limited"]
    resumed = await rig.later(61)
    assert [r.username for r in resumed] == [SLUG]
    assert rig.server.requests_for("aa_limited") == [None]


async def test_the_budget_limits_one_tick(rig: Rig) -> None:
    rig.poller = rig.make_poller(requests_per_minute=30)
    rig.poller.budget = RequestBudget(30, burst=2, clock=rig.clock)
    for index in range(5):
        await rig.watch(f"chan_{index}x", FakeChannel.from_full(f"chan_{index}x", 600 + index))
    assert len(await rig.poller.tick()) == 2
    assert await rig.poller.tick() == []
    assert len(await rig.later(2)) == 1  # 30 a minute: one every 2 s
    assert len(rig.server.requests) == 3


async def test_a_channel_renamed_on_the_page_is_an_error(rig: Rig) -> None:
    rig.server.channels["old_name"] = FakeChannel.from_full("new_name", 77)
    await rig.watch("old_name")
    (result,) = await rig.poller.tick()
    assert result.error_kind is FetchErrorKind.MALFORMED
    assert result.error is not None and "@new_name" in result.error
    assert await rig.posts("old_name") == {}


async def test_web_channel_merges_with_a_row_known_by_numeric_id(rig: Rig) -> None:
    async with rig.db.write() as conn:
        known = await channel_repo.ensure_channel(
            conn, ChannelRef(telegram_id=CHANNEL_ID), now=to_epoch(rig.clock())
        )
    await rig.watch(SLUG, FakeChannel.from_full())
    (result,) = await rig.poller.tick()
    assert result.status is PollStatus.FIRST_SIGHT
    assert result.channel_id == known.id
    async with rig.db.read() as conn:
        merged = await channel_repo.find_channel_by_key(conn, SLUG)
        states = await load_states(conn)
    assert merged is not None and merged.id == known.id and merged.telegram_id == CHANNEL_ID
    assert merged.source == "web"
    assert known.id in states
    channel = rig.server.channels[SLUG]
    channel.add(71009, "після злиття")
    (result,) = await rig.later()
    assert result.of_kind(ChangeKind.NEW) == [71009]


async def test_an_empty_channel_alerts_from_its_first_post(rig: Rig) -> None:
    channel = FakeChannel("quiet_chan", 99, {})
    await rig.watch("quiet_chan", channel)
    (first,) = await rig.poller.tick()
    assert first.status is PollStatus.FIRST_SIGHT and first.changes == ()
    assert await rig.cursor("quiet_chan") == (0, None)
    channel.add(5, "Перший пост")
    (result,) = await rig.later()
    assert result.of_kind(ChangeKind.NEW) == [5]
    assert await rig.posts("quiet_chan") == {5: "web"}


async def test_overlapping_ticks_poll_once(rig: Rig) -> None:
    await rig.watch(SLUG, FakeChannel.from_full())
    first, second = await asyncio.gather(rig.poller.tick(), rig.poller.tick())
    assert sorted([len(first), len(second)]) == [0, 1]
    assert rig.server.requests == [(SLUG, None)]


async def test_close_waits_for_the_poll_in_progress_and_stops_polling(rig: Rig) -> None:
    await rig.watch(SLUG, FakeChannel.from_full())
    rig.poller = rig.make_poller(timeout_seconds=30)
    rig.server.failures[SLUG] = "hang"
    polling = asyncio.create_task(rig.poller.tick())
    await rig.server.requested.wait()  # the request has reached the server
    closing = asyncio.create_task(rig.poller.close(wait_seconds=30))
    await asyncio.sleep(0)
    assert not closing.done()  # waits for the poll
    del rig.server.failures[SLUG]
    rig.server.never.set()
    await closing
    assert polling.done() and len(polling.result()) == 1
    rig.clock.advance(AFTER_INTERVAL)
    assert await rig.poller.tick() == []  # closed: nothing more is polled
    assert len(rig.server.requests) == 1


async def test_close_cancels_a_poll_that_outlives_the_grace(rig: Rig) -> None:
    await rig.watch(SLUG, FakeChannel.from_full())
    rig.poller = rig.make_poller(timeout_seconds=30)
    rig.server.failures[SLUG] = "hang"
    polling = asyncio.create_task(rig.poller.tick())
    await rig.server.requested.wait()
    await rig.poller.close(wait_seconds=0)
    assert polling.cancelled()
    assert await rig.posts() == {}  # nothing half-stored
    rig.server.never.set()


def test_an_id_the_page_still_accounts_for_is_never_missing() -> None:
    # 11 was shown on its own, now only as a member of an album keyed by 10.
    verdict = judge_deletions({10, 11, 12}, [(11, 1)], [10, 12], accounted_ids=[10, 11, 12])
    assert verdict.deleted == ()
    assert verdict.missing == ()
    assert verdict.seen_ids == frozenset({10, 12})


async def test_a_session_that_raises_for_status_still_backs_off(rig: Rig) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as strict:
        rig.session = strict
        rig.poller = rig.make_poller()
        rig.server.failures["aa_limited"] = "429"
        rig.server.failures["bb_error"] = "500"
        await rig.watch("aa_limited")
        await rig.watch("bb_error")
        (limited,) = await rig.poller.tick()  # the 429 pauses the budget: bb waits
        assert limited.error_kind is FetchErrorKind.RATE_LIMITED
        assert limited.next_poll_at is not None
        assert (limited.next_poll_at - rig.clock()).total_seconds() >= 120
        (error,) = await rig.later(121)
        assert (error.username, error.error_kind) == ("bb_error", FetchErrorKind.HTTP)
