"""Queries the alert engine needs across subscriptions, chats, outbox and posts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from storage.db import fetch_all, fetch_one


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """An active subscription as the alert engine indexes it."""

    id: int
    chat_id: int
    query: str
    silent: bool
    edits: bool
    deletions: bool
    forwards: bool


_SUBSCRIPTION_COLUMNS = "s.id, s.chat_id, s.query, s.silent, s.edits, s.deletions, s.forwards"
_LIVE = "s.active = 1 AND s.paused = 0 AND c.active = 1 AND c.paused = 0"


def _record(row: aiosqlite.Row) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=int(row[0]),
        chat_id=int(row[1]),
        query=str(row[2]),
        silent=bool(row[3]),
        edits=bool(row[4]),
        deletions=bool(row[5]),
        forwards=bool(row[6]),
    )


async def live_subscriptions(conn: aiosqlite.Connection) -> list[SubscriptionRecord]:
    """Subscriptions that alert now: active and not paused, in active, unpaused chats."""
    rows = await fetch_all(
        conn,
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        f"WHERE {_LIVE} ORDER BY s.id",
    )
    return [_record(r) for r in rows]


async def subscription(conn: aiosqlite.Connection, sub_id: int) -> SubscriptionRecord | None:
    """One subscription if it alerts now, else None."""
    row = await fetch_one(
        conn,
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        f"WHERE s.id = ? AND {_LIVE}",
        (sub_id,),
    )
    return _record(row) if row else None


async def alerted_chats(conn: aiosqlite.Connection, post_id: int) -> dict[int, list[int]]:
    """Chats that were (or are about to be) alerted about a post, with the subscriptions."""
    rows = await fetch_all(
        conn,
        "SELECT chat_id, subscription_ids FROM outbox WHERE post_id = ? "
        "AND kind IN ('new', 'also_in') AND status != 'failed'",
        (post_id,),
    )
    return {int(r[0]): [int(s) for s in json.loads(r[1] or "[]")] for r in rows}


@dataclass(frozen=True, slots=True)
class AlertedPost:
    """A post alerted to a chat as new: what deduplication compares against."""

    post_id: int
    channel_id: int
    message_id: int
    text: str
    channel_telegram_id: int | None
    fwd_channel_id: int | None
    fwd_message_id: int | None


async def recent_alerts(
    conn: aiosqlite.Connection, chat_id: int, *, since: int
) -> list[AlertedPost]:
    """Posts alerted to a chat as new, dated since a time, newest first (at most 200)."""
    rows = await fetch_all(
        conn,
        "SELECT p.id, p.channel_id, p.message_id, p.text, ch.telegram_id, p.fwd_channel_id, "
        "p.fwd_message_id FROM outbox o JOIN posts p ON p.id = o.post_id "
        "JOIN channels ch ON ch.id = p.channel_id "
        "WHERE o.chat_id = ? AND o.kind = 'new' AND o.status != 'failed' AND p.date >= ? "
        "ORDER BY p.date DESC LIMIT 200",
        (chat_id, since),
    )
    return [AlertedPost(*r) for r in rows]
