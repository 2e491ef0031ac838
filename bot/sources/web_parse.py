"""The public web preview `t.me/s/<channel>` -> `Post`s: a pure parser, no network, no archive.

What a page gives, and how it is read (selectolax's Lexbor HTML parser, CSS selectors):

- Each post is a `.tgme_widget_message` with `data-post="<username>/<id>"`. Service messages
  (`.service_message`) are skipped. `WebPage.shown_ids` lists the ids shown on their own, the
  only ids whose absence can ever mean a deletion.
- The channel's numeric id comes from `data-view`, base64url JSON such as
  `{"c":-1084368520,"p":70989,"t":...,"h":...}`: `c` is the channel as a negative peer id
  (minus the bare channel id) and `p` the post id (`"70992g"` for an album). It is used only
  when `p` agrees with the post's own id and every such post of the page names the same
  `c`; otherwise `WebPage.channel_id` is None.
- Text is `.tgme_widget_message_text` with `<br>` as line breaks. Formatting and links become
  entities named as Telethon names them (`bold`, `italic`, `underline`, `strike`, `spoiler`,
  `code`, `pre`, `blockquote`, `url`, `text_url` with `url`, `mention`, `hashtag`,
  `cashtag`, `email`, `phone`), with `offset`/`length` in UTF-16 code units, as Telegram
  and the other sources count them. Whitespace that contains a raw newline is layout of the
  HTML, not text (Telegram writes line breaks as `<br>`): it counts as one space, and as
  nothing next to a line break or at either end of the text.
- The time is `a.tgme_widget_message_date time[datetime]` (UTC); views are abbreviated
  ("33.4K" -> 33400, "1.2M" -> 1200000); the author signature is
  `.tgme_widget_message_from_author`; a reply names its post in `.tgme_widget_message_reply`.
- Forwarded-from: the origin's name; when it links to `t.me/<username>/<id>` the origin is
  `ForwardOrigin(name="@<username>", message_id=<id>)` (the page never tells the origin's
  numeric id), a `t.me/c/<id>/<post>` link gives the numeric id itself.
- An album is one widget whose grouped layout links every member as `<username>/<id>?single`.
  Every member becomes a `Post` (as the listener stores albums) sharing `grouped_id` = the
  smallest member id (stable across polls; Telegram's own grouped id is not on the page).
  The caption, views and signature go to the post the widget is keyed by.
- "Load more" is `a.tme_messages_more[data-before]`: the id to pass as `?before=`.
- A channel without a public preview answers with its `t.me/<channel>` page (a `.tgme_page`
  without message history): `WebPage.no_preview` is True. HTML that is neither raises
  `WebPageError`, as does a post without a readable id or time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.models import ChannelRef, ForwardOrigin, MediaKind, Post


class WebPageError(ValueError):
    """The HTML is not a readable channel preview (malformed or unexpected markup)."""


@dataclass(frozen=True, slots=True)
class WebPage:
    """What one preview page shows."""

    username: str | None  # the channel's username as the page spells it
    title: str | None
    channel_id: int | None  # bare numeric id decoded from `data-view`, when reliable
    posts: tuple[Post, ...] = ()  # ascending ids; album members included
    shown_ids: tuple[int, ...] = ()  # ids shown on their own (not album members, not service)
    service_ids: tuple[int, ...] = ()  # service messages present on the page (skipped)
    before: int | None = None  # `?before=` cursor for older posts; None on the oldest page
    no_preview: bool = False  # the channel has no public preview (its t.me page was served)

    @property
    def channel(self) -> ChannelRef | None:
        """The channel as sources name it, when the page names it."""
        if self.username is None and self.channel_id is None:
            return None
        return ChannelRef(telegram_id=self.channel_id, username=self.username, title=self.title)

    @property
    def all_ids(self) -> tuple[int, ...]:
        """Every message id the page accounts for: posts, album members, service messages."""
        return tuple(sorted({p.message_id for p in self.posts} | set(self.service_ids)))


# --- small values --------------------------------------------------------------------------
_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_views(value: str | None) -> int | None:
    """A view counter as the page abbreviates it: "746", "33.4K", "1.2M"; None if unreadable."""
    if value is None:
        return None
    text = value.strip().replace(",", "").replace("\xa0", "").replace(" ", "").upper()
    if not text:
        return None
    suffix = text[-1] if text[-1] in _MULTIPLIERS else ""
    number = text[: len(text) - len(suffix)]
    try:
        amount = Decimal(number) * _MULTIPLIERS[suffix]
    except InvalidOperation:
        return None
    if amount < 0:
        return None
    return int(amount)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _decode_view(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _view_channel_id(value: str | None, message_id: int) -> int | None:
    """The bare channel id a post's `data-view` names, if its post id agrees with the post."""
    data = _decode_view(value)
    if data is None:
        return None
    channel, post = data.get("c"), data.get("p")
    if isinstance(post, str):
        post = post.removesuffix("g")
        post = int(post) if post.isdigit() else None
    if post != message_id or not isinstance(channel, int) or isinstance(channel, bool):
        return None
    return -channel if channel < 0 else None


