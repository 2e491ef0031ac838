"""With only a bot token: `App` polls a `source = "web"` channel and alerts its subscribers.

The whole path runs for real: the App's scheduler job target (`WebPoller.tick`) fetches pages
over HTTP from a local stand-in for t.me/s (built from a saved real page), the ingestor stores
and indexes them, the alert engine matches, and the notifier sends through the real aiogram
Bot to a local Bot API server, where the subscription itself was made with `/subscribe`.
Time is a fake clock; the ticks are driven by the test (the scheduler is paused).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.config import parse_settings
from bot.ingest import ChangeKind
from bot.sources.web import PollStatus
from tests.conftest import FakeClock
from tests.harness.bot_api import BotApiServer
from tests.harness.web_preview import FakeChannel, PreviewServer

TOKEN = "123456:TEST-token-never-logged-abcdefghijklmnop"
CHANNEL = "V_Zelenskiy_official"
CHAT = 4242
_ids = itertools.count(1)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[BotApiServer, PreviewServer]]:
    bot_api = await BotApiServer().start()
    preview = await PreviewServer().start()
    try:
        yield bot_api, preview
    finally:
        await preview.stop()
        await bot_api.stop()


def _settings(tmp_path: Path, bot_api: BotApiServer, preview: PreviewServer) -> Any:
    return parse_settings(
        {
            "bot": {"api_base_url": bot_api.base_url},
            "storage": {"path": str(tmp_path / "web.db")},
            "telegram": {"enabled": False},
            "web": {"enabled": True, "base_url": preview.base_url, "interval_seconds": 60},
            "delivery": {"private_per_second": 100.0},
            "channels": [{"username": CHANNEL, "source": "web"}],
        },
        environ={"CHANWATCH_BOT_TOKEN": TOKEN},
    )


def _message(text: str) -> dict[str, Any]:
    return {
        "message": {
            "message_id": next(_ids),
            "date": 1793534400,
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Reporter", "language_code": "en"},
            "text": text,
        }
    }


def _texts(bot_api: BotApiServer) -> list[str]:
    return [
        str(c.params["text"])
        for c in bot_api.calls
        if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == CHAT
    ]


async def test_web_channel_alerts_new_posts_edits_and_deletions(
    tmp_path: Path, clock: FakeClock, servers: tuple[BotApiServer, PreviewServer]
) -> None:
    bot_api, preview = servers
    page = FakeChannel.from_full(slug=CHANNEL, channel_id=1_234_567)
    preview.channels[CHANNEL] = page
    settings = _settings(tmp_path, bot_api, preview)
    assert settings.missing_for_run() == []  # a bot token is all it needs

    app = App(settings, clock=clock)
    await app.start()
    try:
        assert app.scheduler is not None and app.scheduler.get_job("web_poll") is not None
        app.scheduler.pause()  # the test drives the poller's ticks itself
        assert app.web is not None and app.notifier is not None

        # First sight: the page is archived, nobody is alerted about old posts.
        (first,) = await app.web.tick()
        assert first.status is PollStatus.FIRST_SIGHT

        bot_api.push_update(_message("/subscribe гарантії безпеки"))
        await bot_api.wait_for_call("sendMessage", 1)
        sent_before = len(_texts(bot_api))

        # A new post that matches: one alert with the words and the link.
        page.add(71010, "Говорили про гарантії безпеки для України в Парижі.", date=clock())
        clock.advance(70)
        (poll,) = await app.web.tick()
        assert poll.status is PollStatus.OK
        await bot_api.wait_for_call("sendMessage", sent_before + 1)
        alert = _texts(bot_api)[-1]
        assert "Парижі" in alert and f"t.me/{CHANNEL}/71010" in alert

        # An edit of that post: announced once the minute of coalescing has passed.
        page.edit(71010, "Говорили про гарантії безпеки для України в Парижі та Лондоні.")
        clock.advance(70)
        await app.web.tick()
        clock.advance(61)
        app.notifier.notify_new()
        await bot_api.wait_for_call("sendMessage", sent_before + 2)
        edit = _texts(bot_api)[-1]
        assert "Edited" in edit and "Лондоні" in edit

        # A deletion: the post is gone from two polls in a row, with a newer post on the page.
        page.add(71011, "Про інше.", date=clock())
        clock.advance(70)
        await app.web.tick()
        page.remove(71010)
        clock.advance(70)
        (missing_once,) = await app.web.tick()
        assert missing_once.of_kind(ChangeKind.DELETION) == []  # missing once is not enough
        clock.advance(70)
        await app.web.tick()
        await bot_api.wait_for_call("sendMessage", sent_before + 3)
        deletion = _texts(bot_api)[-1]
        assert "Deleted" in deletion and "Лондоні" in deletion

        rows = await app.db.fetch_all("SELECT kind FROM outbox ORDER BY id")
        assert [r["kind"] for r in rows] == ["new", "edit", "deletion"]  # once each
    finally:
        await app.stop()
