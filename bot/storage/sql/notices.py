"""Broadcasts outside the admin's form: notices to a list of recipients fixed at creation (event
notices), and the creators of scheduled broadcasts (a removed admin's are cancelled; issue 12)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from bot.storage.base import BroadcastMessage, BroadcastRecord
from bot.storage.broadcasts import BroadcastStatus
from bot.storage.schema import broadcasts, deliveries
from bot.storage.sql.broadcasts import _BROADCAST_COLUMNS, NOTICE_AUDIENCE, _broadcast, _message_columns
from bot.storage.sql.core import SqlCore
from bot.storage.timestamps import to_ts as _ts


class NoticeQueries(SqlCore):
    """Notice broadcasts and the creators of scheduled broadcasts."""

    async def scheduled_broadcast_creators(self) -> list[tuple[int, int]]:
        """(broadcast id, creator) of every scheduled broadcast an admin made."""
        rows = await self._all(
            select(broadcasts.c.id, broadcasts.c.created_by)
            .where(broadcasts.c.status == "scheduled", broadcasts.c.created_by.is_not(None))
            .order_by(broadcasts.c.id)
        )
        return [(int(row[0]), int(row[1])) for row in rows]

    async def create_notice_broadcast(
        self,
        message: BroadcastMessage,
        recipients: Sequence[int],
        *,
        key: str,
        label: str,
        created_by: int | None,
        now: datetime,
    ) -> tuple[BroadcastRecord, bool]:
        """A running broadcast to ``recipients`` (audience ``notice``, value ``label``), keyed by
        ``key``: the same key returns the existing one. The row, one pending delivery per recipient
        and the status ``running`` are written in one transaction; a row left ``preparing`` (by a
        crash of an older version, which wrote them one by one) is completed by the same call."""
        ids = sorted(set(recipients))

        def create(connection: Connection) -> tuple[BroadcastRecord, bool]:
            inserted = connection.execute(
                self._insert(broadcasts)
                .values(
                    idempotency_key=key,
                    status=str(BroadcastStatus.PREPARING),
                    **_message_columns(message),
                    audience_kind=NOTICE_AUDIENCE,
                    audience_value=label,
                    created_by=created_by,
                    created_at=_ts(now),
                    start_at=_ts(now),
                )
                .on_conflict_do_nothing(index_elements=[broadcasts.c.idempotency_key])
                .returning(broadcasts.c.id)
            ).first()
            by_key = select(*_BROADCAST_COLUMNS).where(broadcasts.c.idempotency_key == key)
            existing = connection.execute(by_key).first()
            if existing is None:
                raise RuntimeError(f"broadcast with key {key!r} vanished")
            if existing.status != "preparing":
                return _broadcast(existing), inserted is not None
            if ids:
                connection.execute(
                    self._insert(deliveries).on_conflict_do_nothing(
                        index_elements=[deliveries.c.broadcast_id, deliveries.c.user_id]
                    ),
                    [{"broadcast_id": existing.id, "user_id": user_id, "status": "pending"} for user_id in ids],
                )
            connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == existing.id, broadcasts.c.status == "preparing")
                .values(status="running", started_at=_ts(now))
            )
            row = connection.execute(by_key).first()
            assert row is not None
            return _broadcast(row), inserted is not None

        return await self.run_sync(create, transaction=True)
