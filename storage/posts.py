"""Posts, their edit versions and their deletions. SQL only: no matching logic here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.models import (
    ForwardOrigin,
    MediaKind,
    Post,
    PostOrigin,
    StoredPost,
    from_epoch,
    to_epoch,
)
from storage.db import Row, execute, execute_many, fetch_all, fetch_one, insert

_POST_COLUMNS = (
    "p.id, p.channel_id, p.message_id, p.date, p.text, p.entities, p.media_kind, "
    "p.fwd_channel_id, p.fwd_message_id, p.fwd_name, p.grouped_id, p.views, p.author, "
    "p.edit_date, p.version, p.origin, p.late, p.first_seen_at, d.deleted_at"
)
_FROM = "FROM posts p LEFT JOIN deletions d ON d.channel_id = p.channel_id AND d.message_id = p.message_id"


@dataclass(frozen=True, slots=True)
class PostVersion:
    """One earlier content of an edited post."""

    version: int
    text: str
    media_kind: MediaKind
    edit_date: int | None
    replaced_at: int


def _entities_json(entities: tuple[dict[str, Any], ...]) -> str:
    return json.dumps(list(entities), ensure_ascii=False, separators=(",", ":"))


def row_to_post(row: Row) -> StoredPost:
    """A stored post from a row selected with this module's columns."""
    forward = None
    if row["fwd_channel_id"] is not None or row["fwd_name"] is not None:
        forward = ForwardOrigin(
            channel_id=row["fwd_channel_id"],
            message_id=row["fwd_message_id"],
            name=row["fwd_name"],
        )
    date = from_epoch(row["date"])
    first_seen = from_epoch(row["first_seen_at"])
    assert date is not None and first_seen is not None
    return StoredPost(
        id=row["id"],
        channel_id=row["channel_id"],
        message_id=row["message_id"],
        date=date,
        text=row["text"],
        entities=tuple(json.loads(row["entities"])),
        media_kind=MediaKind(row["media_kind"]),
        forward=forward,
        grouped_id=row["grouped_id"],
        views=row["views"],
        author=row["author"],
        edit_date=from_epoch(row["edit_date"]),
        version=row["version"],
        origin=PostOrigin(row["origin"]),
        late=bool(row["late"]),
        first_seen_at=first_seen,
        deleted_at=from_epoch(row["deleted_at"]),
    )


async def get_post(
    conn: aiosqlite.Connection, channel_id: int, message_id: int
) -> StoredPost | None:
    """The stored post (channel, message id), deleted or not."""
    row = await fetch_one(
        conn,
        f"SELECT {_POST_COLUMNS} {_FROM} WHERE p.channel_id = ? AND p.message_id = ?",
        (channel_id, message_id),
    )
    return row_to_post(row) if row else None


async def get_post_by_id(conn: aiosqlite.Connection, post_id: int) -> StoredPost | None:
    """The stored post with this internal key."""
    row = await fetch_one(conn, f"SELECT {_POST_COLUMNS} {_FROM} WHERE p.id = ?", (post_id,))
    return row_to_post(row) if row else None


async def get_posts(
    conn: aiosqlite.Connection, channel_id: int, message_ids: Sequence[int]
) -> list[StoredPost]:
    """The stored posts of a channel among these message ids."""
    found: list[StoredPost] = []
    ids = sorted(set(message_ids))
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        rows = await fetch_all(
            conn,
            f"SELECT {_POST_COLUMNS} {_FROM} WHERE p.channel_id = ? "
            f"AND p.message_id IN ({','.join('?' for _ in chunk)})",
            (channel_id, *chunk),
        )
        found.extend(row_to_post(r) for r in rows)
    return found


def _insert_params(
    channel_id: int, post: Post, origin: PostOrigin, late: bool, now: int
) -> tuple[object, ...]:
    forward = post.forward
    return (
        channel_id,
        post.message_id,
        to_epoch(post.date),
        post.text,
        _entities_json(post.entities),
        post.media_kind.value,
        forward.channel_id if forward else None,
        forward.message_id if forward else None,
        forward.name if forward else None,
        post.grouped_id,
        post.views,
        post.author,
        post.reply_to,
        to_epoch(post.edit_date) if post.edit_date else None,
        origin.value,
        int(late),
        now,
    )


_INSERT_POST = (
    "INSERT INTO posts (channel_id, message_id, date, text, entities, media_kind, "
    "fwd_channel_id, fwd_message_id, fwd_name, grouped_id, views, author, reply_to, "
    "edit_date, version, origin, late, first_seen_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) "
    "ON CONFLICT (channel_id, message_id) DO NOTHING"
)


async def insert_posts(
    conn: aiosqlite.Connection,
    posts: Sequence[tuple[tuple[int, int], Post]],
    *,
    origin: PostOrigin,
    late: bool,
    now: int,
) -> dict[tuple[int, int], StoredPost]:
    """Insert posts known not to be stored yet (checked in the same write transaction),
    keyed by (channel id, message id); returns them as stored."""
    if not posts:
        return {}
    await execute_many(
        conn,
        _INSERT_POST,
        [_insert_params(key[0], post, origin, late, now) for key, post in posts],
    )
    stored: dict[tuple[int, int], StoredPost] = {}
    by_channel: dict[int, list[int]] = {}
    for (channel_id, message_id), _ in posts:
        by_channel.setdefault(channel_id, []).append(message_id)
    for channel_id, message_ids in by_channel.items():
        for post in await get_posts(conn, channel_id, message_ids):
            stored[(channel_id, post.message_id)] = post
    return stored


