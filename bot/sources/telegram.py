"""The Telethon side: the only module that imports Telethon.

It turns a Telethon `Message` into our `Post`, listens for new posts, edits and deletions
in the watched channels, and runs catch-up within a request budget: first sight of a
channel, fetching what live updates missed (`iter_messages(min_id=cursor)`), and
re-checking recent ids for deletions and edits Telegram did not announce.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import TelegramClient, errors, events, functions, types, utils
from telethon.sessions import StringSession

from bot.config import CatchUpSettings, TelegramSettings
from bot.ingest import ChangeKind, Ingestor, PostChange
from bot.models import (
    ChannelRef,
    ForwardOrigin,
    MediaKind,
    Post,
    PostOrigin,
    StoredChannel,
    to_epoch,
    utc_now,
)
from bot.sources.budget import RequestBudget
from bot.sources.rotation import ChannelState, Task, TaskKind, next_task
from storage import channels as channel_repo
from storage import cursors as cursor_repo
from storage import posts as post_repo
from storage.db import Database

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]

PAGE = 100  # messages per GetHistory request


# --- Message -> Post -------------------------------------------------------------------
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _entity_to_dict(entity: types.TypeMessageEntity) -> dict[str, Any]:
    raw = entity.to_dict()
    name = str(raw.pop("_")).removeprefix("MessageEntity") or "unknown"
    result: dict[str, Any] = {"type": _CAMEL.sub("_", name).lower()}
    for key, value in raw.items():
        if isinstance(value, str | int | float | bool) or value is None:
            if value is not None:
                result[key] = value
    return result


def media_kind_of(media: types.TypeMessageMedia | None) -> MediaKind:
    """Our media kind for a Telethon media object."""
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return MediaKind.NONE
    if isinstance(media, types.MessageMediaPhoto):
        return MediaKind.PHOTO
    if isinstance(media, types.MessageMediaDocument):
        document = media.document
        attributes = getattr(document, "attributes", None) or []
        for attribute in attributes:
            if isinstance(attribute, types.DocumentAttributeSticker):
                return MediaKind.STICKER
        for attribute in attributes:
            if isinstance(attribute, types.DocumentAttributeAnimated):
                return MediaKind.ANIMATION
        for attribute in attributes:
            if isinstance(attribute, types.DocumentAttributeVideo):
                return MediaKind.ROUND_VIDEO if attribute.round_message else MediaKind.VIDEO
            if isinstance(attribute, types.DocumentAttributeAudio):
                return MediaKind.VOICE if attribute.voice else MediaKind.AUDIO
        return MediaKind.DOCUMENT
    simple: list[tuple[type[Any], MediaKind]] = [
        (types.MessageMediaPoll, MediaKind.POLL),
        (types.MessageMediaWebPage, MediaKind.WEBPAGE),
        (types.MessageMediaGeo, MediaKind.GEO),
        (types.MessageMediaGeoLive, MediaKind.GEO),
        (types.MessageMediaVenue, MediaKind.GEO),
        (types.MessageMediaContact, MediaKind.CONTACT),
        (types.MessageMediaDice, MediaKind.DICE),
        (types.MessageMediaGame, MediaKind.GAME),
        (types.MessageMediaInvoice, MediaKind.INVOICE),
        (types.MessageMediaStory, MediaKind.STORY),
    ]
    for cls, kind in simple:
        if isinstance(media, cls):
            return kind
    return MediaKind.OTHER


def forward_of(header: types.MessageFwdHeader | None) -> ForwardOrigin | None:
    """Where a forwarded message came from."""
    if header is None:
        return None
    channel_id = None
    message_id = None
    if isinstance(header.from_id, types.PeerChannel):
        channel_id = header.from_id.channel_id
        message_id = header.channel_post
    name = header.from_name or header.post_author
    if channel_id is None and name is None and header.from_id is not None:
        name = f"peer {utils.get_peer_id(header.from_id)}"
    return ForwardOrigin(channel_id=channel_id, message_id=message_id, name=name)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def message_to_post(message: types.TypeMessage, channel: ChannelRef) -> Post | None:
    """Our `Post` for a channel message; None for service and empty messages."""
    if not isinstance(message, types.Message):
        return None
    date = _utc(message.date)
    assert date is not None
    reply = message.reply_to
    return Post(
        channel=channel,
        message_id=message.id,
        date=date,
        text=message.message or "",
        entities=tuple(_entity_to_dict(e) for e in (message.entities or [])),
        media_kind=media_kind_of(message.media),
        forward=forward_of(message.fwd_from),
        grouped_id=message.grouped_id,
        views=message.views,
        author=message.post_author,
        # edit_hide: Telegram marks the change as not an edit (e.g. only buttons changed)
        edit_date=None if message.edit_hide else _utc(message.edit_date),
        reply_to=reply.reply_to_msg_id if isinstance(reply, types.MessageReplyHeader) else None,
    )


def bare_channel_id(peer_or_marked_id: int | types.TypePeer) -> int | None:
    """The bare channel id of a marked id (-100...) or a PeerChannel; None for other peers."""
    if isinstance(peer_or_marked_id, types.PeerChannel):
        return int(peer_or_marked_id.channel_id)
    if isinstance(peer_or_marked_id, int):
        real_id, peer_type = utils.resolve_id(peer_or_marked_id)
        return int(real_id) if peer_type is types.PeerChannel else None
    return None


# --- the live set of watched channels ---------------------------------------------------
class WatchedChannels:
    """Channels the listener accepts events from; changes at run time (admins add channels)."""

    def __init__(self) -> None:
        self._by_telegram_id: dict[int, ChannelRef] = {}

    def replace(self, channels: Iterable[StoredChannel]) -> None:
        """Watch exactly these channels (those with a known numeric id)."""
        self._by_telegram_id = {
            c.telegram_id: ChannelRef(c.telegram_id, c.username, c.title)
            for c in channels
            if c.telegram_id is not None and c.active
        }

    def add(self, channel: StoredChannel) -> None:
        """Start accepting events from one more channel."""
        if channel.telegram_id is not None:
            self._by_telegram_id[channel.telegram_id] = ChannelRef(
                channel.telegram_id, channel.username, channel.title
            )

    def discard(self, telegram_id: int) -> None:
        """Stop accepting events from a channel."""
        self._by_telegram_id.pop(telegram_id, None)

    def ref(self, telegram_id: int | None) -> ChannelRef | None:
        """How to name a watched channel, or None when it is not watched."""
        return None if telegram_id is None else self._by_telegram_id.get(telegram_id)

    def __contains__(self, telegram_id: object) -> bool:
        return telegram_id in self._by_telegram_id

    def __len__(self) -> int:
        return len(self._by_telegram_id)


# --- live events ------------------------------------------------------------------------
class TelegramListener:
    """Registers chanwatch's handlers on a `TelegramClient` and stores what they receive."""

    def __init__(
        self,
        client: TelegramClient,
        ingestor: Ingestor,
        watched: WatchedChannels,
        *,
        on_failure: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self._ingestor = ingestor
        self._watched = watched
        self._on_failure = on_failure

    def register(self) -> None:
        """Attach the handlers; filters read the live watched set, not a static `chats=`."""
        self._client.add_event_handler(self.on_new_message, events.NewMessage(func=self._accepts))
        self._client.add_event_handler(
            self.on_message_edited, events.MessageEdited(func=self._accepts)
        )
        self._client.add_event_handler(
            self.on_message_deleted, events.MessageDeleted(func=self._accepts)
        )

    def _accepts(self, event: Any) -> bool:
        chat_id = getattr(event, "chat_id", None)
        return chat_id is not None and bare_channel_id(chat_id) in self._watched

    def _post_of(self, event: Any) -> Post | None:
        telegram_id = bare_channel_id(event.chat_id)
        ref = self._watched.ref(telegram_id)
        if ref is None:
            return None
        return message_to_post(event.message, ref)

    async def on_new_message(self, event: events.NewMessage.Event) -> None:
        """A new channel post: stored once; a repeat is a no-op."""
        post = self._post_of(event)
        if post is not None:
            await self._store(post)

    async def on_message_edited(self, event: events.MessageEdited.Event) -> None:
        """An edit: a version is kept only when text or media changed."""
        post = self._post_of(event)
        if post is not None:
            await self._store(post)

    async def on_message_deleted(self, event: events.MessageDeleted.Event) -> None:
        """A deletion: the post is marked deleted and keeps its text."""
        telegram_id = bare_channel_id(event.chat_id)
        ref = self._watched.ref(telegram_id)
        if ref is None or telegram_id is None:
            return
        try:
            await self._ingestor.ingest_deletions(ref, event.deleted_ids, detected_by="live")
        except Exception:
            # Reported here; the re-check of recent ids finds the deletion again later.
            log.exception("could not record deletions in channel %s", ref.username or telegram_id)
            if self._on_failure:
                self._on_failure(telegram_id)

    async def _store(self, post: Post) -> PostChange | None:
        try:
            return await self._ingestor.ingest(post, origin=PostOrigin.LIVE)
        except Exception:
            # Reported, not lost: catch-up fetches it again; mark the channel behind so that
            # happens at the next budgeted request rather than within the hour.
            log.exception("could not store post %s/%s", post.channel.username, post.message_id)
            if self._on_failure and post.channel.telegram_id is not None:
                self._on_failure(post.channel.telegram_id)
            return None


# --- catch-up ---------------------------------------------------------------------------
@dataclass
class CatchUpStats:
    """Counters for status output and tests."""

    requests: int = 0
    fetched: int = 0
    stored_late: int = 0
    deletions_found: int = 0
    flood_waits: int = 0
    by_task: dict[str, int] = field(default_factory=dict)


class FloodDeferred(Exception):
    """A flood wait too long to sleep: the channel is deferred."""


class TelegramCatchUp:
    """Fetches what live updates missed, one budgeted request at a time."""

    def __init__(
        self,
        client: TelegramClient,
        db: Database,
        ingestor: Ingestor,
        watched: WatchedChannels,
        settings: CatchUpSettings,
        *,
        join_channels: bool = True,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        budget: RequestBudget | None = None,
    ) -> None:
        self._client = client
        self._db = db
        self._ingestor = ingestor
        self._watched = watched
        self._settings = settings
        self._join = join_channels
        self._clock = clock
        self._sleep = sleep
        self.budget = budget or RequestBudget(settings.requests_per_minute, clock=clock)
        self._behind: set[int] = set()  # internal channel ids with more to fetch
        self._behind_telegram_ids: set[int] = set()  # live events we failed to store
        self.stats = CatchUpStats()

    # -- watched set and bookkeeping --
    async def refresh_watched(self) -> list[StoredChannel]:
        """Reload the telegram-source channels from the archive into the live set."""
        async with self._db.read() as conn:
            channels = await channel_repo.list_channels(conn, source="telegram")
        self._watched.replace(channels)
        return channels

    def mark_behind_by_telegram_id(self, telegram_id: int) -> None:
        """A live event could not be stored: fetch that channel soon."""
        self._behind_telegram_ids.add(telegram_id)

    async def _states(self, channels: Sequence[StoredChannel]) -> list[ChannelState]:
        now = to_epoch(self._clock())
        async with self._db.read() as conn:
            cursors = await cursor_repo.all_cursors(conn)
            rechecks = await cursor_repo.last_recheck_times(conn)
            rows = await conn.execute_fetchall(
                "SELECT channel_id, COUNT(*) FROM posts WHERE date >= ? GROUP BY channel_id",
                (now - 7 * 24 * 3600,),
            )
        week = {int(r[0]): int(r[1]) for r in rows}
        behind_ids = self._behind_telegram_ids
        states = []
        for channel in channels:
            cursor = cursors.get(channel.id)
            states.append(
                ChannelState(
                    channel_id=channel.id,
                    resolved=channel.telegram_id is not None and channel.access_hash is not None,
                    joined=channel.joined,
                    join_wanted=self._join,
                    has_cursor=cursor is not None and cursor.last_message_id is not None,
                    last_fetch_at=to_epoch(cursor.last_fetch_at)
                    if cursor and cursor.last_fetch_at
                    else None,
                    last_recheck_at=rechecks.get(channel.id),
                    posts_last_week=week.get(channel.id, 0),
                    deferred_until=to_epoch(cursor.deferred_until)
                    if cursor and cursor.deferred_until
                    else None,
                    behind=channel.id in self._behind or channel.telegram_id in behind_ids,
                )
            )
        return states

    # -- one budgeted step --
    async def tick(self) -> Task | None:
        """Do the most urgent request if the budget allows; return what was done."""
        if self.budget.paused:
            return None
        async with self._db.read() as conn:
            channels = await channel_repo.list_channels(conn, source="telegram")
        # Channels added or removed at run time (admins) join or leave the live set here.
        self._watched.replace(channels)
        states = await self._states(channels)
        task = next_task(
            states,
            now=to_epoch(self._clock()),
            min_interval=self._settings.min_interval_seconds,
            max_interval=self._settings.max_interval_seconds,
        )
        if task is None:
            return None
        channel = next(c for c in channels if c.id == task.channel_id)
        if task.kind is TaskKind.RECHECK and not await self._recent_ids(channel):
            async with self._db.write() as conn:
                await cursor_repo.mark_rechecked(conn, channel.id, to_epoch(self._clock()))
            return task
        if not self.budget.try_spend():
            return None
        self.stats.by_task[task.kind.value] = self.stats.by_task.get(task.kind.value, 0) + 1
        try:
            await self._run(task, channel)
        except FloodDeferred:
            pass
        except errors.RPCError as exc:
            log.warning(
                "catch-up %s of %s failed: %s", task.kind, _name(channel), exc.__class__.__name__
            )
            async with self._db.write() as conn:
                await cursor_repo.record_error(conn, channel.id, exc.__class__.__name__)
                await cursor_repo.defer(
                    conn,
                    channel.id,
                    until=to_epoch(self._clock()) + self._settings.min_interval_seconds,
                    reason=exc.__class__.__name__,
                )
        return task

    async def run_until_idle(self, *, max_steps: int = 1000) -> list[Task]:
        """Tick until nothing is due or the budget is spent (for start-up and tests)."""
        done: list[Task] = []
        for _ in range(max_steps):
            task = await self.tick()
            if task is None:
                break
            done.append(task)
        return done

    async def _run(self, task: Task, channel: StoredChannel) -> None:
        if task.kind is TaskKind.RESOLVE:
            await self.resolve_channel(channel)
        elif task.kind is TaskKind.JOIN:
            await self._join_channel(channel)
        elif task.kind is TaskKind.FIRST_SIGHT:
            await self._first_sight(channel)
        elif task.kind is TaskKind.FETCH:
            await self._fetch_missed(channel)
        else:
            await self._recheck(channel)

    # -- Telegram requests with flood-wait handling --
    async def _request(self, channel: StoredChannel, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one request; sleep a short flood wait and retry once, defer on a long one."""
        self.stats.requests += 1
        try:
            return await call()
        except errors.FloodWaitError as exc:
            self.stats.flood_waits += 1
            seconds = int(exc.seconds)
            if seconds <= self._settings.flood_sleep_max_seconds:
                log.info("flood wait of %ss for %s: sleeping", seconds, _name(channel))
                await self._sleep(seconds)
                self.stats.requests += 1
                return await call()
            until = self._clock() + timedelta(seconds=seconds)
            log.warning(
                "flood wait of %ss for %s: deferred until %s", seconds, _name(channel), until
            )
            self.budget.pause_until(until)
            async with self._db.write() as conn:
                await cursor_repo.defer(
                    conn, channel.id, until=to_epoch(until), reason=f"flood wait {seconds}s"
                )
            raise FloodDeferred from exc

    def _input_peer(self, channel: StoredChannel) -> types.InputPeerChannel:
        assert channel.telegram_id is not None and channel.access_hash is not None
        return types.InputPeerChannel(channel.telegram_id, channel.access_hash)

    def _ref(self, channel: StoredChannel) -> ChannelRef:
        return ChannelRef(channel.telegram_id, channel.username, channel.title)

    async def resolve_channel(self, channel: StoredChannel) -> None:
        """Resolve the username once and keep id + access hash for good."""
        if not channel.username:
            return
        try:
            result = await self._request(
                channel,
                lambda: self._client(functions.contacts.ResolveUsernameRequest(channel.username)),
            )
        except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError) as exc:
            log.error("channel @%s does not exist: %s", channel.username, exc.__class__.__name__)
            async with self._db.write() as conn:
                await cursor_repo.defer(
                    conn,
                    channel.id,
                    until=to_epoch(self._clock()) + self._settings.max_interval_seconds,
                    reason="username not found",
                )
            return
        found = next((c for c in result.chats if isinstance(c, types.Channel)), None)
        now = to_epoch(self._clock())
        async with self._db.write() as conn:
            if found is None:
                log.error("@%s is not a channel", channel.username)
                await cursor_repo.defer(
                    conn,
                    channel.id,
                    until=now + self._settings.max_interval_seconds,
                    reason="not a channel",
                )
                return
            stored = await channel_repo.ensure_channel(
                conn, ChannelRef(found.id, found.username or channel.username, found.title), now=now
            )
            await channel_repo.set_access(
                conn, stored.id, telegram_id=found.id, access_hash=found.access_hash
            )
            refreshed = await channel_repo.get_channel(conn, stored.id)
        if refreshed is not None:
            self._watched.add(refreshed)
            if found.left is False:
                async with self._db.write() as conn:
                    await channel_repo.set_joined(conn, refreshed.id)

    async def _join_channel(self, channel: StoredChannel) -> None:
        """Join, so that Telegram pushes live updates for the channel."""
        peer = self._input_peer(channel)
        await self._request(
            channel,
            lambda: self._client(
                functions.channels.JoinChannelRequest(
                    types.InputChannel(peer.channel_id, peer.access_hash)
                )
            ),
        )
        async with self._db.write() as conn:
            await channel_repo.set_joined(conn, channel.id)
        log.info("joined %s", _name(channel))

    async def _first_sight(self, channel: StoredChannel) -> None:
        """Start the cursor at the channel's newest message; what it sees never alerts."""
        messages = await self._request(
            channel, lambda: self._client.get_messages(self._input_peer(channel), limit=1)
        )
        ref = self._ref(channel)
        posts = [p for p in (message_to_post(m, ref) for m in messages) if p is not None]
        newest = max((m.id for m in messages), default=0)
        await self._ingestor.ingest_batch(
            posts, origin=PostOrigin.FIRST_SIGHT, channel=ref, advance_cursor_to=newest
        )
        log.info("first sight of %s at message %s", _name(channel), newest)

    async def _fetch_missed(self, channel: StoredChannel) -> None:
        """One page of messages newer than the cursor, oldest first; stored as late."""
        async with self._db.read() as conn:
            cursor = await cursor_repo.get_cursor(conn, channel.id)
        min_id = cursor.last_message_id if cursor and cursor.last_message_id else 0

        async def page() -> list[types.TypeMessage]:
            return [
                m
                async for m in self._client.iter_messages(
                    self._input_peer(channel), min_id=min_id, reverse=True, limit=PAGE, wait_time=0
                )
            ]

        messages = await self._request(channel, page)
        ref = self._ref(channel)
        posts = [p for p in (message_to_post(m, ref) for m in messages) if p is not None]
        newest = max((m.id for m in messages), default=None)
        changes = await self._ingestor.ingest_batch(
            posts, origin=PostOrigin.CATCHUP, late=True, channel=ref, advance_cursor_to=newest
        )
        self.stats.fetched += len(messages)
        self.stats.stored_late += sum(1 for c in changes if c.kind is ChangeKind.NEW)
        if len(messages) >= PAGE:
            self._behind.add(channel.id)
        else:
            self._behind.discard(channel.id)
            if channel.telegram_id is not None:
                self._behind_telegram_ids.discard(channel.telegram_id)

    async def _recent_ids(self, channel: StoredChannel) -> list[int]:
        since = to_epoch(self._clock()) - self._settings.recheck_max_age_hours * 3600
        async with self._db.read() as conn:
            return await post_repo.recent_message_ids(
                conn, channel.id, since=since, limit=self._settings.recheck_recent
            )

    async def _recheck(self, channel: StoredChannel) -> None:
        """Ask for recent ids again: None means deleted; changed content is a missed edit."""
        ids = await self._recent_ids(channel)
        messages = await self._request(
            channel, lambda: self._client.get_messages(self._input_peer(channel), ids=ids)
        )
        ref = self._ref(channel)
        gone = [mid for mid, m in zip(ids, messages, strict=True) if m is None]
        present = [p for p in (message_to_post(m, ref) for m in messages if m) if p is not None]
        if present:
            await self._ingestor.ingest_batch(present, origin=PostOrigin.CATCHUP, late=True)
        if gone:
            changes = await self._ingestor.ingest_deletions(
                ref, gone, detected_by="recheck", origin=PostOrigin.CATCHUP
            )
            self.stats.deletions_found += len(changes)
        async with self._db.write() as conn:
            await cursor_repo.mark_rechecked(conn, channel.id, to_epoch(self._clock()))

    # -- on request --
    async def backfill(self, channel: StoredChannel, *, limit: int) -> int:
        """Fetch up to `limit` older messages of a channel into the archive (never alerts)."""
        ref = self._ref(channel)
        stored = 0
        batch: list[Post] = []
        async for message in self._client.iter_messages(self._input_peer(channel), limit=limit):
            post = message_to_post(message, ref)
            if post is not None:
                batch.append(post)
            if len(batch) >= PAGE:
                changes = await self._ingestor.ingest_batch(batch, origin=PostOrigin.BACKFILL)
                stored += sum(1 for c in changes if c.kind is ChangeKind.NEW)
                batch = []
        if batch:
            changes = await self._ingestor.ingest_batch(batch, origin=PostOrigin.BACKFILL)
            stored += sum(1 for c in changes if c.kind is ChangeKind.NEW)
        return stored


def _name(channel: StoredChannel) -> str:
    return f"@{channel.username}" if channel.username else f"channel {channel.telegram_id}"


# --- the client -------------------------------------------------------------------------
def build_client(settings: TelegramSettings) -> TelegramClient:
    """A `TelegramClient` for the configured session (StringSession from the env wins)."""
    if settings.api_id is None or settings.api_hash is None:
        raise ValueError("telegram.api_id and telegram.api_hash are required")
    session: StringSession | str
    if settings.session_string is not None:
        session = StringSession(settings.session_string.get_secret_value())
    else:
        session = settings.session
    client = TelegramClient(
        session,
        settings.api_id,
        settings.api_hash.get_secret_value(),
        # We handle flood waits ourselves (short: sleep; long: defer the channel).
        flood_sleep_threshold=0,
        receive_updates=True,
    )
    return client


def export_string_session(client: TelegramClient) -> str:
    """The client's session as a StringSession string (for containers)."""
    return str(StringSession.save(client.session))
