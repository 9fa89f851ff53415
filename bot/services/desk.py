"""The operators' desk ("💬 Ask a person", issue 15): rules, no Telegram types.

A resident's conversation with the operators is a *ticket*; each ticket is a topic in the operators'
forum supergroup (``OPERATORS_CHAT_ID``). Tickets, their topics and every relayed message live in the
database, so any replica can handle any update: a resident's open ticket is created by one insert
that does nothing when one is already open, and a message is relayed by whoever records it first.

Telegram is reached through :class:`DeskPort`, implemented next to the handlers
(``bot.handlers.desk.port.TelegramDeskPort``)."""

from __future__ import annotations

import asyncio
import logging
import statistics
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import yaml

from bot.clock import Clock
from bot.content.models import WEEKDAYS, Campaign, Operators, OperatorShift
from bot.storage import Storage
from bot.storage.base_desk import FaqDraft, Ticket

log = logging.getLogger(__name__)

TOPIC_NAME_LIMIT = 128  # Telegram's limit for a topic name
TOPIC_WORDS = 60  # characters of the question in the topic's name
STATS_WINDOW = timedelta(days=30)  # the median time to a first reply is over tickets of the last 30 days
Kind = Literal["question", "rumour"]
RelayOutcome = Literal["relay", "duplicate", "over_budget", "no_ticket"]
ALBUM_WAIT = 1.0  # seconds an operator's album item waits for the other items (a "//" in any keeps all)
NOTE_MARK = "//"


def is_internal_note(text: str | None) -> bool:
    """An operator's message that stays in the topic: its text or caption starts with ``//`` once
    leading blanks and invisible characters are dropped and the text is NFKC-folded (``／／`` too)."""
    if not text:
        return False
    folded = unicodedata.normalize("NFKC", text)
    start = 0
    while start < len(folded) and (folded[start].isspace() or unicodedata.category(folded[start]) in ("Cf", "Cc")):
        start += 1
    return folded.startswith(NOTE_MARK, start)


class DeskUnavailable(Exception):
    """Telegram refused an operation on the operators' chat (the desk is misconfigured or gone)."""


@dataclass(frozen=True)
class ForumInfo:
    """What ``getChat`` and ``getChatMember`` say about the operators' chat and the bot in it."""

    found: bool
    is_forum: bool = False
    bot_status: str = ""
    can_manage_topics: bool = False


@dataclass(frozen=True)
class TicketIntro:
    """What the topic's first post tells the operators (the question itself is copied after it)."""

    first_name: str
    context: str  # the bot's last answer or suggestions, as the resident saw them ("" when none)


class DeskPort(Protocol):
    async def forum_info(self) -> ForumInfo: ...

    async def create_topic(self, name: str) -> int: ...

    async def post_intro(self, ticket: Ticket, intro: TicketIntro) -> None: ...

    async def close_topic(self, thread_id: int) -> None: ...


@dataclass(frozen=True)
class Duty:
    on: bool
    next_start: datetime | None  # when operators are next on duty (None if on now, or never)


def topic_name(ticket: Ticket) -> str:
    """``#12 · RU · where do I vote if …`` — within Telegram's 128 characters."""
    mark = "🔎 " if ticket.kind == "rumour" else ""
    words = " ".join(ticket.question.split())
    if len(words) > TOPIC_WORDS:
        words = words[: TOPIC_WORDS - 1].rstrip() + "…"
    name = f"#{ticket.id} {mark}· {ticket.language.upper()} · {words or '…'}"
    return name[:TOPIC_NAME_LIMIT]


def shifts_at(operators: Operators, campaign: Campaign | None, day: date) -> list[OperatorShift]:
    """The desk's hours on ``day``: those of the last period whose milestone falls on or before it
    (a period's hours hold for the whole day of its milestone)."""
    hours = operators.hours
    if campaign is not None:
        for period in operators.periods:
            if campaign.has(period.from_) and campaign.milestone(period.from_).date <= day:
                hours = period.hours
    return hours


def closed_at(operators: Operators | None, campaign: Campaign | None, moment: datetime) -> bool:
    """The desk is closed from its ``until`` milestone on."""
    return bool(operators and operators.until and campaign and campaign.passed(operators.until, moment))


