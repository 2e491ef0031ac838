"""Catch-up: first sight, gap filling, re-checks, flood waits, the request budget."""

from __future__ import annotations

import pytest
from telethon import errors

from bot.config import CatchUpSettings
from bot.sources.rotation import TaskKind
from storage.db import Database
from tests.conftest import FakeClock
from tests.harness import telethon_kit as kit
from tests.sources.conftest import CHANNEL_ID, USERNAME, Rig, build_rig


async def _ids(db: Database, where: str = "1=1") -> list[int]:
    rows = await db.fetch_all(f"SELECT message_id FROM posts WHERE {where} ORDER BY message_id")
    return [r[0] for r in rows]


async def test_start_resolves_joins_and_first_sights_without_history(rig: Rig) -> None:
    assert rig.fake.count(kit.ResolveUsername) == 1
    assert rig.fake.count(kit.JoinChannel) == 1
    # Only the newest message is recorded, as first sight (never alerts); no history.
    rows = await rig.db.fetch_all("SELECT message_id, origin, late FROM posts")
    assert [tuple(r) for r in rows] == [(10, "first_sight", 0)]
    cursor = await rig.db.fetch_one("SELECT last_message_id FROM channel_cursors")
    assert cursor[0] == 10
    channel = await rig.db.fetch_one("SELECT telegram_id, access_hash, joined FROM channels")
    assert tuple(channel) == (CHANNEL_ID, 777, 1)
    assert CHANNEL_ID in rig.watched


async def test_username_is_never_resolved_again(rig: Rig, db: Database, clock: FakeClock) -> None:
    # A second process on the same archive (a restart) reuses the stored id + access hash.
    again = build_rig(db, clock)
    again.fake.add_channel(kit.channel(CHANNEL_ID, USERNAME))
    await again.catchup.refresh_watched()
    clock.advance(4000)
    await again.settle()
    assert again.fake.count(kit.ResolveUsername) == 0
    assert again.fake.count(kit.JoinChannel) == 0
    assert CHANNEL_ID in again.watched


async def test_missed_posts_are_filled_and_flagged_late(rig: Rig) -> None:
    for i in range(11, 16):
        rig.fake.post(kit.message(CHANNEL_ID, i, f"missed {i}"))
    # Post 13 also arrived live: it is stored once, as live.
    await kit.dispatch(rig.client, kit.new_post(kit.message(CHANNEL_ID, 13, "missed 13")))
    rig.clock.advance(3600)
    await rig.settle()
    rows = await rig.db.fetch_all(
        "SELECT message_id, origin, late FROM posts WHERE message_id > 10 ORDER BY message_id"
    )
    assert [tuple(r) for r in rows] == [
        (11, "catchup", 1),
        (12, "catchup", 1),
        (13, "live", 0),
        (14, "catchup", 1),
        (15, "catchup", 1),
    ]
    cursor = await rig.db.fetch_one("SELECT last_message_id FROM channel_cursors")
    assert cursor[0] == 15


async def test_big_gap_is_followed_page_by_page(rig: Rig) -> None:
    for i in range(11, 261):
        rig.fake.post(kit.message(CHANNEL_ID, i, f"p{i}"))
    rig.clock.advance(3600)
    done = await rig.settle()
    fetches = [t for t in done if t.kind is TaskKind.FETCH]
    assert len(fetches) == 3  # 100 + 100 + 50
    assert await _ids(rig.db, "message_id > 10") == list(range(11, 261))


async def test_every_channel_is_checked_within_the_max_interval(rig: Rig) -> None:
    before = rig.fake.count(kit.GetHistory)
    # A quiet channel (one post a week) is fetched hourly: not after 50 minutes...
    rig.clock.advance(3000)
    assert [t.kind for t in await rig.settle() if t.kind is TaskKind.FETCH] == []
    # ...but within the hour.
    rig.clock.advance(600)
    tasks = await rig.settle()
    assert TaskKind.FETCH in {t.kind for t in tasks}
    assert rig.fake.count(kit.GetHistory) == before + 1


async def test_recheck_finds_unannounced_deletion_and_missed_edit(rig: Rig) -> None:
    for i in range(11, 14):
        msg = kit.message(CHANNEL_ID, i, f"text {i}", date=rig.clock())
        rig.fake.post(msg)
        await kit.dispatch(rig.client, kit.new_post(msg))
    rig.fake.delete(CHANNEL_ID, 12)  # deleted without an update
    rig.fake.post(kit.message(CHANNEL_ID, 13, "text 13, corrected", date=rig.clock()))
    rig.clock.advance(120)
    tasks = await rig.settle()
    assert TaskKind.RECHECK in {t.kind for t in tasks}
    deleted = await rig.db.fetch_all("SELECT message_id, detected_by FROM deletions")
    assert [tuple(r) for r in deleted] == [(12, "recheck")]
    row = await rig.db.fetch_one("SELECT text, version FROM posts WHERE message_id = 13")
    assert tuple(row) == ("text 13, corrected", 1)
    text12 = await rig.db.fetch_one("SELECT text FROM posts WHERE message_id = 12")
    assert text12[0] == "text 12"


