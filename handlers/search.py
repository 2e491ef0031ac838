"""/search QUERY: the newest matches in the archive, with links."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.config import Settings
from bot.query import QueryError, compile_query
from bot.search import ArchiveSearch
from storage.db import Database

PAGE = 5


def build_router(settings: Settings) -> Router:
    """The router for archive search."""
    router = Router(name="search")

    @router.message(Command("search"))
    async def search(message: Message, command: CommandObject, db: Database) -> None:
        """The 5 newest posts matching the query (the same search as `chanwatch search`)."""
        query = (command.args or "").strip()
        if not query:
            await message.answer("Usage: /search QUERY")
            return
        try:
            compiled = compile_query(query)
        except QueryError as exc:
            await message.answer(f"Cannot use this query: {html.quote(str(exc))}")
            return
        result = await ArchiveSearch(db).search(compiled, limit=PAGE)
        if not result.hits:
            await message.answer("No posts match.")
            return
        blocks = []
        for hit in result.hits:
            text = hit.post.text.replace("\n", " ")
            snippet = text[:300] + ("…" if len(text) > 300 else "")
            blocks.append(
                f"<b>{html.quote(hit.channel.title or hit.channel.username or '')}</b>, "
                f"{hit.post.date:%Y-%m-%d %H:%M} UTC\n{html.quote(snippet)}\n{html.quote(hit.link)}"
            )
        await message.answer("\n\n".join(blocks)[:4000], disable_web_page_preview=True)

    return router
