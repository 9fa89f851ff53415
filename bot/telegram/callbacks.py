"""CallbackData factories, all of them: the only way buttons carry data (packed within Telegram's 64
bytes; ``tests/test_callbacks.py`` checks that every prefix is unique and every packing fits). An
action is an ``Enum``: a button with another value is refused before any handler sees it."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Section(StrEnum):
    HOME = "home"
    FAQ = "faq"
    EVENTS = "events"
    REMINDERS = "reminders"
    LANGUAGE = "language"


class MenuCb(CallbackData, prefix="m"):
    section: Section


class LangCb(CallbackData, prefix="lang"):
    code: str


class FaqCategoryCb(CallbackData, prefix="fc"):
    category: str
    page: int = 0


class FaqEntryCb(CallbackData, prefix="fe"):
    entry: str
    back: str = ""  # category to return to, "" for search results


class FaqVoteCb(CallbackData, prefix="fv"):
    entry: str
    helpful: bool


class FaqNoneCb(CallbackData, prefix="fn"):
    """ "None of these" under the suggestions for a question."""


class FaqWaitCb(CallbackData, prefix="fw"):
    """ "🔔 Tell me when there is an answer": the question is the one the screen quotes."""


class DeskAction(StrEnum):
    ASK = "ask"
    RUMOUR = "rumour"
    DONE = "done"
    PERSON = "person"  # ask about a rumour the FAQ answered


class DeskCb(CallbackData, prefix="dk"):
    """The operators' desk, resident side (bot.handlers.desk)."""

    action: DeskAction
    ctx: str = ""  # ask: "n" (after no answer), "s" (after suggestions); person: the rumour's message id


class DeskRateCb(CallbackData, prefix="dr"):
    ticket: int
    good: bool


class SubAction(StrEnum):
    ON = "on"
    OFF = "off"
    DISTRICTS = "districts"  # the choice of district
    DISTRICT = "district"  # value: a district id or "none"


class SubCb(CallbackData, prefix="sub"):
    """Subscriptions (``bot.handlers.subscriptions``)."""

    action: SubAction
    value: str = ""


class ReminderAction(StrEnum):
    SHOW = "show"
    MODE = "mode"
    TIME = "time"
    VOTED = "voted"
    CALENDAR = "calendar"


class ReminderCb(CallbackData, prefix="rm"):
    """Reminder settings (``bot.handlers.reminders``)."""

    action: ReminderAction
    value: str = ""


class PrivacyAction(StrEnum):
    FORGET_YES = "forget_yes"
    FORGET_NO = "forget_no"
    MORE = "more"


class PrivacyCb(CallbackData, prefix="prv"):
    """/privacy and /forget (``bot.handlers.privacy``)."""

    action: PrivacyAction


class EvListCb(CallbackData, prefix="evl"):
    """A page of the events list with its filters (``bot.handlers.events``)."""

    kind: str = ""
    district: str = ""
    when: str = ""  # "", today, week
    page: int = 0


class FilterWhat(StrEnum):
    KIND = "k"  # one letter: with the longest event kind and a 30-character district id it fits 64 bytes
    DISTRICT = "d"


class EvFilterCb(CallbackData, prefix="evf"):
    what: FilterWhat
    kind: str = ""
    district: str = ""
    when: str = ""


class EventAction(StrEnum):
    OPEN = "open"
    MAP = "map"
    ICS = "ics"
    REMIND_HOUR = "r1h"
    REMIND_DAY = "r1d"
    REMIND_EVE = "reve"
    REMIND_MORNING = "rday"
    NO_REMINDER = "rx"


class EvCb(CallbackData, prefix="ev"):
    action: EventAction
    id: str


class EvAdmAction(StrEnum):
    KIND = "kind"
    DISTRICT = "district"
    SAVE = "save"
    ABORT = "abort"
    EDIT = "edit"
    FIELD = "field"
    CANCEL = "cancel"
    CANCEL_YES = "cancel_yes"
    CANCEL_NO = "cancel_no"


class EvAdmCb(CallbackData, prefix="eva"):
    """The admins' event form (``bot.handlers.events_admin``)."""

    action: EvAdmAction
    value: str = ""


class AnnAction(StrEnum):
    AUDIENCE = "aud"
    LANGUAGES = "langs"
    DISTRICTS = "dists"
    BACK = "back"
    SEND = "send"
    SCHEDULE = "schedule"
    DEADLINE = "deadline"
    CANCEL = "cancel"


class AnnCb(CallbackData, prefix="ann"):
    """/announce (``bot.handlers.broadcast_admin``)."""

    action: AnnAction
    value: str = ""  # for aud: an audience token (all, lang-<code>, dist-<id>: services.announcements)


class BcastAction(StrEnum):
    CANCEL = "cancel"


class BcastCb(CallbackData, prefix="bc"):
    """A broadcast's progress message and the /broadcasts list."""

    action: BcastAction
    id: int
    where: str = "p"  # p: the progress message, l: the /broadcasts list
