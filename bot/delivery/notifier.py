"""The outbox worker: claims due alerts, renders and sends them through the one Bot.

A row is marked sent only after Telegram accepted every part of it, so a crash between
claim and send resends it (stale claims return to pending) and a confirmed alert is never
sent again. Telegram's answers: 429 waits `retry_after` and sends again; 5xx and network
errors retry with backoff, then fail with the reason logged; 403 deactivates the chat's
subscriptions; a group migrated to a supergroup moves to the new id and is sent there; a
400 about the formatting falls back to plain text; any other error is logged and retried
like a 5xx. Nothing is dropped silently.

Each chat with alerts due gets one worker that sends them in order; the workers run
concurrently, so a chat that waits (its own rate limit, a 429, a hung request) delays no
other chat. A chat's later alerts are not claimed while an earlier one is claimed or waits
for a retry (see `storage.outbox.claim_due`).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from asyncio import FIRST_COMPLETED
from collections import deque
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
MAX_ACTIVE_CHATS = 32  # chats being served at once (each by its own worker)


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
        self._queues: dict[int, deque[outbox_repo.OutboxRow]] = {}  # claimed, by chat
        self._workers: dict[int, asyncio.Task[None]] = {}  # one per chat being served
        self._held: set[int] = set()  # outbox ids claimed by this notifier and not done
        self.sent = 0

    def notify_new(self) -> None:
        """New rows were enqueued: drain now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 5.0) -> None:
        """Deliver until `stop` is set; woken by `notify_new`, by a chat's worker finishing,
        or every `poll_seconds`. An error while claiming is logged and the loop goes on."""
        async with self._db.write() as conn:
            released = await outbox_repo.release_stale_claims(conn, older_than=self._now() + 1)
        if released:
            log.info("resending %d alert(s) claimed before a restart", released)
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.dispatch()
                except Exception:
                    log.exception("could not claim alerts; trying again in %.0fs", poll_seconds)
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait(
                    [waiter, stopper], timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                waiter.cancel()
                stopper.cancel()
        finally:
            await self._stop_workers(grace_seconds=3.0)

    def _now(self) -> int:
        return to_epoch(self._clock())

    async def dispatch(self, *, batch: int = 50) -> int:
        """Claim every alert due now and hand it to its chat's worker; returns how many were
        claimed. Chats are served concurrently (up to `MAX_ACTIVE_CHATS`, paced by the
        rate limiter), each chat's alerts in order by one worker, so one slow chat (a 429, a
        group's limit, a hung request) never holds up the others."""
        claimed = 0
        while True:
            room = MAX_ACTIVE_CHATS - len(self._workers)
            if room <= 0:
                return claimed  # a worker finishing wakes the notifier for the rest
            async with self._db.write() as conn:
                # A claim this notifier does not hold was left by one that died (or by a
                # worker that was cancelled): sent again once it is stale.
                await outbox_repo.release_stale_claims(
                    conn,
                    older_than=self._now() - self._settings.stale_claim_seconds,
                    keep=self._held,
                )
                rows = await outbox_repo.claim_due(conn, now=self._now(), limit=min(batch, room))
            if not rows:
                return claimed
            claimed += len(rows)
            for row in rows:
                self._held.add(row.id)
                self._queues.setdefault(row.chat_id, deque()).append(row)
                if row.chat_id not in self._workers:
                    self._workers[row.chat_id] = asyncio.create_task(
                        self._work(row.chat_id), name=f"alerts-chat-{row.chat_id}"
                    )

    async def drain_once(self, *, batch: int = 50) -> int:
        """Send every alert due now and wait for it; returns how many were sent.

        Cancelling it cancels the chats' workers too (their claimed rows are sent again
        once stale), as when the notifier dies."""
        before = self.sent
        try:
            while True:
                await self.dispatch(batch=batch)
                if not self._workers:
                    break
                await asyncio.wait(list(self._workers.values()), return_when=FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self._stop_workers(grace_seconds=0.0)
            raise
        return self.sent - before

    async def _stop_workers(self, *, grace_seconds: float) -> None:
        """Let the workers finish for `grace_seconds`, then cancel them (rows they still hold
        stay claimed and are sent again after a restart)."""
        workers = list(self._workers.values())
        if not workers:
            return
        if grace_seconds > 0:
            await asyncio.wait(workers, timeout=grace_seconds)
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _work(self, chat_id: int) -> None:
        """Deliver one chat's claimed alerts in order; a retry holds back the rest."""
        queue = self._queues[chat_id]
        current: outbox_repo.OutboxRow | None = None
        try:
            while queue:
                current = queue.popleft()
                outcome = await self._deliver(current)
                self._held.discard(current.id)
                current = None
                if outcome is _Outcome.RETRY and queue:
                    # Later alerts of this chat wait for this one: they never overtake it.
                    rest = [r.id for r in queue]
                    async with self._db.write() as conn:
                        await outbox_repo.release(conn, rest)
                    queue.clear()
                    self._held.difference_update(rest)
        finally:
            # No await from here on: the queue and the worker go away together.
            del self._workers[chat_id]
            left = [r.id for r in queue] + ([current.id] if current is not None else [])
            if left:  # cancelled or crashed: the rows stay claimed until they are stale
                log.warning("alerts %s to chat %s left claimed", left, chat_id)
                self._held.difference_update(left)
            del self._queues[chat_id]
            self._wake.set()  # the chat's next alerts may be due now

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
            return await self._retry_or_fail(row, error)
        except Exception as exc:  # anything else (an unexpected API answer, a bug): retried
            log.exception("alert %s to chat %s: unexpected error", row.id, chat_id)
            return await self._retry_or_fail(row, f"{exc.__class__.__name__}: {exc}")
        async with self._db.write() as conn:
            await outbox_repo.mark_sent(conn, row.id, now=self._now(), message_ids=message_ids)
        self.sent += 1
        return _Outcome.SENT

    async def _retry_or_fail(self, row: outbox_repo.OutboxRow, error: str) -> _Outcome:
        """Try again later with backoff, or give up after `max_attempts` (logged)."""
        async with self._db.write() as conn:
            if row.attempts >= self._settings.max_attempts:
                log.error("alert %s to chat %s failed for good: %s", row.id, row.chat_id, error)
                await outbox_repo.mark_failed(conn, row.id, error=error)
                return _Outcome.FAILED
            delay = min(MAX_BACKOFF, 2**row.attempts)
            await outbox_repo.schedule_retry(conn, row.id, at=self._now() + delay, error=error)
        return _Outcome.RETRY

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
            try:
                await self.limiter.wait(chat_id)
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
