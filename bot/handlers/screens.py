"""Screens shared by several routers (home, help, language choice)."""

from __future__ import annotations

from datetime import datetime

from bot.config import Lang
from bot.content import Content
from bot.handlers.texts import contact_line, stage_line, status_text
from bot.i18n import N_, _
from bot.telegram.keyboards import language_menu, main_menu, menu_only
from bot.telegram.ui import Screen
from bot.telegram_text import escape


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


# /help groups the residents' commands of ``bot.telegram.commands.USER_COMMANDS`` (a command added there
# appears here with its menu description; one not named below goes under "Settings").
HELP_GROUPS: list[tuple[str, str, tuple[str, ...]]] = [
    ("❓", N_("Questions"), ("questions",)),
    ("💬", N_("A person"), ("operator", "rumour", "done")),  # while the operators' desk is open
    ("📅", N_("Events and dates"), ("events", "countdown")),
    ("🔔", N_("Reminders"), ("reminders", "subscribe", "unsubscribe", "stop")),
    ("🔒", N_("Privacy"), ("privacy", "forget")),
    ("⚙️", N_("Settings"), ("language", "menu", "help")),
]


DONE_DESCRIPTION = N_("Back to the bot from a conversation with the operators")


def help_screen(content: Content, now: datetime, lang: Lang, *, desk: bool = False) -> Screen:
    """The commands by group; ``desk``: the operators' desk is open to residents (its commands shown)."""
    from bot.telegram.commands import DESK_COMMANDS, USER_COMMANDS  # the one list of commands (also Telegram's menu)

    commands = USER_COMMANDS + ([*DESK_COMMANDS, ("done", DONE_DESCRIPTION)] if desk else [])
    described = {name: description for name, description in commands if name != "start"}
    grouped = {name for _mark, _title, names in HELP_GROUPS for name in names}
    lines = [
        _("I am a neutral information bot. Ask a question in Kazakh, Russian or English, in your own words."),
        stage_line(content.campaign, now, lang),
    ]
    for mark, title, names in HELP_GROUPS:
        present = [name for name in names if name in described]
        if title == "Settings":
            present += [name for name in described if name not in grouped]
        if not present:
            continue
        lines.append("")
        lines.append(f"{mark} <b>{_(title)}</b>")
        lines.extend(f"/{name} — {escape(_(described[name]))}" for name in present)
    lines += ["", contact_line(content.campaign, now, lang)]
    return Screen("\n".join(lines), menu_only())


def language_screen(lang: Lang, *, first_time: bool = False) -> Screen:
    text = (
        "🌐 Тілді таңдаңыз · Выберите язык · Choose your language" if first_time else "🌐 " + _("Choose your language:")
    )
    return Screen(text, language_menu(None if first_time else lang))
