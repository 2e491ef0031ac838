"""Who may use the bot: `[bot] allowed_users` / `allowed_chats`, when set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.config import Settings
from bot.i18n import resolve_language, text


class AccessMiddleware(BaseMiddleware):
    """Lets allowed users and chats through; refuses everyone else once, politely."""

    def __init__(self, settings: Settings) -> None:
        self._users = set(settings.bot.allowed_users)
        self._chats = set(settings.bot.allowed_chats)
        self._refused: set[int] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not self._users and not self._chats:
            return await handler(event, data)
        user = getattr(event, "from_user", None)
        chat = event.chat if isinstance(event, Message) else None
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            chat = event.message.chat
        if (user is not None and user.id in self._users) or (
            chat is not None and chat.id in self._chats
        ):
            return await handler(event, data)
        key = chat.id if chat is not None else (user.id if user is not None else 0)
        if key not in self._refused:
            self._refused.add(key)
            refusal = text(
                "private_bot", resolve_language(None, getattr(user, "language_code", None))
            )
            if isinstance(event, Message):
                await event.answer(refusal)
            elif isinstance(event, CallbackQuery):
                await event.answer(refusal, show_alert=True)
        return None