def duty_at(operators: Operators | None, tz: ZoneInfo, now: datetime, campaign: Campaign | None = None) -> Duty:
    """Whether operators are on duty at ``now``, else when they next are (within two weeks, and
    before the desk closes), following the hours of each stage of the campaign."""
    if operators is None:
        return Duty(on=True, next_start=None)
    if closed_at(operators, campaign, now):
        return Duty(on=False, next_start=None)
    local = now.astimezone(tz)
    starts: list[datetime] = []
    for offset in range(15):
        day = local.date() + timedelta(days=offset)
        weekday = WEEKDAYS[day.weekday()]
        for shift in shifts_at(operators, campaign, day):
            if weekday not in shift.days:
                continue
            start = datetime.combine(day, shift.from_, tz)
            end = datetime.combine(day, shift.to, tz)
            if closed_at(operators, campaign, start):
                continue  # the desk has closed by then
            if start <= local < end:
                return Duty(on=True, next_start=None)
            if start > local:
                starts.append(start)
    return Duty(on=False, next_start=min(starts) if starts else None)


def median_seconds(waits: list[int]) -> float | None:
    return float(statistics.median(waits)) if waits else None


@dataclass(frozen=True)
class DeskStats:
    open: int
    closed: int
    median_first_reply: float | None  # seconds, over tickets opened in the last STATS_WINDOW


