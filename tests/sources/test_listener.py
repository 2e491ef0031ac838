"""Live events through Telethon's own dispatch: new posts, edits, deletions, filtering."""

from __future__ import annotations

from telethon import types

from storage.db import Database
from tests.harness import telethon_kit as kit
from tests.sources.conftest import CHANNEL_ID, USERNAME, Rig


async def _posts(db: Database) -> list[tuple[int, str, int, str]]:
    rows = await db.fetch_all(
        "SELECT message_id, text, version, origin FROM posts ORDER BY message_id"
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_new_post_stored_once(rig: Rig) -> None:
    msg = kit.message(CHANNEL_ID, 11, "Нова заява")
    await kit.dispatch(rig.client, kit.new_post(msg))
    await kit.dispatch(rig.client, kit.new_post(msg))
    rows = [r for r in await _posts(rig.db) if r[0] == 11]
    assert rows == [(11, "Нова заява", 0, "live")]


async def test_edit_for_reactions_stores_no_version(rig: Rig) -> None:
    await kit.dispatch(rig.client, kit.new_post(kit.message(CHANNEL_ID, 11, "text", views=1)))
    reacted = kit.message(
        CHANNEL_ID,
        11,
        "text",
        views=500,
        reactions=types.MessageReactions(results=[]),
    )
    await kit.dispatch(rig.client, kit.edited_post(reacted))
    assert await rig.db.fetch_all("SELECT * FROM post_versions") == []
    row = await rig.db.fetch_one("SELECT views, version FROM posts WHERE message_id = 11")
    assert tuple(row) == (500, 0)


async def test_text_edit_stores_version(rig: Rig) -> None:
    await kit.dispatch(rig.client, kit.new_post(kit.message(CHANNEL_ID, 11, "зустріч у Парижі")))
    await kit.dispatch(
        rig.client, kit.edited_post(kit.message(CHANNEL_ID, 11, "зустріч у Парижі, гарантії"))
    )
    rows = [r for r in await _posts(rig.db) if r[0] == 11]
    assert rows == [(11, "зустріч у Парижі, гарантії", 1, "live")]
    versions = await rig.db.fetch_all("SELECT version, text FROM post_versions")
    assert [tuple(v) for v in versions] == [(0, "зустріч у Парижі")]


async def test_deletion_marks_and_keeps_text(rig: Rig) -> None:
    await kit.dispatch(rig.client, kit.new_post(kit.message(CHANNEL_ID, 11, "will vanish")))
    await kit.dispatch(rig.client, kit.deleted_posts(CHANNEL_ID, [11]))
    row = await rig.db.fetch_one(
        "SELECT p.text, d.detected_by FROM posts p JOIN deletions d "
        "ON d.channel_id = p.channel_id AND d.message_id = p.message_id WHERE p.message_id = 11"
    )
    assert tuple(row) == ("will vanish", "live")


async def test_events_of_unwatched_channels_are_ignored(rig: Rig) -> None:
    await kit.dispatch(rig.client, kit.new_post(kit.message(999, 1, "other channel")))
    await kit.dispatch(rig.client, kit.deleted_posts(999, [1]))
    await kit.dispatch(rig.client, types.UpdateDeleteMessages(messages=[5], pts=1, pts_count=1))
    assert await rig.db.fetch_all("SELECT * FROM posts WHERE text = 'other channel'") == []
    assert await rig.db.fetch_all("SELECT * FROM deletions") == []


async def test_channel_added_at_run_time_is_accepted(rig: Rig) -> None:
    await kit.dispatch(rig.client, kit.new_post(kit.message(456, 1, "before watching")))
    rig.fake.post(kit.message(456, 1, "before watching"))
    await rig.add_channel("second_chan", 456)
    await rig.settle()  # resolve, join, first sight
    await kit.dispatch(rig.client, kit.new_post(kit.message(456, 2, "now watched")))
    rows = await rig.db.fetch_all(
        "SELECT p.message_id, p.origin FROM posts p JOIN channels c ON c.id = p.channel_id "
        "WHERE c.username = 'second_chan' ORDER BY p.message_id"
    )
    assert [tuple(r) for r in rows] == [(1, "first_sight"), (2, "live")]


async def test_watched_filter_does_not_use_static_chats(rig: Rig) -> None:
    # Removing a channel from the live set stops its events at once.
    rig.watched.discard(CHANNEL_ID)
    await kit.dispatch(rig.client, kit.new_post(kit.message(CHANNEL_ID, 12, "after removal")))
    assert await rig.db.fetch_all("SELECT * FROM posts WHERE message_id = 12") == []
    assert USERNAME  # the rig's channel is still in the archive
