"""Screens shared by several routers (home, help, language choice)."""

from __future__ import annotations

from datetime import datetime

from bot.config import Lang
from bot.content import Content
from bot.i18n import _
from bot.keyboards import language_menu, main_menu, menu_only
from bot.telegram_text import escape
from bot.texts import contact_line, status_text
from bot.ui import Screen


def home_screen(content: Content, now: datetime, lang: Lang, *, name: str = "") -> Screen:
    campaign = content.campaign
    hello = _("Hello, {name}!").format(name=escape(name)) if name else _("Hello!")
    text = (
        f"👋 {hello}\n"
        + f"<b>{escape(campaign.title.get(lang))}</b>\n"
        + _("I answer questions with facts and their sources. I do not campaign and take no side.")
        + "\n\n"
        + status_text(campaign, now, lang)
        + "\n\n"
        + _("Type your question in your own words, or choose a section:")
    )
    return Screen(text, main_menu())


def help_screen(content: Content, now: datetime, lang: Lang) -> Screen:
    lines = [
        _("I am a neutral information bot. Ask a question in Kazakh, Russian or English, in your own words."),
        "",
        "/menu — " + _("main menu"),
        "/language — " + _("change the language"),
        "/help — " + _("this help"),
        "",
        contact_line(content.campaign, now, lang),
    ]
    return Screen("\n".join(lines), menu_only())


def language_screen(lang: Lang, *, first_time: bool = False) -> Screen:
    text = (
        "🌐 Тілді таңдаңыз · Выберите язык · Choose your language" if first_time else "🌐 " + _("Choose your language:")
    )
    return Screen(text, language_menu(None if first_time else lang))
