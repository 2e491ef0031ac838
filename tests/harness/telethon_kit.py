"""Real Telethon clients, never connected, fed real TL objects; a fake Telegram behind them.

`make_client()` builds a `TelegramClient` that can dispatch updates offline.
`dispatch(client, update)` runs an update through Telethon's own dispatch path.
`FakeTelegram` replaces the client's sender: it answers the requests chanwatch makes
(GetHistory, channels.GetMessages, ResolveUsername, JoinChannel) from an in-memory channel
history, records every request, and can be told to fail the next request of a kind.

The private Telethon attributes used here are pinned by tests/test_telethon_harness.py.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from telethon import TelegramClient, functions, types
from telethon.sessions import StringSession
from telethon.tl.types import messages as tl_messages

SELF_USER_ID = 424242
BASE_DATE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def make_client() -> TelegramClient:
    """A real client with a throwaway session that never connects."""
    client = TelegramClient(StringSession(), 1, "0" * 32, flood_sleep_threshold=0)
    client._mb_entity_cache.set_self_user(SELF_USER_ID, False, 0)
    return client


async def dispatch(client: TelegramClient, update: types.TypeUpdate) -> None:
    """Run one update through the client's own dispatch, as if Telegram had pushed it."""
    update._entities = {}
    await client._dispatch_update(update)


def message(
    channel_id: int,
    message_id: int,
    text: str = "",
    *,
    date: datetime | None = None,
    **kwargs: Any,
) -> types.Message:
    """A channel post as Telegram sends it."""
    return types.Message(
        id=message_id,
        peer_id=types.PeerChannel(channel_id),
        date=date or BASE_DATE,
        message=text,
        post=True,
        **kwargs,
    )


def new_post(msg: types.Message, pts: int = 1) -> types.UpdateNewChannelMessage:
    """The update for a new channel post."""
    return types.UpdateNewChannelMessage(message=msg, pts=pts, pts_count=1)


def edited_post(msg: types.Message, pts: int = 1) -> types.UpdateEditChannelMessage:
    """The update for an edited channel post."""
    return types.UpdateEditChannelMessage(message=msg, pts=pts, pts_count=1)


def deleted_posts(
    channel_id: int, ids: list[int], pts: int = 1
) -> types.UpdateDeleteChannelMessages:
    """The update for deleted channel posts."""
    return types.UpdateDeleteChannelMessages(
        channel_id=channel_id, messages=ids, pts=pts, pts_count=len(ids)
    )


def channel(
    channel_id: int, username: str, *, access_hash: int = 777, title: str = ""
) -> types.Channel:
    """A broadcast channel entity as Telegram describes it."""
    return types.Channel(
        id=channel_id,
        title=title or username,
        photo=types.ChatPhotoEmpty(),
        date=BASE_DATE,
        broadcast=True,
        access_hash=access_hash,
        username=username,
        left=True,
    )


class FakeTelegram:
    """An in-memory Telegram answering chanwatch's requests; install with `install(client)`."""

    def __init__(self) -> None:
        self.channels: dict[str, types.Channel] = {}
        self.history: dict[int, dict[int, types.Message]] = defaultdict(dict)
        self.requests: list[Any] = []
        self._failures: dict[type[Any], list[BaseException]] = defaultdict(list)

    # -- setting up --
    def add_channel(self, entity: types.Channel) -> None:
        """Make a channel resolvable by username."""
        assert entity.username
        self.channels[entity.username.lower()] = entity

    def post(self, msg: types.Message) -> types.Message:
        """Put a message into a channel's history (also replaces it: an edit)."""
        assert isinstance(msg.peer_id, types.PeerChannel)
        self.history[msg.peer_id.channel_id][msg.id] = msg
        return msg

    def delete(self, channel_id: int, message_id: int) -> None:
        """Remove a message from the history, silently (no update pushed)."""
        self.history[channel_id].pop(message_id, None)

    def fail_next(self, request_type: type[Any], error: BaseException) -> None:
        """The next request of this type raises `error`."""
        self._failures[request_type].append(error)

    def install(self, client: TelegramClient) -> FakeTelegram:
        """Answer this client's requests (replaces its MTProto sender)."""
        client._sender = self
        return self

    def count(self, request_type: type[Any]) -> int:
        """How many requests of a type were made."""
        return sum(1 for r in self.requests if isinstance(r, request_type))

    # -- the sender interface Telethon calls --
    def send(self, request: Any, ordered: bool = False) -> asyncio.Future[Any]:
        self.requests.append(request)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failures = self._failures.get(type(request))
        if failures:
            future.set_exception(failures.pop(0))
            return future
        handler: Callable[[Any], Any] | None = getattr(self, "_" + type(request).__name__, None)
        if handler is None:
            future.set_exception(AssertionError(f"FakeTelegram cannot answer {request!r}"))
        else:
            future.set_result(handler(request))
        return future

    def _ResolveUsernameRequest(self, request: Any) -> types.contacts.ResolvedPeer:
        from telethon import errors

        entity = self.channels.get(request.username.lower())
        if entity is None:
            raise errors.UsernameNotOccupiedError(request=request)
        return types.contacts.ResolvedPeer(
            peer=types.PeerChannel(entity.id), chats=[entity], users=[]
        )

    def _JoinChannelRequest(self, request: Any) -> types.Updates:
        return types.Updates(updates=[], users=[], chats=[], date=BASE_DATE, seq=0)

    def _channel_messages(self, messages: list[Any]) -> tl_messages.ChannelMessages:
        return tl_messages.ChannelMessages(
            pts=1, count=len(messages), messages=messages, topics=[], chats=[], users=[]
        )

    def _GetHistoryRequest(self, request: Any) -> tl_messages.ChannelMessages:
        channel_id = request.peer.channel_id
        newest_first = sorted(self.history[channel_id].values(), key=lambda m: -m.id)
        index = 0
        if request.offset_id:
            index = next(
                (i for i, m in enumerate(newest_first) if m.id < request.offset_id),
                len(newest_first),
            )
        start = index + request.add_offset
        page = newest_first[max(start, 0) : max(start + request.limit, 0)]
        if request.min_id:
            page = [m for m in page if m.id > request.min_id]
        if request.max_id:
            page = [m for m in page if m.id < request.max_id]
        return self._channel_messages(page)

    def _GetMessagesRequest(self, request: Any) -> tl_messages.ChannelMessages:
        channel_id = request.channel.channel_id
        found: list[Any] = []
        for wanted in request.id:
            msg = self.history[channel_id].get(wanted.id)
            found.append(
                msg
                if msg is not None
                else types.MessageEmpty(id=wanted.id, peer_id=types.PeerChannel(channel_id))
            )
        return self._channel_messages(found)


# The request types tests refer to.
GetHistory = functions.messages.GetHistoryRequest
GetChannelMessages = functions.channels.GetMessagesRequest
ResolveUsername = functions.contacts.ResolveUsernameRequest
JoinChannel = functions.channels.JoinChannelRequest
