"""The SQLite archive: one writer connection, a small pool of readers, numbered migrations.

WAL mode lets readers run while the single writer commits. Every write goes through
`Database.write()`, which serialises writers on one connection and wraps the block in
`BEGIN IMMEDIATE ... COMMIT`, so a crash leaves either all of a change or none of it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


@dataclass(frozen=True)
class Migration:
    """One numbered schema step from `storage/migrations/NNNN_name.sql`."""

    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every migration shipped with the package, in order; numbers must be 1, 2, 3, ..."""
    found: list[Migration] = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: (m.version, m.name))
    for previous, migration in pairwise(found):
        if previous.version == migration.version:
            raise RuntimeError(
                f"two migrations are numbered {migration.version:04d}: "
                f"{previous.name} and {migration.name}"
            )
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration {expected:04d} is missing (found {migration.version})")
    return found


class Database:
    """Owns the archive's connections. Open once in the composition root, close at exit."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 5000, readers: int = 2) -> None:
        self.path = str(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._reader_count = max(1, readers)
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []

    # --- lifecycle ------------------------------------------------------------------
    async def open(self, *, migrate_to: int | None = None) -> Database:
        """Connect, set pragmas and apply pending migrations (up to `migrate_to`)."""
        if self.path != ":memory:":
            await asyncio.to_thread(Path(self.path).parent.mkdir, parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode=WAL")
        await self._writer.execute("PRAGMA synchronous=NORMAL")
        await self.migrate(migrate_to)
        for _ in range(self._reader_count):
            reader = await self._connect()
            await reader.execute("PRAGMA query_only=ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        return self

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
        await conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def close(self) -> None:
        """Close every connection (an open aiosqlite connection keeps the process alive)."""
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            async with self._write_lock:
                try:
                    await self._writer.execute("PRAGMA optimize")
                finally:
                    await self._writer.close()
                    self._writer = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- migrations -----------------------------------------------------------------
    async def schema_version(self) -> int:
        """The `PRAGMA user_version` of the open database."""
        row = await self._fetch_writer_one("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def migrate(self, target: int | None = None) -> int:
        """Apply pending migrations, each in its own transaction; return the new version."""
        migrations = await asyncio.to_thread(load_migrations)
        latest = migrations[-1].version if migrations else 0
        goal = latest if target is None else min(target, latest)
        current = await self.schema_version()
        if current > latest:
            raise RuntimeError(
                f"{self.path}: database schema {current} is newer than this chanwatch ({latest})"
            )
        writer = self._require_writer()
        for migration in migrations:
            if migration.version <= current or migration.version > goal:
                continue
            log.info("applying migration %04d_%s", migration.version, migration.name)
            script = (
                "BEGIN IMMEDIATE;\n"
                f"{migration.sql}\n;"
                f"PRAGMA user_version = {migration.version};\n"
                "COMMIT;"
            )
            try:
                await writer.executescript(script)
            except sqlite3.Error:
                if writer.in_transaction:
                    await writer.execute("ROLLBACK")
                raise
            current = migration.version
        return current

    # --- access ---------------------------------------------------------------------
    def _require_writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    async def _fetch_writer_one(self, sql: str) -> Row | None:
        async with self._require_writer().execute(sql) as cursor:
            row: Row | None = await cursor.fetchone()
            return row

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction on the single writer; commits on success, rolls back on error."""
        writer = self._require_writer()
        async with self._write_lock:
            await writer.execute("BEGIN IMMEDIATE")
            try:
                yield writer
            except BaseException:
                await writer.execute("ROLLBACK")
                raise
            else:
                await writer.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A reader connection from the pool; sees the last committed state."""
        if not self._all_readers:
            raise RuntimeError("database is not open")
        reader = await self._readers.get()
        try:
            yield reader
        finally:
            self._readers.put_nowait(reader)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a read query on a reader and return all rows."""
        async with self.read() as conn:
            return await fetch_all(conn, sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """Run a read query on a reader and return the first row or None."""
        async with self.read() as conn:
            return await fetch_one(conn, sql, params)


# Each helper is one round trip to the connection's thread (aiosqlite runs every call on a
# worker thread; a hop costs far more than a small statement, so keep it to one per call).


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> list[Row]:
    """All rows of a query on the given connection."""
    return list(await conn.execute_fetchall(sql, params))


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> Row | None:
    """The first row of a query on the given connection, or None."""
    rows = await conn.execute_fetchall(sql, params)
    for row in rows:
        return row
    return None


async def execute(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> None:
    """Run a statement that returns no rows."""
    await conn.execute_fetchall(sql, params)


async def insert(conn: aiosqlite.Connection, sql: str, params: Params = ()) -> int | None:
    """Run an INSERT; the new row's id, or None when nothing was inserted (ON CONFLICT).

    The statement must end with `RETURNING <id column>`.
    """
    row = await fetch_one(conn, sql, params)
    return None if row is None else int(row[0])


async def execute_many(conn: aiosqlite.Connection, sql: str, rows: Iterable[Params]) -> None:
    """Run one statement for many parameter sets."""
    await conn.executemany(sql, rows)
