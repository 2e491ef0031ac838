"""Per-channel catch-up cursors: what has been fetched in order, and when."""

from __future__ import annotations

import aiosqlite

from bot.models import ChannelCursor, from_epoch
from storage.db import execute, fetch_all, fetch_one

_COLUMNS = "channel_id, last_message_id, last_fetch_at, last_post_at, deferred_until, last_error"


def _to_cursor(row: aiosqlite.Row) -> ChannelCursor:
    return ChannelCursor(
        channel_id=row["channel_id"],
        last_message_id=row["last_message_id"],
        last_fetch_at=from_epoch(row["last_fetch_at"]),
        last_post_at=from_epoch(row["last_post_at"]),
        deferred_until=from_epoch(row["deferred_until"]),
        last_error=row["last_error"],
    )


async def get_cursor(conn: aiosqlite.Connection, channel_id: int) -> ChannelCursor | None:
    """The cursor of one channel, or None before its first fetch."""
    row = await fetch_one(
        conn, f"SELECT {_COLUMNS} FROM channel_cursors WHERE channel_id = ?", (channel_id,)
    )
    return _to_cursor(row) if row else None


async def all_cursors(conn: aiosqlite.Connection) -> dict[int, ChannelCursor]:
    """Every channel's cursor by channel key."""
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM channel_cursors")
    return {int(r["channel_id"]): _to_cursor(r) for r in rows}


async def _ensure(conn: aiosqlite.Connection, channel_id: int) -> None:
    await execute(
        conn,
        "INSERT INTO channel_cursors (channel_id) VALUES (?) ON CONFLICT (channel_id) DO NOTHING",
        (channel_id,),
    )


async def advance(
    conn: aiosqlite.Connection, channel_id: int, *, message_id: int | None, fetched_at: int
) -> None:
    """Everything up to `message_id` has been fetched in order (the cursor never goes back)."""
    await _ensure(conn, channel_id)
    await execute(
        conn,
        "UPDATE channel_cursors SET last_message_id = CASE "
        "WHEN ? IS NULL THEN last_message_id "
        "WHEN last_message_id IS NULL OR ? > last_message_id THEN ? "
        "ELSE last_message_id END, "
        "last_fetch_at = ?, last_error = NULL WHERE channel_id = ?",
        (message_id, message_id, message_id, fetched_at, channel_id),
    )


async def note_post_date(conn: aiosqlite.Connection, channel_id: int, date: int) -> None:
    """Remember the newest post date seen by any source (for staleness)."""
    await _ensure(conn, channel_id)
    await execute(
        conn,
        "UPDATE channel_cursors SET last_post_at = MAX(COALESCE(last_post_at, 0), ?) "
        "WHERE channel_id = ?",
        (date, channel_id),
    )


async def mark_rechecked(conn: aiosqlite.Connection, channel_id: int, at: int) -> None:
    """Recent ids of the channel were re-checked for edits and deletions."""
    await _ensure(conn, channel_id)
    await execute(
        conn,
        "UPDATE channel_cursors SET last_recheck_at = ? WHERE channel_id = ?",
        (at, channel_id),
    )


async def last_recheck_times(conn: aiosqlite.Connection) -> dict[int, int | None]:
    """When each channel's recent ids were last re-checked."""
    rows = await fetch_all(conn, "SELECT channel_id, last_recheck_at FROM channel_cursors")
    return {int(r["channel_id"]): r["last_recheck_at"] for r in rows}


async def defer(conn: aiosqlite.Connection, channel_id: int, *, until: int, reason: str) -> None:
    """Do not ask Telegram about this channel before `until` (a long flood wait)."""
    await _ensure(conn, channel_id)
    await execute(
        conn,
        "UPDATE channel_cursors SET deferred_until = ?, last_error = ? WHERE channel_id = ?",
        (until, reason, channel_id),
    )


async def record_error(conn: aiosqlite.Connection, channel_id: int, reason: str) -> None:
    """Keep the last fetch error for `chanwatch status` and the admin."""
    await _ensure(conn, channel_id)
    await execute(
        conn, "UPDATE channel_cursors SET last_error = ? WHERE channel_id = ?", (reason, channel_id)
    )