async def test_short_flood_wait_is_slept_and_retried(rig: Rig) -> None:
    rig.fake.post(kit.message(CHANNEL_ID, 11, "after flood"))
    rig.fake.fail_next(kit.GetHistory, errors.FloodWaitError(request=None, capture=7))
    rig.clock.advance(3600)
    await rig.settle()
    assert rig.slept == [7]
    assert 11 in await _ids(rig.db)


async def test_long_flood_wait_defers_and_loses_nothing(rig: Rig) -> None:
    rig.fake.post(kit.message(CHANNEL_ID, 11, "after long flood"))
    rig.fake.fail_next(kit.GetHistory, errors.FloodWaitError(request=None, capture=5000))
    rig.clock.advance(3600)
    await rig.settle()
    assert rig.slept == []
    assert 11 not in await _ids(rig.db)
    row = await rig.db.fetch_one("SELECT deferred_until, last_error FROM channel_cursors")
    assert row[1] == "flood wait 5000s"
    assert rig.catchup.budget.paused
    # Before the wait is over nothing is asked; after it, the post arrives.
    rig.clock.advance(4000)
    rig.client._flood_waited_requests.clear()
    assert await rig.catchup.tick() is None
    rig.clock.advance(1100)
    await rig.settle()
    assert 11 in await _ids(rig.db)


async def test_budget_limits_requests_per_minute(db: Database, clock: FakeClock) -> None:
    r = build_rig(db, clock, CatchUpSettings(requests_per_minute=6))
    for n in range(10):
        await r.add_channel(f"channel_{n:02d}", 500 + n)
        r.fake.post(kit.message(500 + n, 1, "x"))
    # Without time passing only the burst is spent.
    done = await r.catchup.run_until_idle()
    assert len(done) == 3
    clock.advance(60)
    done = await r.catchup.run_until_idle()
    assert len(done) == 3  # the bucket holds at most a burst of 3
    requests = len(r.fake.requests)
    for _ in range(20):
        clock.advance(10)  # 6 a minute: one request per 10 s
        await r.catchup.tick()
    assert len(r.fake.requests) - requests == 20


async def test_unknown_username_is_reported_and_deferred(db: Database, clock: FakeClock) -> None:
    r = build_rig(db, clock)
    async with db.write() as conn:
        from storage import channels as channel_repo

        await channel_repo.configure_channel(conn, "no_such_chan", source="telegram", now=0)
    await r.step()
    row = await db.fetch_one("SELECT last_error FROM channel_cursors")
    assert row[0] == "username not found"
    assert await r.step() is None  # not asked again right away


async def test_post_edit_and_deletion_only_through_catchup(rig: Rig) -> None:
    """The done-when of the foundation: nothing live, all of it reaches the archive once."""
    rig.fake.post(kit.message(CHANNEL_ID, 11, "original", date=rig.clock()))
    rig.clock.advance(3600)
    await rig.settle()
    rig.fake.post(kit.message(CHANNEL_ID, 11, "edited", date=rig.clock()))
    rig.clock.advance(120)
    await rig.settle()
    rig.fake.delete(CHANNEL_ID, 11)
    rig.clock.advance(120)
    await rig.settle()
    posts = await rig.db.fetch_all("SELECT text, version, late FROM posts WHERE message_id = 11")
    assert [tuple(p) for p in posts] == [("edited", 1, 1)]
    versions = await rig.db.fetch_all("SELECT text FROM post_versions")
    assert [v[0] for v in versions] == ["original"]
    deletions = await rig.db.fetch_all("SELECT message_id FROM deletions")
    assert [d[0] for d in deletions] == [11]


async def test_failed_live_store_is_fetched_by_catchup(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    failures = [RuntimeError("disk full")]

    async def failing_once(conn: object, changes: object) -> None:
        if failures:
            raise failures.pop()

    rig.ingestor.add_listener(failing_once)  # type: ignore[arg-type]
    msg = kit.message(CHANNEL_ID, 11, "lost live")
    rig.fake.post(msg)
    await kit.dispatch(rig.client, kit.new_post(msg))
    assert 11 not in await _ids(rig.db)  # the transaction rolled back
    assert any("could not store post" in r.getMessage() for r in caplog.records)
    task = await rig.step()
    assert task is not None and task.kind is TaskKind.FETCH
    assert 11 in await _ids(rig.db)
