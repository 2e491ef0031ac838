"""Builders for our own `Post` objects in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.models import ChannelRef, Post

CHANNEL = ChannelRef(telegram_id=1001, username="official_news", title="Official News")


def make_post(message_id: int, text: str = "text", **kwargs: Any) -> Post:
    """A post of the default test channel."""
    kwargs.setdefault("channel", CHANNEL)
    kwargs.setdefault("date", datetime(2026, 11, 1, 10, 0, tzinfo=UTC))
    return Post(message_id=message_id, text=text, **kwargs)
