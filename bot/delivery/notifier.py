"""The outbox worker: claims due alerts, renders and sends them through the one Bot.

A row is marked sent only after Telegram accepted every part of it, so a crash between
claim and send resends it (stale claims return to pending) and a confirmed alert is never
sent again. Telegram's answers: 429 waits `retry_after` and sends again; 5xx and network
errors retry with backoff, then fail with the reason logged; 403 deactivates the chat's
subscriptions; a group migrated to a supergroup moves to the new id and is sent there; a
400 about the formatting falls back to plain text. Nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import aiosqlite
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.config import DeliverySettings
from bot.delivery import render
from bot.delivery.ratelimit import RateLimiter
from bot.models import ChannelRef, StoredChannel, StoredPost, to_epoch, utc_now
from bot.search import post_link
from storage import channels as channel_repo
from storage import chats as chat_repo
from storage import outbox as outbox_repo
from storage import posts as post_repo
from storage.db import Database, fetch_all

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
MAX_BACKOFF = 300
RETRY_AFTER_TRIES = 5
CONCURRENT_CHATS = 16


class _Outcome(enum.Enum):
    """How one attempt at an alert ended."""

    SENT = "sent"
    FAILED = "failed"  # given up on (logged, kept with its reason)
    RETRY = "retry"  # a transient failure: tried again later


class _GiveUp(Exception):
    """The alert cannot be delivered; the reason is the message."""


class _Transient(Exception):
    """Try again later; the reason is the message."""


class Notifier:
    """Drains the outbox within Telegram's limits."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        settings: DeliverySettings | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        on_chats_changed: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._db = db
        # Called after a chat was deactivated (403) or migrated, so alerting follows.
        self._on_chats_changed = on_chats_changed
        self._bot = bot
        self._settings = settings or DeliverySettings()
        self._clock = clock
        self._sleep = sleep
        self.limiter = RateLimiter(self._settings, monotonic=monotonic, sleep=sleep)
        self._wake = asyncio.Event()
        self.sent = 0

    def notify_new(self) -> None:
        """New rows were enqueued: drain now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 5.0) -> None:
        """Deliver until `stop` is set; woken by `notify_new` or every `poll_seconds`."""
        async with self._db.write() as conn:
            released = await outbox_repo.release_stale_claims(conn, older_than=self._now() + 1)
        if released:
            log.info("resending %d alert(s) claimed before a restart", released)
        while not stop.is_set():
            self._wake.clear()
            await self.drain_once()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                [waiter, stopper], timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            waiter.cancel()
            stopper.cancel()

    def _now(self) -> int:
        return to_epoch(self._clock())

    async def drain_once(self, *, batch: int = 50) -> int:
        """Send every alert due now; returns how many were sent."""
        sent = 0
        while True:
            async with self._db.write() as conn:
                await outbox_repo.release_stale_claims(
                    conn, older_than=self._now() - self._settings.stale_claim_seconds
                )
                rows = await outbox_repo.claim_due(conn, now=self._now(), limit=batch)
            if not rows:
                return sent
            # Chats are served concurrently (the limiter paces them), each chat's alerts in
            # order, so an edit never overtakes the alert it edits.
            by_chat: dict[int, list[outbox_repo.OutboxRow]] = {}
            for row in rows:
                by_chat.setdefault(row.chat_id, []).append(row)
            gate = asyncio.Semaphore(CONCURRENT_CHATS)
            sent += sum(
                await asyncio.gather(*(self._serve_chat(r, gate) for r in by_chat.values()))
            )

    async def _serve_chat(self, rows: list[outbox_repo.OutboxRow], gate: asyncio.Semaphore) -> int:
        async with gate:
            done = 0
            for index, row in enumerate(rows):
                outcome = await self._deliver(row)
                if outcome is _Outcome.RETRY:
                    # Later alerts of this chat wait for this one: they never overtake it.
                    async with self._db.write() as conn:
                        await outbox_repo.release(conn, [r.id for r in rows[index + 1 :]])
                    break
                done += outcome is _Outcome.SENT
            return done

    async def _deliver(self, row: outbox_repo.OutboxRow) -> _Outcome:
        chat_id = row.chat_id
        try:
            messages, edit_of = await self._render(row)
            message_ids = await self._send(row, chat_id, messages, edit_of)
        except _GiveUp as exc:
            log.warning("alert %s to chat %s not delivered: %s", row.id, chat_id, exc)
            async with self._db.write() as conn:
                await outbox_repo.mark_failed(conn, row.id, error=str(exc))
            return _Outcome.FAILED
        except (TelegramServerError, TelegramNetworkError, _Transient) as exc:
            error = f"{exc.__class__.__name__}: {getattr(exc, 'message', exc)}"
            async with self._db.write() as conn:
                if row.attempts >= self._settings.max_attempts:
                    log.error("alert %s to chat %s failed for good: %s", row.id, chat_id, error)
                    await outbox_repo.mark_failed(conn, row.id, error=error)
                    return _Outcome.FAILED
                delay = min(MAX_BACKOFF, 2**row.attempts)
                await outbox_repo.schedule_retry(conn, row.id, at=self._now() + delay, error=error)
            return _Outcome.RETRY
        async with self._db.write() as conn:
            await outbox_repo.mark_sent(conn, row.id, now=self._now(), message_ids=message_ids)
        self.sent += 1
        return _Outcome.SENT

    async def _send(
        self, row: outbox_repo.OutboxRow, chat_id: int, messages: list[str], edit_of: int | None
    ) -> list[int]:
        silent = bool(row.payload.get("silent", False))
        # Parts delivered by an earlier attempt are not sent again.
        ids: list[int] = list(row.sent_parts[: len(messages)])
        if ids:
            edit_of = None
        for text in messages[len(ids) :]:
            ids.append(await self._send_one(row, chat_id, text, silent, edit_of))
            edit_of = None
            if len(ids) < len(messages):
                async with self._db.write() as conn:
                    await outbox_repo.record_parts(conn, row.id, ids)
        return ids

    async def _send_one(
        self,
        row: outbox_repo.OutboxRow,
        chat_id: int,
        text: str,
        silent: bool,
        edit_of: int | None,
        *,
        plain: bool = False,
    ) -> int:
        for _ in range(RETRY_AFTER_TRIES):
            await self.limiter.wait(chat_id)
            try:
                if edit_of is not None:
                    await self._bot.edit_message_text(
                        text=text,
                        chat_id=chat_id,
                        message_id=edit_of,
                        parse_mode=None if plain else "HTML",
                        disable_web_page_preview=True,
                    )
                    return edit_of
                message = await self._bot.send_message(
                    chat_id,
                    text,
                    parse_mode=None if plain else "HTML",
                    disable_notification=silent,
                    disable_web_page_preview=True,
                )
                return message.message_id
            except TelegramRetryAfter as exc:
                log.info("429 for chat %s: waiting %ss", chat_id, exc.retry_after)
                self.limiter.delay_chat(chat_id, exc.retry_after)
                await self._sleep(exc.retry_after)
            except TelegramForbiddenError as exc:
                async with self._db.write() as conn:
                    await chat_repo.deactivate(conn, chat_id)
                if self._on_chats_changed is not None:
                    await self._on_chats_changed()
                raise _GiveUp(
                    f"chat unreachable ({exc.message}); its subscriptions stopped"
                ) from exc
            except TelegramMigrateToChat as exc:
                async with self._db.write() as conn:
                    await chat_repo.migrate(conn, chat_id, exc.migrate_to_chat_id)
                if self._on_chats_changed is not None:
                    await self._on_chats_changed()
                log.info("chat %s moved to %s", chat_id, exc.migrate_to_chat_id)
                chat_id = exc.migrate_to_chat_id
            except TelegramBadRequest as exc:
                if not plain and "parse" in exc.message.lower():
                    log.warning("formatting rejected for alert %s; sending plain text", row.id)
                    return await self._send_one(
                        row, chat_id, render.as_plain(text), silent, edit_of, plain=True
                    )
                if edit_of is not None and "not modified" in exc.message.lower():
                    return edit_of
                raise _GiveUp(f"Telegram refused it: {exc.message}") from exc
        raise _Transient(f"still rate limited after {RETRY_AFTER_TRIES} waits")

    # -- rendering --
    async def _render(self, row: outbox_repo.OutboxRow) -> tuple[list[str], int | None]:
        async with self._db.read() as conn:
            post = await post_repo.get_post_by_id(conn, row.post_id)
            if post is None:
                raise _GiveUp(f"post {row.post_id} is gone")
            channel = await channel_repo.get_channel(conn, post.channel_id)
            assert channel is not None
            ctx = await self._context(conn, row, post, channel)
            if row.kind == "new":
                spans = [(int(s), int(e)) for s, e in row.payload.get("highlights", [])]
                return render.render_new(ctx, post.text, spans), None
            if row.kind == "edit":
                before = str(row.payload.get("previous_text", ""))
                return render.render_edit(ctx, before, post.text), None
            if row.kind == "deletion":
                return render.render_deletion(ctx, post.text), None
            return await self._render_also_in(conn, row)

    async def _render_also_in(
        self, conn: aiosqlite.Connection, row: outbox_repo.OutboxRow
    ) -> tuple[list[str], int | None]:
        """The first alert again, edited in place, with every copy listed under "Also in"."""
        original_id = int(row.payload["original_post_id"])
        sent = await outbox_repo.sent_message_ids(conn, row.chat_id, original_id)
        original = await post_repo.get_post_by_id(conn, original_id)
        if original is None or not sent:
            raise _GiveUp("the first alert of this statement was not delivered")
        channel = await channel_repo.get_channel(conn, original.channel_id)
        assert channel is not None
        first = await fetch_all(
            conn,
            "SELECT subscription_ids, payload FROM outbox WHERE chat_id = ? AND post_id = ? "
            "AND kind = 'new'",
            (row.chat_id, original_id),
        )
        copies = await fetch_all(
            conn,
            "SELECT c.username, c.telegram_id, p.message_id FROM outbox o "
            "JOIN posts p ON p.id = o.post_id JOIN channels c ON c.id = p.channel_id "
            "WHERE o.chat_id = ? AND o.kind = 'also_in' AND o.status != 'failed' "
            "AND json_extract(o.payload, '$.original_post_id') = ? ORDER BY o.id",
            (row.chat_id, original_id),
        )
        links = [post_link(_channel_of(r[0], r[1]), int(r[2])) for r in copies]
        first_row = outbox_repo.OutboxRow(
            0,
            row.chat_id,
            original_id,
            "new",
            0,
            tuple(json.loads(first[0][0])),
            json.loads(first[0][1]),
            0,
        )
        ctx = await self._context(conn, first_row, original, channel)
        spans = [(int(s), int(e)) for s, e in first_row.payload.get("highlights", [])]
        messages = render.render_new(ctx, original.text, spans, also_in=links)
        return messages[:1], sent[0]

    async def _context(
        self,
        conn: aiosqlite.Connection,
        row: outbox_repo.OutboxRow,
        post: StoredPost,
        channel: StoredChannel,
    ) -> render.AlertContext:
        queries: list[str] = []
        if row.subscription_ids:
            marks = ",".join("?" for _ in row.subscription_ids)
            rows = await fetch_all(
                conn,
                f"SELECT query FROM subscriptions WHERE id IN ({marks}) ORDER BY id",
                row.subscription_ids,
            )
            queries = [str(r[0]) for r in rows]
        forwarded = None
        if post.forward is not None:
            origin = None
            if post.forward.channel_id is not None:
                origin = await channel_repo.find_channel(
                    conn, ChannelRef(telegram_id=post.forward.channel_id)
                )
            if origin is not None and origin.username:
                forwarded = f"@{origin.username}"
            else:
                forwarded = post.forward.name or f"channel {post.forward.channel_id}"
        return render.AlertContext(
            channel_title=channel.title or f"@{channel.username}",
            link=post_link(channel, post.message_id),
            date=post.date,
            timezone=await chat_repo.timezone_of(conn, row.chat_id),
            forwarded_from=forwarded,
            late=bool(row.payload.get("late", False)),
            queries=tuple(queries),
            language=await chat_repo.language_of(conn, row.chat_id) or "en",
        )


def _channel_of(username: str | None, telegram_id: int | None) -> StoredChannel:
    return StoredChannel(0, telegram_id, username, None, None, "telegram", False, True)