class DeskService:
    """The desk's rules. ``enabled`` is decided at start-up by :meth:`start` (the chat is checked)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        chat_id: int | None,
        port: DeskPort | None,
        operators: Callable[[], Operators | None],
        tz: Callable[[], ZoneInfo],
        campaign: Callable[[], Campaign | None] = lambda: None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.chat_id = chat_id
        self.port = port
        self._operators = operators
        self._tz = tz
        self._campaign = campaign
        self.enabled = False
        self.problem: str | None = None
        self.album_wait = ALBUM_WAIT
        self._album_tasks: set[asyncio.Task[None]] = set()
        self._albums: dict[tuple[int, str], list[tuple[int, Callable[[], Awaitable[None]]]]] = {}

    # --- start-up -------------------------------------------------------------------------------
    async def start(self) -> bool:
        """Check the operators' chat once; on any problem log one line and run without the desk."""
        if self.chat_id is None or self.port is None:
            self.enabled = False
            return False
        try:
            info = await self.port.forum_info()
        except Exception as error:  # any failure of the probe, an answer that cannot be parsed too
            log.debug("operators' chat check failed: %r", error)
            self.problem = f"could not be checked ({type(error).__name__}): the bot runs without the desk"
        else:
            self.problem = self.diagnose(info)
        self.enabled = self.problem is None
        if self.problem is not None:
            log.warning("operators' desk off: OPERATORS_CHAT_ID=%s %s", self.chat_id, self.problem)
        else:
            log.info("operators' desk on: chat %s", self.chat_id)
        return self.enabled

    @staticmethod
    def diagnose(info: ForumInfo) -> str | None:
        if not info.found:
            return "is not a chat the bot can see (add the bot to the group, then restart)"
        if not info.is_forum:
            return "is not a forum: turn Topics on in the group's settings"
        if info.bot_status not in ("administrator", "creator"):
            return "does not have the bot as an administrator: promote it with the right to manage topics"
        if not info.can_manage_topics:
            return "does not let the bot manage topics: give it the 'Manage topics' right"
        return None

    # --- hours and limits -----------------------------------------------------------------------
    @property
    def operators(self) -> Operators | None:
        return self._operators()

    def duty(self, now: datetime | None = None) -> Duty:
        return duty_at(self.operators, self._tz(), now or self.clock.now(), self._campaign())

    def closed(self, now: datetime | None = None) -> bool:
        """Past the desk's ``until`` milestone: nobody answers any more."""
        return closed_at(self.operators, self._campaign(), now or self.clock.now())

    @property
    def open_to_residents(self) -> bool:
        """Residents may ask a person now: the desk is on and not closed by the timeline."""
        return self.enabled and not self.closed()

    @property
    def budget(self) -> int:
        operators = self.operators
        return operators.messages_per_hour if operators is not None else 20

    async def over_budget(self, user_id: int) -> bool:
        since = self.clock.now() - timedelta(hours=1)
        return await self.storage.relayed_since(user_id, "in", since) >= self.budget

    # --- residents ------------------------------------------------------------------------------
    async def block_status(self, user_id: int) -> Literal["ok", "tell", "ignore"]:
        told = await self.storage.resident_block(user_id)
        if told is None:
            return "ok"
        return "tell" if await self.storage.mark_block_told(user_id) else "ignore"

    async def open_ticket(
        self, user_id: int, kind: Kind, language: str, question: str, intro: TicketIntro
    ) -> tuple[Ticket, bool]:
        """The resident's open ticket with its topic: created now (True) or the one already open.

        A second replica handling the same update finds the ticket and creates no second topic; if
        Telegram refuses the topic, the ticket is closed again and :class:`DeskUnavailable` raised."""
        if self.port is None:
            raise DeskUnavailable("the desk is off")
        ticket, created = await self.storage.open_ticket(user_id, kind, language, question, self.clock.now())
        if not created:
            return ticket, False
        try:
            thread_id = await self.port.create_topic(topic_name(ticket))
        except DeskUnavailable:
            await self.storage.close_ticket(ticket.id, None, self.clock.now())
            raise
        # the intro first, then the topic made known: a replica handling the same update relays the
        # resident's message only once it sees the topic, so the intro always comes before it
        await self.port.post_intro(replace(ticket, thread_id=thread_id), intro)
        await self.storage.set_ticket_thread(ticket.id, thread_id)
        ticket = await self.storage.ticket(ticket.id) or ticket
        log.info("ticket #%s opened (%s, %s)", ticket.id, kind, language)
        return ticket, True

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self.storage.open_ticket_of(user_id)

    async def claim_resident_message(self, ticket: Ticket, chat_id: int, message_id: int) -> RelayOutcome:
        """Record the resident's message as relayed, within the hourly budget (counted and recorded
        in one statement: a burst cannot pass the count all at once)."""
        now = self.clock.now()
        outcome = await self.storage.claim_relay_within(
            chat_id, message_id, ticket.id, ticket.user_id, self.budget, now - timedelta(hours=1), now
        )
        return "relay" if outcome == "relay" else "duplicate" if outcome == "duplicate" else "over_budget"

    async def relayed_ticket_of(self, user_id: int, message_id: int) -> Ticket | None:
        """The open ticket a resident's message was relayed to (their edit of it follows), or None."""
        ticket_id = await self.storage.relayed_ticket(user_id, message_id)
        if ticket_id is None:
            return None
        ticket = await self.storage.ticket(ticket_id)
        return ticket if ticket is not None and ticket.user_id == user_id else None

    async def rate(self, ticket_id: int, user_id: int, helpful: bool) -> bool:
        return await self.storage.rate_ticket(ticket_id, user_id, helpful)

    # --- operators ------------------------------------------------------------------------------
    async def ticket_of_thread(self, thread_id: int) -> Ticket | None:
        return await self.storage.ticket_by_thread(thread_id)

    async def claim_operator_message(self, ticket: Ticket, chat_id: int, message_id: int) -> bool:
        return await self.storage.claim_relay(chat_id, message_id, ticket.id, ticket.user_id, "out", self.clock.now())

    async def album_item(
        self, chat_id: int, media_group_id: str, message_id: int, note: bool, relay: Callable[[], Awaitable[None]]
    ) -> None:
        """An item of an operator's album: an album is judged as a whole. A note item marks the album
        internal; the other items are gathered and, :data:`ALBUM_WAIT` after the first, relayed in
        order unless the album was marked by then (by this replica or another). The wait runs outside
        the update's handling, so the other items are handled meanwhile, also when one user's updates
        are handled one at a time."""
        if note:
            await self.storage.mark_album_internal(chat_id, media_group_id, self.clock.now())
            return
        key = (chat_id, media_group_id)
        batch = self._albums.get(key)
        if batch is not None:
            batch.append((message_id, relay))
            return
        self._albums[key] = [(message_id, relay)]
        task = asyncio.create_task(self._relay_album(key), name="desk-album")
        self._album_tasks.add(task)
        task.add_done_callback(self._album_tasks.discard)

    async def _relay_album(self, key: tuple[int, str]) -> None:
        try:
            await asyncio.sleep(self.album_wait)
        finally:
            batch = self._albums.pop(key, [])
        try:
            internal = await self.storage.album_internal(*key)
        except Exception:
            log.exception("could not check an operator's album: kept internal")
            return
        if internal:
            log.info("an album in the operators' chat stays internal (a // caption)")
            return
        for _message_id, relay in sorted(batch, key=lambda item: item[0]):
            try:
                await relay()
            except Exception:
                log.exception("could not relay an item of an operator's album")

    async def drain(self) -> None:
        """Wait for the albums' pending items (at shutdown)."""
        if self._album_tasks:
            await asyncio.gather(*self._album_tasks, return_exceptions=True)

    async def replied(self, ticket: Ticket, text: str | None) -> None:
        await self.storage.record_reply(ticket.id, text, self.clock.now())

    async def close(
        self, ticket: Ticket, operator_id: int | None, *, action: str = "desk.close", close_topic: bool = True
    ) -> bool:
        """Close the ticket and its topic; False when it was closed already (by someone else).
        ``operator_id`` None: the bot closed it (the audit log names no resident: 0)."""
        now = self.clock.now()
        if not await self.storage.close_ticket(ticket.id, operator_id, now):
            return False
        await self.storage.audit(operator_id or 0, action, f"#{ticket.id}", now)
        if close_topic and self.port is not None and ticket.thread_id is not None:
            try:
                await self.port.close_topic(ticket.thread_id)
            except DeskUnavailable as error:
                log.warning("ticket #%s closed, but its topic was not: %s", ticket.id, error)
        return True

    async def tell_block_once(self, user_id: int) -> bool:
        """True the first time only: a blocked resident is told once, politely, then ignored."""
        return await self.storage.mark_block_told(user_id)

    async def block(self, ticket: Ticket, operator_id: int) -> None:
        await self.storage.block_resident(ticket.user_id, operator_id, self.clock.now())
        await self.storage.audit(operator_id, "desk.block", f"#{ticket.id}", self.clock.now())
        await self.close(ticket, operator_id)

    async def draft(self, ticket: Ticket, answer: str, operator_id: int) -> FaqDraft:
        draft = await self.storage.add_faq_draft(
            ticket.id, ticket.language, ticket.question, answer, operator_id, self.clock.now()
        )
        await self.storage.audit(operator_id, "desk.faq_draft", f"#{ticket.id} draft {draft.id}", self.clock.now())
        return draft

    async def audit(self, operator_id: int, action: str, ticket: Ticket) -> None:
        await self.storage.audit(operator_id, action, f"#{ticket.id}", self.clock.now())

    async def stats(self) -> DeskStats:
        counts = await self.storage.desk_counts(self.clock.now() - STATS_WINDOW)
        return DeskStats(counts.open, counts.closed, median_seconds(counts.first_reply_seconds))


