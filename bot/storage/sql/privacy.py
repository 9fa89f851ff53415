"""Privacy: erasure, /stop, retention and the admin-menu marks (issue 12)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, delete, select, update

from bot.storage.base import Erased
from bot.storage.broadcasts import AudienceKind
from bot.storage.schema import (
    admin_menus,
    broadcasts,
    deliveries,
    desk_blocks,
    desk_messages,
    event_reminders,
    faq_drafts,
    faq_feedback,
    reminder_prefs,
    subscriptions,
    tickets,
    unanswered,
    users,
)
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import to_ts as _ts

# (table, column) pairs that hold a resident's data; /forget deletes the rows, the user row last.
_USER_TABLES = (
    (deliveries, deliveries.c.user_id),
    (event_reminders, event_reminders.c.user_id),
    (faq_feedback, faq_feedback.c.user_id),
    (unanswered, unanswered.c.user_id),
    (reminder_prefs, reminder_prefs.c.user_id),
    (subscriptions, subscriptions.c.user_id),
    (admin_menus, admin_menus.c.user_id),
    (desk_messages, desk_messages.c.user_id),  # the operators' desk: relayed-message keys,
    (tickets, tickets.c.user_id),  # tickets (question, language, rating)
    (desk_blocks, desk_blocks.c.user_id),  # and a block by the operators
    (users, users.c.id),
)


class PrivacyQueries(SqlCore):
    """Erasure (``/forget``), ``/stop``, retention and the admin-menu marks (issue 12)."""

    async def forget_user(self, user_id: int) -> Erased:
        """Delete everything stored about ``user_id``, in one transaction: subscription,
        preferences, feedback, unanswered questions, event reminders, deliveries (pending or past),
        their tickets and relayed-message keys (the question in an operator's FAQ draft of their
        ticket is blanked, the answer stays), their personal broadcasts (vote-time reminders), the
        admin-menu mark and the user row itself.
        Rows that record what an *admin* did (audit log, broadcasts and events they made) are not the
        resident's data and stay."""

        def forget(connection: Connection) -> Erased:
            rows: dict[str, int] = {}
            # personal broadcasts name the user in their audience and key (vote-time reminders)
            rows["broadcasts"] = connection.execute(
                delete(broadcasts).where(
                    broadcasts.c.audience_kind == str(AudienceKind.USER), broadcasts.c.audience_value == str(user_id)
                )
            ).rowcount
            # an operator's FAQ draft from their ticket keeps the operator's answer, not the resident's words
            rows["faq_drafts"] = connection.execute(
                update(faq_drafts)
                .where(faq_drafts.c.ticket_id.in_(select(tickets.c.id).where(tickets.c.user_id == user_id)))
                .values(question="")
            ).rowcount
            for table, column in _USER_TABLES:
                rows[table.name] = connection.execute(delete(table).where(column == user_id)).rowcount
            return Erased(rows)

        erased = await self.run_sync(forget, transaction=True)
        self._users.pop(user_id, None)
        return erased

    async def stop_everything(self, user_id: int) -> int:
        """``/stop``: no more messages. The subscription, the reminder preferences (mode, vote time,
        "I voted") and the pending event reminders are deleted, and no answer to an earlier question
        is sent any more, together; returns how many rows."""

        def stop(connection: Connection) -> int:
            r = event_reminders.c
            statements = (
                delete(event_reminders).where(r.user_id == user_id, r.sent_at.is_(None), r.cancelled == 0),
                delete(reminder_prefs).where(reminder_prefs.c.user_id == user_id),
                delete(subscriptions).where(subscriptions.c.user_id == user_id),
                # "tell me when there is an answer": no more
                update(unanswered)
                .where(unanswered.c.user_id == user_id, unanswered.c.wants_answer == 1)
                .values(wants_answer=0),
            )
            return sum(connection.execute(statement).rowcount for statement in statements)

        return await self.run_sync(stop, transaction=True)

    async def drop_reminder_prefs(self, user_id: int) -> int:
        """Reminder preferences only serve a subscription: deleted with it."""
        return await self._count(delete(reminder_prefs).where(reminder_prefs.c.user_id == user_id))

    async def delete_unanswered_before(self, before: datetime) -> int:
        return await self._count(delete(unanswered).where(unanswered.c.at < _ts(before)))

    async def forget_votes_before(self, day: date) -> int:
        """ "I voted" of every day before ``day`` (ISO dates compare as text)."""
        voted_on = reminder_prefs.c.voted_on
        return await self._count(
            update(reminder_prefs).where(voted_on.is_not(None), voted_on < day.isoformat()).values(voted_on=None)
        )

    async def delete_event_reminders_before(self, before: datetime) -> int:
        """Event reminders whose moment is long past (sent, skipped or cancelled by then)."""
        return await self._count(delete(event_reminders).where(event_reminders.c.remind_at < _ts(before)))

    async def mark_admin_menu(self, user_id: int, now: datetime) -> None:
        insert = self._insert(admin_menus).values(user_id=user_id, set_at=_ts(now))
        await self._run(
            insert.on_conflict_do_update(
                index_elements=[admin_menus.c.user_id], set_={"set_at": insert.excluded.set_at}
            )
        )

    async def admin_menu_holders(self) -> list[int]:
        return [int(row[0]) for row in await self._all(select(admin_menus.c.user_id).order_by(admin_menus.c.user_id))]

    async def drop_admin_menu(self, user_id: int) -> None:
        await self._run(delete(admin_menus).where(admin_menus.c.user_id == user_id))
