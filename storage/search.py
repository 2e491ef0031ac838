"""The archive's full-text index: FTS5 over normalised terms, newest first by construction.

Each indexed post has a `search_rowid` that sorts like its date (date * 65536 plus a few
bits of the post id), so `ORDER BY rowid DESC` walks matches newest first straight from the
FTS index and stops at the limit, and a date range is a rowid range. The terms column holds
`Normalizer.index_terms` of the current text plus one token naming the channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from storage.db import Row, execute_many, fetch_all, fetch_one

ROWID_SHIFT = 65536
_POST_COLUMNS = (
    "p.id, p.channel_id, p.message_id, p.date, p.text, p.entities, p.media_kind, "
    "p.fwd_channel_id, p.fwd_message_id, p.fwd_name, p.grouped_id, p.views, p.author, "
    "p.edit_date, p.version, p.origin, p.late, p.first_seen_at, d.deleted_at"
)
_DELETIONS = "LEFT JOIN deletions d ON d.channel_id = p.channel_id AND d.message_id = p.message_id"


def channel_term(channel_id: int) -> str:
    """The index token that names a channel (letters and digits: one FTS token)."""
    return f"chanwatchchannel{channel_id}"


def rowid_floor(epoch: int) -> int:
    """The smallest search rowid of a post dated `epoch`."""
    return epoch * ROWID_SHIFT


def rowid_ceiling(epoch: int) -> int:
    """The largest search rowid of a post dated `epoch`."""
    return epoch * ROWID_SHIFT + ROWID_SHIFT - 1


@dataclass(frozen=True, slots=True)
class PendingPost:
    """A post whose index entry is missing or was made by an older normaliser."""

    id: int
    channel_id: int
    date: int
    text: str


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What to index for one post: its current text's terms."""

    post_id: int
    channel_id: int
    date: int
    terms: str


async def index_posts(
    conn: aiosqlite.Connection, entries: Sequence[IndexEntry], *, version: int
) -> None:
    """(Re)index posts' current text; call inside the write transaction that changed them.

    A few statements per batch, not per post: existing entries are replaced, new ones get a
    free date-ordered rowid (collisions within one second are resolved here).
    """
    if not entries:
        return
    ids = [e.post_id for e in entries]
    current: dict[int, int | None] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for row in await fetch_all(
            conn,
            f"SELECT id, search_rowid FROM posts WHERE id IN ({','.join('?' for _ in chunk)})",
            chunk,
        ):
            current[int(row[0])] = row[1]
    missing = [e.post_id for e in entries if e.post_id not in current]
    if missing:
        raise LookupError(f"posts {missing[:5]} do not exist")
    stale = [rowid for rowid in current.values() if rowid is not None]
    if stale:
        await execute_many(conn, "DELETE FROM post_search WHERE rowid = ?", [(r,) for r in stale])

    wanted = {
        e.post_id: e.date * ROWID_SHIFT + (e.post_id % ROWID_SHIFT)
        for e in entries
        if current[e.post_id] is None
    }
    taken: set[int] = set()
    candidates = sorted(set(wanted.values()))
    for i in range(0, len(candidates), 500):
        chunk = candidates[i : i + 500]
        for row in await fetch_all(
            conn,
            f"SELECT search_rowid FROM posts WHERE search_rowid IN ({','.join('?' for _ in chunk)})",
            chunk,
        ):
            taken.add(int(row[0]))
    rowids: dict[int, int] = {}
    for entry in entries:
        existing = current[entry.post_id]
        if existing is not None:
            rowids[entry.post_id] = existing
            continue
        rowid = wanted[entry.post_id]
        if rowid in taken:
            # Another post of the same second holds it: take the next free slot of that second.
            rowid = await _confirm_free(conn, rowid, taken, entry.date)
        taken.add(rowid)
        rowids[entry.post_id] = rowid
    await execute_many(
        conn,
        "INSERT INTO post_search (rowid, terms) VALUES (?, ?)",
        [(rowids[e.post_id], f"{e.terms} {channel_term(e.channel_id)}") for e in entries],
    )
    await execute_many(
        conn,
        "UPDATE posts SET search_rowid = ?, search_version = ? WHERE id = ?",
        [(rowids[e.post_id], version, e.post_id) for e in entries],
    )