def format_draft(draft: FaqDraft) -> str:
    """One FAQ draft as plain text (``voterbot drafts``), for an editor to turn into an entry."""
    at = draft.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"--- draft {draft.id} (ticket #{draft.ticket_id}, {draft.language}, {at}, operator {draft.created_by})\n"
        f"q: {draft.question}\n"
        f"a: {draft.answer}\n"
    )


def drafts_as_yaml(drafts: list[FaqDraft], today: date) -> str:
    """The drafts as FAQ entries to paste under ``entries:`` in ``data/faq.yaml`` (``voterbot drafts
    --yaml``): the operator's question and answer in their language, the other languages and the
    sources left for the editor (``voterbot check`` refuses the entry until they are filled)."""
    entries = []
    for draft in drafts:
        texts = {
            lang: {"q": draft.question, "a": draft.answer, "alt": [draft.question]}
            if lang == draft.language
            else {"q": "TODO", "a": "TODO", "alt": ["TODO"]}
            for lang in ("kk", "ru", "en")
        }
        entries.append(
            {
                "id": f"draft-{draft.id}",
                "category": "TODO",
                "reviewed": today.isoformat(),
                "sources": [{"title": "TODO", "url": "https://TODO", "published": "TODO"}],
                **texts,
            }
        )
    header = "# Operators' answers saved with /faq: check each fact and its source, translate, then publish.\n"
    return header + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=110)
