"""Shared fixtures: where the shared corpus lives, temp databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import Database

REPO_ROOT = Path(__file__).resolve().parents[1]


def corpus_path() -> Path:
    """The shared corpus: `CHANWATCH_CORPUS`, else `../shared/corpus` beside the repo."""
    env = os.environ.get("CHANWATCH_CORPUS")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "corpus"


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus directory; skips (naming the path) where it is absent."""
    path = corpus_path()
    if not path.is_dir():
        pytest.skip(f"shared corpus not found at {path}")
    return path


class FakeClock:
    """An injected clock: time moves only when a test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A fake UTC clock starting at 2026-11-01 12:00."""
    return FakeClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A real SQLite archive file in a temp dir, migrated to the latest schema."""
    database = Database(tmp_path / "archive.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()
