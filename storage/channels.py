"""Channels: identity (numeric id and username are both keys), names over time, access hashes."""

from __future__ import annotations

import logging

import aiosqlite

from bot.models import ChannelRef, StoredChannel
from storage.db import Row, execute, fetch_all, fetch_one, insert

log = logging.getLogger(__name__)


_COLUMNS = "id, telegram_id, username, title, access_hash, source, in_config, active, joined"


def _row_to_channel(row: Row) -> StoredChannel:
    return StoredChannel(
        id=row["id"],
        telegram_id=row["telegram_id"],
        username=row["username"],
        title=row["title"],
        access_hash=row["access_hash"],
        source=row["source"],
        in_config=bool(row["in_config"]),
        active=bool(row["active"]),
        joined=bool(row["joined"]),
    )


async def get_channel(conn: aiosqlite.Connection, channel_id: int) -> StoredChannel | None:
    """The channel with this internal key."""
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM channels WHERE id = ?", (channel_id,))
    return _row_to_channel(row) if row else None


async def find_channel(conn: aiosqlite.Connection, ref: ChannelRef) -> StoredChannel | None:
    """The channel a reference names: by numeric id first, then by current username."""
    if ref.telegram_id is not None:
        row = await fetch_one(
            conn, f"SELECT {_COLUMNS} FROM channels WHERE telegram_id = ?", (ref.telegram_id,)
        )
        if row:
            return _row_to_channel(row)
    if ref.username:
        row = await fetch_one(
            conn, f"SELECT {_COLUMNS} FROM channels WHERE username = ?", (ref.username,)
        )
        if row:
            return _row_to_channel(row)
    return None


async def find_channel_by_key(conn: aiosqlite.Connection, key: str) -> StoredChannel | None:
    """A channel by current or former username (with or without @) or numeric id (bare or -100)."""
    text = key.strip().lstrip("@")
    if text.lstrip("-").isdigit():
        number = int(text)
        if number < 0 and str(number).startswith("-100"):
            number = int(str(number)[4:])
        row = await fetch_one(
            conn, f"SELECT {_COLUMNS} FROM channels WHERE telegram_id = ?", (abs(number),)
        )
        return _row_to_channel(row) if row else None
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM channels WHERE username = ?", (text,))
    if row is None:
        row = await fetch_one(
            conn,
            f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))} "
            "FROM channel_names n JOIN channels c ON c.id = n.channel_id "
            "WHERE n.kind = 'username' AND n.value = ? COLLATE NOCASE "
            "ORDER BY n.seen_at DESC LIMIT 1",
            (text,),
        )
    return _row_to_channel(row) if row else None


async def list_channels(
    conn: aiosqlite.Connection, *, source: str | None = None, active_only: bool = True
) -> list[StoredChannel]:
    """Channels, optionally of one source, ordered by internal key."""
    sql = f"SELECT {_COLUMNS} FROM channels WHERE 1=1"
    params: list[object] = []
    if active_only:
        sql += " AND active = 1"
    if source is not None:
        sql += " AND source = ?"
        params.append(source)
    rows = await fetch_all(conn, sql + " ORDER BY id", params)
    return [_row_to_channel(r) for r in rows]


async def channel_keys(conn: aiosqlite.Connection, channel_id: int) -> frozenset[str]:
    """Every name a channel answers to: current and former usernames (lower case) and ids."""
    keys: set[str] = set()
    channel = await get_channel(conn, channel_id)
    if channel is None:
        return frozenset()
    if channel.username:
        keys.add(channel.username.lower())
    if channel.telegram_id is not None:
        keys.add(str(channel.telegram_id))
        keys.add(f"-100{channel.telegram_id}")
    for row in await fetch_all(
        conn,
        "SELECT value FROM channel_names WHERE channel_id = ? AND kind = 'username'",
        (channel_id,),
    ):
        keys.add(str(row["value"]).lower())
    return frozenset(keys)


async def _record_name(
    conn: aiosqlite.Connection, channel_id: int, kind: str, value: str | None, now: int
) -> None:
    if not value:
        return
    last = await fetch_one(
        conn,
        "SELECT value FROM channel_names WHERE channel_id = ? AND kind = ? "
        "ORDER BY seen_at DESC, id DESC LIMIT 1",
        (channel_id, kind),
    )
    if last is None or last["value"] != value:
        await insert(
            conn,
            "INSERT INTO channel_names (channel_id, kind, value, seen_at) VALUES (?, ?, ?, ?) "
            "RETURNING id",
            (channel_id, kind, value, now),
        )