async def insert_post(
    conn: aiosqlite.Connection,
    channel_id: int,
    post: Post,
    *,
    origin: PostOrigin,
    late: bool,
    now: int,
) -> int | None:
    """Store a post seen for the first time; None when (channel, message id) already exists."""
    return await insert(
        conn, _INSERT_POST + " RETURNING id", _insert_params(channel_id, post, origin, late, now)
    )


async def store_edit(
    conn: aiosqlite.Connection, stored: StoredPost, post: Post, *, now: int
) -> int:
    """Keep the current content as a version and replace it with the edit; the new version."""
    await insert(
        conn,
        "INSERT INTO post_versions (post_id, version, text, entities, media_kind, edit_date, "
        "replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING post_id",
        (
            stored.id,
            stored.version,
            stored.text,
            _entities_json(stored.entities),
            stored.media_kind.value,
            to_epoch(stored.edit_date) if stored.edit_date else None,
            now,
        ),
    )
    new_version = stored.version + 1
    await execute(
        conn,
        "UPDATE posts SET text = ?, entities = ?, media_kind = ?, edit_date = ?, version = ?, "
        "views = COALESCE(?, views) WHERE id = ?",
        (
            post.text,
            _entities_json(post.entities),
            post.media_kind.value,
            to_epoch(post.edit_date) if post.edit_date else now,
            new_version,
            post.views,
            stored.id,
        ),
    )
    return new_version


async def update_views(conn: aiosqlite.Connection, post_id: int, views: int | None) -> None:
    """Refresh the view count (not an edit)."""
    if views is not None:
        await execute(conn, "UPDATE posts SET views = ? WHERE id = ?", (views, post_id))


async def mark_deleted(
    conn: aiosqlite.Connection, channel_id: int, message_id: int, *, at: int, detected_by: str
) -> bool:
    """Record a deletion once; False when it was already recorded. The post row stays."""
    rowid = await insert(
        conn,
        "INSERT INTO deletions (channel_id, message_id, deleted_at, detected_by) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (channel_id, message_id) DO NOTHING "
        "RETURNING message_id",
        (channel_id, message_id, at, detected_by),
    )
    return rowid is not None


async def versions(conn: aiosqlite.Connection, post_id: int) -> list[PostVersion]:
    """The earlier contents of a post, oldest first."""
    rows = await fetch_all(
        conn,
        "SELECT version, text, media_kind, edit_date, replaced_at FROM post_versions "
        "WHERE post_id = ? ORDER BY version",
        (post_id,),
    )
    return [
        PostVersion(
            version=r["version"],
            text=r["text"],
            media_kind=MediaKind(r["media_kind"]),
            edit_date=r["edit_date"],
            replaced_at=r["replaced_at"],
        )
        for r in rows
    ]


async def known_message_ids(
    conn: aiosqlite.Connection, channel_id: int, message_ids: Sequence[int]
) -> set[int]:
    """Which of these message ids of a channel the archive holds."""
    if not message_ids:
        return set()
    rows = await fetch_all(
        conn,
        "SELECT message_id FROM posts WHERE channel_id = ? "
        "AND message_id IN (SELECT value FROM json_each(?))",
        (channel_id, json.dumps(sorted(set(message_ids)))),
    )
    return {int(r["message_id"]) for r in rows}


async def recent_message_ids(
    conn: aiosqlite.Connection, channel_id: int, *, since: int, limit: int
) -> list[int]:
    """Ids of the channel's newest posts since a time that are not known to be deleted."""
    rows = await fetch_all(
        conn,
        "SELECT p.message_id FROM posts p LEFT JOIN deletions d "
        "ON d.channel_id = p.channel_id AND d.message_id = p.message_id "
        "WHERE p.channel_id = ? AND p.date >= ? AND d.message_id IS NULL "
        "ORDER BY p.message_id DESC LIMIT ?",
        (channel_id, since, limit),
    )
    return [int(r["message_id"]) for r in rows]


async def latest_posts(
    conn: aiosqlite.Connection, *, channel_id: int | None = None, limit: int = 10
) -> list[StoredPost]:
    """The newest posts, of one channel or all."""
    if channel_id is None:
        rows = await fetch_all(
            conn,
            f"SELECT {_POST_COLUMNS} {_FROM} ORDER BY p.date DESC, p.id DESC LIMIT ?",
            (limit,),
        )
    else:
        rows = await fetch_all(
            conn,
            f"SELECT {_POST_COLUMNS} {_FROM} WHERE p.channel_id = ? "
            "ORDER BY p.date DESC, p.id DESC LIMIT ?",
            (channel_id, limit),
        )
    return [row_to_post(r) for r in rows]


async def count_posts(conn: aiosqlite.Connection, channel_id: int | None = None) -> int:
    """How many posts the archive holds (of one channel, or all)."""
    if channel_id is None:
        row = await fetch_one(conn, "SELECT COUNT(*) AS n FROM posts")
    else:
        row = await fetch_one(
            conn, "SELECT COUNT(*) AS n FROM posts WHERE channel_id = ?", (channel_id,)
        )
    return int(row["n"]) if row else 0
