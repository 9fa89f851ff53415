"""The admins' audit log: every admin action is recorded with who, what and when
(`AuditStorage.audit_entries` reads it back; /forget leaves it, as it names admins, not residents)."""

from __future__ import annotations

from bot.clock import Clock
from bot.storage.base import AuditStorage


class AuditLog:
    def __init__(self, storage: AuditStorage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock

    async def record(self, admin_id: int, action: str, details: str = "") -> None:
        await self.storage.audit(admin_id, action, details, self.clock.now())
