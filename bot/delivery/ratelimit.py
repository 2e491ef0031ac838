"""Telegram's sending limits, kept on an injected clock: per chat and overall."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.config import DeliverySettings

GLOBAL_MARGIN = 1.04


class RateLimiter:
    """Spaces sends: at most one per `1/private_per_second` s to a private chat, one per
    `60/group_per_minute` s to a group, one per `1/global_per_second` s overall."""

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._private = 1.0 / settings.private_per_second
        self._group = 60.0 / settings.group_per_minute
        # A hair under the overall limit: Telegram counts arrivals, which network jitter
        # bunches up, so sending at exactly the limit earns occasional 429s.
        self._global = 1.0 / settings.global_per_second * GLOBAL_MARGIN
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_chat: dict[int, float] = {}
        self._next_global = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may be sent, and book that slot."""
        async with self._lock:
            now = self._monotonic()
            at = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
            self._next_global = at + self._global
            self._next_chat[chat_id] = at + (self._private if chat_id > 0 else self._group)
        if at > now:
            await self._sleep(at - now)

    def delay_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram asked to wait (429): nothing goes to this chat before then."""
        self._next_chat[chat_id] = max(
            self._next_chat.get(chat_id, 0.0), self._monotonic() + seconds
        )
