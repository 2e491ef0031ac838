"""Inline buttons for subscriptions (callback data stays far under Telegram's 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from storage.subscriptions import Subscription

LIST_BUTTON_LIMIT = 30  # subscriptions with buttons under /list (Telegram caps keyboards)


class SubAction(CallbackData, prefix="sub"):
    """A button on a subscription: toggle an option, or delete it."""

    action: str  # silent, edits, forwards, paused, delete
    sub_id: int
    view: str = "o"  # which keyboard to redraw: "o" options of one, "l" the /list


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def options_keyboard(sub: Subscription) -> InlineKeyboardMarkup:
    """All options of one subscription (under the /subscribe confirmation)."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=f"Sound: {_on(not sub.silent)}",
        callback_data=SubAction(action="silent", sub_id=sub.id),
    )
    builder.button(
        text=f"Edits & deletions: {_on(sub.edits)}",
        callback_data=SubAction(action="edits", sub_id=sub.id),
    )
    builder.button(
        text=f"Forwards: {_on(sub.forwards)}",
        callback_data=SubAction(action="forwards", sub_id=sub.id),
    )
    builder.button(
        text="Resume" if sub.paused else "Pause",
        callback_data=SubAction(action="paused", sub_id=sub.id),
    )
    builder.button(text="Delete", callback_data=SubAction(action="delete", sub_id=sub.id))
    builder.adjust(1, 2, 2)
    return builder.as_markup()


def list_keyboard(subs: list[Subscription]) -> InlineKeyboardMarkup:
    """Pause/resume, sound and delete for each listed subscription, one row each."""
    builder = InlineKeyboardBuilder()
    for sub in subs[:LIST_BUTTON_LIMIT]:
        builder.button(
            text=f"#{sub.id} {'▶ resume' if sub.paused else '⏸ pause'}",
            callback_data=SubAction(action="paused", sub_id=sub.id, view="l"),
        )
        builder.button(
            text=f"#{sub.id} sound {_on(not sub.silent)}",
            callback_data=SubAction(action="silent", sub_id=sub.id, view="l"),
        )
        builder.button(
            text=f"#{sub.id} delete",
            callback_data=SubAction(action="delete", sub_id=sub.id, view="l"),
        )
    builder.adjust(3)
    return builder.as_markup()
