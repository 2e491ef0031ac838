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
from typing import Any

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
    analysis: Any = None  # the normalised text, when the ingestor has an analyser

    @property
    def changed(self) -> bool:
        """Whether the archive changed (new, edit or deletion)."""
        return self.kind is not ChangeKind.UNCHANGED


# A listener gets every change of one transaction (new, edit, deletion; never unchanged).
ChangeListener = Callable[[aiosqlite.Connection, Sequence[PostChange]], Awaitable[None]]
Analyser = Callable[[Sequence[str]], Awaitable[Sequence[Any]]]


class Ingestor:
    """The single entry point through which sources write posts, edits and deletions."""

    def __init__(
        self, db: Database, *, clock: Clock = utc_now, analyser: Analyser | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        # Normalising text is CPU work: it runs before the write transaction, off the loop.
        self._analyser = analyser
        self._listeners: list[ChangeListener] = []

    def add_listener(self, listener: ChangeListener) -> None:
        """Run `listener` inside the write transaction of every batch of changes."""
        self._listeners.append(listener)

    def _now(self) -> int:
        return to_epoch(self._clock())

    async def _analyse(self, posts: Sequence[Post]) -> Sequence[Any]:
        if self._analyser is None or not posts:
            return [None] * len(posts)
        return await self._analyser([post.text for post in posts])

    async def ingest(self, post: Post, *, origin: PostOrigin, late: bool = False) -> PostChange:
        """Store one post (new, edited or repeated) and notify listeners."""
        (change,) = await self.ingest_batch([post], origin=origin, late=late)
        return change

    async def ingest_batch(
        self,
        posts: Sequence[Post],
        *,
        origin: PostOrigin,
        late: bool = False,
        channel: ChannelRef | None = None,
        advance_cursor_to: int | None = None,
    ) -> list[PostChange]:
        """Store posts in one transaction (one change each, in order); listeners see the
        changes of the whole batch. Optionally advance `channel`'s catch-up cursor."""
        analyses = await self._analyse(posts)
        now = self._now()
        async with self._db.write() as conn:
            changes = await self._store_all(conn, posts, analyses, origin, late, now)
            changed = [c for c in changes if c.changed]
            if changed:
                await self._notify(conn, changed)
            if channel is not None:
                stored = await channel_repo.ensure_channel(conn, channel, now=now)
                await cursor_repo.advance(
                    conn, stored.id, message_id=advance_cursor_to, fetched_at=now
                )
        return changes

    async def _store_all(
        self,
        conn: aiosqlite.Connection,
        posts: Sequence[Post],
        analyses: Sequence[Any],
        origin: PostOrigin,
        late: bool,
        now: int,
    ) -> list[PostChange]:
        # Few round trips per batch: aiosqlite runs every statement on its own thread, and
        # a hop costs more than the statement. Channels are resolved once per batch, the
        # batch's existing posts are read at once, new posts are inserted with one
        # executemany; only edits take the per-post path.
        channels: dict[ChannelRef, StoredChannel] = {}
        for post in posts:
            if post.channel not in channels:
                channels[post.channel] = await channel_repo.ensure_channel(
                    conn, post.channel, now=now
                )
        by_channel: dict[int, list[int]] = {}
        for post in posts:
            by_channel.setdefault(channels[post.channel].id, []).append(post.message_id)
        existing: dict[tuple[int, int], StoredPost] = {}
        for channel_id, message_ids in by_channel.items():
            for stored in await post_repo.get_posts(conn, channel_id, message_ids):
                existing[(channel_id, stored.message_id)] = stored
        newest: dict[int, int] = {}
        for post in posts:
            channel_id = channels[post.channel].id
            newest[channel_id] = max(newest.get(channel_id, 0), to_epoch(post.date))
        for channel_id, date in newest.items():
            await cursor_repo.note_post_date(conn, channel_id, date)

        fresh: dict[tuple[int, int], Post] = {}
        for post in posts:
            key = (channels[post.channel].id, post.message_id)
            if key not in existing and key not in fresh:
                fresh[key] = post
        inserted = await post_repo.insert_posts(
            conn, list(fresh.items()), origin=origin, late=late, now=now
        )
        existing.update(inserted)

        changes: list[PostChange] = []
        announced: set[tuple[int, int]] = set()
        for post, analysis in zip(posts, analyses, strict=True):
            channel = channels[post.channel]
            key = (channel.id, post.message_id)
            current = existing[key]
            if key in inserted and key not in announced:
                announced.add(key)
                changes.append(
                    PostChange(
                        ChangeKind.NEW, channel, post.message_id, current, origin, analysis=analysis
                    )
                )
                continue
            if (current.text, current.media_kind) == post.content_key:
                if post.views is not None and post.views != current.views:
                    await post_repo.update_views(conn, current.id, post.views)
                changes.append(
                    PostChange(ChangeKind.UNCHANGED, channel, post.message_id, current, origin)
                )
                continue
            version = await post_repo.store_edit(conn, current, post, now=now)
            updated = await post_repo.get_post(conn, channel.id, post.message_id)
            assert updated is not None
            existing[key] = updated
            changes.append(
                PostChange(
                    ChangeKind.EDIT,
                    channel,
                    post.message_id,
                    updated,
                    origin,
                    previous_text=current.text,
                    version=version,
                    analysis=analysis,
                )
            )
        return changes

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
                changes.append(
                    PostChange(ChangeKind.DELETION, stored_channel, message_id, stored, origin)
                )
            if changes:
                await self._notify(conn, changes)
        return changes

    async def _notify(self, conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        for listener in self._listeners:
            await listener(conn, changes)