async def ensure_channel(
    conn: aiosqlite.Connection,
    ref: ChannelRef,
    *,
    now: int,
    source: str | None = None,
) -> StoredChannel:
    """The one row for this channel, created or updated from what the source knows.

    A numeric id and a username both identify a channel: when a source reports both, a row
    known only by one of them gains the other, and two rows found to be the same channel
    are merged into one (the row with the numeric id keeps its key).
    """
    by_id = by_name = None
    if ref.telegram_id is not None:
        row = await fetch_one(
            conn, f"SELECT {_COLUMNS} FROM channels WHERE telegram_id = ?", (ref.telegram_id,)
        )
        by_id = _row_to_channel(row) if row else None
    if ref.username:
        row = await fetch_one(
            conn, f"SELECT {_COLUMNS} FROM channels WHERE username = ?", (ref.username,)
        )
        by_name = _row_to_channel(row) if row else None

    if (
        by_name is not None
        and ref.telegram_id is not None
        and by_name.id != getattr(by_id, "id", None)
    ):
        if by_name.telegram_id is None and by_id is not None:
            await _merge_channels(conn, keep=by_id, drop=by_name)
        elif by_name.telegram_id is None:
            by_id = by_name  # a username-only row learns its numeric id
        else:
            # The username now belongs to another channel: the old row keeps its history.
            await execute(conn, "UPDATE channels SET username = NULL WHERE id = ?", (by_name.id,))
        by_name = None

    current = by_id or by_name
    if current is None:
        channel_id = await insert(
            conn,
            "INSERT INTO channels (telegram_id, username, title, source, created_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            (ref.telegram_id, ref.username, ref.title, source or "telegram", now),
        )
        assert channel_id is not None
        await _record_name(conn, channel_id, "username", ref.username, now)
        await _record_name(conn, channel_id, "title", ref.title, now)
        created = await get_channel(conn, channel_id)
        assert created is not None
        return created

    updates: dict[str, object] = {}
    if ref.telegram_id is not None and current.telegram_id is None:
        updates["telegram_id"] = ref.telegram_id
    if ref.username and ref.username != current.username:
        updates["username"] = ref.username
    if ref.title and ref.title != current.title:
        updates["title"] = ref.title
    if not updates:
        return current
    assignments = ", ".join(f"{key} = ?" for key in updates)
    await execute(
        conn, f"UPDATE channels SET {assignments} WHERE id = ?", (*updates.values(), current.id)
    )
    await _record_name(conn, current.id, "username", ref.username, now)
    await _record_name(conn, current.id, "title", ref.title, now)
    refreshed = await get_channel(conn, current.id)
    assert refreshed is not None
    return refreshed


async def _merge_channels(
    conn: aiosqlite.Connection, *, keep: StoredChannel, drop: StoredChannel
) -> None:
    """Fold a username-only row into the row with the numeric id; no post is lost."""
    log.info("merging channel row %s (@%s) into row %s", drop.id, drop.username, keep.id)
    await execute(
        conn,
        "UPDATE posts SET channel_id = ? WHERE channel_id = ? AND message_id NOT IN "
        "(SELECT message_id FROM posts WHERE channel_id = ?)",
        (keep.id, drop.id, keep.id),
    )
    await execute(
        conn,
        "UPDATE OR IGNORE deletions SET channel_id = ? WHERE channel_id = ?",
        (keep.id, drop.id),
    )
    await execute(
        conn, "UPDATE channel_names SET channel_id = ? WHERE channel_id = ?", (keep.id, drop.id)
    )
    await execute(
        conn,
        "UPDATE channels SET in_config = MAX(in_config, ?), active = MAX(active, ?), "
        "source = CASE WHEN ? THEN ? ELSE source END WHERE id = ?",
        (int(drop.in_config), int(drop.active), int(drop.in_config), drop.source, keep.id),
    )
    leftover = await fetch_one(
        conn, "SELECT COUNT(*) AS n FROM posts WHERE channel_id = ?", (drop.id,)
    )
    if leftover is not None and leftover["n"]:
        # The same message ids exist under both rows: the old row stays, retired, with them.
        await execute(
            conn, "UPDATE channels SET username = NULL, active = 0 WHERE id = ?", (drop.id,)
        )
        return
    await execute(conn, "DELETE FROM deletions WHERE channel_id = ?", (drop.id,))
    await execute(conn, "DELETE FROM channel_cursors WHERE channel_id = ?", (drop.id,))
    await execute(conn, "DELETE FROM channels WHERE id = ?", (drop.id,))


async def set_access(
    conn: aiosqlite.Connection, channel_id: int, *, telegram_id: int, access_hash: int | None
) -> None:
    """Store what one ResolveUsername told us, so it is never asked again."""
    await execute(
        conn,
        "UPDATE channels SET telegram_id = ?, access_hash = ? WHERE id = ?",
        (telegram_id, access_hash, channel_id),
    )


async def set_joined(conn: aiosqlite.Connection, channel_id: int, joined: bool = True) -> None:
    """Remember that the listener's account is a member of the channel."""
    await execute(conn, "UPDATE channels SET joined = ? WHERE id = ?", (int(joined), channel_id))


async def configure_channel(
    conn: aiosqlite.Connection,
    username: str,
    *,
    source: str,
    now: int,
    in_config: bool = True,
    added_by: int | None = None,
) -> StoredChannel:
    """Register a watched channel (from the config file or an admin) and activate it."""
    channel = await find_channel_by_key(conn, username)
    if channel is None:
        channel = await ensure_channel(conn, ChannelRef(username=username), now=now, source=source)
    await execute(
        conn,
        "UPDATE channels SET source = ?, active = 1, in_config = MAX(in_config, ?), "
        "added_by = COALESCE(added_by, ?) WHERE id = ?",
        (source, int(in_config), added_by, channel.id),
    )
    refreshed = await get_channel(conn, channel.id)
    assert refreshed is not None
    return refreshed


async def retire_unlisted_config_channels(
    conn: aiosqlite.Connection, listed_ids: list[int]
) -> None:
    """Channels removed from the config file stop being config channels (their posts stay)."""
    placeholders = ",".join("?" for _ in listed_ids) or "NULL"
    await execute(
        conn,
        f"UPDATE channels SET in_config = 0, active = CASE WHEN added_by IS NULL THEN 0 "
        f"ELSE active END WHERE in_config = 1 AND id NOT IN ({placeholders})",
        listed_ids,
    )


async def deactivate_channel(conn: aiosqlite.Connection, channel_id: int) -> None:
    """Stop watching a channel; its posts, names and history stay."""
    await execute(conn, "UPDATE channels SET active = 0, in_config = 0 WHERE id = ?", (channel_id,))
