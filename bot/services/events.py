"""Events for handlers and the scheduler: the file's (``data/events.yaml``) and the admins'
(database) events in one view (:mod:`bot.services.event_view`), calendar files, admins' changes
(:mod:`bot.services.event_form` reads their input) and personal reminders (``send_due``, called by
the scheduler every minute and at exact times).

Residents are reached through the ports of :mod:`bot.services.event_notices`: ``EventNotifier``
(renders a typed notice in a language and sends a message; implemented next to the handlers,
``bot.handlers.events.TelegramEventNotifier``) and ``Notices`` (the delivery engine)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import LANGUAGES, Lang
from bot.content import ContentStore
from bot.content.models import Campaign
from bot.services.calendar import build_ics
from bot.services.event_form import EventDraft, Step, edited, new_event_id
from bot.services.event_notices import EventCancelled, EventChanged, EventDue, EventNotifier, Notices
from bot.services.event_view import (
    NO_FILTERS,
    OFFSETS,
    EventView,
    FactsText,
    FilterChoices,
    Filters,
    PlaceText,
    calendar_item,
    filter_choices,
    from_entry,
    from_record,
    key_dates,
    remind_at,
    reminder_options,
    upcoming,
)
from bot.storage import Storage
from bot.storage.base import BroadcastMessage, EventRecord, EventReminder
from bot.storage.broadcasts import MessageKind
from bot.storage.timestamps import to_ts

log = logging.getLogger(__name__)


class ReminderOutcome(StrEnum):
    """What became of a personal reminder (the database keeps these strings)."""

    SENT = "sent"
    LATE = "late"  # more than the grace period late: skipped
    GONE = "gone"  # the event is cancelled, over or no longer known
    FAILED = "failed"  # Telegram refused the message


def _language(stored: str | None, default: Lang) -> Lang:
    """A stored language code (``ru``, ``ru-RU``) as one of ours, else ``default``."""
    base = (stored or "").split("-")[0].split("_")[0].lower()
    return next((lang for lang in LANGUAGES if lang == base), default)


# --- the service ---------------------------------------------------------------------------------


class EventService:
    """Events for handlers and the scheduler. ``send_due`` is safe to call often and concurrently
    with handlers: each reminder is claimed in the database before it is sent, so it goes out at
    most once, even across restarts."""

    def __init__(
        self,
        content: ContentStore,
        storage: Storage,
        clock: Clock,
        notifier: EventNotifier,
        *,
        default_language: Lang,
        grace: timedelta = timedelta(hours=1),
        notices: Notices | None = None,
    ) -> None:
        self.notices = notices  # without it (tests of the service alone), notices are sent directly
        self.content = content
        self.storage = storage
        self.clock = clock
        self.notifier = notifier
        self.default_language = default_language
        self.grace = grace

    @property
    def tz(self) -> ZoneInfo:
        return self.content.current.campaign.tz

    @property
    def campaign(self) -> Campaign:
        return self.content.current.campaign

    async def all_events(self) -> list[EventView]:
        """Every event as worded now; the file's events only between their ``from`` and ``until``."""
        cancelled = await self.storage.cancelled_event_ids()
        campaign = self.campaign
        now = self.clock.now()
        passed = campaign.passed_ids(now)
        events = [
            from_entry(entry, campaign, entry.id in cancelled, passed, now)
            for entry in self.content.current.events
            if entry.listed(passed)
        ]
        known = {entry.id for entry in self.content.current.events}
        events += [
            from_record(record, campaign, record.id in cancelled)
            for record in await self.storage.list_events()
            if record.id not in known
        ]
        return events

    async def get(self, event_id: str) -> EventView | None:
        campaign = self.campaign
        for entry in self.content.current.events:
            if entry.id == event_id:
                now = self.clock.now()
                passed = campaign.passed_ids(now)
                if entry.from_ is not None and entry.from_ not in passed:
                    return None  # not announced yet: its wording may presume what is not known
                cancelled = event_id in await self.storage.cancelled_event_ids()
                return from_entry(entry, campaign, cancelled, passed, now)
        record = await self.storage.get_event(event_id)
        if record is None:
            return None
        return from_record(record, campaign, event_id in await self.storage.cancelled_event_ids())

    async def upcoming(self, now: datetime, filters: Filters = NO_FILTERS) -> list[EventView]:
        return upcoming(await self.all_events(), now, self.tz, filters)

    async def filter_choices(self, now: datetime, filters: Filters = NO_FILTERS) -> FilterChoices:
        return filter_choices(await self.all_events(), now, self.tz, filters, self.campaign)

    async def key_dates(self) -> list[EventView]:
        return key_dates(await self.all_events())

    def ics(self, event: EventView, lang: Lang, now: datetime, place: PlaceText, facts: FactsText) -> bytes:
        """``event`` as a calendar file; ``place`` words its location in ``lang``, ``facts`` fills
        the placeholders of its description."""
        item = calendar_item(event, lang, self.campaign, place, facts)
        return build_ics([item], stamp=now, zone=self.tz, name=event.title(lang))

    async def key_dates_ics(self, lang: Lang, now: datetime, place: PlaceText, facts: FactsText) -> bytes:
        """Voting day and the other key dates of the campaign, in one calendar file."""
        items = [calendar_item(event, lang, self.campaign, place, facts) for event in await self.key_dates()]
        name = self.content.current.campaign.title.get(lang)
        return build_ics(items, stamp=now, zone=self.tz, name=name)

    # personal reminders ------------------------------------------------------------------------
    async def set_reminder(self, user_id: int, event: EventView, offset: str, now: datetime) -> EventReminder | None:
        """Remember to remind ``user_id``; None when that reminder is no longer possible."""
        moment = dict(reminder_options(event, now, self.tz)).get(offset)
        if moment is None:
            return None
        return await self.storage.set_event_reminder(user_id, event.id, offset, moment, now)

    async def reminder_of(self, user_id: int, event_id: str) -> EventReminder | None:
        reminder = await self.storage.get_event_reminder(user_id, event_id)
        if reminder is None or reminder.cancelled or reminder.sent_at is not None:
            return None
        return reminder

    async def cancel_reminder(self, user_id: int, event_id: str) -> bool:
        return await self.storage.cancel_event_reminder(user_id, event_id)

    def _lang(self, stored: str | None) -> Lang:
        return _language(stored, self.default_language)

    async def send_due(self, now: datetime) -> int:
        """Send every due reminder once; skip (and log) those more than ``grace`` late or whose
        event is gone. Returns the number sent. First, finish any cancellation or edit that was
        interrupted before its notices were queued."""
        await self.resume_cancellations()
        await self.resume_edits(now)
        sent = 0
        events: dict[str, EventView | None] = {}
        while True:
            due = await self.storage.due_event_reminders(now, limit=200)
            if not due:
                return sent
            for reminder in due:
                if reminder.event_id not in events:
                    events[reminder.event_id] = await self.get(reminder.event_id)
                event = events[reminder.event_id]
                late = now - reminder.remind_at
                if event is None or event.cancelled or event.is_over(now, self.tz):
                    outcome = ReminderOutcome.GONE
                elif late > self.grace:
                    outcome = ReminderOutcome.LATE
                else:
                    outcome = ReminderOutcome.SENT
                if not await self.storage.claim_event_reminder(
                    reminder.user_id, reminder.event_id, reminder.remind_at, outcome.value, now
                ):
                    continue  # claimed meanwhile (another run) or cancelled: not ours to send
                if outcome is ReminderOutcome.LATE:
                    log.warning(
                        "event reminder of %s for %s was due at %s, %s ago (grace %s): skipped",
                        reminder.event_id,
                        reminder.user_id,
                        reminder.remind_at.isoformat(),
                        late,
                        self.grace,
                    )
                    continue
                if outcome is ReminderOutcome.GONE or event is None:
                    log.info("event reminder of %s for %s: the event is gone", reminder.event_id, reminder.user_id)
                    continue
                lang = self._lang(reminder.language)
                text = self.notifier.render(EventDue(event), lang)
                if await self.notifier.send(reminder.user_id, text):
                    sent += 1
                else:
                    await self.storage.set_event_reminder_outcome(
                        reminder.user_id, reminder.event_id, ReminderOutcome.FAILED.value
                    )

    # admin -------------------------------------------------------------------------------------
    async def taken_ids(self) -> set[str]:
        return {entry.id for entry in self.content.current.events} | {r.id for r in await self.storage.list_events()}

    async def add_event(self, record: EventRecord) -> EventView:
        await self.storage.save_event(record)
        return from_record(record, self.campaign)

    async def admin_event(self, event_id: str) -> EventRecord | None:
        """An event added by an admin (None for the file's events and unknown ids)."""
        return await self.storage.get_event(event_id)

    async def audit(self, admin_id: int, action: str, details: str, now: datetime) -> None:
        """A step of an admin's dialog, for the audit log."""
        await self.storage.audit(admin_id, action, details, now)

    async def create_event(self, draft: EventDraft, admin_id: int, now: datetime) -> EventView:
        """Save a complete draft as a new event (a fresh id by its first day) and audit it."""
        if draft.start is None:
            raise ValueError("a draft without a start is not an event")
        event_id = new_event_id(draft.start, await self.taken_ids(), self.tz)
        event = await self.add_event(draft.record(event_id, admin_id=admin_id, now=now))
        await self.audit(admin_id, "event_add", f"{event_id}: {event.title(self.default_language)}", now)
        return event

    async def edit_event(
        self, record: EventRecord, step: Step, answer: EventDraft, admin_id: int, now: datetime
    ) -> tuple[EventView, int]:
        """Change the field of ``step`` of ``record`` to the ``answer``'s (see
        :func:`~bot.services.event_form.edited`); returns the event as it is now and how many
        people are told (see :meth:`update_event`)."""
        draft, fields = edited(record, step, answer)
        updated = draft.record(record.id, admin_id=admin_id, now=now)
        told = await self.update_event(updated, now, admin_id)
        await self.audit(admin_id, "event_edit", f"{record.id}: {','.join(sorted(fields))}", now)
        return from_record(updated, self.campaign), told

    async def update_event(self, record: EventRecord, now: datetime, admin_id: int | None = None) -> int:
        """Save an edited admin event; move the reminders and tell their users (through the
        delivery engine: one notice per language and new reminder moment, keyed by the event's
        version, queued before the reminders move). Returns how many people are told. Interrupted
        after saving, the scheduler's next tick (:meth:`resume_edits`) finds reminders whose moment
        no longer matches the event and completes the change for them."""
        await self.storage.save_event(record)
        pending = await self.storage.pending_event_reminders(record.id)
        return await self._notify_changed(record, pending, now, admin_id)

    def _moment(self, event: EventView, reminder: EventReminder) -> datetime | None:
        """Where ``reminder`` belongs for ``event`` as it is now (its offset, or the nearest one)."""
        moment = remind_at(event, reminder.offset, self.tz)
        if moment is None and reminder.offset in OFFSETS:
            moment = remind_at(event, "eve" if event.all_day else "1h", self.tz)
        return moment

    async def _notify_changed(
        self, record: EventRecord, reminders: list[EventReminder], now: datetime, admin_id: int | None
    ) -> int:
        event = from_record(record, self.campaign)
        plan: list[tuple[EventReminder, datetime | None]] = []
        for reminder in reminders:
            moment = self._moment(event, reminder)
            plan.append((reminder, moment if moment is not None and moment > now else None))
        groups: dict[tuple[Lang, datetime | None], list[int]] = {}
        for reminder, moment in plan:
            groups.setdefault((self._lang(reminder.language), moment), []).append(reminder.user_id)
        version = to_ts(record.updated_at)
        for (lang, moment), users in groups.items():
            text = self.notifier.render(EventChanged(event, moment), lang)
            at = to_ts(moment) if moment is not None else "none"
            await self._notify(text, users, f"event-edit:{record.id}:{version}:{lang}:{at}", admin_id)
        for reminder, moment in plan:
            if moment is not None:
                await self.storage.move_event_reminder(reminder.user_id, record.id, moment)
            else:
                await self.storage.cancel_event_reminder(reminder.user_id, record.id)
        return len(plan)

    async def resume_edits(self, now: datetime) -> int:
        """Complete edits interrupted between saving the event and moving its reminders: pending
        reminders whose moment differs from the one the saved event gives them. (An interrupted
        edit that moved no reminder, a new title say, is not told again.)"""
        told = 0
        cancelled = await self.storage.cancelled_event_ids()
        for record in await self.storage.list_events():
            if record.id in cancelled:
                continue
            event = from_record(record, self.campaign)
            stale = [
                reminder
                for reminder in await self.storage.pending_event_reminders(record.id)
                if self._moment(event, reminder) != reminder.remind_at
            ]
            if stale:
                log.warning("event %s: resuming its interrupted edit for %d reminder(s)", record.id, len(stale))
                told += await self._notify_changed(record, stale, now, None)
        return told

    async def cancel_event(self, event: EventView, admin_id: int | None, now: datetime) -> int | None:
        """Cancel ``event``; tell everyone with a pending reminder. None if it was cancelled before.

        Crash-safe in three steps: the event is marked cancelled; the notices are queued in the
        delivery engine (one broadcast per language, keyed by event and language); then the
        reminders are stopped. Interrupted after the first or second step, the scheduler's next
        tick (:meth:`resume_cancellations`) finds reminders of a cancelled event still pending and
        completes the rest; the engine resumes the notices like any broadcast."""
        if not await self.storage.cancel_event(event.id, admin_id, now):
            return None
        told = await self._notify_cancelled(replace(event, cancelled=True), admin_id)
        if admin_id is not None:
            await self.audit(admin_id, "event_cancel", event.id, now)
        return told

    async def _notify_cancelled(self, event: EventView, admin_id: int | None) -> int:
        pending = await self.storage.pending_event_reminders(event.id)
        groups: dict[Lang, list[int]] = {}
        for reminder in pending:
            groups.setdefault(self._lang(reminder.language), []).append(reminder.user_id)
        for lang, users in groups.items():
            text = self.notifier.render(EventCancelled(event), lang)
            await self._notify(text, users, f"event-cancel:{event.id}:{lang}", admin_id)
        await self.storage.cancel_event_reminders(event.id)
        return len(pending)

    async def resume_cancellations(self) -> int:
        """Complete cancellations interrupted before their reminders were stopped (see
        :meth:`cancel_event`). Returns how many people it queued notices for."""
        told = 0
        for event_id in await self.storage.cancelled_events_with_pending_reminders():
            event = await self.get(event_id)
            if event is None:  # an admin event deleted meanwhile: nothing to describe
                await self.storage.cancel_event_reminders(event_id)
                continue
            log.warning("event %s: resuming its interrupted cancellation", event_id)
            told += await self._notify_cancelled(replace(event, cancelled=True), None)
        return told

    async def _notify(self, text: str, users: list[int], key: str, admin_id: int | None) -> None:
        if self.notices is None:
            for user_id in users:
                await self.notifier.send(user_id, text)
            return
        message = BroadcastMessage(kind=MessageKind.TEXT, text=text)
        await self.notices.create_notice(message, users, key=key, label=key, created_by=admin_id)
