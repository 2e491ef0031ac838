"""The archive database: pragmas, migrations, the single writer and concurrent readers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, load_migrations


async def test_pragmas_wal_foreign_keys_busy_timeout(db: Database) -> None:
    async with db.read() as conn:
        async with conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        async with conn.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
        async with conn.execute("PRAGMA busy_timeout") as cur:
            assert (await cur.fetchone())[0] == 5000


async def test_migrations_are_numbered_and_applied(db: Database) -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert await db.schema_version() == migrations[-1].version


async def test_upgrade_from_migration_1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(path)
    await old.open(migrate_to=1)
    assert await old.schema_version() == 1
    async with old.write() as conn:
        await conn.execute(
            "INSERT INTO channels (id, telegram_id, username, created_at) VALUES (1, 99, 'old_chan', 0)"
        )
        await conn.execute(
            "INSERT INTO posts (channel_id, message_id, date, text, origin, first_seen_at) "
            "VALUES (1, 5, 100, 'kept text', 'live', 100)"
        )
    await old.close()

    upgraded = Database(path)
    await upgraded.open()
    try:
        assert await upgraded.schema_version() == load_migrations()[-1].version
        row = await upgraded.fetch_one("SELECT text FROM posts WHERE message_id = 5")
        assert row is not None and row["text"] == "kept text"
        # The table added by migration 2 works on the upgraded file.
        async with upgraded.write() as conn:
            await conn.execute(
                "INSERT INTO channel_cursors (channel_id, last_message_id) VALUES (1, 5)"
            )
        cursor = await upgraded.fetch_one("SELECT last_message_id FROM channel_cursors")
        assert cursor is not None and cursor[0] == 5
    finally:
        await upgraded.close()


async def test_write_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO channels (telegram_id, username, created_at) VALUES (1, 'abcde', 0)"
            )
            raise RuntimeError("boom")
    assert await db.fetch_all("SELECT * FROM channels") == []


async def test_foreign_keys_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO posts (channel_id, message_id, date, origin, first_seen_at) "
                "VALUES (999, 1, 0, 'live', 0)"
            )


async def test_readers_see_committed_state_while_a_write_is_open(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channels (id, telegram_id, username, created_at) VALUES (1, 1, 'abcde', 0)"
        )
    inside = asyncio.Event()
    release = asyncio.Event()

    async def long_write() -> None:
        async with db.write() as conn:
            for i in range(200):
                await conn.execute(
                    "INSERT INTO posts (channel_id, message_id, date, origin, first_seen_at) "
                    "VALUES (1, ?, 0, 'live', 0)",
                    (i,),
                )
            inside.set()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await inside.wait()
    # A reader is not blocked by the open write transaction and sees only committed rows.
    counts = await asyncio.gather(*(db.fetch_one("SELECT COUNT(*) FROM posts") for _ in range(4)))
    assert all(row is not None and row[0] == 0 for row in counts)
    release.set()
    await writer
    row = await db.fetch_one("SELECT COUNT(*) FROM posts")
    assert row is not None and row[0] == 200


async def test_writes_are_serialised(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO channels (id, telegram_id, username, created_at) VALUES (1, 1, 'abcde', 0)"
        )

    async def add(i: int) -> None:
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO posts (channel_id, message_id, date, origin, first_seen_at) "
                "VALUES (1, ?, 0, 'live', 0)",
                (i,),
            )

    await asyncio.gather(*(add(i) for i in range(50)))
    row = await db.fetch_one("SELECT COUNT(*) FROM posts")
    assert row is not None and row[0] == 50


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    database = Database(path)
    with pytest.raises(RuntimeError, match="newer than this chanwatch"):
        await database.open()
    await database.close()
