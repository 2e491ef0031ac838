"""/search QUERY: the newest matches in the archive, 5 per page with next/previous buttons."""

from __future__ import annotations

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.i18n import text
from bot.query import QueryError, compile_query
from bot.search import ArchiveSearch, channel_label
from storage.db import Database

PAGE = 5
QUERY_MARK = "🔎 "


class SearchPage(CallbackData, prefix="sp"):
    """Go to a page of the search shown in this message (the query is read from it)."""

    page: int


async def render_page(
    db: Database, query: str, page: int, lang: str = "en", *, search: ArchiveSearch | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text of one results page and its navigation buttons."""
    search = search or ArchiveSearch(db)
    result = await search.search(query, limit=PAGE + 1, offset=page * PAGE)
    hits = result.hits[:PAGE]
    if not hits:
        if result.stopped_early:
            return text("search_stopped_empty", lang, examined=result.examined), None
        return text("no_match", lang), None
    blocks = [f"{QUERY_MARK}{html.quote(query)} — page {page + 1}"]
    if result.stopped_early:  # before the posts: the page is cut at Telegram's length limit
        blocks.append(text("search_stopped", lang))
    for hit in hits:
        body = hit.post.text.replace("\n", " ")
        snippet = body[:300] + ("…" if len(body) > 300 else "")
        flags = " (deleted)" if hit.post.deleted_at else (" (edited)" if hit.post.edited else "")
        blocks.append(
            f"<b>{html.quote(hit.channel.title or channel_label(hit.channel))}</b>, "
            f"{hit.post.date:%Y-%m-%d %H:%M} UTC{flags}\n{html.quote(snippet)}\n{html.quote(hit.link)}"
        )
    builder = InlineKeyboardBuilder()
    if page > 0:
        builder.button(text="◀ Newer", callback_data=SearchPage(page=page - 1))
    if len(result.hits) > PAGE:
        builder.button(text="Older ▶", callback_data=SearchPage(page=page + 1))
    markup = builder.as_markup() if (page > 0 or len(result.hits) > PAGE) else None
    return "\n\n".join(blocks)[:4000], markup


def build_router(settings: Settings) -> Router:
    """The router for archive search."""
    router = Router(name="search")

    @router.message(Command("search"))
    async def search(
        message: Message, command: CommandObject, db: Database, lang: str = "en"
    ) -> None:
        """The newest posts matching the query (the same search as `chanwatch search`)."""
        query = (command.args or "").strip()
        if not query:
            await message.answer(text("search_usage", lang))
            return
        try:
            compile_query(query)
        except QueryError as exc:
            await message.answer(text("bad_query", lang, error=html.quote(str(exc))))
            return
        page_text, markup = await render_page(db, query, 0, lang)
        await message.answer(page_text, reply_markup=markup, disable_web_page_preview=True)

    @router.callback_query(SearchPage.filter())
    async def turn_page(
        query: CallbackQuery, callback_data: SearchPage, db: Database, lang: str = "en"
    ) -> None:
        """Show another page of the search in the same message."""
        message = query.message
        first_line = (message.text or "").split("\n", 1)[0] if isinstance(message, Message) else ""
        if not isinstance(message, Message) or not first_line.startswith(QUERY_MARK):
            await query.answer("This search is too old; run /search again.")
            return
        # The query is the first line, up to " — page N" (kept in the message, not in the
        # 64-byte callback data).
        search_text = first_line[len(QUERY_MARK) :].rsplit(" — page ", 1)[0]
        page_text, markup = await render_page(db, search_text, max(0, callback_data.page), lang)
        await query.answer()
        await message.edit_text(page_text, reply_markup=markup, disable_web_page_preview=True)

    return router
