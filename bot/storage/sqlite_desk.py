"""SQL of the operators' desk (SQLite; mixed into SqliteStorage, and run on PostgreSQL by its adapter).

Every write is one statement, atomic on its own, so replicas writing at once stay consistent: a
resident's open ticket is created by an insert that does nothing when one is already open (a unique
index on open tickets), and a message is relayed by whoever first records it (its chat and message
id are the key of ``desk_messages``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from bot.storage.base_desk import DeskCounts, FaqDraft, Ticket
from bot.storage.timestamps import from_opt_ts as _opt_dt
from bot.storage.timestamps import from_ts as _dt
from bot.storage.timestamps import to_ts as _ts

QUESTION_LIMIT = 1000
REPLY_LIMIT = 4096
_TICKET_COLUMNS = (
    "id, user_id, kind, status, language, question, thread_id, opened_at, first_reply_at, closed_at, "
    "closed_by, rating, last_reply"
)


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=int(row[0]),
        user_id=int(row[1]),
        kind=str(row[2]),
        status=str(row[3]),
        language=str(row[4]),
        question=str(row[5]),
        thread_id=None if row[6] is None else int(row[6]),
        opened_at=_dt(row[7]),
        first_reply_at=_opt_dt(row[8]),
        closed_at=_opt_dt(row[9]),
        closed_by=None if row[10] is None else int(row[10]),
        rating=None if row[11] is None else int(row[11]),
        last_reply=row[12],
    )


class SqliteDeskMixin:
    @property
    def db(self) -> aiosqlite.Connection:  # provided by SqliteStorage
        raise NotImplementedError

    def _next_id(self, table: str) -> str:  # provided by SqliteStorage / PostgresStorage
        raise NotImplementedError

    async def _one_ticket(self, where: str, params: tuple[Any, ...]) -> Ticket | None:
        async with self.db.execute(f"SELECT {_TICKET_COLUMNS} FROM tickets WHERE {where}", params) as cursor:
            row = await cursor.fetchone()
        return _ticket(row) if row else None

    async def open_ticket(
        self, user_id: int, kind: str, language: str, question: str, now: datetime
    ) -> tuple[Ticket, bool]:
        """The resident's open ticket: created now (True) or the one already open (False)."""
        async with self.db.execute(
            f"""INSERT INTO tickets (id, user_id, kind, status, language, question, opened_at)
                VALUES ({self._next_id("tickets")}, ?, ?, 'open', ?, ?, ?)
                ON CONFLICT (user_id) WHERE status = 'open' DO NOTHING
                RETURNING {_TICKET_COLUMNS}""",
            (user_id, kind, language, question[:QUESTION_LIMIT], _ts(now)),
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            return _ticket(row), True
        existing = await self.open_ticket_of(user_id)
        if existing is None:  # closed between the two statements: try once more
            return await self.open_ticket(user_id, kind, language, question, now)
        return existing, False

    async def open_ticket_of(self, user_id: int) -> Ticket | None:
        return await self._one_ticket("user_id = ? AND status = 'open'", (user_id,))

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self._one_ticket("id = ?", (ticket_id,))

    async def ticket_by_thread(self, thread_id: int) -> Ticket | None:
        return await self._one_ticket("thread_id = ?", (thread_id,))

    async def set_ticket_thread(self, ticket_id: int, thread_id: int) -> bool:
        """Link the ticket to its topic; False when another replica linked one first."""
        cursor = await self.db.execute(
            "UPDATE tickets SET thread_id = ? WHERE id = ? AND thread_id IS NULL", (thread_id, ticket_id)
        )
        return cursor.rowcount == 1

    async def close_ticket(self, ticket_id: int, closed_by: int | None, now: datetime) -> bool:
        cursor = await self.db.execute(
            "UPDATE tickets SET status = 'closed', closed_at = ?, closed_by = ? WHERE id = ? AND status = 'open'",
            (_ts(now), closed_by, ticket_id),
        )
        return cursor.rowcount == 1

    async def rate_ticket(self, ticket_id: int, user_id: int, helpful: bool) -> bool:
        cursor = await self.db.execute(
            "UPDATE tickets SET rating = ? WHERE id = ? AND user_id = ? AND status = 'closed'",
            (int(helpful), ticket_id, user_id),
        )
        return cursor.rowcount == 1

    async def record_reply(self, ticket_id: int, text: str | None, now: datetime) -> None:
        await self.db.execute(
            """UPDATE tickets SET first_reply_at = COALESCE(first_reply_at, ?),
                                  last_reply = COALESCE(?, last_reply)
               WHERE id = ?""",
            (_ts(now), None if text is None else text[:REPLY_LIMIT], ticket_id),
        )

    async def claim_relay(
        self, chat_id: int, message_id: int, ticket_id: int, user_id: int, direction: str, now: datetime
    ) -> bool:
        """Record that this message is being relayed; False when it already was (a repeated update)."""
        cursor = await self.db.execute(
            """INSERT INTO desk_messages (chat_id, message_id, ticket_id, user_id, direction, at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id, message_id) DO NOTHING""",
            (chat_id, message_id, ticket_id, user_id, direction, _ts(now)),
        )
        return cursor.rowcount == 1

    async def relayed_since(self, user_id: int, direction: str, since: datetime) -> int:
        async with self.db.execute(
            "SELECT COUNT(*) FROM desk_messages WHERE user_id = ? AND direction = ? AND at >= ?",
            (user_id, direction, _ts(since)),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def block_resident(self, user_id: int, blocked_by: int, now: datetime) -> None:
        await self.db.execute(
            """INSERT INTO desk_blocks (user_id, blocked_by, at, told) VALUES (?, ?, ?, 0)
               ON CONFLICT (user_id) DO NOTHING""",
            (user_id, blocked_by, _ts(now)),
        )

    async def resident_block(self, user_id: int) -> bool | None:
        """None when the resident is not blocked; else whether they were already told."""
        async with self.db.execute("SELECT told FROM desk_blocks WHERE user_id = ?", (user_id,)) as cursor:
            row = await cursor.fetchone()
        return None if row is None else bool(row[0])

    async def mark_block_told(self, user_id: int) -> bool:
        """True for exactly one caller: the one that tells the resident."""
        cursor = await self.db.execute("UPDATE desk_blocks SET told = 1 WHERE user_id = ? AND told = 0", (user_id,))
        return cursor.rowcount == 1

    async def add_faq_draft(
        self, ticket_id: int, language: str, question: str, answer: str, created_by: int, now: datetime
    ) -> FaqDraft:
        async with self.db.execute(
            f"""INSERT INTO faq_drafts (id, ticket_id, language, question, answer, created_by, created_at)
                VALUES ({self._next_id("faq_drafts")}, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (ticket_id, language, question[:QUESTION_LIMIT], answer[:REPLY_LIMIT], created_by, _ts(now)),
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return FaqDraft(int(row[0]), ticket_id, language, question, answer, created_by, now)

    async def faq_drafts(self, limit: int) -> list[FaqDraft]:
        async with self.db.execute(
            """SELECT id, ticket_id, language, question, answer, created_by, created_at
               FROM faq_drafts ORDER BY id DESC LIMIT ?""",
            (limit,),
        ) as cursor:
            rows = await cursor.fetchall()
        return [FaqDraft(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), _dt(r[6])) for r in rows]

    async def desk_counts(self, since: datetime) -> DeskCounts:
        async with self.db.execute(
            """SELECT COALESCE(SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0)
               FROM tickets"""
        ) as cursor:
            row = await cursor.fetchone()
        open_, closed = (int(row[0]), int(row[1])) if row else (0, 0)
        async with self.db.execute(
            """SELECT first_reply_at - opened_at FROM tickets
               WHERE opened_at >= ? AND first_reply_at IS NOT NULL ORDER BY 1""",
            (_ts(since),),
        ) as cursor:
            waits = [int(r[0]) for r in await cursor.fetchall()]
        return DeskCounts(open=open_, closed=closed, first_reply_seconds=waits)

    # privacy (/forget deletes by user_id: USER_TABLES in sqlite_privacy.py) ------------------------
    async def purge_desk_before(self, before: datetime) -> int:
        """Retention: the question of tickets closed before ``before`` is blanked (the row stays for the
        figures), and relayed-message keys older than that are deleted (they only stop repeats)."""
        cursor = await self.db.execute(
            """UPDATE tickets SET question = '', last_reply = NULL
               WHERE status = 'closed' AND closed_at < ? AND (question <> '' OR last_reply IS NOT NULL)""",
            (_ts(before),),
        )
        total = max(cursor.rowcount, 0)
        cursor = await self.db.execute("DELETE FROM desk_messages WHERE at < ?", (_ts(before),))
        return total + max(cursor.rowcount, 0)