def _post_key(value: str | None) -> tuple[str, int] | None:
    """`"slug/123"` -> ("slug", 123)."""
    if not value or "/" not in value:
        return None
    slug, _, number = value.rpartition("/")
    if not slug or not number.isdigit():
        return None
    return slug, int(number)


def _link_parts(href: str | None) -> list[str]:
    """Path segments of a t.me link (absolute or relative), without empty ones."""
    if not href:
        return []
    return [unquote(p) for p in urlsplit(href).path.split("/") if p]


def _classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def _clean_line(text: str) -> str:
    return " ".join(text.split())


# --- text and entities ---------------------------------------------------------------------
_LAYOUT_SPACE = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")
_SIMPLE_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
}
_SKIPPED_TAGS = {"script", "style", "template", "svg", "img", "video", "audio", "iframe"}


@dataclass
class _Open:
    entity: dict[str, Any]
    start: int | None = None


@dataclass
class _TextBuilder:
    """Text and UTF-16 entities, built in document order."""

    pieces: list[str] = field(default_factory=list)
    length: int = 0  # UTF-16 units so far
    last: str = ""  # the last character written
    pending_space: bool = False
    open: list[_Open] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def _write(self, text: str) -> None:
        if not text:
            return
        if self.pending_space and self.length and self.last != "\n":
            self._emit(" ")
        self.pending_space = False
        for opened in self.open:
            if opened.start is None:
                opened.start = self.length
        self._emit(text)

    def _emit(self, text: str) -> None:
        self.pieces.append(text)
        self.length += utf16_len(text)
        self.last = text[-1]

    def text(self, raw: str, *, literal: bool) -> None:
        if literal:
            self._write(raw)
            return
        parts = _LAYOUT_SPACE.split(raw)
        for index, part in enumerate(parts):
            if index:
                self.pending_space = True
            self._write(part)

    def line_break(self) -> None:
        self.pending_space = False
        self._write("\n")

    def begin(self, entity: dict[str, Any]) -> _Open:
        opened = _Open(entity)
        self.open.append(opened)
        return opened

    def end(self, opened: _Open) -> None:
        self.open.remove(opened)
        if opened.start is not None and self.length > opened.start:
            self.entities.append(
                {**opened.entity, "offset": opened.start, "length": self.length - opened.start}
            )

    def result(self) -> tuple[str, tuple[dict[str, Any], ...]]:
        text = "".join(self.pieces)
        stripped = text.rstrip()
        limit = utf16_len(stripped)
        entities: list[dict[str, Any]] = []
        for entity in self.entities:
            end = min(entity["offset"] + entity["length"], limit)
            if end > entity["offset"]:
                entities.append({**entity, "length": end - entity["offset"]})
        entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return stripped, tuple(entities)


def _link_entity(node: LexborNode) -> dict[str, Any]:
    href = (node.attributes.get("href") or "").strip()
    label = node.text().strip()
    lowered = href.lower()
    if "?q=" in lowered and (lowered.startswith("?q=") or "/s/" in lowered):
        query = unquote(href.split("?q=", 1)[1])
        if query.startswith("#") and label.startswith("#"):
            return {"type": "hashtag"}
        if query.startswith("$") and label.startswith("$"):
            return {"type": "cashtag"}
    if lowered.startswith("mailto:") and label == href[len("mailto:") :]:
        return {"type": "email"}
    if lowered.startswith("tel:"):
        return {"type": "phone"}
    if label.startswith("@") and len(label) > 1:
        parts = _link_parts(href)
        host = (urlsplit(href).hostname or "").lower()
        if host in {"t.me", "telegram.me"} and parts and parts[0].lower() == label[1:].lower():
            return {"type": "mention"}
    if label and (
        href == label
        or href.rstrip("/") == label.rstrip("/")
        or href in {f"http://{label}", f"https://{label}"}
    ):
        return {"type": "url"}
    return {"type": "text_url", "url": href}


