"""A broadcast's progress as the admin sees it: the progress message (text and Cancel button) and
:class:`BroadcastReporter`, the delivery engine's
:class:`~bot.services.delivery.ProgressListener` that keeps that message up to date."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.handlers.texts import local_time
from bot.i18n import LANGUAGE_NAMES, I18n, _, stored_language
from bot.services.delivery import BroadcastProgress, ProgressListener
from bot.storage import Storage
from bot.storage.broadcasts import (
    Audience,
    BroadcastRecord,
    BroadcastStatus,
    DistrictAudience,
    LanguageAudience,
    NoticeAudience,
)
from bot.telegram.callbacks import BcastCb
from bot.telegram_text import escape

log = logging.getLogger(__name__)
BAR_WIDTH = 20


def audience_label(audience: Audience, campaign: Campaign, lang: Lang) -> str:
    match audience:
        case LanguageAudience(language):
            return _("language: {name}").format(name=LANGUAGE_NAMES.get(language, language))
        case DistrictAudience(district):
            name = campaign.district_name(district, lang) or district
            return _("district: {name}").format(name=escape(name))
        case NoticeAudience():  # event notices: the people with a reminder of the event
            return _("event notice")
        case _:
            return _("all subscribers")


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_text(progress: BroadcastProgress, campaign: Campaign, lang: Lang) -> str:
    record, counts = progress.broadcast, progress.counts
    done = progress.done
    share = done / counts.total if counts.total else 1.0
    filled = round(share * BAR_WIDTH)
    if record.status == BroadcastStatus.DONE:
        head = "✅ " + _("Broadcast #{id} finished.").format(id=record.id)
    elif record.status == BroadcastStatus.CANCELLED:
        head = "✖️ " + _("Broadcast #{id} cancelled.").format(id=record.id)
    elif record.status == BroadcastStatus.SCHEDULED:
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
    if counts.expired:
        lines.append(_("Not sent by the deadline: {n}").format(n=counts.expired))
    if progress.final:
        if record.started_at and record.finished_at:
            lines.append(
                _("Time: {time}").format(time=_duration((record.finished_at - record.started_at).total_seconds()))
            )
    else:
        eta = _duration(progress.eta_seconds) if progress.eta_seconds is not None else "—"
        lines.append(_("Rate: {rate} msg/s · ETA: {eta}").format(rate=f"{progress.rate:.1f}", eta=eta))
        if record.deadline is not None:
            lines.append(
                _("Deadline: {time} ({local}); what is not sent by then is not sent.").format(
                    time=f"{record.deadline.astimezone(campaign.tz):%Y-%m-%d %H:%M}", local=local_time(campaign, lang)
                )
            )
    return "\n".join(lines)


def progress_markup(record: BroadcastRecord) -> InlineKeyboardMarkup | None:
    if not record.status.active:
        return None
    builder = InlineKeyboardBuilder()
    builder.button(text="✖️ " + _("Cancel the broadcast"), callback_data=BcastCb(action="cancel", id=record.id))
    return builder.as_markup()


class BroadcastReporter(ProgressListener):
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
            markup = progress_markup(record)
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
