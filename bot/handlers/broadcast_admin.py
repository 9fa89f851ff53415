"""Admin commands: /announce (a dialog), /broadcasts, /stats.

Only for ``ADMIN_IDS`` and only in private chat: for anyone else the router does not match, so
the commands fall through to the ordinary "unknown command" answer and forged admin buttons to the
"out of date" notice. Every admin action is written to the audit log (by
:class:`~bot.services.announcements.AnnouncementService`, which makes every write of this dialog);
the progress message of a broadcast is :mod:`bot.handlers.broadcast_progress`."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.handlers.broadcast_progress import audience_label, progress_markup, progress_text
from bot.handlers.desk import stats_lines as desk_stats_lines
from bot.handlers.guest import guest_stats_lines
from bot.handlers.pictures import send_stats_chart, stats_days, stats_key, stats_picture
from bot.handlers.texts import local_time
from bot.i18n import LANGUAGE_NAMES, _
from bot.services.announcements import AnnouncementService, Draft, audience_token, parse_start
from bot.services.delivery.planner import DeliveryPlan
from bot.services.desk import DeskService
from bot.services.guest import GuestService
from bot.services.pictures import PictureService
from bot.services.questions import QuestionLog
from bot.services.reminders import ReminderService
from bot.storage import Storage
from bot.storage.broadcasts import ALL_SUBSCRIBERS, BroadcastStatus, DistrictAudience, LanguageAudience, MessageKind
from bot.telegram.callbacks import AnnCb, BcastCb
from bot.telegram.filters import IsAdmin, Magic
from bot.telegram.ui import Screen, answer_stale, send, show, stale
from bot.telegram_text import escape

log = logging.getLogger(__name__)


class AnnounceForm(StatesGroup):
    message = State()  # waiting for the announcement
    confirm = State()  # preview shown: audience, Send / Schedule / Cancel
    schedule = State()  # waiting for the start time
    deadline = State()  # waiting for the deadline


def router() -> Router:
    r = Router(name="broadcast_admin")
    r.message.filter(IsAdmin())
    r.callback_query.filter(IsAdmin())
    r.message.register(on_announce, Command("announce"))
    r.message.register(on_broadcasts, Command("broadcasts"))
    r.message.register(on_stats, Command("stats"))
    r.message.register(on_cancel_dialog, Command("cancel"), StateFilter(AnnounceForm))
    r.message.register(on_announcement, StateFilter(AnnounceForm.message), Magic(~F.text.startswith("/")))
    r.message.register(on_schedule_time, StateFilter(AnnounceForm.schedule), Magic(F.text & ~F.text.startswith("/")))
    r.message.register(on_deadline_time, StateFilter(AnnounceForm.deadline), Magic(F.text & ~F.text.startswith("/")))
    r.callback_query.register(on_announce_button, StateFilter(AnnounceForm.confirm), AnnCb.filter())
    r.callback_query.register(on_cancel_broadcast, BcastCb.filter(F.action == "cancel"))
    return r


# ---------------------------------------------------------------- /announce


async def on_announce(message: Message, state: FSMContext, announcements: AnnouncementService) -> None:
    assert message.from_user is not None  # the admin filter checked it
    await state.clear()
    await state.set_state(AnnounceForm.message)
    await announcements.audit(message.from_user.id, "announce.start")
    await send(
        message,
        Screen(
            "📣 "
            + _(
                "Send me the announcement: a text, or a photo, video or document with a caption. "
                "Subscribers will receive it exactly as you send it. /cancel to stop."
            )
        ),
    )


async def _control_screen(
    draft: Draft, announcements: AnnouncementService, campaign: Campaign, lang: Lang, view: str = "main"
) -> Screen:
    size = await announcements.size(draft.audience)
    builder = InlineKeyboardBuilder()

    def choice(text: str, audience: LanguageAudience | DistrictAudience) -> None:
        builder.button(text=text, callback_data=AnnCb(action="aud", value=audience_token(audience)))

    if view == "langs":
        for code in LANGUAGES:
            language = LanguageAudience(code)
            choice(f"{LANGUAGE_NAMES[code]} ({await announcements.size(language)})", language)
        builder.button(text="⬅️ " + _("Back"), callback_data=AnnCb(action="back"))
        builder.adjust(1)
    elif view == "dists":
        for district in campaign.districts:
            place = DistrictAudience(district.id)
            choice(f"{district.name.get(lang)} ({await announcements.size(place)})", place)
        builder.button(text="⬅️ " + _("Back"), callback_data=AnnCb(action="back"))
        builder.adjust(2)
    else:
        total = await announcements.size(ALL_SUBSCRIBERS)
        everybody = audience_token(ALL_SUBSCRIBERS)
        builder.button(text="👥 " + _("All ({n})").format(n=total), callback_data=AnnCb(action="aud", value=everybody))
        builder.button(text="🌐 " + _("By language"), callback_data=AnnCb(action="langs"))
        builder.button(text="📍 " + _("By district"), callback_data=AnnCb(action="dists"))
        builder.button(text="✅ " + _("Send"), callback_data=AnnCb(action="send"))
        builder.button(text="🕒 " + _("Schedule"), callback_data=AnnCb(action="schedule"))
        builder.button(text="⏰ " + _("Deadline"), callback_data=AnnCb(action="deadline"))
        builder.button(text="✖️ " + _("Cancel"), callback_data=AnnCb(action="cancel"))
        builder.adjust(3, 4)
    label = audience_label(draft.audience, campaign, lang)
    text = (
        "☝️ "
        + _("This is exactly what subscribers will receive.")
        + "\n\n"
        + _("Audience: {audience} — {n} subscribers.").format(audience=label, n=size)
    )
    if draft.deadline is not None:
        text += "\n" + _("Deadline: {time} ({local}); what is not sent by then is not sent.").format(
            time=f"{draft.deadline.astimezone(campaign.tz):%Y-%m-%d %H:%M}", local=local_time(campaign, lang)
        )
    return Screen(text, builder.as_markup())


def plan_warning(delivery_plan: DeliveryPlan, paid_would_fit: bool, campaign: Campaign) -> str | None:
    """The advice when a broadcast cannot finish by its deadline (None when it can)."""
    if delivery_plan.fits or delivery_plan.deadline is None or delivery_plan.latest_start is None:
        return None
    tz = campaign.tz
    text = "⚠️ " + _(
        "At {rate} messages a second it finishes at {finish}, after its deadline {deadline}: start at {start}"
    ).format(
        rate=f"{delivery_plan.rate:g}",
        finish=f"{delivery_plan.finish.astimezone(tz):%Y-%m-%d %H:%M}",
        deadline=f"{delivery_plan.deadline.astimezone(tz):%Y-%m-%d %H:%M}",
        start=f"{delivery_plan.latest_start.astimezone(tz):%Y-%m-%d %H:%M}",
    )
    if paid_would_fit:
        text += _(", or switch on paid broadcasts (BROADCAST_PAID)")
    return text + "."


async def on_announcement(
    message: Message,
    state: FSMContext,
    bot: Bot,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
) -> None:
    assert message.from_user is not None
    if message.text is not None:
        draft = Draft.text(message.html_text)
    else:
        draft = Draft.copy(message.chat.id, message.message_id)
    await state.set_data(draft.to_data())
    await state.set_state(AnnounceForm.confirm)
    await announcements.drafted(message.from_user.id, draft)
    if draft.message.kind == MessageKind.TEXT:
        await bot.send_message(message.chat.id, draft.message.text or "")
    else:
        await bot.copy_message(message.chat.id, message.chat.id, message.message_id)
    await send(message, await _control_screen(draft, announcements, content.current.campaign, lang))


async def on_cancel_dialog(message: Message, state: FSMContext, announcements: AnnouncementService) -> None:
    assert message.from_user is not None
    await state.clear()
    await announcements.audit(message.from_user.id, "announce.cancel")
    await send(message, Screen("✖️ " + _("The announcement is cancelled; nothing was sent.")))


async def on_announce_button(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    clock: Clock,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
) -> None:
    admin = query.from_user.id
    draft = announcements.draft(await state.get_data())
    if draft is None:  # the conversation's data is gone: start again
        await state.clear()
        await answer_stale(query)
        return
    action = callback_data.action
    campaign = content.current.campaign
    if action in ("langs", "dists", "back"):
        await query.answer()
        view = {"langs": "langs", "dists": "dists"}.get(action, "main")
        await show(query, await _control_screen(draft, announcements, campaign, lang, view))
    elif action == "aud":
        audience = announcements.audience(callback_data.value)
        if audience is None:
            await answer_stale(query)
            return
        draft = Draft(draft.message, audience)
        await state.set_data(draft.to_data())
        await query.answer()
        await show(query, await _control_screen(draft, announcements, campaign, lang))
    elif action == "cancel":
        await state.clear()
        await announcements.audit(admin, "announce.cancel")
        await query.answer()
        await show(query, Screen("✖️ " + _("The announcement is cancelled; nothing was sent.")))
    elif action == "schedule":
        await state.set_state(AnnounceForm.schedule)
        await query.answer()
        example = (clock.now().astimezone(campaign.tz) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
        await show(
            query,
            Screen(
                "🕒 "
                + _(
                    "When should it go out? Send the date and time ({local}), for example {example}. /cancel to stop."
                ).format(local=local_time(campaign, lang), example=example)
            ),
        )
    elif action == "deadline":
        await state.set_state(AnnounceForm.deadline)
        await query.answer()
        example = (clock.now().astimezone(campaign.tz) + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
        await show(
            query,
            Screen(
                "⏰ "
                + _(
                    "By when must it reach subscribers? Send the date and time ({local}), for example {example}: "
                    "what is not sent by then is not sent. /cancel to stop."
                ).format(local=local_time(campaign, lang), example=example)
            ),
        )
    elif action == "send" and isinstance(query.message, Message):
        await state.clear()
        warning = plan_warning(
            delivery_plan := await announcements.plan(draft), announcements.paid_would_fit(delivery_plan), campaign
        )
        # The control message becomes the progress message; from here on only the engine's
        # reporter edits it (so a fast broadcast's final report cannot be overwritten).
        await show(query, Screen("⏳ " + _("Starting the broadcast…")))
        await announcements.send(admin, draft, progress=(query.message.chat.id, query.message.message_id))
        await query.answer(_("Sending started"))
        if warning is not None:
            await send(query.message, Screen(warning))
    else:
        await answer_stale(query)


async def on_schedule_time(
    message: Message,
    state: FSMContext,
    clock: Clock,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
) -> None:
    campaign = content.current.campaign
    assert message.from_user is not None and message.text is not None
    moment = parse_start(message.text, campaign.tz, clock.now())
    if moment is None:
        await send(message, Screen("🕒 " + _("Please send a future date and time as YYYY-MM-DD HH:MM, or /cancel.")))
        return
    draft = announcements.draft(await state.get_data())
    if draft is not None and draft.deadline is not None and draft.deadline <= moment:
        await send(message, Screen("🕒 " + _("Please send a time before the deadline, or /cancel.")))
        return  # still waiting for the start time, the draft kept
    await state.clear()
    if draft is None:  # the conversation's data is gone: start again
        await send(message, Screen(stale()))
        return
    note = await send(message, Screen("🕒 " + _("Scheduling…")))
    record = await announcements.schedule(message.from_user.id, draft, moment, progress=(note.chat.id, note.message_id))
    delivery_plan = await announcements.plan(draft, moment)
    text = "🕒 " + _("Broadcast #{id} is scheduled for {time} ({local}); audience: {audience}.").format(
        id=record.id,
        time=moment.strftime("%Y-%m-%d %H:%M"),
        local=local_time(campaign, lang),
        audience=audience_label(draft.audience, campaign, lang),
    )
    text += "\n" + _("Estimated finish: {time}.").format(time=f"{delivery_plan.finish.astimezone(campaign.tz):%H:%M}")
    warning = plan_warning(delivery_plan, announcements.paid_would_fit(delivery_plan), campaign)
    if warning is not None:
        text += "\n\n" + warning
    await note.edit_text(text, reply_markup=progress_markup(record))


async def on_deadline_time(
    message: Message,
    state: FSMContext,
    clock: Clock,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
) -> None:
    campaign = content.current.campaign
    assert message.from_user is not None and message.text is not None
    moment = parse_start(message.text, campaign.tz, clock.now())
    if moment is None:
        await send(message, Screen("⏰ " + _("Please send a future date and time as YYYY-MM-DD HH:MM, or /cancel.")))
        return
    draft = announcements.draft(await state.get_data())
    if draft is None:  # the conversation's data is gone: start again
        await state.clear()
        await send(message, Screen(stale()))
        return
    draft = await announcements.set_deadline(message.from_user.id, draft, moment)
    await state.set_data(draft.to_data())
    await state.set_state(AnnounceForm.confirm)
    await send(message, await _control_screen(draft, announcements, campaign, lang))


# ---------------------------------------------------------------- /broadcasts and cancelling


async def _reminder_lines(reminders: ReminderService | None, campaign: Campaign, limit: int = 3) -> list[str]:
    """The next campaign reminders with their plan: start, estimated finish, deadline."""
    if reminders is None:
        return []
    plans = (await reminders.plans())[:limit]
    if not plans:
        return []
    tz = campaign.tz
    lines = ["", "⏰ " + _("Next campaign reminders:")]
    for reminder, delivery_plan in plans:
        line = f"{escape(reminder.id)} · {delivery_plan.start.astimezone(tz):%Y-%m-%d %H:%M} · " + _(
            "finishes about {time}"
        ).format(time=f"{delivery_plan.finish.astimezone(tz):%H:%M}")
        if delivery_plan.deadline is not None and not delivery_plan.fits:
            line += " ⚠️ " + _("after its deadline {time}").format(time=f"{delivery_plan.deadline.astimezone(tz):%H:%M}")
        lines.append(line)
    return lines


async def _broadcasts_screen(
    announcements: AnnouncementService, content: ContentStore, lang: Lang, reminders: ReminderService | None = None
) -> Screen:
    campaign = content.current.campaign
    tz = campaign.tz
    recent = await announcements.recent(10)
    upcoming = await _reminder_lines(reminders, campaign)
    if not recent:
        return Screen("\n".join(["📭 " + _("No broadcasts yet."), *upcoming]))
    statuses = {
        BroadcastStatus.SCHEDULED: "🕒 " + _("scheduled"),
        BroadcastStatus.RUNNING: "📣 " + _("sending"),
        BroadcastStatus.DONE: "✅ " + _("finished"),
        BroadcastStatus.CANCELLED: "✖️ " + _("cancelled"),
    }
    lines = ["📋 " + _("Recent broadcasts:")]
    builder = InlineKeyboardBuilder()
    finishes = await announcements.estimated_finishes(recent)
    for record, counts in recent:
        moment = (record.start_at if record.status == BroadcastStatus.SCHEDULED else record.created_at).astimezone(tz)
        line = (
            f"#{record.id} · {statuses.get(record.status, escape(record.status))} · {moment:%Y-%m-%d %H:%M} · "
            + audience_label(record.audience, campaign, lang)
            + " · "
            + _("sent {sent} of {total}").format(sent=counts.sent, total=counts.total)
        )
        finish = finishes.get(record.id)
        if finish is not None:
            line += " · " + _("finishes about {time}").format(time=f"{finish.astimezone(tz):%H:%M}")
            if record.deadline is not None and finish > record.deadline:
                line += " ⚠️ " + _("after its deadline {time}").format(time=f"{record.deadline.astimezone(tz):%H:%M}")
        if counts.expired:
            line += " · " + _("not sent by the deadline: {n}").format(n=counts.expired)
        lines.append(line)
        if record.status.active:
            builder.button(
                text="✖️ " + _("Cancel #{id}").format(id=record.id),
                callback_data=BcastCb(action="cancel", id=record.id, where="l"),
            )
    lines.extend(upcoming)
    builder.adjust(2)
    return Screen("\n".join(lines), builder.as_markup())


async def on_broadcasts(
    message: Message,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
    reminders: ReminderService | None = None,
) -> None:
    assert message.from_user is not None
    await announcements.audit(message.from_user.id, "broadcasts.view")
    await send(message, await _broadcasts_screen(announcements, content, lang, reminders))


async def on_cancel_broadcast(
    query: CallbackQuery,
    callback_data: BcastCb,
    announcements: AnnouncementService,
    content: ContentStore,
    lang: Lang,
    reminders: ReminderService | None = None,
) -> None:
    cancelled = await announcements.cancel(query.from_user.id, callback_data.id)
    await query.answer(_("Cancelled") if cancelled else _("This broadcast has already ended."))
    if callback_data.where == "l":
        await show(query, await _broadcasts_screen(announcements, content, lang, reminders))
    else:  # a running broadcast's final report comes from the engine; anything else is shown now
        progress = await announcements.progress(callback_data.id)
        if progress is not None and progress.final:
            text = progress_text(progress, content.current.campaign, lang)
            await show(query, Screen(text, progress_markup(progress.broadcast)))


# ---------------------------------------------------------------- /stats


async def question_stats_lines(questions: QuestionLog | None) -> list[str]:
    """The loop with residents: what the bot made of their messages since the process started, and
    the questions answered later (the "🔔 Tell me" loop)."""
    if questions is None:
        return []
    asked = questions.asked
    loop = await questions.loop()
    median = "—" if loop.median_seconds is None else _("{hours} h").format(hours=round(loop.median_seconds / 3600, 1))
    return [
        "",
        _(
            "Messages since start: answered at once {answer}, suggestions {suggest}, no answer {fallback}, "
            "small talk {smalltalk}, checked rumours {rumour}"
        ).format(**asked),
        _("Waiting to be told of an answer: {waiting}; told later: {told} (median wait {median})").format(
            waiting=loop.waiting, told=loop.told, median=median
        ),
    ]


async def on_stats(
    message: Message,
    storage: Storage,
    clock: Clock,
    content: ContentStore,
    lang: Lang,
    pictures: PictureService,
    announcements: AnnouncementService,
    desk: DeskService | None = None,
    guests: GuestService | None = None,
    questions: QuestionLog | None = None,
) -> None:
    assert message.from_user is not None
    now = clock.now()
    await announcements.audit(message.from_user.id, "stats.view")
    users = await storage.user_counts()
    subscribers = await storage.subscriber_counts()

    def joined(counts: dict[str, int], names: dict[str, str]) -> str:
        parts = [f"{names.get(key, escape(key))} {n}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        return " · ".join(parts) or "—"

    campaign = content.current.campaign
    district_names = {d.id: escape(d.name.get(lang)) for d in campaign.districts} | {"": _("not chosen")}
    lines = [
        "📊 " + _("Statistics"),
        "",
        _("Users: {total} (active {active}, blocked {blocked})").format(
            total=users.total, active=users.active, blocked=users.blocked
        ),
        _("Subscribers: {n}").format(n=subscribers.total),
        _("By language: {list}").format(list=joined(subscribers.by_language, LANGUAGE_NAMES)),
        _("By district: {list}").format(list=joined(subscribers.by_district, district_names)),
        "",
        _("Messages delivered: last 24 hours {day}, last 7 days {week}").format(
            day=await storage.delivered_since(now - timedelta(days=1)),
            week=await storage.delivered_since(now - timedelta(days=7)),
        ),
        *await question_stats_lines(questions),
        *await desk_stats_lines(desk),
        *guest_stats_lines(guests),
    ]
    await send(message, Screen("\n".join(lines)))
    # the chart: the last 30 whole days in the campaign's zone, drawn once a day per language
    days = stats_days(now.astimezone(campaign.tz).date())
    picture = pictures.peek(stats_key(days, lang))
    if picture is None:
        start = datetime.combine(days[0], time(0, 0), campaign.tz)
        offset = int((start.utcoffset() or timedelta(0)).total_seconds())
        picture = await stats_picture(await storage.daily_activity(start, offset), days, lang, pictures)
    if message.bot is not None:
        await send_stats_chart(message.bot, message.chat.id, picture, pictures)
