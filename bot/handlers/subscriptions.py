"""/subscribe, /unsubscribe and the Reminders section of the main menu."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.handlers.reminders import plan_text
from bot.i18n import LANGUAGE_NAMES, _
from bot.services.reminders import reminder_plan
from bot.services.subscriptions import NO_DISTRICT, SubscriptionService
from bot.storage import Storage
from bot.storage.base import Subscription
from bot.telegram.callbacks import SubCb
from bot.telegram.filters import private_command
from bot.telegram.keyboards import back_to_menu
from bot.telegram.ui import Screen, answer_stale, send, show
from bot.telegram_text import escape

SUB_ACTIONS = ("on", "off", "districts", "district")


def router() -> Router:
    r = Router(name="subscriptions")
    r.message.filter(private_command())
    r.message.register(on_subscribe, Command("subscribe"))
    r.message.register(on_unsubscribe, Command("unsubscribe"))
    r.callback_query.register(on_button, SubCb.filter(F.action.in_(SUB_ACTIONS)))
    return r


def _what_you_get(campaign: Campaign, now: datetime, lang: Lang) -> str:
    """What a subscription gives from now on: only the reminders still ahead are promised."""
    plan = plan_text(campaign, reminder_plan(campaign, now), lang)
    announcements = _("Subscribers receive rare announcements from the bot's team. No campaigning, no advertising.")
    return f"{plan}\n\n{announcements}" if plan else announcements


def reminders_screen(
    subscription: Subscription | None, campaign: Campaign, now: datetime, lang: Lang, *, just_changed: bool = False
) -> Screen:
    """The Reminders section: what a subscription gives, its settings, and how to stop it."""
    builder = InlineKeyboardBuilder()
    if subscription is None:
        lead = ("🔕 " + _("You are unsubscribed.")) if just_changed else "🔔 " + _("Reminders and announcements")
        text = "\n\n".join(
            [
                lead,
                _what_you_get(campaign, now, lang),
                _("Subscribe with the button below or /subscribe; stop at any time with /unsubscribe."),
            ]
        )
        builder.button(text="🔔 " + _("Subscribe"), callback_data=SubCb(action="on"))
    else:
        district = campaign.district_name(subscription.district, lang)
        lines = [
            "✅ " + (_("You are subscribed.") if just_changed else _("Your subscription is active.")),
            _what_you_get(campaign, now, lang),
            "🌐 " + _("Language: {name}").format(name=LANGUAGE_NAMES.get(lang, lang)),
            "📍 " + _("District: {name}").format(name=escape(district) if district else _("not chosen (optional)")),
            _("To stop, press Unsubscribe or send /unsubscribe."),
        ]
        text = "\n\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:4]) + "\n\n" + lines[4]
        if campaign.districts:
            builder.button(text="📍 " + _("Choose a district"), callback_data=SubCb(action="districts"))
        builder.button(text="🔕 " + _("Unsubscribe"), callback_data=SubCb(action="off"))
    builder.adjust(1)
    builder.row(back_to_menu())
    return Screen(text, builder.as_markup())


def district_screen(current: str | None, campaign: Campaign, lang: Lang) -> Screen:
    builder = InlineKeyboardBuilder()
    for district in campaign.districts:
        mark = "✅ " if district.id == current else ""
        builder.button(text=mark + district.name.get(lang), callback_data=SubCb(action="district", value=district.id))
    builder.button(
        text=("✅ " if current is None else "") + _("No district"),
        callback_data=SubCb(action="district", value=NO_DISTRICT),
    )
    builder.adjust(2)
    return Screen(
        "📍 " + _("Choose your district (optional): local announcements will reach you."), builder.as_markup()
    )


async def reminders_section(storage: Storage, campaign: Campaign, now: datetime, user_id: int, lang: Lang) -> Screen:
    return reminders_screen(await storage.get_subscription(user_id), campaign, now, lang)


async def on_subscribe(
    message: Message, subscriptions: SubscriptionService, content: ContentStore, clock: Clock, lang: Lang
) -> None:
    if message.from_user is None:
        return
    subscription = await subscriptions.subscribe(message.from_user.id, lang)
    await send(message, reminders_screen(subscription, content.current.campaign, clock.now(), lang, just_changed=True))


async def on_unsubscribe(
    message: Message, subscriptions: SubscriptionService, content: ContentStore, clock: Clock, lang: Lang
) -> None:
    if message.from_user is None:
        return
    await subscriptions.unsubscribe(message.from_user.id)
    await send(message, reminders_screen(None, content.current.campaign, clock.now(), lang, just_changed=True))


async def on_button(
    query: CallbackQuery,
    callback_data: SubCb,
    storage: Storage,
    subscriptions: SubscriptionService,
    content: ContentStore,
    clock: Clock,
    lang: Lang,
) -> None:
    user_id = query.from_user.id
    action = callback_data.action
    campaign, now = content.current.campaign, clock.now()
    if action == "on":
        await query.answer(_("Subscribed"))
        subscribed = await subscriptions.subscribe(user_id, lang)
        await show(query, reminders_screen(subscribed, campaign, now, lang, just_changed=True))
    elif action == "off":
        await subscriptions.unsubscribe(user_id)
        await query.answer(_("Unsubscribed"))
        await show(query, reminders_screen(None, campaign, now, lang, just_changed=True))
    else:
        subscription = await storage.get_subscription(user_id)
        if subscription is None:  # unsubscribed meanwhile: the district buttons are out of date
            await query.answer()
            await show(query, reminders_screen(None, campaign, now, lang))
            return
        if action == "districts":
            await query.answer()
            await show(query, district_screen(subscription.district, campaign, lang))
            return
        if not await subscriptions.set_district(user_id, callback_data.value):
            await answer_stale(query)
            return
        await query.answer(_("Saved"))
        await show(query, reminders_screen(await storage.get_subscription(user_id), campaign, now, lang))
