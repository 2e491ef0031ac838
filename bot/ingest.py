"""Where every source hands its posts: store, then tell listeners, in one transaction.

A post is stored once per (channel, message id). A repeat with the same content is a no-op;
a repeat with changed text or media is an edit and keeps the previous content as a version;
a deletion is recorded once and the post row keeps its text. Listeners (the matcher and the
outbox, later digests) run inside the same write transaction, so whatever they enqueue is
committed together with the change that caused it, or not at all.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.models import ChannelRef, Post, PostOrigin, StoredChannel, StoredPost, to_epoch, utc_now
from storage import channels as channel_repo
from storage import cursors as cursor_repo
from storage import posts as post_repo
from storage.db import Database

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class ChangeKind(enum.StrEnum):
    """What storing a post did to the archive."""

    NEW = "new"
    EDIT = "edit"
    DELETION = "deletion"
    UNCHANGED = "unchanged"  # a repeat, or only views/reactions changed


@dataclass(frozen=True, slots=True)
class PostChange:
    """One change to the archive, as listeners see it."""

    kind: ChangeKind
    channel: StoredChannel
    message_id: int
    post: StoredPost | None  # the post as stored after the change (None: deletion of unknown)
    origin: PostOrigin
    previous_text: str | None = None  # for an edit: the text it replaced
    version: int = 0  # for an edit: the new version number

    @property
    def changed(self) -> bool:
        """Whether the archive changed (new, edit or deletion)."""
        return self.kind is not ChangeKind.UNCHANGED


ChangeListener = Callable[[aiosqlite.Connection, PostChange], Awaitable[None]]


class Ingestor:
    """The single entry point through which sources write posts, edits and deletions."""

    def __init__(self, db: Database, *, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        self._listeners: list[ChangeListener] = []

    def add_listener(self, listener: ChangeListener) -> None:
        """Run `listener` inside the write transaction of every change."""
        self._listeners.append(listener)

    def _now(self) -> int:
        return to_epoch(self._clock())

    async def ingest(self, post: Post, *, origin: PostOrigin, late: bool = False) -> PostChange:
        """Store one post (new, edited or repeated) and notify listeners."""
        async with self._db.write() as conn:
            return await self._ingest_one(conn, post, origin=origin, late=late, now=self._now())

    async def ingest_batch(
        self,
        posts: Sequence[Post],
        *,
        origin: PostOrigin,
        late: bool = False,
        channel: ChannelRef | None = None,
        advance_cursor_to: int | None = None,
    ) -> list[PostChange]:
        """Store a fetched batch in one transaction; optionally advance the channel's cursor."""
        now = self._now()
        async with self._db.write() as conn:
            changes = [
                await self._ingest_one(conn, post, origin=origin, late=late, now=now)
                for post in posts
            ]
            if channel is not None:
                stored = await channel_repo.ensure_channel(conn, channel, now=now)
                await cursor_repo.advance(
                    conn, stored.id, message_id=advance_cursor_to, fetched_at=now
                )
        return changes

    async def _ingest_one(
        self,
        conn: aiosqlite.Connection,
        post: Post,
        *,
        origin: PostOrigin,
        late: bool,
        now: int,
    ) -> PostChange:
        channel = await channel_repo.ensure_channel(conn, post.channel, now=now)
        await cursor_repo.note_post_date(conn, channel.id, to_epoch(post.date))
        post_id = await post_repo.insert_post(
            conn, channel.id, post, origin=origin, late=late, now=now
        )
        if post_id is not None:
            stored = await post_repo.get_post(conn, channel.id, post.message_id)
            change = PostChange(ChangeKind.NEW, channel, post.message_id, stored, origin)
        else:
            existing = await post_repo.get_post(conn, channel.id, post.message_id)
            assert existing is not None
            if (existing.text, existing.media_kind) == post.content_key:
                await post_repo.update_views(conn, existing.id, post.views)
                return PostChange(ChangeKind.UNCHANGED, channel, post.message_id, existing, origin)
            version = await post_repo.store_edit(conn, existing, post, now=now)
            stored = await post_repo.get_post(conn, channel.id, post.message_id)
            change = PostChange(
                ChangeKind.EDIT,
                channel,
                post.message_id,
                stored,
                origin,
                previous_text=existing.text,
                version=version,
            )
        await self._notify(conn, change)
        return change

    async def ingest_deletions(
        self,
        channel: ChannelRef,
        message_ids: Iterable[int],
        *,
        detected_by: str,
        origin: PostOrigin = PostOrigin.LIVE,
    ) -> list[PostChange]:
        """Record deletions once each; the posts keep their rows and text."""
        now = self._now()
        changes: list[PostChange] = []
        async with self._db.write() as conn:
            stored_channel = await channel_repo.find_channel(conn, channel)
            if stored_channel is None:
                log.info("deletion in unknown channel %s ignored", channel)
                return []
            for message_id in message_ids:
                if not await post_repo.mark_deleted(
                    conn, stored_channel.id, message_id, at=now, detected_by=detected_by
                ):
                    continue
                stored = await post_repo.get_post(conn, stored_channel.id, message_id)
                change = PostChange(ChangeKind.DELETION, stored_channel, message_id, stored, origin)
                await self._notify(conn, change)
                changes.append(change)
        return changes

    async def _notify(self, conn: aiosqlite.Connection, change: PostChange) -> None:
        for listener in self._listeners:
            await listener(conn, change)
