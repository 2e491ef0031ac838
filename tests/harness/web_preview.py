"""A local stand-in for the t.me/s web preview: pages rebuilt from a real saved page.

`FakeChannel` holds one channel's posts as the HTML widgets of the saved `full.html`
(new posts are clones of one of its posts, edits rewrite a widget's text, deletions drop it)
and renders pages of `page_size` posts with the "load more" `?before=` cursor, like t.me/s.
`PreviewServer` serves `GET /s/<name>[?before=N]` on 127.0.0.1, or a scripted failure.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web_preview"
SLUG = "topwar_official"
CHANNEL_ID = 1084368520


# --- pages built from the saved full.html --------------------------------------------------------
_WRAP = '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
_TEXT = '<div class="tgme_widget_message_text js-message_text" dir="auto">'
_MORE = re.compile(
    r'<div class="tgme_widget_message_centered js-messages_more_wrap">.*?</div>', re.S
)
_POST_ID = re.compile(r'data-post="[^"/]+/(\d+)"')
_VIEW = re.compile(r'data-view="[^"]*"')
_DATETIME = re.compile(r'datetime="[^"]*"')


def _split_full() -> tuple[str, dict[int, str], str]:
    page = (FIXTURES / "full.html").read_text("utf-8")
    head, *wraps = page.split(_WRAP)
    last, tail = wraps[-1].split("</section>", 1)
    wraps[-1] = last
    by_id: dict[int, str] = {}
    for wrap in wraps:
        found = _POST_ID.search(wrap)
        assert found is not None
        by_id[int(found.group(1))] = _WRAP + wrap
    return _MORE.sub("", head, count=1), by_id, "</section>" + tail


HEAD, WRAPS, TAIL = _split_full()


def data_view(channel: int, post: int) -> str:
    raw = json.dumps({"c": -channel, "p": post, "t": 1677593835, "h": "0"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def set_text(wrap: str, text: str) -> str:
    start = wrap.index(_TEXT) + len(_TEXT)
    end = wrap.index("</div>", start)
    return wrap[:start] + html.escape(text).replace("\n", "<br/>") + wrap[end:]


@dataclass
class FakeChannel:
    """One channel's posts as HTML widgets; pages of `page_size` like t.me/s."""

    slug: str
    channel_id: int
    wraps: dict[int, str]
    page_size: int = 20

    @classmethod
    def from_full(cls, slug: str = SLUG, channel_id: int = CHANNEL_ID) -> FakeChannel:
        wraps = {}
        for message_id, wrap in WRAPS.items():
            wrap = wrap.replace(f"{SLUG}/", f"{slug}/")
            wrap = _VIEW.sub(f'data-view="{data_view(channel_id, message_id)}"', wrap)
            wraps[message_id] = wrap
        return cls(slug, channel_id, wraps)

    def add(self, message_id: int, text: str, date: datetime | None = None) -> None:
        """A new post (a clone of a text post of the saved page), optionally dated."""
        wrap = WRAPS[70990].replace(f"{SLUG}/70990", f"{self.slug}/{message_id}")
        wrap = _VIEW.sub(f'data-view="{data_view(self.channel_id, message_id)}"', wrap)
        if date is not None:
            wrap = _DATETIME.sub(f'datetime="{date.isoformat()}"', wrap)
        self.wraps[message_id] = set_text(wrap, text)

    def edit(self, message_id: int, text: str) -> None:
        self.wraps[message_id] = set_text(self.wraps[message_id], text)

    def remove(self, message_id: int) -> str:
        return self.wraps.pop(message_id)

    def page(self, before: int | None) -> str:
        ids = sorted(i for i in self.wraps if before is None or i < before)
        chunk = ids[-self.page_size :]
        more = ""
        if chunk and chunk[0] > ids[0]:
            more = (
                f'<div class="tgme_widget_message_centered js-messages_more_wrap">'
                f'<a href="/s/{self.slug}?before={chunk[0]}" class="tme_messages_more '
                f'js-messages_more" data-before="{chunk[0]}"></a></div>'
            )
        head = HEAD.replace(f"/s/{SLUG}", f"/s/{self.slug}")
        return head + more + "".join(self.wraps[i] for i in chunk) + TAIL


# --- the local server ------------------------------------------------------------------------------
@dataclass
class PreviewServer:
    """`GET /s/<name>[?before=N]`: a page, or a scripted failure."""

    channels: dict[str, FakeChannel] = field(default_factory=dict)
    raw_pages: dict[str, str] = field(default_factory=dict)  # name -> a saved page, as it is
    # name -> "429", "500", "redirect", "hang", "malformed"; (name, before) for one page only
    failures: dict[str | tuple[str, int], str] = field(default_factory=dict)
    requests: list[tuple[str, int | None]] = field(default_factory=list)
    never: asyncio.Event = field(default_factory=asyncio.Event)
    requested: asyncio.Event = field(default_factory=asyncio.Event)  # set by every request
    runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> PreviewServer:
        app = web.Application()
        app.router.add_get("/s/{name}", self._handle)
        self.runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=0.5,
            handler_cancellation=True,
            access_log=None,
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests_for(self, name: str) -> list[int | None]:
        return [before for n, before in self.requests if n == name]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        raw = request.query.get("before")
        before = int(raw) if raw is not None else None
        self.requests.append((name, before))
        self.requested.set()
        failure = self.failures.get((name, before)) if before is not None else None
        failure = failure or self.failures.get(name)
        if failure == "hang":
            await self.never.wait()
        if failure == "429":
            return web.Response(status=429, headers={"Retry-After": "120"}, text="Too Many")
        if failure == "500":
            return web.Response(status=500, text="oops")
        if failure == "redirect":
            return web.Response(status=302, headers={"Location": f"https://t.me/{name}"})
        if failure == "malformed":
            broken = '<html><body><section class="tgme_channel_history"><div class="tgme_widget_'
            broken += f'message" data-post="{name}/1"><div class="tgme_widget_message_text">cut'
            return web.Response(text=broken, content_type="text/html")
        if name in self.raw_pages:
            return web.Response(text=self.raw_pages[name], content_type="text/html")
        channel = self.channels.get(name)
        if channel is None:
            return web.Response(status=404, text="no such channel")
        return web.Response(text=channel.page(before), content_type="text/html")