async def _confirm_free(conn: aiosqlite.Connection, rowid: int, taken: set[int], date: int) -> int:
    """The first rowid from `rowid` on (within the same second) that no post holds."""
    while True:
        row = await fetch_one(conn, "SELECT 1 FROM posts WHERE search_rowid = ?", (rowid,))
        if row is None and rowid not in taken:
            return rowid
        taken.add(rowid)
        rowid = rowid + 1 if rowid < rowid_ceiling(date) else rowid_floor(date)


async def index_post(conn: aiosqlite.Connection, post_id: int, *, terms: str, version: int) -> None:
    """(Re)index one post (see `index_posts`)."""
    row = await fetch_one(conn, "SELECT channel_id, date FROM posts WHERE id = ?", (post_id,))
    if row is None:
        raise LookupError(f"post {post_id} does not exist")
    await index_posts(conn, [IndexEntry(post_id, int(row[0]), int(row[1]), terms)], version=version)


async def match_candidates(
    conn: aiosqlite.Connection,
    expression: str,
    *,
    below_rowid: int | None,
    floor_rowid: int | None,
    limit: int,
) -> list[Row]:
    """Posts whose index satisfies an FTS5 expression, newest first, below a rowid."""
    sql = (
        f"SELECT s.rowid AS search_rowid, {_POST_COLUMNS} FROM post_search s "
        f"JOIN posts p ON p.search_rowid = s.rowid {_DELETIONS} "
        "WHERE post_search MATCH ?"
    )
    params: list[object] = [expression]
    if below_rowid is not None:
        sql += " AND s.rowid < ?"
        params.append(below_rowid)
    if floor_rowid is not None:
        sql += " AND s.rowid >= ?"
        params.append(floor_rowid)
    sql += " ORDER BY s.rowid DESC LIMIT ?"
    params.append(limit)
    return await fetch_all(conn, sql, params)


async def scan_newest(
    conn: aiosqlite.Connection,
    *,
    before: tuple[int, int] | None,
    since: int | None,
    until: int | None,
    channel_ids: list[int] | None,
    limit: int,
) -> list[Row]:
    """Posts newest first (date, id) below a (date, id) cursor: for queries FTS cannot narrow."""
    sql = f"SELECT {_POST_COLUMNS} FROM posts p {_DELETIONS} WHERE 1=1"
    params: list[object] = []
    if before is not None:
        sql += " AND (p.date < ? OR (p.date = ? AND p.id < ?))"
        params.extend([before[0], before[0], before[1]])
    if since is not None:
        sql += " AND p.date >= ?"
        params.append(since)
    if until is not None:
        sql += " AND p.date <= ?"
        params.append(until)
    if channel_ids is not None:
        sql += f" AND p.channel_id IN ({','.join('?' for _ in channel_ids) or 'NULL'})"
        params.extend(channel_ids)
    sql += " ORDER BY p.date DESC, p.id DESC LIMIT ?"
    params.append(limit)
    return await fetch_all(conn, sql, params)


async def vocabulary(conn: aiosqlite.Connection) -> list[str]:
    """Every distinct term in the index (for expanding `Name~` queries)."""
    rows = await fetch_all(conn, "SELECT term FROM post_search_vocab")
    return [str(r[0]) for r in rows]


async def vocabulary_stamp(conn: aiosqlite.Connection) -> tuple[int, int]:
    """Changes when the index may have new terms (for caching the vocabulary)."""
    row = await fetch_one(conn, "SELECT COUNT(*), COALESCE(MAX(search_rowid), 0) FROM posts")
    assert row is not None
    return (int(row[0]), int(row[1]))


async def pending_posts(
    conn: aiosqlite.Connection, *, version: int, after_id: int, limit: int, everything: bool = False
) -> list[PendingPost]:
    """Posts to (re)index, by id: missing, stale, or all of them with `everything`."""
    condition = "1=1" if everything else "(search_version IS NULL OR search_version != ?)"
    params: list[object] = [] if everything else [version]
    rows = await fetch_all(
        conn,
        f"SELECT id, channel_id, date, text FROM posts WHERE {condition} AND id > ? "
        "ORDER BY id LIMIT ?",
        [*params, after_id, limit],
    )
    return [PendingPost(r["id"], r["channel_id"], r["date"], r["text"]) for r in rows]


async def count_pending(conn: aiosqlite.Connection, *, version: int) -> int:
    """How many posts need (re)indexing."""
    row = await fetch_one(
        conn,
        "SELECT COUNT(*) FROM posts WHERE search_version IS NULL OR search_version != ?",
        (version,),
    )
    return int(row[0]) if row else 0
