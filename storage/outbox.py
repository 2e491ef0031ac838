"""The outbox: alerts keyed by (chat, post, kind, version), claimed, sent, retried."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import execute, fetch_all, fetch_one, insert


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One alert to deliver."""

    id: int
    chat_id: int
    post_id: int
    kind: str
    version: int
    subscription_ids: tuple[int, ...]
    payload: dict[str, Any]
    attempts: int
    sent_parts: tuple[int, ...] = ()  # messages of a multi-part alert already delivered


async def enqueue(
    conn: aiosqlite.Connection,
    chat_id: int,
    post_id: int,
    kind: str,
    version: int,
    subscription_ids: Sequence[int],
    payload: dict[str, Any],
    *,
    now: int,
    not_before: int | None = None,
) -> bool:
    """Add an alert due at `not_before` (default now); False, and nothing written, when its
    key is already there."""
    row_id = await insert(
        conn,
        "INSERT INTO outbox (chat_id, post_id, kind, version, subscription_ids, payload, "
        "created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (chat_id, post_id, kind, version) DO NOTHING RETURNING id",
        (
            chat_id,
            post_id,
            kind,
            version,
            json.dumps(sorted(subscription_ids)),
            json.dumps(payload, ensure_ascii=False),
            now,
            now if not_before is None else not_before,
        ),
    )
    return row_id is not None


async def merge_pending_edit(
    conn: aiosqlite.Connection, chat_id: int, post_id: int, version: int
) -> bool:
    """Fold a newer edit into an edit alert not sent yet (its earlier text stays the "before"
    of the diff); False when there is none to fold into."""
    rows = await fetch_all(
        conn,
        "UPDATE outbox SET version = ? WHERE id = (SELECT id FROM outbox WHERE chat_id = ? "
        "AND post_id = ? AND kind = 'edit' AND status = 'pending' ORDER BY id DESC LIMIT 1) "
        "RETURNING id",
        (version, chat_id, post_id),
    )
    return bool(rows)


async def claim_due(conn: aiosqlite.Connection, *, now: int, limit: int) -> list[OutboxRow]:
    """Mark up to `limit` due rows claimed (oldest first) and return them.

    A chat's alerts keep their order: a row is not due while an earlier alert of the same chat
    is claimed or waits for a retry (an edit held back to be coalesced does not block)."""
    rows = await fetch_all(
        conn,
        "UPDATE outbox SET status = 'claimed', claimed_at = ?, attempts = attempts + 1 "
        "WHERE id IN (SELECT o.id FROM outbox o WHERE o.status = 'pending' "
        "AND o.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox e "
        "WHERE e.chat_id = o.chat_id AND e.status IN ('claimed', 'pending') AND e.id < o.id "
        "AND (e.status = 'claimed' OR e.attempts > 0)) "
        "ORDER BY o.next_attempt_at, o.id LIMIT ?) "
        "RETURNING id, chat_id, post_id, kind, version, subscription_ids, payload, attempts, "
        "sent_message_ids",
        (now, now, limit),
    )
    claimed = [
        OutboxRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            tuple(json.loads(r[5])),
            json.loads(r[6]),
            r[7],
            tuple(json.loads(r[8])) if r[8] else (),
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda row: row.id)


async def mark_sent(
    conn: aiosqlite.Connection, row_id: int, *, now: int, message_ids: Sequence[int]
) -> None:
    """The alert reached Telegram: never send it again."""
    await execute(
        conn,
        "UPDATE outbox SET status = 'sent', sent_at = ?, sent_message_ids = ?, last_error = NULL "
        "WHERE id = ?",
        (now, json.dumps(list(message_ids)), row_id),
    )


async def record_parts(conn: aiosqlite.Connection, row_id: int, message_ids: Sequence[int]) -> None:
    """The parts of a multi-part alert delivered so far: a retry sends only the rest."""
    await execute(
        conn,
        "UPDATE outbox SET sent_message_ids = ? WHERE id = ?",
        (json.dumps(list(message_ids)), row_id),
    )


async def schedule_retry(conn: aiosqlite.Connection, row_id: int, *, at: int, error: str) -> None:
    """Send again at `at` (a retry after a transient error)."""
    await execute(
        conn,
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?",
        (at, error, row_id),
    )


async def release(conn: aiosqlite.Connection, row_ids: Sequence[int]) -> None:
    """Claimed rows not attempted after all (an earlier alert of their chat must go first)."""
    if not row_ids:
        return
    marks = ",".join("?" for _ in row_ids)
    await execute(
        conn,
        f"UPDATE outbox SET status = 'pending', attempts = attempts - 1 WHERE id IN ({marks})",
        tuple(row_ids),
    )


async def mark_failed(conn: aiosqlite.Connection, row_id: int, *, error: str) -> None:
    """Give up on an alert, keeping the reason."""
    await execute(
        conn, "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", (error, row_id)
    )


async def release_stale_claims(
    conn: aiosqlite.Connection, *, older_than: int, keep: Collection[int] = ()
) -> int:
    """Claims left by a crash between claim and send become pending again (sent once more);
    `keep` names claims still being worked on."""
    rows = await fetch_all(
        conn,
        "UPDATE outbox SET status = 'pending' WHERE status = 'claimed' AND claimed_at < ? "
        "AND id NOT IN (SELECT value FROM json_each(?)) RETURNING id",
        (older_than, json.dumps(sorted(keep))),
    )
    return len(rows)


async def sent_message_ids(conn: aiosqlite.Connection, chat_id: int, post_id: int) -> list[int]:
    """The messages that carried the new-post alert of a post to a chat (for in-place edits)."""
    row = await fetch_one(
        conn,
        "SELECT sent_message_ids FROM outbox WHERE chat_id = ? AND post_id = ? AND kind = 'new' "
        "AND status = 'sent'",
        (chat_id, post_id),
    )
    return [int(i) for i in json.loads(row[0])] if row and row[0] else []
