"""Subscriptions: a chat's saved queries and their options."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import execute, fetch_all, insert

OPTIONS = ("silent", "edits", "deletions", "forwards", "paused")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A saved query of a chat."""

    id: int
    chat_id: int
    query: str
    active: bool
    paused: bool
    silent: bool
    edits: bool
    deletions: bool
    forwards: bool


_COLUMNS = "id, chat_id, query, active, paused, silent, edits, deletions, forwards"


async def add(
    conn: aiosqlite.Connection, chat_id: int, query: str, *, created_by: int | None, now: int
) -> int:
    """Save a (validated) query for a chat; returns its id."""
    sub_id = await insert(
        conn,
        "INSERT INTO subscriptions (chat_id, query, created_by, created_at) "
        "VALUES (?, ?, ?, ?) RETURNING id",
        (chat_id, query, created_by, now),
    )
    assert sub_id is not None
    return sub_id


async def list_for_chat(conn: aiosqlite.Connection, chat_id: int) -> list[Subscription]:
    """The chat's active subscriptions, oldest first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id = ? AND active = 1 ORDER BY id",
        (chat_id,),
    )
    return [_subscription(r) for r in rows]


def _subscription(row: aiosqlite.Row) -> Subscription:
    return Subscription(row[0], row[1], row[2], *(bool(v) for v in tuple(row)[3:]))


async def set_option(conn: aiosqlite.Connection, sub_id: int, option: str, value: bool) -> None:
    """Turn one option of a subscription on or off."""
    if option not in OPTIONS:
        raise ValueError(f"unknown subscription option {option!r}")
    await execute(conn, f"UPDATE subscriptions SET {option} = ? WHERE id = ?", (int(value), sub_id))


async def delete(conn: aiosqlite.Connection, sub_id: int) -> None:
    """Stop a subscription (kept inactive so sent alerts still name it)."""
    await execute(conn, "UPDATE subscriptions SET active = 0 WHERE id = ?", (sub_id,))


async def get(conn: aiosqlite.Connection, sub_id: int) -> Subscription | None:
    """One subscription (active or not)."""
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM subscriptions WHERE id = ?", (sub_id,))
    return _subscription(rows[0]) if rows else None