def _walk(
    node: LexborNode, out: _TextBuilder, *, literal: bool = False, plain: bool = False
) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.text(child.text_content or "", literal=literal)
            continue
        if tag is None or tag.startswith("-") or tag in _SKIPPED_TAGS:
            continue
        if tag == "br":
            out.line_break()
            continue
        classes = _classes(child)
        if tag in {"i", "tg-emoji"} and ("emoji" in classes or tag == "tg-emoji"):
            # An emoji drawn as an image: its character is inside, the <b> is not bold.
            _walk(child, out, literal=literal, plain=True)
            continue
        entity: dict[str, Any] | None = None
        if not plain:
            if tag == "a":
                entity = _link_entity(child)
            elif tag in _SIMPLE_ENTITIES:
                entity = {"type": _SIMPLE_ENTITIES[tag]}
                if tag == "pre":
                    code = child.css_first("code[class*='language-']")
                    language = _language(code)
                    if language:
                        entity["language"] = language
                elif tag == "code" and child.parent is not None and child.parent.tag == "pre":
                    entity = None  # the <pre> around it is the entity
            elif "tg-spoiler" in classes:
                entity = {"type": "spoiler"}
        opened = out.begin(entity) if entity is not None else None
        _walk(child, out, literal=literal or tag == "pre", plain=plain)
        if opened is not None:
            out.end(opened)


def _language(code: LexborNode | None) -> str | None:
    if code is None:
        return None
    for name in _classes(code):
        if name.startswith("language-") and len(name) > len("language-"):
            return name[len("language-") :]
    return None


def message_text(node: LexborNode | None) -> tuple[str, tuple[dict[str, Any], ...]]:
    """Text and entities of a `.tgme_widget_message_text` element."""
    if node is None:
        return "", ()
    out = _TextBuilder()
    _walk(node, out)
    return out.result()


# --- one message -----------------------------------------------------------------------------
_MEDIA_SELECTORS: tuple[tuple[str, MediaKind], ...] = (
    (
        ".tgme_widget_message_sticker_wrap, .tgme_widget_message_sticker, "
        ".tgme_widget_message_tgsticker, .tgme_widget_message_videosticker",
        MediaKind.STICKER,
    ),
    (
        ".tgme_widget_message_roundvideo_player, .tgme_widget_message_roundvideo",
        MediaKind.ROUND_VIDEO,
    ),
    (".tgme_widget_message_voice_player, .tgme_widget_message_voice", MediaKind.VOICE),
    (".tgme_widget_message_video_player, .tgme_widget_message_video", MediaKind.VIDEO),
    (".tgme_widget_message_photo_wrap, .tgme_widget_message_photo", MediaKind.PHOTO),
    (".tgme_widget_message_poll", MediaKind.POLL),
    (".tgme_widget_message_location_wrap, .tgme_widget_message_location", MediaKind.GEO),
    (".tgme_widget_message_document_wrap, .tgme_widget_message_document", MediaKind.DOCUMENT),
    (".tgme_widget_message_link_preview", MediaKind.WEBPAGE),
)


def _document_kind(node: LexborNode) -> MediaKind:
    if node.css_first(".tgme_widget_message_document_icon.audio, audio") is not None:
        return MediaKind.AUDIO
    return MediaKind.DOCUMENT


def _media_kind(node: LexborNode) -> MediaKind:
    """The media of one widget (or one album member's link), by the classes the page uses."""
    for selector, kind in _MEDIA_SELECTORS:
        found = node.css_first(selector)  # the node itself or a descendant
        if found is None:
            continue
        if kind is MediaKind.DOCUMENT:
            return _document_kind(found)
        return kind
    if node.css_first(".message_media_not_supported_wrap, .message_media_not_supported"):
        return MediaKind.OTHER
    return MediaKind.NONE


