"""Telegram Desktop exports (`result.json`) -> `Post`s: a pure reader, no archive access.

Two layouts are read: the export of one chat (`{"name", "type", "id", "messages": [...]}`)
and the full-account export, whose chats sit in `chats.list` (and `left_chats.list`); there
one chat is chosen by id or name. Old and current formats are both understood:

- `text` is a string or a list mixing strings and `{type, text, href?, ...}` parts. The
  parts become our text and its entities. Entities use Telethon's names and keys
  (`text_url` with `url`, `strike`, `mention_name` with `user_id`, ...) and their
  `offset`/`length` count UTF-16 code units, as Telegram and Telethon do, so a post read
  from an export has the same text and entities as the same post seen live.
- `date_unixtime` (a string of UTC seconds) is used when present. Old exports only have
  `date`, the exporting computer's local time without a zone: it is taken as UTC and the
  number of such messages is reported as a warning. `edited_unixtime` / `edited` likewise.
- Service messages (and entries of type `unsupported`) are skipped and counted by kind.
- Media kinds follow `photo`, `media_type`, `file`, `poll`, `location_information`,
  `contact_information` and the other media fields. Exports do not record link previews,
  album grouping or view counts.

The file is read whole but messages are decoded one at a time, so memory holds the text
of the file and the converted posts, never a full JSON tree of it. Reading is CPU work:
callers on an event loop use `read_export_async`, which runs it in a worker thread.

tdesktop sometimes writes `\\xNN` escapes, which JSON does not have: they are repaired to
`\\u00NN` (and counted). Any other invalid JSON is reported as `result.json: line L,
column C: invalid JSON: ...`, with the line and column of the file as written.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import UsageError
from bot.models import ChannelRef, ForwardOrigin, MediaKind, Post

EXPORT_FILE = "result.json"

# Chat types whose `id` is a (bare) channel id: broadcast channels and supergroups.
CHANNEL_TYPES = frozenset({"public_channel", "private_channel"})
SUPERGROUP_TYPES = frozenset({"public_supergroup", "private_supergroup"})
CHANNEL_ID_TYPES = CHANNEL_TYPES | SUPERGROUP_TYPES

_MEDIA_TYPES: Mapping[str, MediaKind] = {
    "video_file": MediaKind.VIDEO,
    "video_message": MediaKind.ROUND_VIDEO,
    "voice_message": MediaKind.VOICE,
    "audio_file": MediaKind.AUDIO,
    "animation": MediaKind.ANIMATION,
    "sticker": MediaKind.STICKER,
}

# Export entity type -> Telethon's entity name (the key every source stores).
_ENTITY_TYPES: Mapping[str, str] = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "text_link": "text_url",
    "link": "url",
    "mention": "mention",
    "mention_name": "mention_name",
    "hashtag": "hashtag",
    "cashtag": "cashtag",
    "bot_command": "bot_command",
    "email": "email",
    "phone": "phone",
    "bank_card": "bank_card",
    "custom_emoji": "custom_emoji",
    "blockquote": "blockquote",
}

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_BAD_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_PEER_ID = re.compile(r"^(channel|user|chat)(\d+)$")
_DECODER = json.JSONDecoder()


class ExportFormatError(UsageError):
    """The export cannot be read: invalid JSON, or not a Telegram Desktop export."""


@dataclass(frozen=True, slots=True)
class ExportChat:
    """One chat of an export, as its header describes it."""

    name: str | None
    type: str | None
    id: int | None
    messages: int = 0

    @property
    def has_channel_id(self) -> bool:
        """Whether `id` is a bare channel id (channels and supergroups)."""
        return self.id is not None and self.type in CHANNEL_ID_TYPES

    def describe(self) -> str:
        """`123 public_channel "Name" (45 message(s))`."""
        name = json.dumps(self.name or "", ensure_ascii=False)
        return f"{self.id} {self.type or 'unknown'} {name} ({self.messages} message(s))"


@dataclass(slots=True)
class ExportStats:
    """What reading found besides posts."""

    messages: int = 0  # entries in the chat's message list
    posts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # "service:<action>", "unsupported"
    local_times: int = 0  # messages whose date or edit time had no zone (taken as UTC)
    repaired_escapes: int = 0  # `\xNN` escapes rewritten to `\u00NN`
    text_mismatches: int = 0  # `text_entities` disagreed with `text`; `text` was kept

    def warnings(self, source: str) -> list[str]:
        """One line per thing a user should know about the reading."""
        lines: list[str] = []
        if self.repaired_escapes:
            lines.append(
                f"{source}: repaired {self.repaired_escapes} \\xNN escape(s) that are not "
                "valid JSON (read as \\u00NN)"
            )
        if self.local_times:
            lines.append(
                f"{source}: {self.local_times} message(s) have no date_unixtime (old export "
                "format): their local-time dates were taken as UTC"
            )
        if self.text_mismatches:
            lines.append(
                f"{source}: {self.text_mismatches} message(s) have text_entities that differ "
                "from text: text was kept, without formatting"
            )
        if self.skipped.get("invalid"):
            lines.append(
                f"{source}: {self.skipped['invalid']} message(s) without a usable id or date "
                "were skipped"
            )
        return lines


@dataclass(frozen=True, slots=True)
class ChannelExport:
    """The posts of one chat of an export."""

    path: Path  # the result.json read
    chat: ExportChat
    posts: tuple[Post, ...]  # ordered by message id; `channel` is the export's own chat id
    stats: ExportStats
    full_account: bool = False  # read from a full-account export (chats.list)
    chats: tuple[ExportChat, ...] = ()  # every chat of a full-account export


# --- text and entities -------------------------------------------------------------------
def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text) + len(_ASTRAL.findall(text))


def _entity(part: Mapping[str, Any], offset: int, length: int) -> dict[str, Any] | None:
    kind = str(part.get("type") or "")
    if kind == "plain" or length == 0:
        return None
    name = _ENTITY_TYPES.get(kind, "unknown")
    entity: dict[str, Any] = {"type": name, "offset": offset, "length": length}
    if name == "text_url" and part.get("href") is not None:
        entity["url"] = str(part["href"])
    elif name == "pre" and part.get("language"):
        entity["language"] = str(part["language"])
    elif name == "mention_name" and _as_int(part.get("user_id")) is not None:
        entity["user_id"] = _as_int(part.get("user_id"))
    elif name == "custom_emoji":
        # The export writes the sticker's file path when it downloaded it; only an id is kept.
        document_id = _as_int(part.get("document_id"))
        if document_id is not None:
            entity["document_id"] = document_id
    elif name == "blockquote" and part.get("collapsed"):
        entity["collapsed"] = True
    return entity


def parse_text(value: Any) -> tuple[str, tuple[dict[str, Any], ...]]:
    """Our text and entities from an export `text` (a string, or a list of strings and
    `{type, text, ...}` parts). Offsets and lengths count UTF-16 code units."""
    if value is None:
        return "", ()
    if isinstance(value, str):
        return _clean(value), ()
    if not isinstance(value, list):
        return _clean(str(value)), ()
    pieces: list[str] = []
    entities: list[dict[str, Any]] = []
    offset = 0
    for part in value:
        if isinstance(part, str):
            piece = _clean(part)
        elif isinstance(part, dict):
            piece = _clean(str(part.get("text") or ""))
            entity = _entity(part, offset, utf16_len(piece))
            if entity is not None:
                entities.append(entity)
        else:
            continue
        pieces.append(piece)
        offset += utf16_len(piece)
    return "".join(pieces), tuple(entities)


def _message_text(
    message: Mapping[str, Any], stats: ExportStats
) -> tuple[str, tuple[dict[str, Any], ...]]:
    text, entities = parse_text(message.get("text"))
    parts = message.get("text_entities")
    if entities or not isinstance(parts, list) or not parts:
        return text, entities
    # Current exports may give `text` as a plain string and the formatting only in
    # `text_entities`; they are used when they spell the same text.
    spelled, from_parts = parse_text(parts)
    if spelled == text:
        return text, from_parts
    stats.text_mismatches += 1
    return text, ()


def _clean(text: str) -> str:
    """The text with lone surrogates (from bad `\\u` escapes) replaced: they cannot be stored."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


