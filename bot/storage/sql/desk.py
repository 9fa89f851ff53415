"""The operators' desk (issue 15): tickets, relayed messages, blocks and FAQ drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, case, delete, exists, func, literal, or_, select, text, update

from bot.storage.base_desk import DeskCounts, FaqDraft, Ticket, TicketStatus
from bot.storage.schema import desk_albums, desk_blocks, desk_messages, faq_drafts, tickets
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

QUESTION_LIMIT = 1000  # characters of a ticket's question kept
REPLY_LIMIT = 4096


class DeskQueries(SqlCore):
    """Tickets, relayed messages, blocks by the operators and FAQ drafts."""

    # A resident's open ticket is created by an insert that does nothing when one is already open (a
    # unique index on open tickets), and a message is relayed by whoever first records it (its chat
    # and message id are the key of ``desk_messages``): replicas writing at once stay consistent.
    @staticmethod
    def _ticket(row: Row[Any]) -> Ticket:
        return Ticket(
            id=int(row.id),
            user_id=int(row.user_id),
            kind=str(row.kind),
            status=TicketStatus(row.status),
            language=str(row.language),
            question=str(row.question),
            thread_id=None if row.thread_id is None else int(row.thread_id),
            opened_at=_dt(row.opened_at),
            first_reply_at=_opt_dt(row.first_reply_at),
            closed_at=_opt_dt(row.closed_at),
            closed_by=None if row.closed_by is None else int(row.closed_by),
            rating=None if row.rating is None else int(row.rating),
            last_reply=row.last_reply,
        )

    async def _one_ticket(self, *where: ColumnElement[bool]) -> Ticket | None:
        row = await self._one(select(*tickets.c).where(*where))
        return self._ticket(row) if row else None

    async def open_ticket(
        self, user_id: int, kind: str, language: str, question: str, now: datetime
    ) -> tuple[Ticket, bool]:
        """The resident's open ticket: created now (True) or the one already open (False)."""
        statement = (
            self._insert(tickets)
            .values(
                user_id=user_id,
                kind=kind,
                status=TicketStatus.OPEN,
                language=language,
                question=question[:QUESTION_LIMIT],
                opened_at=_ts(now),
            )
            .on_conflict_do_nothing(
                index_elements=[tickets.c.user_id], index_where=tickets.c.status == TicketStatus.OPEN
            )
            .returning(*tickets.c)
        )
        row = await self._one(statement)
        if row is not None:
            return self._ticket(row), True
        existing = await self.open_ticket_of(user_id)
        if existing is None:  # closed between the two statements: try once more
            return await self.open_ticket(user_id, kind, language, question, now)
        return existing, False

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.user_id == user_id, tickets.c.status == TicketStatus.OPEN)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.id == ticket_id)

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        return await self._one_ticket(tickets.c.thread_id == thread_id)

    async def set_ticket_thread(self, ticket_id: int, thread_id: int) -> bool:
        """Link the ticket to its topic; False when another replica linked one first."""
        statement = (
            update(tickets).where(tickets.c.id == ticket_id, tickets.c.thread_id.is_(None)).values(thread_id=thread_id)
        )
        return await self._count(statement) == 1

    async def close_ticket(self, ticket_id: int, closed_by: int | None, now: datetime) -> bool:
        statement = (
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.status == TicketStatus.OPEN)
            .values(status=TicketStatus.CLOSED, closed_at=_ts(now), closed_by=closed_by)
        )
        return await self._count(statement) == 1

    async def rate_ticket(self, ticket_id: int, user_id: int, helpful: bool) -> bool:
        statement = (
            update(tickets)
            .where(tickets.c.id == ticket_id, tickets.c.user_id == user_id, tickets.c.status == TicketStatus.CLOSED)
            .values(rating=int(helpful))
        )
        return await self._count(statement) == 1

    async def record_reply(self, ticket_id: int, text: str | None, now: datetime) -> None:
        values: dict[str, Any] = {"first_reply_at": func.coalesce(tickets.c.first_reply_at, _ts(now))}
        if text is not None:
            values["last_reply"] = text[:REPLY_LIMIT]
        await self._run(update(tickets).where(tickets.c.id == ticket_id).values(values))

    async def claim_relay(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, direction: str, now: datetime
    ) -> bool:
        """Record that this message is being relayed; False when it already was (a repeated update)."""
        statement = (
            self._insert(desk_messages)
            .values(
                chat_id=chat_id,
                message_id=message_id,
                ticket_id=ticket_id,
                user_id=user_id,
                direction=direction,
                at=_ts(now),
            )
            .on_conflict_do_nothing(index_elements=[desk_messages.c.chat_id, desk_messages.c.message_id])
        )
        return await self._count(statement) == 1

    async def claim_relay_within(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, budget: int, since: datetime, now: datetime
    ) -> str:
        """Record a resident's message as relayed if fewer than ``budget`` of theirs were since ``since``:
        "relay", "duplicate" (recorded already) or "over_budget". The count and the insert are one
        statement (on PostgreSQL under a per-resident transaction lock), so messages arriving at once
        cannot all pass the count before any of them is inserted."""
        m = desk_messages.c
        recent = (
            select(func.count())
            .select_from(desk_messages)
            .where(m.user_id == user_id, m.direction == "in", m.at >= _ts(since))
            .scalar_subquery()
        )
        values = select(
            literal(chat_id),
            literal(message_id),
            literal(ticket_id),
            literal(user_id),
            literal("in"),
            literal(_ts(now)),
        ).where(recent < budget)
        statement = (
            self._insert(desk_messages)
            .from_select([m.chat_id, m.message_id, m.ticket_id, m.user_id, m.direction, m.at], values)
            .on_conflict_do_nothing(index_elements=[m.chat_id, m.message_id])
        )
        sqlite = self._sqlite

        def claim(connection: Connection) -> str:
            if not sqlite:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": user_id})
            if connection.execute(statement).rowcount == 1:
                return "relay"
            known = connection.execute(select(exists().where(m.chat_id == chat_id, m.message_id == message_id)))
            return "duplicate" if known.scalar() else "over_budget"

        return await self.run_sync(claim, transaction=True)

    async def relayed_ticket(self, chat_id: int, message_id: int) -> int | None:
        """The ticket a message was relayed for (a resident's edit follows it), or None."""
        m = desk_messages.c
        row = await self._one(select(m.ticket_id).where(m.chat_id == chat_id, m.message_id == message_id))
        return None if row is None else int(row[0])

    async def mark_album_internal(self, chat_id: int, media_group_id: str, now: datetime) -> None:
        await self._run(
            self._insert(desk_albums)
            .values(chat_id=chat_id, media_group_id=media_group_id, at=_ts(now))
            .on_conflict_do_nothing(index_elements=[desk_albums.c.chat_id, desk_albums.c.media_group_id])
        )

    async def album_internal(self, chat_id: int, media_group_id: str) -> bool:
        a = desk_albums.c
        return await self._one(select(a.at).where(a.chat_id == chat_id, a.media_group_id == media_group_id)) is not None

    async def relayed_since(self, user_id: int, direction: str, since: datetime) -> int:
        m = desk_messages.c
        row = await self._one(
            select(func.count()).where(m.user_id == user_id, m.direction == direction, m.at >= _ts(since))
        )
        return int(row[0]) if row else 0

    async def block_resident(self, user_id: int, blocked_by: int, now: datetime) -> None:
        await self._run(
            self._insert(desk_blocks)
            .values(user_id=user_id, blocked_by=blocked_by, at=_ts(now), told=0)
            .on_conflict_do_nothing(index_elements=[desk_blocks.c.user_id])
        )

    async def resident_block(self, user_id: int) -> bool | None:
        """None when the resident is not blocked; else whether they were already told."""
        row = await self._one(select(desk_blocks.c.told).where(desk_blocks.c.user_id == user_id))
        return None if row is None else bool(row[0])

    async def mark_block_told(self, user_id: int) -> bool:
        """True for exactly one caller: the one that tells the resident."""
        statement = update(desk_blocks).where(desk_blocks.c.user_id == user_id, desk_blocks.c.told == 0).values(told=1)
        return await self._count(statement) == 1

    async def add_faq_draft(
        self, ticket_id: int, language: str, question: str, answer: str, created_by: int, now: datetime
    ) -> FaqDraft:
        row = await self._one(
            faq_drafts.insert()
            .values(
                ticket_id=ticket_id,
                language=language,
                question=question[:QUESTION_LIMIT],
                answer=answer[:REPLY_LIMIT],
                created_by=created_by,
                created_at=_ts(now),
            )
            .returning(faq_drafts.c.id)
        )
        assert row is not None
        return FaqDraft(int(row[0]), ticket_id, language, question, answer, created_by, now)

    async def faq_drafts(self, limit: int) -> list[FaqDraft]:
        rows = await self._all(select(*faq_drafts.c).order_by(faq_drafts.c.id.desc()).limit(limit))
        return [
            FaqDraft(
                int(r.id),
                int(r.ticket_id),
                str(r.language),
                str(r.question),
                str(r.answer),
                int(r.created_by),
                _dt(r.created_at),
            )
            for r in rows
        ]

    async def desk_counts(self, since: datetime) -> DeskCounts:
        def counts(connection: Connection) -> DeskCounts:
            status = tickets.c.status
            row = connection.execute(
                select(
                    func.coalesce(func.sum(case((status == TicketStatus.OPEN, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((status == TicketStatus.CLOSED, 1), else_=0)), 0),
                )
            ).first()
            wait = tickets.c.first_reply_at - tickets.c.opened_at
            waits = connection.execute(
                select(wait)
                .where(tickets.c.opened_at >= _ts(since), tickets.c.first_reply_at.is_not(None))
                .order_by(wait)
            )
            open_, closed = (int(row[0]), int(row[1])) if row else (0, 0)
            return DeskCounts(open=open_, closed=closed, first_reply_seconds=[int(w[0]) for w in waits])

        return await self.run_sync(counts)

    async def purge_desk_before(self, before: datetime) -> int:
        """Retention: the question of tickets closed before ``before`` is blanked (the row stays for the
        figures), so is the resident's question in FAQ drafts made before then (the operator's answer
        stays), and relayed-message keys and internal-album marks older than that are deleted."""

        def purge(connection: Connection) -> int:
            blanked = connection.execute(
                update(tickets)
                .where(
                    tickets.c.status == TicketStatus.CLOSED,
                    tickets.c.closed_at < _ts(before),
                    or_(tickets.c.question != "", tickets.c.last_reply.is_not(None)),
                )
                .values(question="", last_reply=None)
            ).rowcount
            deleted = connection.execute(delete(desk_messages).where(desk_messages.c.at < _ts(before))).rowcount
            albums = connection.execute(delete(desk_albums).where(desk_albums.c.at < _ts(before))).rowcount
            # a draft keeps the operator's answer for the editors; the resident's words go
            drafts = connection.execute(
                update(faq_drafts)
                .where(faq_drafts.c.created_at < _ts(before), faq_drafts.c.question != "")
                .values(question="")
            ).rowcount
            return sum(max(n, 0) for n in (blanked, deleted, albums, drafts))

        return await self.run_sync(purge, transaction=True)
