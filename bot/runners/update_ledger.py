"""Which updates were handled already, so that one Telegram delivers again is not handled twice.

Telegram delivers an update again when it did not get the answer (a timeout, a lost connection).
The ledger remembers the update ids handled in the last hour: in Redis with ``REDIS_URL`` (shared by
the replicas), else in this process's memory. An update is *claimed* before it is handled; the
claim of a replica that died mid-way expires, so the update is handled by the next delivery."""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import Enum
from typing import Any

LEDGER_SECONDS = 3600  # how long a handled update id is remembered
CLAIM_SECONDS = 120  # a claim left by a replica that died mid-update expires after this


class Claim(Enum):
    NEW = "new"  # not seen: handle it
    DONE = "done"  # handled already: acknowledge, do not handle again
    BUSY = "busy"  # being handled now (here or by another replica): ask Telegram to retry


class MemoryLedger:
    """Update ids handled by this process (one replica, or no Redis)."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._seen: OrderedDict[int, tuple[bool, float]] = OrderedDict()  # id -> (done, expires)

    async def claim(self, update_id: int) -> Claim:
        now = time.monotonic()
        entry = self._seen.get(update_id)
        if entry is not None and entry[1] > now:
            return Claim.DONE if entry[0] else Claim.BUSY
        self._seen[update_id] = (False, now + CLAIM_SECONDS)
        self._seen.move_to_end(update_id)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return Claim.NEW

    async def done(self, update_id: int) -> None:
        self._seen[update_id] = (True, time.monotonic() + LEDGER_SECONDS)

    async def release(self, update_id: int) -> None:
        self._seen.pop(update_id, None)


class RedisLedger:
    """Update ids handled by any replica, in Redis (``SET NX`` claims with expiry)."""

    def __init__(self, redis: Any, bot_id: int) -> None:
        self.redis = redis
        self.prefix = f"voterbot:update:{bot_id}:"

    async def claim(self, update_id: int) -> Claim:
        key = self.prefix + str(update_id)
        if await self.redis.set(key, b"busy", nx=True, ex=CLAIM_SECONDS):
            return Claim.NEW
        value = await self.redis.get(key)
        if value is None:  # expired just now: try once more
            return Claim.NEW if await self.redis.set(key, b"busy", nx=True, ex=CLAIM_SECONDS) else Claim.BUSY
        return Claim.DONE if value == b"done" else Claim.BUSY

    async def done(self, update_id: int) -> None:
        await self.redis.set(self.prefix + str(update_id), b"done", ex=LEDGER_SECONDS)

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self.prefix + str(update_id))


Ledger = MemoryLedger | RedisLedger
