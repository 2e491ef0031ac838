"""Puts the chat's language into every handler's data as `lang`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.i18n import resolve_language
from storage import chats as chat_repo
from storage.db import Database


class LanguageMiddleware(BaseMiddleware):
    """`lang`: the chat's /settings language, else the user's Telegram language, else en."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = event.chat if isinstance(event, Message) else None
        if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
            chat = event.message.chat
        user = getattr(event, "from_user", None)
        chosen = None
        db = data.get("db")
        if chat is not None and isinstance(db, Database):
            async with db.read() as conn:
                chosen = await chat_repo.language_of(conn, chat.id)
        data["lang"] = resolve_language(chosen, getattr(user, "language_code", None))
        return await handler(event, data)