def _album_members(bubble: LexborNode, slug: str) -> list[tuple[int, MediaKind]]:
    members: list[tuple[int, MediaKind]] = []
    layer = bubble.css_first(".tgme_widget_message_grouped_layer") or bubble.css_first(
        ".tgme_widget_message_grouped_wrap"
    )
    if layer is None:
        return members
    for link in layer.css("a[href]"):
        parts = _link_parts(link.attributes.get("href"))
        if len(parts) < 2 or parts[-2].lower() != slug.lower() or not parts[-1].isdigit():
            continue
        member_id = int(parts[-1])
        if all(member_id != known for known, _ in members):
            members.append((member_id, _media_kind(link)))
    return members


def _forward(bubble: LexborNode) -> ForwardOrigin | None:
    box = bubble.css_first(".tgme_widget_message_forwarded_from")
    if box is None:
        return None
    name_node = box.css_first(".tgme_widget_message_forwarded_from_name")
    name = _clean_line((name_node or box).text()) or None
    if name_node is None and name is not None:
        name = _clean_line(name.replace("Forwarded from", "", 1)) or None
    href = name_node.attributes.get("href") if name_node is not None else None
    parts = _link_parts(href)
    if len(parts) >= 3 and parts[0] == "c" and parts[1].isdigit() and parts[2].isdigit():
        return ForwardOrigin(channel_id=int(parts[1]), message_id=int(parts[2]), name=name)
    if len(parts) >= 2 and parts[-1].isdigit() and parts[0] not in {"c", "s"}:
        return ForwardOrigin(message_id=int(parts[-1]), name=f"@{parts[0]}")
    return ForwardOrigin(name=name)


def _reply_to(bubble: LexborNode, slug: str) -> int | None:
    reply = bubble.css_first("a.tgme_widget_message_reply")
    if reply is None:
        return None
    parts = _link_parts(reply.attributes.get("href"))
    if len(parts) >= 2 and parts[-2].lower() == slug.lower() and parts[-1].isdigit():
        return int(parts[-1])
    return None


def _outer_text_node(bubble: LexborNode) -> LexborNode | None:
    """The message's own text: the outermost `.tgme_widget_message_text` outside a reply."""
    for node in bubble.css(".tgme_widget_message_text"):
        parent = node.parent
        while parent is not None and parent.mem_id != bubble.mem_id:
            if {"tgme_widget_message_text", "tgme_widget_message_reply"} & _classes(parent):
                break
            parent = parent.parent
        else:
            return node
    return None


@dataclass(frozen=True, slots=True)
class _Parsed:
    key: int
    posts: list[Post]
    view_channel: int | None


def _parse_message(node: LexborNode, slug: str, key: int, channel: ChannelRef) -> _Parsed:
    time_node = node.css_first("a.tgme_widget_message_date time[datetime]") or node.css_first(
        ".tgme_widget_message_date time[datetime]"
    )
    date = _parse_time(time_node.attributes.get("datetime") if time_node else None)
    if date is None:
        raise WebPageError(f"post {slug}/{key} has no readable time")
    bubble = node.css_first(".tgme_widget_message_bubble") or node
    text, entities = message_text(_outer_text_node(bubble))
    views_node = bubble.css_first(".tgme_widget_message_views")
    author_node = bubble.css_first(".tgme_widget_message_from_author")
    author = _clean_line(author_node.text()) if author_node is not None else ""
    members = _album_members(bubble, slug)
    forward = _forward(bubble)
    reply_to = _reply_to(bubble, slug)
    view_channel = _view_channel_id(node.attributes.get("data-view"), key)
    kinds = dict(members)
    # The widget's own post carries the caption, views and signature; an album's other
    # members follow it, all grouped under the smallest member id.
    grouped_id = min([key, *kinds]) if members else None
    posts = [
        Post(
            channel=channel,
            message_id=key,
            date=date,
            text=text,
            entities=entities,
            media_kind=kinds.get(key, members[0][1]) if members else _media_kind(bubble),
            forward=forward,
            grouped_id=grouped_id,
            views=parse_views(views_node.text() if views_node else None),
            author=author or None,
            reply_to=reply_to,
        )
    ]
    for member_id, kind in members:
        if member_id == key:
            continue
        posts.append(
            Post(
                channel=channel,
                message_id=member_id,
                date=date,
                media_kind=kind,
                forward=forward,
                grouped_id=grouped_id,
                author=author or None,
            )
        )
    return _Parsed(key, posts, view_channel)


