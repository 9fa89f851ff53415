"""Inline keyboards (texts translated at call time)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import LANGUAGE_NAMES, _
from bot.telegram.callbacks import LangCb, MenuCb


def main_menu() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="❓ " + _("Questions"), callback_data=MenuCb(section="faq"))
    builder.button(text="📅 " + _("Events"), callback_data=MenuCb(section="events"))
    builder.button(text="🔔 " + _("Reminders"), callback_data=MenuCb(section="reminders"))
    builder.button(text="🌐 " + _("Language"), callback_data=MenuCb(section="language"))
    builder.adjust(2, 2)
    return builder.as_markup()


def language_menu(current: str | None = None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        builder.button(text=("✅ " if code == current else "") + name, callback_data=LangCb(code=code))
    builder.adjust(3)
    return builder.as_markup()


def rating_row(helpful: CallbackData, not_helpful: CallbackData) -> list[InlineKeyboardButton]:
    """👍 Helpful / 👎 Not helpful: the rating of an FAQ answer and of an operators' answer."""
    return [
        InlineKeyboardButton(text="👍 " + _("Helpful"), callback_data=helpful.pack()),
        InlineKeyboardButton(text="👎 " + _("Not helpful"), callback_data=not_helpful.pack()),
    ]


def back_to_menu() -> InlineKeyboardButton:
    return InlineKeyboardButton(text="⬅️ " + _("Menu"), callback_data=MenuCb(section="home").pack())


def menu_only() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[back_to_menu()]])


def page_row(page: int, pages: int, target: Callable[[int], CallbackData]) -> list[InlineKeyboardButton]:
    """◀️ / ▶️ between the pages of a list (``page`` 0-based; ``target(n)``: page ``n``'s button data);
    empty with a single page."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(text=f"◀️ {page}/{pages}", callback_data=target(page - 1).pack()))
    if page < pages - 1:
        row.append(InlineKeyboardButton(text=f"{page + 2}/{pages} ▶️", callback_data=target(page + 1).pack()))
    return row
