"""The web preview poller's memory per channel (`web_channel_state`): when to poll next, how
often it failed in a row (for backoff), and which ids it saw (for the deletion rule)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from storage.db import execute, fetch_all


@dataclass(frozen=True, slots=True)
class WebChannelState:
    """The poller's memory of one channel."""

    channel_id: int
    next_poll_at: int | None = None
    failures: int = 0
    seen_ids: frozenset[int] = frozenset()
    missing: tuple[tuple[int, int], ...] = ()  # (id, consecutive polls missing)
    last_poll_at: int | None = None
    last_status: str | None = None


_STATE_COLUMNS = "channel_id, next_poll_at, failures, seen_ids, missing, last_poll_at, last_status"


def _state_from_row(row: aiosqlite.Row) -> WebChannelState:
    seen = json.loads(row["seen_ids"] or "[]")
    missing = json.loads(row["missing"] or "{}")
    return WebChannelState(
        channel_id=int(row["channel_id"]),
        next_poll_at=row["next_poll_at"],
        failures=int(row["failures"]),
        seen_ids=frozenset(int(i) for i in seen),
        missing=tuple(sorted((int(k), int(v)) for k, v in missing.items())),
        last_poll_at=row["last_poll_at"],
        last_status=row["last_status"],
    )


async def load_states(conn: aiosqlite.Connection) -> dict[int, WebChannelState]:
    """Every channel's poller state by channel key."""
    rows = await fetch_all(conn, f"SELECT {_STATE_COLUMNS} FROM web_channel_state")
    return {int(r["channel_id"]): _state_from_row(r) for r in rows}


async def save_state(conn: aiosqlite.Connection, state: WebChannelState) -> None:
    """Insert or replace one channel's poller state."""
    await execute(
        conn,
        f"INSERT INTO web_channel_state ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel_id) DO UPDATE SET next_poll_at = excluded.next_poll_at, "
        "failures = excluded.failures, seen_ids = excluded.seen_ids, "
        "missing = excluded.missing, last_poll_at = excluded.last_poll_at, "
        "last_status = excluded.last_status",
        (
            state.channel_id,
            state.next_poll_at,
            state.failures,
            json.dumps(sorted(state.seen_ids)),
            json.dumps({str(k): v for k, v in state.missing}),
            state.last_poll_at,
            state.last_status,
        ),
    )