# --- the page --------------------------------------------------------------------------------
def _page_title(tree: LexborHTMLParser) -> str | None:
    for selector in (".tgme_channel_info_header_title", ".tgme_header_title"):
        node = tree.css_first(selector)
        if node is not None and _clean_line(node.text()):
            return _clean_line(node.text())
    meta = tree.css_first('meta[property="og:title"]')
    if meta is not None and _clean_line(meta.attributes.get("content") or ""):
        return _clean_line(meta.attributes.get("content") or "")
    owner = tree.css_first(".tgme_widget_message_owner_name")
    if owner is not None and _clean_line(owner.text()):
        return _clean_line(owner.text())
    return None


def _page_username(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first(".tgme_channel_info_header_username a, .tgme_page_extra")
    if node is not None:
        text = node.text().strip()
        if text.startswith("@") and len(text) > 1:
            return text[1:].split()[0]
    return None


def _before(tree: LexborHTMLParser) -> int | None:
    node = tree.css_first("a.tme_messages_more[data-before]")
    value = (node.attributes.get("data-before") or "").strip() if node is not None else ""
    return int(value) if value.isdigit() else None


def parse_page(html: str | bytes, *, username: str | None = None) -> WebPage:
    """Read one `t.me/s/<channel>` page (or a fragment of its message widgets).

    `username` is the channel asked for, used when the page itself does not spell it.
    Raises `WebPageError` for HTML that is not a channel preview or a post that cannot be read.
    """
    tree = LexborHTMLParser(html)
    widgets = tree.css(".tgme_widget_message[data-post]")
    has_history = tree.css_first(".tgme_channel_history, .js-message_history") is not None
    title = _page_title(tree)
    if not widgets and not has_history:
        if tree.css_first(".tgme_page, .tgme_page_wrap, .tgme_page_title") is not None:
            return WebPage(
                username=_page_username(tree) or username,
                title=title,
                channel_id=None,
                no_preview=True,
            )
        raise WebPageError("not a channel preview: no message history and no channel page")

    slug = username
    keyed: list[tuple[LexborNode, str, int]] = []
    for node in widgets:
        found = _post_key(node.attributes.get("data-post"))
        if found is None:
            raise WebPageError(f"unreadable data-post {node.attributes.get('data-post')!r}")
        keyed.append((node, found[0], found[1]))
    if keyed:
        slug = keyed[0][1]
    slug = slug or _page_username(tree)
    if slug is None:
        raise WebPageError("the page does not name its channel")

    provisional = ChannelRef(username=slug, title=title)
    parsed: list[_Parsed] = []
    service: list[int] = []
    for node, node_slug, key in keyed:
        if node_slug.lower() != slug.lower():
            raise WebPageError(f"post {node_slug}/{key} is not from {slug}")
        if "service_message" in _classes(node):
            service.append(key)
            continue
        parsed.append(_parse_message(node, slug, key, provisional))

    view_ids = {p.view_channel for p in parsed if p.view_channel is not None}
    channel_id = view_ids.pop() if len(view_ids) == 1 else None
    channel = ChannelRef(telegram_id=channel_id, username=slug, title=title)
    posts: dict[int, Post] = {}
    for item in parsed:
        for post in item.posts:
            if post.message_id in posts and post.message_id != item.key:
                continue  # an album member also shown on its own keeps its own widget
            posts[post.message_id] = _with_channel(post, channel)
    shown = sorted({p.key for p in parsed})
    return WebPage(
        username=slug,
        title=title,
        channel_id=channel_id,
        posts=tuple(posts[i] for i in sorted(posts)),
        shown_ids=tuple(shown),
        service_ids=tuple(sorted(set(service))),
        before=_before(tree),
    )


def _with_channel(post: Post, channel: ChannelRef) -> Post:
    return post if post.channel == channel else replace(post, channel=channel)
