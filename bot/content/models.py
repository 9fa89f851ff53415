"""Typed content. Every model forbids unknown fields so that a typo in a YAML key is reported."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.config import Lang
from bot.telegram_text import HtmlError, check_html, visible_length

ANSWER_LIMIT = 3500  # leaves room for the sources and buttons within Telegram's 4096
Phase = Literal["before", "voting", "after"]
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")  # 30 characters keep callback data within 64 bytes


def _html(value: str) -> str:
    try:
        check_html(value)
    except HtmlError as error:
        raise ValueError(f"invalid Telegram HTML: {error}") from None
    return value.strip()


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s<>\"]*", value):
        raise ValueError(f"not a well-formed http(s) URL: {value!r}")
    return value


def _plain(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Html = Annotated[str, AfterValidator(_html)]
Url = Annotated[str, AfterValidator(_url)]
Text = Annotated[str, AfterValidator(_plain)]
Identifier = Annotated[str, Field(pattern=_ID_RE.pattern)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Model):
    """A text in each of the bot's languages; all three are required."""

    kk: Text
    ru: Text
    en: Text

    def get(self, lang: Lang) -> str:
        return str(getattr(self, lang))


class LocalizedHtml(Model):
    kk: Html
    ru: Html
    en: Html

    def get(self, lang: Lang) -> str:
        return str(getattr(self, lang))


class Source(Model):
    title: Text
    url: Url


class Link(Model):
    title: Localized
    url: Url


class CallCentre(Model):
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{3,20}$")]
    hours: Text
    name: Localized
    sources: list[Source] = Field(min_length=1)


REMINDER_PLACEHOLDERS = ("{countdown}", "{date}", "{open}", "{close}", "{call_centre}")


class Reminder(Model):
    """A scheduled message: ``days_before`` voting day at ``at`` (campaign time), or on a ``date``.

    ``scope``: ``countdown`` goes to subscribers who want all reminders; ``voting_day`` also to those
    who want only voting-day ones (and not to those who pressed "I voted" that day); ``after`` is a
    post-vote message for subscribers who want all reminders."""

    id: Identifier
    days_before: Annotated[int, Field(ge=0, le=60)] | None = None
    date_: date | None = Field(default=None, alias="date")
    at: time
    scope: Literal["countdown", "voting_day", "after"]
    text: LocalizedHtml
    with_status: bool = True  # append the same status text that /countdown shows

    @model_validator(mode="after")
    def _one_moment(self) -> Reminder:
        if (self.days_before is None) == (self.date_ is None):
            raise ValueError("give exactly one of days_before or date")
        for lang in ("kk", "ru", "en"):
            unknown = set(re.findall(r"\{[^}]*\}", getattr(self.text, lang))) - set(REMINDER_PLACEHOLDERS)
            if unknown:
                raise ValueError(
                    f"text.{lang}: unknown placeholder {sorted(unknown)[0]} (known: {', '.join(REMINDER_PLACEHOLDERS)})"
                )
        return self


class Campaign(Model):
    id: Identifier
    kind: Literal["referendum", "election"]
    title: Localized
    timezone: str
    voting_day: date
    polls_open: time
    polls_close: time
    results_due: date | None = None
    call_centre: CallCentre
    commission: Link
    links: list[Link] = []
    after_vote: LocalizedHtml
    reminders: list[Reminder] = []
    sources: list[Source] = Field(min_length=1)
    operators: Operators | None = None  # the operators' desk's hours (used with OPERATORS_CHAT_ID)

    def reminder_moment(self, reminder: Reminder) -> datetime:
        """When ``reminder`` is due, timezone-aware in the campaign's zone."""
        day = (
            reminder.date_
            if reminder.date_ is not None
            else self.voting_day - timedelta(days=reminder.days_before or 0)
        )
        return datetime.combine(day, reminder.at, self.tz)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as Asia/Almaty)") from None
        return value

    @model_validator(mode="after")
    def _hours_in_order(self) -> Campaign:
        if self.polls_close <= self.polls_open:
            raise ValueError("polls_close must be after polls_open")
        ids = [reminder.id for reminder in self.reminders]
        if len(ids) != len(set(ids)):
            raise ValueError("reminder ids must be unique")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def opens_at(self) -> datetime:
        return datetime.combine(self.voting_day, self.polls_open, self.tz)

    @property
    def closes_at(self) -> datetime:
        return datetime.combine(self.voting_day, self.polls_close, self.tz)

    @property
    def day_start(self) -> datetime:
        return datetime.combine(self.voting_day, time(0, 0), self.tz)

    @property
    def day_end(self) -> datetime:
        return self.day_start + timedelta(days=1)

    def phase_at(self, moment: datetime) -> Phase:
        local = moment.astimezone(self.tz)
        if local < self.day_start:
            return "before"
        if local < self.day_end:
            return "voting"
        return "after"


class FaqCategory(Model):
    id: Identifier
    title: Localized


class FaqText(Model):
    q: Text
    a: Html
    alt: list[Text] = Field(min_length=1)
    keywords: list[Text] = []  # search vocabulary only, never shown
    a_before: Html | None = None
    a_voting: Html | None = None
    a_after: Html | None = None

    @model_validator(mode="after")
    def _within_limits(self) -> FaqText:
        for name in ("a", "a_before", "a_voting", "a_after"):
            value = getattr(self, name)
            if value is not None and visible_length(value) > ANSWER_LIMIT:
                raise ValueError(f"{name} is {visible_length(value)} characters; keep answers under {ANSWER_LIMIT}")
        if len(self.q) > 200:
            raise ValueError("q is longer than 200 characters")
        return self

    def answer(self, phase: Phase) -> str:
        override = {"before": self.a_before, "voting": self.a_voting, "after": self.a_after}[phase]
        return override or self.a


class FaqEntry(Model):
    id: Identifier
    category: Identifier
    reviewed: date
    sources: list[Source] = Field(min_length=1)
    kk: FaqText
    ru: FaqText
    en: FaqText

    def text(self, lang: Lang) -> FaqText:
        text: FaqText = getattr(self, lang)
        return text


class OffTopic(Model):
    """Examples of questions the bot must not answer (search vocabulary, never shown)."""

    kk: list[Text] = []
    ru: list[Text] = []
    en: list[Text] = []


class FaqFile(Model):
    categories: list[FaqCategory] = Field(min_length=1)
    entries: list[FaqEntry] = Field(min_length=1)
    off_topic: OffTopic = OffTopic()

    @model_validator(mode="after")
    def _consistent(self) -> FaqFile:
        seen: set[str] = set()
        for entry in self.entries:
            if entry.id in seen:
                raise ValueError(f"entry id {entry.id!r} is used twice")
            seen.add(entry.id)
        categories = {category.id for category in self.categories}
        if len(categories) != len(self.categories):
            raise ValueError("category ids must be unique")
        for entry in self.entries:
            if entry.category not in categories:
                raise ValueError(f"entry {entry.id!r}: unknown category {entry.category!r}")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OperatorShift(Model):
    """Operators are on duty on ``days`` from ``from`` to ``to`` (campaign time zone)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    from_: time = Field(alias="from")
    to: time

    @model_validator(mode="after")
    def _in_order(self) -> OperatorShift:
        if self.to <= self.from_:
            raise ValueError("to must be after from (a shift ends on the day it starts)")
        return self


class Operators(Model):
    """The operators' desk ("💬 Ask a person"): when people answer, and how much one resident may send."""

    hours: list[OperatorShift] = Field(min_length=1)
    messages_per_hour: Annotated[int, Field(ge=1, le=200)] = 20


Campaign.model_rebuild()
