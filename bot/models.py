"""The plain data every part of chanwatch shares. No library types cross this boundary."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class MediaKind(enum.StrEnum):
    """What a post carries besides text (one kind; albums are posts sharing a grouped_id)."""

    NONE = "none"
    PHOTO = "photo"
    VIDEO = "video"
    ROUND_VIDEO = "round_video"
    ANIMATION = "animation"
    AUDIO = "audio"
    VOICE = "voice"
    DOCUMENT = "document"
    STICKER = "sticker"
    POLL = "poll"
    WEBPAGE = "webpage"
    GEO = "geo"
    CONTACT = "contact"
    DICE = "dice"
    GAME = "game"
    INVOICE = "invoice"
    STORY = "story"
    OTHER = "other"


class PostOrigin(enum.StrEnum):
    """How a post reached the archive; decides whether it may alert."""

    LIVE = "live"  # pushed by Telegram as it happened
    CATCHUP = "catchup"  # missed live, fetched later (flagged late)
    FIRST_SIGHT = "first_sight"  # what the first fetch of a new channel saw: never alerts
    BACKFILL = "backfill"  # history fetched on request: never alerts
    WEB = "web"  # the t.me/s web preview poller
    IMPORT = "import"  # a Telegram Desktop export: never alerts


SILENT_ORIGINS = frozenset({PostOrigin.FIRST_SIGHT, PostOrigin.BACKFILL, PostOrigin.IMPORT})


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """How a source names a channel: its numeric id, its username, or both."""

    telegram_id: int | None = None  # bare channel id (not the -100 marked form)
    username: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.telegram_id is None and not self.username:
            raise ValueError("a channel needs a numeric id or a username")


@dataclass(frozen=True, slots=True)
class ForwardOrigin:
    """Where a forwarded post came from: a channel post, or only a name."""

    channel_id: int | None = None  # bare id of the origin channel, when Telegram tells it
    message_id: int | None = None
    name: str | None = None  # sender name when the origin is hidden or not a channel


@dataclass(frozen=True, slots=True)
class Post:
    """One channel post as every source produces it."""

    channel: ChannelRef
    message_id: int
    date: datetime  # UTC, timezone-aware
    text: str = ""
    entities: tuple[dict[str, Any], ...] = ()
    media_kind: MediaKind = MediaKind.NONE
    forward: ForwardOrigin | None = None
    grouped_id: int | None = None
    views: int | None = None
    author: str | None = None  # post author signature, or the sender in groups
    edit_date: datetime | None = None
    reply_to: int | None = None

    def __post_init__(self) -> None:
        if self.date.tzinfo is None:
            raise ValueError("Post.date must be timezone-aware (UTC)")

    @property
    def content_key(self) -> tuple[str, MediaKind]:
        """What counts as a change for an edit: text and media, not views or reactions."""
        return (self.text, self.media_kind)


@dataclass(frozen=True, slots=True)
class StoredChannel:
    """A channel row of the archive."""

    id: int
    telegram_id: int | None
    username: str | None
    title: str | None
    access_hash: int | None
    source: str
    in_config: bool
    active: bool
    joined: bool = False


@dataclass(frozen=True, slots=True)
class ChannelCursor:
    """Where catch-up stands for one channel."""

    channel_id: int
    last_message_id: int | None
    last_fetch_at: datetime | None
    last_post_at: datetime | None
    deferred_until: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as the archive holds it, with its edit and deletion state."""

    id: int
    channel_id: int
    message_id: int
    date: datetime
    text: str
    entities: tuple[dict[str, Any], ...]
    media_kind: MediaKind
    forward: ForwardOrigin | None
    grouped_id: int | None
    views: int | None
    author: str | None
    edit_date: datetime | None
    version: int
    origin: PostOrigin
    late: bool
    first_seen_at: datetime
    deleted_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def edited(self) -> bool:
        """Whether the post was edited: chanwatch stored an edit (a version), or the source
        gave an edit date (an import or a first fetch of a post edited before we saw it)."""
        return self.version > 0 or self.edit_date is not None


USERNAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_LINK_PREFIXES = (
    "https://t.me/s/",
    "http://t.me/s/",
    "https://t.me/",
    "http://t.me/",
    "t.me/s/",
    "t.me/",
    "@",
)


def username_from_link(value: str) -> str:
    """The username in `@name`, `name`, `t.me/name`, `https://t.me/s/name/123`."""
    text = value.strip()
    for prefix in _LINK_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.split("/")[0].split("?")[0]


def is_valid_username(value: str) -> bool:
    """Whether a string is a public channel username (5-32 letters, digits or _)."""
    return bool(USERNAME_PATTERN.match(value))


def utc_now() -> datetime:
    """The current time, UTC-aware (the default clock)."""
    return datetime.now(UTC)


def to_epoch(value: datetime) -> int:
    """UTC seconds for storage."""
    return int(value.timestamp())


def from_epoch(value: int | None) -> datetime | None:
    """UTC-aware datetime from stored seconds."""
    return None if value is None else datetime.fromtimestamp(value, UTC)
