"""Ingest: a post is stored once, edits keep versions, deletions keep the text."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite
import pytest

from bot.ingest import ChangeKind, Ingestor, PostChange
from bot.models import MediaKind, PostOrigin
from storage import posts as post_repo
from storage.db import Database
from tests.conftest import FakeClock
from tests.harness.posts import CHANNEL, make_post


@pytest.fixture
def ingestor(db: Database, clock: FakeClock) -> Ingestor:
    return Ingestor(db, clock=clock)


async def _stored(db: Database, message_id: int):  # type: ignore[no-untyped-def]
    async with db.read() as conn:
        row = await conn.execute_fetchall("SELECT id FROM channels")
        return await post_repo.get_post(conn, row[0][0], message_id)


async def test_new_post_is_stored_once(db: Database, ingestor: Ingestor) -> None:
    first = await ingestor.ingest(make_post(1, "hello"), origin=PostOrigin.LIVE)
    again = await ingestor.ingest(make_post(1, "hello"), origin=PostOrigin.LIVE)
    assert first.kind is ChangeKind.NEW
    assert again.kind is ChangeKind.UNCHANGED
    rows = await db.fetch_all("SELECT message_id, text, version FROM posts")
    assert [tuple(r) for r in rows] == [(1, "hello", 0)]


async def test_views_change_is_not_an_edit(db: Database, ingestor: Ingestor) -> None:
    await ingestor.ingest(make_post(1, "hello", views=10), origin=PostOrigin.LIVE)
    change = await ingestor.ingest(make_post(1, "hello", views=99), origin=PostOrigin.LIVE)
    assert change.kind is ChangeKind.UNCHANGED
    stored = await _stored(db, 1)
    assert stored.views == 99 and stored.version == 0
    assert await db.fetch_all("SELECT * FROM post_versions") == []


async def test_text_edit_keeps_previous_version(
    db: Database, ingestor: Ingestor, clock: FakeClock
) -> None:
    await ingestor.ingest(make_post(1, "first words"), origin=PostOrigin.LIVE)
    clock.advance(60)
    change = await ingestor.ingest(make_post(1, "second words"), origin=PostOrigin.LIVE)
    assert change.kind is ChangeKind.EDIT
    assert change.previous_text == "first words" and change.version == 1
    clock.advance(60)
    third = await ingestor.ingest(make_post(1, "third words"), origin=PostOrigin.LIVE)
    assert third.version == 2
    stored = await _stored(db, 1)
    assert stored.text == "third words" and stored.version == 2
    async with db.read() as conn:
        versions = await post_repo.versions(conn, stored.id)
    assert [(v.version, v.text) for v in versions] == [(0, "first words"), (1, "second words")]


async def test_media_change_is_an_edit(ingestor: Ingestor) -> None:
    await ingestor.ingest(
        make_post(1, "caption", media_kind=MediaKind.PHOTO), origin=PostOrigin.LIVE
    )
    change = await ingestor.ingest(
        make_post(1, "caption", media_kind=MediaKind.VIDEO), origin=PostOrigin.LIVE
    )
    assert change.kind is ChangeKind.EDIT


async def test_deletion_marks_and_keeps_text(db: Database, ingestor: Ingestor) -> None:
    await ingestor.ingest(make_post(1, "statement"), origin=PostOrigin.LIVE)
    changes = await ingestor.ingest_deletions(CHANNEL, [1], detected_by="live")
    again = await ingestor.ingest_deletions(CHANNEL, [1], detected_by="recheck")
    assert [c.kind for c in changes] == [ChangeKind.DELETION]
    assert again == []
    stored = await _stored(db, 1)
    assert stored.text == "statement" and stored.deleted_at is not None
    rows = await db.fetch_all("SELECT detected_by FROM deletions")
    assert [r[0] for r in rows] == ["live"]


async def test_deletion_of_unseen_post_is_recorded(db: Database, ingestor: Ingestor) -> None:
    await ingestor.ingest(make_post(1), origin=PostOrigin.LIVE)
    changes = await ingestor.ingest_deletions(CHANNEL, [50], detected_by="live")
    assert len(changes) == 1 and changes[0].post is None
    assert (await db.fetch_one("SELECT message_id FROM deletions"))[0] == 50


async def test_listeners_run_in_the_same_transaction(db: Database, ingestor: Ingestor) -> None:
    seen: list[PostChange] = []

    async def listener(conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        seen.extend(changes)
        if any(change.message_id == 2 for change in changes):
            raise RuntimeError("listener failed")

    ingestor.add_listener(listener)
    await ingestor.ingest(make_post(1), origin=PostOrigin.LIVE)
    with pytest.raises(RuntimeError):
        await ingestor.ingest(make_post(2), origin=PostOrigin.LIVE)
    # The failed listener rolled the post back with it: all or nothing.
    rows = await db.fetch_all("SELECT message_id FROM posts")
    assert [r[0] for r in rows] == [1]
    assert [c.kind for c in seen] == [ChangeKind.NEW, ChangeKind.NEW]


async def test_unchanged_repeat_does_not_notify(ingestor: Ingestor) -> None:
    seen: list[PostChange] = []

    async def listener(conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        seen.extend(changes)

    ingestor.add_listener(listener)
    await ingestor.ingest(make_post(1), origin=PostOrigin.LIVE)
    await ingestor.ingest(make_post(1), origin=PostOrigin.CATCHUP, late=True)
    assert len(seen) == 1


async def test_batch_advances_cursor(db: Database, ingestor: Ingestor) -> None:
    changes = await ingestor.ingest_batch(
        [make_post(3), make_post(4)],
        origin=PostOrigin.CATCHUP,
        late=True,
        channel=CHANNEL,
        advance_cursor_to=4,
    )
    assert [c.kind for c in changes] == [ChangeKind.NEW, ChangeKind.NEW]
    row = await db.fetch_one("SELECT last_message_id FROM channel_cursors")
    assert row is not None and row[0] == 4
    late = await db.fetch_all("SELECT late, origin FROM posts")
    assert {tuple(r) for r in late} == {(1, "catchup")}


async def test_batch_with_new_repeat_and_edit(db: Database, ingestor: Ingestor) -> None:
    await ingestor.ingest(make_post(1, "one"), origin=PostOrigin.LIVE)
    seen: list[PostChange] = []

    async def listener(conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        seen.extend(changes)

    ingestor.add_listener(listener)
    changes = await ingestor.ingest_batch(
        [make_post(2, "two"), make_post(1, "one"), make_post(3, "three"), make_post(2, "two!")],
        origin=PostOrigin.CATCHUP,
        late=True,
    )
    assert [(c.message_id, c.kind) for c in changes] == [
        (2, ChangeKind.NEW),
        (1, ChangeKind.UNCHANGED),
        (3, ChangeKind.NEW),
        (2, ChangeKind.EDIT),
    ]
    # Listeners see one call per transaction with only the changes.
    assert [(c.message_id, c.kind) for c in seen] == [
        (2, ChangeKind.NEW),
        (3, ChangeKind.NEW),
        (2, ChangeKind.EDIT),
    ]
    rows = await db.fetch_all("SELECT message_id, text, version FROM posts ORDER BY message_id")
    assert [tuple(r) for r in rows] == [(1, "one", 0), (2, "two!", 1), (3, "three", 0)]
