"""The alert engine: which chats hear about a stored change, enqueued in the same transaction.

It is an ingest listener. All live subscriptions are compiled into one `SubscriptionIndex`;
each new post is matched once and every subscribed chat gets ONE outbox row however many of
its subscriptions match (invariant 2: the row's key is (chat, post, kind, version), written
in the transaction that stored the post). Rules:
- posts from first sight, backfill and imports never alert; a post older than
  `max_post_age` (default 24 h) is archived without an alert;
- a forwarded post alerts only subscriptions that keep forwards on;
- the same statement in several channels (a forward of a post already alerted to the chat,
  or a near-identical text within 24 h, see `bot.dedup`) is one alert: later copies enqueue
  `also_in`, which edits the sent alert in place;
- an edit of an alerted post enqueues `edit` (with the previous text, for the diff) for chats
  whose subscriptions keep edits on, also when the edit makes it stop matching; an edit that
  makes a post match for the first time is a normal new alert;
- a deletion of an alerted post enqueues `deletion` for chats that keep deletions on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import aiosqlite

from bot.dedup import near_identical
from bot.ingest import ChangeKind, Clock, PostChange
from bot.models import SILENT_ORIGINS, PostOrigin, to_epoch, utc_now
from bot.query import Analysis, Document, Normalizer, QueryError, SubscriptionIndex, get_normalizer
from storage import alerts as alert_repo
from storage import channels as channel_repo
from storage import outbox as outbox_repo
from storage.db import Database

log = logging.getLogger(__name__)

DEDUP_WINDOW = timedelta(hours=24)


EDIT_COALESCE = timedelta(minutes=1)


class AlertEngine:
    """Matches changes against every live subscription and enqueues alerts."""

    def __init__(
        self,
        *,
        max_post_age: timedelta = timedelta(hours=24),
        clock: Clock = utc_now,
        normalizer: Callable[[], Normalizer] = get_normalizer,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self._max_age = max_post_age
        self._clock = clock
        self._normalizer = normalizer
        self._on_enqueued = on_enqueued
        self._index: SubscriptionIndex | None = None
        self._subscriptions: dict[int, alert_repo.SubscriptionRecord] = {}
        # The index is not safe for concurrent mutation: matching runs in a worker thread.
        self._lock = threading.Lock()

    def set_on_enqueued(self, callback: Callable[[], None]) -> None:
        """Call `callback` after a batch enqueued alerts (wakes the notifier)."""
        self._on_enqueued = callback

    @property
    def index(self) -> SubscriptionIndex:
        """The compiled index of live subscriptions (built on first use)."""
        if self._index is None:
            self._index = SubscriptionIndex(self._normalizer())
        return self._index

    def __len__(self) -> int:
        return len(self._subscriptions)

    async def load(self, db: Database) -> int:
        """Compile every live subscription from scratch (at start, and after a chat was
        deactivated or migrated); returns how many."""
        async with db.read() as conn:
            records = await alert_repo.live_subscriptions(conn)
        await asyncio.to_thread(self._replace_all, records)
        return len(self._subscriptions)

    def _replace_all(self, records: Sequence[alert_repo.SubscriptionRecord]) -> None:
        fresh = SubscriptionIndex(self._normalizer())
        subscriptions: dict[int, alert_repo.SubscriptionRecord] = {}
        for record in records:
            try:
                fresh.add(record.id, record.query)
            except QueryError as exc:
                log.error("subscription %s no longer compiles (%s): skipped", record.id, exc)
                continue
            subscriptions[record.id] = record
        with self._lock:
            self._index = fresh
            self._subscriptions = subscriptions

    def _add(self, record: alert_repo.SubscriptionRecord) -> None:
        with self._lock:
            try:
                self.index.add(record.id, record.query)
            except QueryError as exc:
                # Stored queries were valid when saved; a rule change may break one.
                log.error("subscription %s no longer compiles (%s): skipped", record.id, exc)
                return
            self._subscriptions[record.id] = record

    async def refresh(self, db: Database, sub_id: int) -> None:
        """Re-read one subscription after it was added, changed, paused or deleted."""
        async with db.read() as conn:
            record = await alert_repo.subscription(conn, sub_id)
        self.remove(sub_id)
        if record is not None:
            await asyncio.to_thread(self._add, record)

    def remove(self, sub_id: int) -> None:
        """Stop alerting a subscription."""
        with self._lock:
            self._subscriptions.pop(sub_id, None)
            if self._index is not None:
                self.index.remove(sub_id)

    async def _enqueue(
        self,
        conn: aiosqlite.Connection,
        chat_id: int,
        post_id: int,
        kind: str,
        version: int,
        sub_ids: Sequence[int],
        payload: dict[str, Any],
    ) -> bool:
        now = self._clock()
        not_before = None
        if kind == "edit":
            # Edits within a minute are announced once: a later edit folds into the pending
            # alert, whose "before" text stays the one the chat last saw.
            if await outbox_repo.merge_pending_edit(conn, chat_id, post_id, version):
                return False
            not_before = to_epoch(now + EDIT_COALESCE)
        return await outbox_repo.enqueue(
            conn,
            chat_id,
            post_id,
            kind,
            version,
            sub_ids,
            payload,
            now=to_epoch(now),
            not_before=not_before,
        )

    # -- the ingest listener --
    async def __call__(self, conn: aiosqlite.Connection, changes: Sequence[PostChange]) -> None:
        enqueued = 0
        for change in changes:
            if change.post is None:
                continue
            if change.kind is ChangeKind.NEW:
                enqueued += await self._on_new(conn, change)
            elif change.kind is ChangeKind.EDIT:
                enqueued += await self._on_edit(conn, change)
            elif change.kind is ChangeKind.DELETION:
                enqueued += await self._on_deletion(conn, change)
        if enqueued and self._on_enqueued is not None:
            self._on_enqueued()

    def _alertable(self, change: PostChange) -> bool:
        assert change.post is not None
        if change.origin in SILENT_ORIGINS:
            return False
        return change.post.date >= self._clock() - self._max_age

    async def _matching(
        self, conn: aiosqlite.Connection, change: PostChange
    ) -> dict[int, list[alert_repo.SubscriptionRecord]]:
        """Chat -> its live subscriptions that match the post's current text."""
        assert change.post is not None
        if not self._subscriptions:
            return {}
        keys = await channel_repo.channel_keys(conn, change.post.channel_id)
        document = Document(change.post.text, keys)
        analysis = change.analysis if isinstance(change.analysis, Analysis) else None

        def match() -> list[int]:
            with self._lock:
                return self.index.match(document, analysis)

        by_chat: dict[int, list[alert_repo.SubscriptionRecord]] = {}
        for sub_id in await asyncio.to_thread(match):
            record = self._subscriptions.get(sub_id)
            if record is None:
                continue
            if change.post.forward is not None and not record.forwards:
                continue
            by_chat.setdefault(record.chat_id, []).append(record)
        return by_chat

    def _highlights(self, change: PostChange, sub_ids: Sequence[int]) -> list[list[int]]:
        assert change.post is not None
        spans: set[tuple[int, int]] = set()
        keys: frozenset[str] = frozenset()
        analysis = change.analysis if isinstance(change.analysis, Analysis) else None
        with self._lock:
            for sub_id in sub_ids:
                if sub_id in self.index:
                    for hit in self.index.explain(
                        sub_id, Document(change.post.text, keys), analysis
                    ):
                        if hit.start >= 0:
                            spans.add((hit.start, hit.end))
        return [list(span) for span in sorted(spans)]

    async def _on_new(self, conn: aiosqlite.Connection, change: PostChange) -> int:
        assert change.post is not None
        if not self._alertable(change):
            return 0
        enqueued = 0
        for chat_id, records in (await self._matching(conn, change)).items():
            sub_ids = [r.id for r in records]
            original = await self._same_statement(conn, chat_id, change)
            if original is not None:
                payload: dict[str, Any] = {"original_post_id": original}
                kind = "also_in"
            else:
                payload = {
                    "highlights": await asyncio.to_thread(self._highlights, change, sub_ids),
                    "late": change.post.late,
                    "silent": all(r.silent for r in records),
                }
                kind = "new"
            if await self._enqueue(conn, chat_id, change.post.id, kind, 0, sub_ids, payload):
                enqueued += 1
        return enqueued

    async def _same_statement(
        self, conn: aiosqlite.Connection, chat_id: int, change: PostChange
    ) -> int | None:
        """The post already alerted to this chat that `change` repeats, if any."""
        post = change.post
        assert post is not None
        since = to_epoch(self._clock() - DEDUP_WINDOW)
        recent = await alert_repo.recent_alerts(conn, chat_id, since=since)
        forward = post.forward
        mine = (
            (forward.channel_id, forward.message_id)
            if forward is not None and forward.channel_id is not None
            else None
        )
        for alerted in recent:
            if alerted.post_id == post.id:
                continue
            theirs = (
                (alerted.fwd_channel_id, alerted.fwd_message_id)
                if alerted.fwd_channel_id is not None
                else None
            )
            if mine is not None and (
                mine == (alerted.channel_telegram_id, alerted.message_id) or mine == theirs
            ):
                return alerted.post_id
        analysis = change.analysis if isinstance(change.analysis, Analysis) else None
        candidates = [(r.post_id, r.text) for r in recent if r.channel_id != post.channel_id]
        if not candidates:
            return None
        normalizer = self._normalizer

        def compare() -> int | None:
            n = normalizer()
            own = analysis or n.analyse(post.text)
            for post_id, text in candidates:
                if near_identical(own, n.analyse(text)):
                    return post_id
            return None

        return await asyncio.to_thread(compare)

    async def _on_edit(self, conn: aiosqlite.Connection, change: PostChange) -> int:
        assert change.post is not None
        alerted = await alert_repo.alerted_chats(conn, change.post.id)
        enqueued = 0
        for chat_id, sub_ids in alerted.items():
            known = [self._subscriptions.get(s) for s in sub_ids]
            if not any(r is not None and r.edits for r in known):
                continue
            payload: dict[str, Any] = {"previous_text": change.previous_text or ""}
            if await self._enqueue(
                conn, chat_id, change.post.id, "edit", change.version, sub_ids, payload
            ):
                enqueued += 1
        if change.origin not in (PostOrigin.IMPORT, PostOrigin.BACKFILL):
            # An edit that makes a post match for the first time is a normal alert.
            fresh = PostChange(
                ChangeKind.NEW,
                change.channel,
                change.message_id,
                change.post,
                change.origin,
                analysis=change.analysis,
            )
            if self._alertable(fresh):
                for chat_id, records in (await self._matching(conn, fresh)).items():
                    if chat_id in alerted:
                        continue
                    sub_ids = [r.id for r in records]
                    payload = {
                        "highlights": await asyncio.to_thread(self._highlights, fresh, sub_ids),
                        "late": change.post.late,
                        "silent": all(r.silent for r in records),
                    }
                    if await self._enqueue(
                        conn, chat_id, change.post.id, "new", 0, sub_ids, payload
                    ):
                        enqueued += 1
        return enqueued

    async def _on_deletion(self, conn: aiosqlite.Connection, change: PostChange) -> int:
        assert change.post is not None
        enqueued = 0
        for chat_id, sub_ids in (await alert_repo.alerted_chats(conn, change.post.id)).items():
            known = [self._subscriptions.get(s) for s in sub_ids]
            if not any(r is not None and r.deletions for r in known):
                continue
            if await self._enqueue(conn, chat_id, change.post.id, "deletion", 0, sub_ids, {}):
                enqueued += 1
        return enqueued
