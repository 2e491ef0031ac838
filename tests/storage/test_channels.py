"""Channel identity: numeric id and username both identify one row; names are history."""

from __future__ import annotations

from bot.models import ChannelRef
from storage import channels as repo
from storage.db import Database


async def test_one_channel_seen_by_two_sources_is_one_row(db: Database) -> None:
    async with db.write() as conn:
        by_name = await repo.ensure_channel(conn, ChannelRef(username="kyiv_news"), now=1)
        by_id = await repo.ensure_channel(conn, ChannelRef(telegram_id=555), now=2)
        both = await repo.ensure_channel(conn, ChannelRef(555, "kyiv_news", "Kyiv News"), now=3)
    assert by_name.id != by_id.id
    rows = await db.fetch_all("SELECT id, telegram_id, username FROM channels")
    assert [tuple(r) for r in rows] == [(both.id, 555, "kyiv_news")]


async def test_merge_moves_posts_of_the_username_row(db: Database) -> None:
    async with db.write() as conn:
        web = await repo.ensure_channel(conn, ChannelRef(username="kyiv_news"), now=1, source="web")
        await conn.execute(
            "INSERT INTO posts (channel_id, message_id, date, origin, first_seen_at) "
            "VALUES (?, 7, 0, 'web', 0)",
            (web.id,),
        )
        tg = await repo.ensure_channel(conn, ChannelRef(telegram_id=555), now=2)
        merged = await repo.ensure_channel(conn, ChannelRef(555, "kyiv_news"), now=3)
    assert merged.id == tg.id
    rows = await db.fetch_all("SELECT channel_id, message_id FROM posts")
    assert [tuple(r) for r in rows] == [(tg.id, 7)]


async def test_username_and_title_changes_are_recorded(db: Database) -> None:
    async with db.write() as conn:
        first = await repo.ensure_channel(conn, ChannelRef(9, "old_name", "Old Title"), now=1)
        await repo.ensure_channel(conn, ChannelRef(9, "new_name", "New Title"), now=2)
        by_old = await repo.find_channel_by_key(conn, "@OLD_NAME")
        by_marked = await repo.find_channel_by_key(conn, "-1009")
        keys = await repo.channel_keys(conn, first.id)
    rows = await db.fetch_all("SELECT kind, value, seen_at FROM channel_names ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("username", "old_name", 1),
        ("title", "Old Title", 1),
        ("username", "new_name", 2),
        ("title", "New Title", 2),
    ]
    assert by_old is not None and by_old.id == first.id
    assert by_marked is not None and by_marked.username == "new_name"
    assert keys == {"old_name", "new_name", "9", "-1009"}


async def test_username_taken_over_by_another_channel(db: Database) -> None:
    async with db.write() as conn:
        old = await repo.ensure_channel(conn, ChannelRef(1, "handle"), now=1)
        new = await repo.ensure_channel(conn, ChannelRef(2, "handle"), now=2)
        old_now = await repo.get_channel(conn, old.id)
    assert new.id != old.id and new.username == "handle"
    assert old_now is not None and old_now.username is None and old_now.telegram_id == 1


async def test_config_channels_activate_and_retire(db: Database) -> None:
    async with db.write() as conn:
        a = await repo.configure_channel(conn, "chan_a", source="telegram", now=1)
        b = await repo.configure_channel(conn, "chan_b", source="web", now=1)
        await repo.retire_unlisted_config_channels(conn, [a.id])
        active = await repo.list_channels(conn)
        web = await repo.list_channels(conn, source="web", active_only=False)
    assert [c.username for c in active] == ["chan_a"]
    assert [c.id for c in web] == [b.id]
