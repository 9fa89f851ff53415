"""Admin commands: /announce (a dialog), /broadcasts, /stats; and the broadcast progress message.

Only for ``ADMIN_IDS`` and only in private chat: for anyone else the router does not match, so
the commands fall through to the ordinary "unknown command" answer and forged admin buttons to the
"out of date" notice. Every admin action is written to the audit log."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.filters import IsAdmin, Magic
from bot.handlers.desk import stats_lines as desk_stats_lines
from bot.handlers.pictures import send_stats_chart, stats_days, stats_key, stats_picture
from bot.handlers.texts import LANGUAGE_NAMES, local_time
from bot.i18n import I18n, _, stored_language
from bot.services.delivery import BroadcastProgress, DeliveryEngine
from bot.services.desk import DeskService
from bot.services.pictures import PictureService
from bot.storage import Storage
from bot.storage.base import Audience, BroadcastMessage, BroadcastRecord
from bot.telegram_text import escape
from bot.ui import Screen, answer_stale, send, show

log = logging.getLogger(__name__)
BAR_WIDTH = 20


class AnnounceForm(StatesGroup):
    message = State()  # waiting for the announcement
    confirm = State()  # preview shown: audience, Send / Schedule / Cancel
    schedule = State()  # waiting for the start time


class AnnCb(CallbackData, prefix="ann"):
    action: str  # aud, langs, dists, back, send, schedule, cancel
    value: str = ""  # for aud: all, lang-<code>, dist-<id>


class BcastCb(CallbackData, prefix="bc"):
    action: str  # cancel
    id: int
    where: str = "p"  # p: the progress message, l: the /broadcasts list


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
    r.callback_query.register(on_announce_button, StateFilter(AnnounceForm.confirm), AnnCb.filter())
    r.callback_query.register(on_cancel_broadcast, BcastCb.filter(F.action == "cancel"))
    return r


# ---------------------------------------------------------------- texts


def audience_label(audience: Audience, campaign: Campaign, lang: Lang) -> str:
    if audience.kind == "language":
        return _("language: {name}").format(name=LANGUAGE_NAMES.get(audience.value or "", audience.value or ""))
    if audience.kind == "district":
        name = campaign.district_name(audience.value, lang) or audience.value or ""
        return _("district: {name}").format(name=escape(name))
    if audience.kind == "notice":  # event notices: the people with a reminder of the event
        return _("event notice")
    return _("all subscribers")


def _audience_from(value: str, campaign: Campaign) -> Audience | None:
    if value == "all":
        return Audience("all")
    if value.startswith("lang-") and value[5:] in LANGUAGES:
        return Audience("language", value[5:])
    if value.startswith("dist-") and campaign.is_district(value[5:]):
        return Audience("district", value[5:])
    return None


def _audience_value(audience: Audience) -> str:
    return {"language": "lang-", "district": "dist-"}.get(audience.kind, "all") + (audience.value or "")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_text(progress: BroadcastProgress, campaign: Campaign, lang: Lang) -> str:
    record, counts = progress.broadcast, progress.counts
    done = progress.done
    share = done / counts.total if counts.total else 1.0
    filled = round(share * BAR_WIDTH)
    if record.status == "done":
        head = "✅ " + _("Broadcast #{id} finished.").format(id=record.id)
    elif record.status == "cancelled":
        head = "✖️ " + _("Broadcast #{id} cancelled.").format(id=record.id)
    elif record.status == "scheduled":
        head = "🕒 " + _("Broadcast #{id} is scheduled.").format(id=record.id)
    else:
        head = "📣 " + _("Broadcast #{id}: sending…").format(id=record.id)
    lines = [
        head,
        _("Audience: {audience}").format(audience=audience_label(record.audience, campaign, lang)),
        f"<code>[{'█' * filled}{'░' * (BAR_WIDTH - filled)}]</code> {share:.0%}",
        _("Queued: {queued} · Sent: {sent} · Blocked: {blocked} · Failed: {failed}").format(
            queued=counts.pending, sent=counts.sent, blocked=counts.blocked, failed=counts.failed
        ),
    ]
    if counts.cancelled:
        lines.append(_("Not sent (cancelled): {n}").format(n=counts.cancelled))
    if progress.final:
        if record.started_at and record.finished_at:
            lines.append(
                _("Time: {time}").format(time=_duration((record.finished_at - record.started_at).total_seconds()))
            )
    else:
        eta = _duration(progress.eta_seconds) if progress.eta_seconds is not None else "—"
        lines.append(_("Rate: {rate} msg/s · ETA: {eta}").format(rate=f"{progress.rate:.1f}", eta=eta))
    return "\n".join(lines)


def _progress_markup(record: BroadcastRecord) -> InlineKeyboardMarkup | None:
    if record.status not in ("running", "scheduled"):
        return None
    builder = InlineKeyboardBuilder()
    builder.button(text="✖️ " + _("Cancel the broadcast"), callback_data=BcastCb(action="cancel", id=record.id))
    return builder.as_markup()


class BroadcastReporter:
    """The engine's progress listener: keeps the admin's progress message up to date (an edit only
    when the text changed) and ends it with the final report. Runs outside any update, so it sets
    the admin's language itself."""

    def __init__(self, bot: Bot, storage: Storage, i18n: I18n, default_language: Lang, content: ContentStore) -> None:
        self.content = content
        self.bot = bot
        self.storage = storage
        self.i18n = i18n
        self.default_language = default_language
        self._last: dict[int, str] = {}

    async def __call__(self, progress: BroadcastProgress) -> None:
        record = progress.broadcast
        if record.progress_chat_id is None or record.progress_message_id is None:
            return
        user = await self.storage.get_user(record.created_by) if record.created_by is not None else None
        lang = stored_language(user, self.default_language)
        with self.i18n.context(), self.i18n.use_locale(lang):
            text = progress_text(progress, self.content.current.campaign, lang)
            markup = _progress_markup(record)
        if self._last.get(record.id) == text:
            return
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=record.progress_chat_id, message_id=record.progress_message_id, reply_markup=markup
            )
        except TelegramBadRequest as error:
            if "not modified" not in error.message:
                log.warning("progress of broadcast %s: %s", record.id, error.message)
        except TelegramAPIError as error:
            log.warning("progress of broadcast %s: %s", record.id, error)
        if progress.final:
            self._last.pop(record.id, None)
        else:
            self._last[record.id] = text