# --- fields --------------------------------------------------------------------------------
def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def bare_channel_id(value: Any) -> int | None:
    """A bare channel id from `channel1234567`, `-1001234567` or `1234567`; None otherwise."""
    if isinstance(value, str):
        match = _PEER_ID.match(value.strip())
        if match:
            return int(match.group(2)) if match.group(1) == "channel" else None
    number = _as_int(value)
    if number is None:
        return None
    if number < 0:
        text = str(number)
        return int(text[4:]) if text.startswith("-100") and len(text) > 4 else None
    return number


def _when(
    message: Mapping[str, Any], unix_key: str, local_key: str
) -> tuple[datetime | None, bool]:
    """A UTC time from `<unix_key>` (seconds), else `<local_key>` taken as UTC (flagged)."""
    seconds = _as_int(message.get(unix_key))
    if seconds is not None:
        return datetime.fromtimestamp(seconds, UTC), False
    local = message.get(local_key)
    if isinstance(local, str) and local:
        try:
            moment = datetime.fromisoformat(local)
        except ValueError:
            return None, False
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC), True
        return moment.astimezone(UTC), False
    return None, False


def media_kind_of(message: Mapping[str, Any]) -> MediaKind:
    """Our media kind for an export message."""
    media_type = message.get("media_type")
    if isinstance(media_type, str):
        return _MEDIA_TYPES.get(media_type, MediaKind.DOCUMENT)
    if "photo" in message:
        return MediaKind.PHOTO
    if "file" in message:
        return MediaKind.DOCUMENT
    if "poll" in message:
        return MediaKind.POLL
    if "location_information" in message or "place_name" in message:
        return MediaKind.GEO
    if "contact_information" in message:
        return MediaKind.CONTACT
    if "game_title" in message:
        return MediaKind.GAME
    if "invoice_information" in message:
        return MediaKind.INVOICE
    if "dice_emoji" in message or "dice_value" in message:
        return MediaKind.DICE
    if any(
        key in message
        for key in ("todo_list", "giveaway_information", "giveaway_results", "paid_stars_amount")
    ):
        return MediaKind.OTHER
    return MediaKind.NONE


