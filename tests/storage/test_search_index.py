"""The search index: date-ordered rowids, collisions within one second, re-indexing."""

from __future__ import annotations

from storage import search as repo
from storage.db import Database


async def _post(db: Database, post_id: int, date: int) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT OR IGNORE INTO channels (id, telegram_id, username, created_at) "
            "VALUES (1, 1, 'abcde', 0)"
        )
        await conn.execute(
            "INSERT INTO posts (id, channel_id, message_id, date, origin, first_seen_at) "
            "VALUES (?, 1, ?, ?, 'live', 0)",
            (post_id, post_id, date),
        )


async def test_rowids_sort_by_date_and_collisions_get_the_next_slot(db: Database) -> None:
    await _post(db, 1, 1000)
    await _post(db, 1 + repo.ROWID_SHIFT, 1000)  # same second, same low bits
    await _post(db, 2, 999)
    async with db.write() as conn:
        await repo.index_posts(conn, [repo.IndexEntry(1, 1, 1000, "alpha")], version=1)
        await repo.index_posts(
            conn,
            [
                repo.IndexEntry(1 + repo.ROWID_SHIFT, 1, 1000, "alpha beta"),
                repo.IndexEntry(2, 1, 999, "alpha"),
            ],
            version=1,
        )
    rows = await db.fetch_all("SELECT id, search_rowid FROM posts ORDER BY search_rowid DESC")
    assert [r[0] for r in rows] == [1 + repo.ROWID_SHIFT, 1, 2]
    assert len({r[1] for r in rows}) == 3
    assert all(repo.rowid_floor(999) <= r[1] <= repo.rowid_ceiling(1000) for r in rows)
    async with db.read() as conn:
        found = await repo.match_candidates(
            conn, '"alpha"', below_rowid=None, floor_rowid=None, limit=10
        )
        beta = await repo.match_candidates(
            conn, '"beta"', below_rowid=None, floor_rowid=None, limit=10
        )
    assert [r["id"] for r in found] == [1 + repo.ROWID_SHIFT, 1, 2]
    assert [r["id"] for r in beta] == [1 + repo.ROWID_SHIFT]


async def test_reindex_replaces_terms_and_tracks_version(db: Database) -> None:
    await _post(db, 1, 1000)
    async with db.write() as conn:
        await repo.index_post(conn, 1, terms="old", version=1)
        await repo.index_post(conn, 1, terms="new", version=2)
    async with db.read() as conn:
        assert (
            await repo.match_candidates(conn, '"old"', below_rowid=None, floor_rowid=None, limit=5)
            == []
        )
        assert (
            len(
                await repo.match_candidates(
                    conn, '"new"', below_rowid=None, floor_rowid=None, limit=5
                )
            )
            == 1
        )
        assert await repo.count_pending(conn, version=2) == 0
        assert await repo.count_pending(conn, version=3) == 1
        assert "new" in await repo.vocabulary(conn)