# ---------------------------------------------------------------- /announce


async def on_announce(message: Message, state: FSMContext, db: Storage, clock: Clock) -> None:
    assert message.from_user is not None  # the admin filter checked it
    await state.clear()
    await state.set_state(AnnounceForm.message)
    await db.audit(message.from_user.id, "announce.start", "", clock.now())
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


def _draft_message(data: dict[str, Any]) -> BroadcastMessage:
    return BroadcastMessage(
        kind=str(data["kind"]),
        text=data.get("text"),
        from_chat_id=data.get("from_chat_id"),
        message_id=data.get("message_id"),
    )


async def _control_screen(
    data: dict[str, Any], db: Storage, campaign: Campaign, lang: Lang, view: str = "main"
) -> Screen:
    audience = _audience_from(str(data.get("audience", "all")), campaign) or Audience("all")
    size = await db.audience_size(audience)
    builder = InlineKeyboardBuilder()
    if view == "langs":
        for code in LANGUAGES:
            n = await db.audience_size(Audience("language", code))
            builder.button(
                text=f"{LANGUAGE_NAMES[code]} ({n})", callback_data=AnnCb(action="aud", value=f"lang-{code}")
            )
        builder.button(text="⬅️ " + _("Back"), callback_data=AnnCb(action="back"))
        builder.adjust(1)
    elif view == "dists":
        for district in campaign.districts:
            n = await db.audience_size(Audience("district", district.id))
            builder.button(
                text=f"{district.name.get(lang)} ({n})", callback_data=AnnCb(action="aud", value=f"dist-{district.id}")
            )
        builder.button(text="⬅️ " + _("Back"), callback_data=AnnCb(action="back"))
        builder.adjust(2)
    else:
        total = await db.audience_size(Audience("all"))
        builder.button(text="👥 " + _("All ({n})").format(n=total), callback_data=AnnCb(action="aud", value="all"))
        builder.button(text="🌐 " + _("By language"), callback_data=AnnCb(action="langs"))
        builder.button(text="📍 " + _("By district"), callback_data=AnnCb(action="dists"))
        builder.button(text="✅ " + _("Send"), callback_data=AnnCb(action="send"))
        builder.button(text="🕒 " + _("Schedule"), callback_data=AnnCb(action="schedule"))
        builder.button(text="✖️ " + _("Cancel"), callback_data=AnnCb(action="cancel"))
        builder.adjust(3, 3)
    text = (
        "☝️ "
        + _("This is exactly what subscribers will receive.")
        + "\n\n"
        + _("Audience: {audience} — {n} subscribers.").format(audience=audience_label(audience, campaign, lang), n=size)
    )
    return Screen(text, builder.as_markup())