def _forward_of(message: Mapping[str, Any]) -> ForwardOrigin | None:
    name = message.get("forwarded_from")
    origin_id = message.get("forwarded_from_id")
    if name is None and origin_id is None:
        return None
    channel_id = bare_channel_id(origin_id) if isinstance(origin_id, str) else None
    return ForwardOrigin(
        channel_id=channel_id, name=str(name) if name is not None else None, message_id=None
    )


def message_to_post(
    message: Mapping[str, Any], channel: ChannelRef, chat_type: str | None, stats: ExportStats
) -> Post | None:
    """Our `Post` for one export message; None (counted in `stats`) for what is skipped."""
    stats.messages += 1
    kind = message.get("type")
    if kind == "service":
        stats.skipped[f"service:{message.get('action') or 'other'}"] += 1
        return None
    if kind not in (None, "message"):
        stats.skipped[str(kind)] += 1
        return None
    message_id = _as_int(message.get("id"))
    date, local_date = _when(message, "date_unixtime", "date")
    if message_id is None or message_id <= 0 or date is None:
        stats.skipped["invalid"] += 1
        return None
    edit_date, local_edit = _when(message, "edited_unixtime", "edited")
    if local_date or local_edit:
        stats.local_times += 1
    text, entities = _message_text(message, stats)
    author = message.get("author")
    if author is None and chat_type not in CHANNEL_TYPES:
        author = message.get("from")  # groups: the sender
    reply_to = _as_int(message.get("reply_to_message_id"))
    if message.get("reply_to_peer_id") is not None:
        reply_to = None  # a reply to a message of another chat
    stats.posts += 1
    return Post(
        channel=channel,
        message_id=message_id,
        date=date,
        text=text,
        entities=entities,
        media_kind=media_kind_of(message),
        forward=_forward_of(message),
        author=str(author) if author is not None else None,
        edit_date=edit_date,
        reply_to=reply_to,
    )


