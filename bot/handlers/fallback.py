"""Every input gets an answer: unknown commands, non-text messages, stale or forged buttons."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message

from bot.clock import Clock
from bot.config import Lang
from bot.content import Campaign, ContentStore
from bot.handlers.screens import help_screen
from bot.handlers.texts import contact_line, sources_block
from bot.i18n import _
from bot.services.desk import DeskService
from bot.telegram.filters import Magic
from bot.telegram.keyboards import main_menu
from bot.telegram.ui import Screen, answer_stale, send


def router() -> Router:
    r = Router(name="fallback")
    r.message.filter(Magic(F.chat.type == ChatType.PRIVATE))
    r.message.register(on_unknown_command, Magic(F.text.startswith("/")))
    r.message.register(on_text, Magic(F.text))
    r.message.register(on_location, Magic(F.location))
    r.message.register(on_contact, Magic(F.contact))
    r.message.register(on_other)
    r.callback_query.register(on_stale_button)
    return r


async def on_unknown_command(
    message: Message, content: ContentStore, clock: Clock, lang: Lang, desk: DeskService | None = None
) -> None:
    screen = help_screen(content.current, clock.now(), lang, desk=desk is not None and desk.open_to_residents)
    await send(message, Screen("🤷 " + _("I do not know this command.") + "\n\n" + screen.text, screen.markup))


async def on_text(message: Message) -> None:
    await send(message, Screen(_("Choose a section:"), main_menu()))


async def on_other(message: Message) -> None:
    await send(
        message,
        Screen(
            "💬 " + _("I understand text: type your question in your own words, or choose a section."),
            main_menu(),
        ),
    )


def location_screen(campaign: Campaign, now: datetime, lang: Lang) -> Screen:
    """A shared location: stations are not found by location; where the campaign says how to find
    one (eGov), that, with its source."""
    lines = ["📍 " + _("I do not look up polling stations by location, and I do not keep your location.")]
    lookup = campaign.station_lookup
    if lookup is not None and (lookup.until is None or not campaign.passed(lookup.until, now)):
        lines += ["", "🗳 " + lookup.text.get(lang), sources_block(lookup.sources, lang, campaign, now)]
    lines += ["", contact_line(campaign, now, lang)]
    return Screen("\n".join(lines), main_menu())


def contact_screen(campaign: Campaign, now: datetime, lang: Lang) -> Screen:
    text = (
        "📇 "
        + _("I do not need a phone number or a contact, and I have not stored it. Just type your question.")
        + "\n\n"
        + contact_line(campaign, now, lang)
    )
    return Screen(text, main_menu())


async def on_location(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await send(message, location_screen(content.current.campaign, clock.now(), lang))


async def on_contact(message: Message, content: ContentStore, clock: Clock, lang: Lang) -> None:
    await send(message, contact_screen(content.current.campaign, clock.now(), lang))


async def on_stale_button(query: CallbackQuery) -> None:
    await answer_stale(query)
