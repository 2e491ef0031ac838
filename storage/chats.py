"""Chats that use the bot: settings, activity, migration to a supergroup."""

from __future__ import annotations

import aiosqlite

from storage.db import execute, fetch_one


async def ensure_chat(
    conn: aiosqlite.Connection, chat_id: int, *, chat_type: str, now: int
) -> None:
    """Create the chat row on first contact (active again if it had blocked the bot)."""
    await execute(
        conn,
        "INSERT INTO chats (id, type, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET active = 1, type = excluded.type",
        (chat_id, chat_type, now),
    )


async def set_paused(conn: aiosqlite.Connection, chat_id: int, paused: bool) -> None:
    """/pause and /resume: all of the chat's alerts."""
    await execute(conn, "UPDATE chats SET paused = ? WHERE id = ?", (int(paused), chat_id))


async def deactivate(conn: aiosqlite.Connection, chat_id: int) -> None:
    """The bot was blocked or removed (403): the chat's subscriptions stop alerting."""
    await execute(conn, "UPDATE chats SET active = 0 WHERE id = ?", (chat_id,))
    await execute(conn, "UPDATE subscriptions SET active = 0 WHERE chat_id = ?", (chat_id,))


async def migrate(conn: aiosqlite.Connection, old_id: int, new_id: int) -> None:
    """A group became a supergroup: its subscriptions and pending alerts follow the new id."""
    row = await fetch_one(conn, "SELECT type, created_at FROM chats WHERE id = ?", (old_id,))
    if row is None:
        return
    await execute(
        conn,
        "INSERT INTO chats (id, type, language, timezone, paused, created_at) "
        "SELECT ?, 'supergroup', language, timezone, paused, created_at FROM chats WHERE id = ? "
        "ON CONFLICT (id) DO UPDATE SET active = 1",
        (new_id, old_id),
    )
    await execute(conn, "UPDATE subscriptions SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
    await execute(
        conn,
        "UPDATE OR IGNORE outbox SET chat_id = ? WHERE chat_id = ? AND status IN ('pending', 'claimed')",
        (new_id, old_id),
    )
    # What could not move is already queued for the new id: sending it too would repeat it.
    await execute(
        conn,
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE chat_id = ? AND status = 'pending'",
        (f"already queued for chat {new_id}, to which the chat moved", old_id),
    )
    await execute(
        conn, "UPDATE chats SET active = 0, migrated_to = ? WHERE id = ?", (new_id, old_id)
    )


async def timezone_of(conn: aiosqlite.Connection, chat_id: int) -> str:
    """The chat's IANA time zone (Europe/Kyiv by default)."""
    row = await fetch_one(conn, "SELECT timezone FROM chats WHERE id = ?", (chat_id,))
    return str(row[0]) if row else "Europe/Kyiv"


async def set_timezone(conn: aiosqlite.Connection, chat_id: int, zone: str) -> None:
    """The IANA time zone alerts are shown in."""
    await execute(conn, "UPDATE chats SET timezone = ? WHERE id = ?", (zone, chat_id))


async def set_language(conn: aiosqlite.Connection, chat_id: int, language: str) -> None:
    """The chat's language (uk, ru, en)."""
    await execute(conn, "UPDATE chats SET language = ? WHERE id = ?", (language, chat_id))


async def language_of(conn: aiosqlite.Connection, chat_id: int) -> str | None:
    """The chat's chosen language, or None (then the user's own)."""
    row = await fetch_one(conn, "SELECT language FROM chats WHERE id = ?", (chat_id,))
    return str(row[0]) if row and row[0] else None