# --- the JSON document ---------------------------------------------------------------------
class _Document:
    """The export's text with a cursor; values are decoded one at a time."""

    def __init__(self, text: str, source: str, repairs: list[int]) -> None:
        self.text = text
        self.source = source
        self.pos = 0
        self._repairs = repairs  # offsets (in `text`) where a `\xNN` became `\u00NN`

    def error(self, pos: int, message: str) -> ExportFormatError:
        """An error naming the line and column of the file as written (before repairs)."""
        start = self.text.rfind("\n", 0, pos) + 1
        line = self.text.count("\n", 0, pos) + 1
        repaired = bisect.bisect_left(self._repairs, pos) - bisect.bisect_left(self._repairs, start)
        column = pos - start + 1 - 2 * repaired
        return ExportFormatError(f"{self.source}: line {line}, column {column}: {message}")

    def skip_ws(self) -> None:
        match = _WHITESPACE.match(self.text, self.pos)
        assert match is not None
        self.pos = match.end()

    def expect(self, char: str, what: str) -> None:
        self.skip_ws()
        if self.text.startswith(char, self.pos):
            self.pos += 1
            return
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "end of file"
        raise self.error(self.pos, f"invalid JSON: expected {what}, found {found}")

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def value(self) -> Any:
        self.skip_ws()
        try:
            decoded, self.pos = _DECODER.raw_decode(self.text, self.pos)
        except json.JSONDecodeError as exc:
            raise self.error(exc.pos, f"invalid JSON: {exc.msg}") from None
        return decoded

    def keys(self) -> Iterator[str]:
        """The keys of the object at the cursor; the caller consumes each value."""
        self.expect("{", "'{'")
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                self.expect('"', "a quoted key")
            key = self.value()
            assert isinstance(key, str)
            self.expect(":", "':'")
            yield key
            following = self.peek()
            if following == ",":
                self.pos += 1
                continue
            if following == "}":
                self.pos += 1
                return
            self.expect("}", "',' or '}'")

    def items(self) -> Iterator[None]:
        """Positions the cursor at each element of the array at the cursor."""
        self.expect("[", "'['")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield
            following = self.peek()
            if following == ",":
                self.pos += 1
                continue
            if following == "]":
                self.pos += 1
                return
            self.expect("]", "',' or ']'")

    def end(self) -> None:
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error(self.pos, "invalid JSON: extra data after the export")