async def on_announcement(
    message: Message, state: FSMContext, bot: Bot, db: Storage, clock: Clock, content: ContentStore, lang: Lang
) -> None:
    assert message.from_user is not None
    if message.text is not None:
        draft: dict[str, Any] = {"kind": "text", "text": message.html_text}
    else:
        draft = {"kind": "copy", "from_chat_id": message.chat.id, "message_id": message.message_id}
    draft["audience"] = "all"
    await state.set_data(draft)
    await state.set_state(AnnounceForm.confirm)
    await db.audit(message.from_user.id, "announce.draft", draft["kind"], clock.now())
    preview = _draft_message(draft)
    if preview.kind == "text":
        await bot.send_message(message.chat.id, preview.text or "")
    else:
        await bot.copy_message(message.chat.id, message.chat.id, message.message_id)
    await send(message, await _control_screen(draft, db, content.current.campaign, lang))


async def on_cancel_dialog(message: Message, state: FSMContext, db: Storage, clock: Clock) -> None:
    assert message.from_user is not None
    await state.clear()
    await db.audit(message.from_user.id, "announce.cancel", "", clock.now())
    await send(message, Screen("✖️ " + _("The announcement is cancelled; nothing was sent.")))


async def on_announce_button(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    db: Storage,
    clock: Clock,
    delivery: DeliveryEngine,
    content: ContentStore,
    lang: Lang,
) -> None:
    admin = query.from_user.id
    data = await state.get_data()
    action = callback_data.action
    campaign = content.current.campaign
    if action in ("langs", "dists", "back"):
        await query.answer()
        view = {"langs": "langs", "dists": "dists"}.get(action, "main")
        await show(query, await _control_screen(data, db, campaign, lang, view))
    elif action == "aud":
        audience = _audience_from(callback_data.value, campaign)
        if audience is None:
            await answer_stale(query)
            return
        data["audience"] = _audience_value(audience)
        await state.set_data(data)
        await query.answer()
        await show(query, await _control_screen(data, db, campaign, lang))
    elif action == "cancel":
        await state.clear()
        await db.audit(admin, "announce.cancel", "", clock.now())
        await query.answer()
        await show(query, Screen("✖️ " + _("The announcement is cancelled; nothing was sent.")))
    elif action == "schedule":
        await state.set_state(AnnounceForm.schedule)
        await query.answer()
        tz = content.current.campaign.tz
        example = (clock.now().astimezone(tz) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
        await show(
            query,
            Screen(
                "🕒 "
                + _(
                    "When should it go out? Send the date and time ({local}), for example {example}. /cancel to stop."
                ).format(local=local_time(campaign, lang), example=example)
            ),
        )
    elif action == "send" and isinstance(query.message, Message):
        audience = _audience_from(str(data.get("audience", "all")), campaign) or Audience("all")
        await state.clear()
        # The control message becomes the progress message; from here on only the engine's
        # reporter edits it (so a fast broadcast's final report cannot be overwritten).
        await show(query, Screen("⏳ " + _("Starting the broadcast…")))
        record = await delivery.create_broadcast(
            _draft_message(data),
            audience,
            created_by=admin,
            progress=(query.message.chat.id, query.message.message_id),
        )
        await db.audit(admin, "broadcast.send", f"#{record.id} {_audience_value(audience)}", clock.now())
        await query.answer(_("Sending started"))
    else:
        await answer_stale(query)


_TIME_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})\s*$")


async def on_schedule_time(
    message: Message,
    state: FSMContext,
    db: Storage,
    clock: Clock,
    delivery: DeliveryEngine,
    content: ContentStore,
    lang: Lang,
) -> None:
    campaign = content.current.campaign
    assert message.from_user is not None and message.text is not None
    tz = content.current.campaign.tz
    match = _TIME_RE.match(message.text)
    moment: datetime | None = None
    if match:
        try:
            year, month, day, hour, minute = (int(part) for part in match.groups())
            moment = datetime(year, month, day, hour, minute, tzinfo=tz)
        except ValueError:
            moment = None
    if moment is None or moment <= clock.now():
        await send(message, Screen("🕒 " + _("Please send a future date and time as YYYY-MM-DD HH:MM, or /cancel.")))
        return
    data = await state.get_data()
    audience = _audience_from(str(data.get("audience", "all")), campaign) or Audience("all")
    await state.clear()
    note = await send(message, Screen("🕒 " + _("Scheduling…")))
    record = await delivery.create_broadcast(
        _draft_message(data),
        audience,
        created_by=message.from_user.id,
        start_at=moment,
        progress=(note.chat.id, note.message_id),
    )
    await db.audit(message.from_user.id, "broadcast.schedule", f"#{record.id} {moment.isoformat()}", clock.now())
    text = "🕒 " + _("Broadcast #{id} is scheduled for {time} ({local}); audience: {audience}.").format(
        id=record.id,
        time=moment.strftime("%Y-%m-%d %H:%M"),
        local=local_time(campaign, lang),
        audience=audience_label(audience, campaign, lang),
    )
    await note.edit_text(text, reply_markup=_progress_markup(record))


# ---------------------------------------------------------------- /broadcasts and cancelling


async def _broadcasts_screen(db: Storage, content: ContentStore, lang: Lang) -> Screen:
    campaign = content.current.campaign
    tz = campaign.tz
    records = await db.recent_broadcasts(10)
    if not records:
        return Screen("📭 " + _("No broadcasts yet."))
    statuses = {
        "scheduled": "🕒 " + _("scheduled"),
        "running": "📣 " + _("sending"),
        "done": "✅ " + _("finished"),
        "cancelled": "✖️ " + _("cancelled"),
    }
    lines = ["📋 " + _("Recent broadcasts:")]
    builder = InlineKeyboardBuilder()
    for record in records:
        counts = await db.delivery_counts(record.id)
        moment = (record.start_at if record.status == "scheduled" else record.created_at).astimezone(tz)
        lines.append(
            f"#{record.id} · {statuses.get(record.status, escape(record.status))} · {moment:%Y-%m-%d %H:%M} · "
            + audience_label(record.audience, campaign, lang)
            + " · "
            + _("sent {sent} of {total}").format(sent=counts.sent, total=counts.total)
        )
        if record.status in ("scheduled", "running"):
            builder.button(
                text="✖️ " + _("Cancel #{id}").format(id=record.id),
                callback_data=BcastCb(action="cancel", id=record.id, where="l"),
            )
    builder.adjust(2)
    return Screen("\n".join(lines), builder.as_markup())


async def on_broadcasts(message: Message, db: Storage, clock: Clock, content: ContentStore, lang: Lang) -> None:
    assert message.from_user is not None
    await db.audit(message.from_user.id, "broadcasts.view", "", clock.now())
    await send(message, await _broadcasts_screen(db, content, lang))


async def on_cancel_broadcast(
    query: CallbackQuery,
    callback_data: BcastCb,
    db: Storage,
    clock: Clock,
    delivery: DeliveryEngine,
    content: ContentStore,
    lang: Lang,
) -> None:
    cancelled = await delivery.cancel(callback_data.id)
    if cancelled:
        await db.audit(query.from_user.id, "broadcast.cancel", f"#{callback_data.id}", clock.now())
    await query.answer(_("Cancelled") if cancelled else _("This broadcast has already ended."))
    if callback_data.where == "l":
        await show(query, await _broadcasts_screen(db, content, lang))
    else:  # a running broadcast's final report comes from the engine; anything else is shown now
        progress = await delivery.progress(callback_data.id)
        if progress is not None and progress.final:
            text = progress_text(progress, content.current.campaign, lang)
            await show(query, Screen(text, _progress_markup(progress.broadcast)))


# ---------------------------------------------------------------- /stats


async def on_stats(
    message: Message,
    db: Storage,
    clock: Clock,
    content: ContentStore,
    lang: Lang,
    pictures: PictureService,
    desk: DeskService | None = None,
) -> None:
    assert message.from_user is not None
    now = clock.now()
    await db.audit(message.from_user.id, "stats.view", "", now)
    users = await db.user_counts()
    subscribers = await db.subscriber_counts()

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
            day=await db.delivered_since(now - timedelta(days=1)),
            week=await db.delivered_since(now - timedelta(days=7)),
        ),
        *await desk_stats_lines(desk),
    ]
    await send(message, Screen("\n".join(lines)))
    # the chart: the last 30 whole days in the campaign's zone, drawn once a day per language
    days = stats_days(now.astimezone(campaign.tz).date())
    picture = pictures.peek(stats_key(days, lang))
    if picture is None:
        start = datetime.combine(days[0], time(0, 0), campaign.tz)
        offset = int((start.utcoffset() or timedelta(0)).total_seconds())
        picture = await stats_picture(await db.daily_activity(start, offset), days, lang, pictures)
    if message.bot is not None:
        await send_stats_chart(message.bot, message.chat.id, picture, pictures)