def _load_text(path: Path, source: str) -> tuple[str, list[int]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ExportFormatError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        raise ExportFormatError(
            f"{source}: line {line}, column {column}: not UTF-8 (byte 0x{raw[exc.start]:02x})"
        ) from None
    del raw
    repairs: list[int] = []
    if "\\x" in text:
        pieces: list[str] = []
        last = 0
        shift = 0
        for match in _BAD_ESCAPE.finditer(text):
            escape_at = match.start() + len(match.group(1))
            pieces.append(text[last:escape_at])
            pieces.append("\\u00" + match.group(2))
            repairs.append(escape_at + shift)
            shift += 2
            last = match.end()
        if repairs:
            pieces.append(text[last:])
            text = "".join(pieces)
    return text, repairs


# --- chats ---------------------------------------------------------------------------------
_HEADER_KEYS = frozenset({"name", "type", "id"})
_PROVISIONAL = ChannelRef(telegram_id=0)


@dataclass(slots=True)
class _ChatRead:
    chat: ExportChat
    posts: list[Post]
    stats: ExportStats
    has_messages: bool


def _chat_of(header: Mapping[str, Any], count: int) -> ExportChat:
    name = header.get("name")
    chat_type = header.get("type")
    raw_id = header.get("id")
    chat_id = bare_channel_id(raw_id) if chat_type in CHANNEL_ID_TYPES else _as_int(raw_id)
    return ExportChat(
        name=str(name) if name is not None else None,
        type=str(chat_type) if chat_type is not None else None,
        id=chat_id,
        messages=count,
    )


def _read_chat(doc: _Document, *, convert: bool) -> _ChatRead:
    """The chat object at the cursor: its header, and its posts when `convert`.

    Posts name the chat by the export's own id (`ChannelRef(id, title=name)`); for chats
    that are not channels or supergroups that id is not a channel id.
    """
    header: dict[str, Any] = {}
    posts: list[Post] = []
    stats = ExportStats()
    count = 0
    has_messages = False
    for key in doc.keys():
        if key in _HEADER_KEYS:
            header[key] = doc.value()
            continue
        if key != "messages" or doc.peek() != "[":
            doc.value()
            continue
        has_messages = True
        provisional = _chat_of(header, 0)
        ref = _PROVISIONAL
        if provisional.id is not None:
            ref = ChannelRef(telegram_id=provisional.id, title=provisional.name)
        for _ in doc.items():
            message = doc.value()
            count += 1
            if not convert:
                continue
            if not isinstance(message, dict):
                stats.messages += 1
                stats.skipped["invalid"] += 1
                continue
            post = message_to_post(message, ref, provisional.type, stats)
            if post is not None:
                posts.append(post)
    chat = _chat_of(header, count)
    if convert and posts:
        if chat.id is None:
            raise doc.error(doc.pos, "the chat has no numeric id")
        final = ChannelRef(telegram_id=chat.id, title=chat.name)
        if posts[0].channel != final:
            posts = [replace(p, channel=final) for p in posts]
    return _ChatRead(chat, posts, stats, has_messages)


def _chat_lists(doc: _Document, visit: Callable[[int], None]) -> None:
    """Walk a full-account export, calling `visit(index)` with the cursor at each chat."""
    index = 0
    for key in doc.keys():
        if key in ("chats", "left_chats") and doc.peek() == "{":
            for sub in doc.keys():
                if sub == "list" and doc.peek() == "[":
                    for _ in doc.items():
                        visit(index)
                        index += 1
                else:
                    doc.value()
        else:
            doc.value()
    doc.end()


def select_chat(
    chats: list[ExportChat], source: str, *, key: str | None, chat_id: int | None
) -> int:
    """The index of the chat a full-account export import means.

    `chat_id` (what the archive knows for `--channel`) or a numeric `key` pick by id; a
    `key` that is a name picks by title (case-insensitive); without a match, the one
    channel or supergroup of the export is taken (unless `key` was an id).
    """
    wanted_ids: set[int] = set()
    if chat_id is not None:
        wanted_ids.add(chat_id)
    numeric = key is not None and key.strip().lstrip("-").isdigit()
    if numeric:
        assert key is not None
        for candidate in (bare_channel_id(key), _as_int(key)):
            if candidate is not None:
                wanted_ids.add(abs(candidate))
    found = [i for i, chat in enumerate(chats) if chat.id is not None and chat.id in wanted_ids]
    problem = f"{len(found)} chats have id {chat_id}"
    if numeric:
        problem = f"{len(found)} chats have id {key}" if found else f"no chat has id {key}"
    elif not found and key:
        wanted = {key.strip().casefold(), key.strip().lstrip("@").casefold()}
        found = [i for i, chat in enumerate(chats) if chat.name and chat.name.casefold() in wanted]
        problem = f"{len(found)} chats are named {key!r}"
    if not found and not numeric:
        found = [i for i, chat in enumerate(chats) if chat.has_channel_id]
        channels = f"{len(found)} channels" if found else "no channel or supergroup"
        problem = (
            f"no chat is named {key!r} and the export holds {channels}"
            if key
            else f"the export holds {channels}"
        )
    if len(found) == 1:
        return found[0]
    listed = sorted(chats, key=lambda c: (not c.has_channel_id, (c.name or "").casefold()))
    shown = "; ".join(chat.describe() for chat in listed[:20])
    if len(listed) > 20:
        shown += f"; ... and {len(listed) - 20} more"
    raise ExportFormatError(
        f"{source}: {problem}: choose one with --channel ID; chats: {shown or 'none'}"
    )


def resolve_export_path(path: Path) -> Path:
    """The result.json meant by PATH (the file itself, or the export's directory)."""
    if path.is_dir():
        candidate = path / EXPORT_FILE
        if not candidate.is_file():
            raise ExportFormatError(f"{path}: no {EXPORT_FILE} in this directory")
        return candidate
    if not path.is_file():
        raise ExportFormatError(f"{path}: no such file or directory")
    return path


def read_export(
    path: str | Path, *, chat_key: str | None = None, chat_id: int | None = None
) -> ChannelExport:
    """Read a Telegram Desktop export: a `result.json` (or the directory holding it).

    For a full-account export, `chat_key` (the `--channel` value: id or name) and
    `chat_id` (the channel id the archive knows for it) choose the chat; see `select_chat`.
    Raises `ExportFormatError` with the file, line and column when the JSON is invalid.
    """
    file = resolve_export_path(Path(path))
    source = file.name
    text, repairs = _load_text(file, source)
    doc = _Document(text, source, repairs)
    if doc.peek() != "{":
        doc.expect("{", "'{' (a Telegram Desktop export is a JSON object)")
    full = _is_full_account(doc)
    chats: tuple[ExportChat, ...] = ()
    if not full:
        read = _read_chat(doc, convert=True)
        doc.end()
        if not read.has_messages:
            raise ExportFormatError(
                f"{source}: not a Telegram Desktop export (no messages, no chats.list)"
            )
    else:
        listing: list[ExportChat] = []

        def header(_: int) -> None:
            listing.append(_read_chat(doc, convert=False).chat)

        _chat_lists(doc, header)
        chosen = select_chat(listing, source, key=chat_key, chat_id=chat_id)
        doc.pos = 0
        result: list[_ChatRead] = []

        def pick(index: int) -> None:
            read = _read_chat(doc, convert=index == chosen)
            if index == chosen:
                result.append(read)

        _chat_lists(doc, pick)
        read = result[0]
        chats = tuple(listing)
    read.stats.repaired_escapes = len(repairs)
    read.posts.sort(key=lambda p: p.message_id)
    return ChannelExport(
        path=file,
        chat=read.chat,
        posts=tuple(read.posts),
        stats=read.stats,
        full_account=full,
        chats=chats,
    )


def _is_full_account(doc: _Document) -> bool:
    """Whether the document holds `chats`/`left_chats` rather than one chat's messages."""
    start = doc.pos
    full = False
    try:
        for key in doc.keys():
            if key in ("chats", "left_chats"):
                full = True
                break
            if key == "messages":
                break
            doc.value()
    finally:
        doc.pos = start
    return full


async def read_export_async(
    path: str | Path, *, chat_key: str | None = None, chat_id: int | None = None
) -> ChannelExport:
    """`read_export` in a worker thread (never parse on the event loop)."""
    return await asyncio.to_thread(read_export, path, chat_key=chat_key, chat_id=chat_id)
