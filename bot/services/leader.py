"""The leader lease: exactly one replica runs the scheduler and the delivery engine.

With PostgreSQL the lease is a session-level advisory lock (``pg_try_advisory_lock``) held on a
dedicated asyncpg connection, outside the storage pool. The lock lives as long as that session: the
leader checks the connection every ``check_seconds`` (3 s) and, when it is gone, stops its services
at once; PostgreSQL releases the lock when the session ends (a killed process's socket is closed by
the kernel). Followers try to take the lock every ``retry_seconds`` (2 s), so a dead leader is
replaced within a few seconds (well within 10 s).

A leader cut off from the database by a network partition stops its services when its check times
out (within about 8 s); the server releases the lock only when TCP keepalive gives up on the
session (about 25 s, set per session below), so two leaders never run at once; the takeover then
takes longer than 10 s. The lock key is per database (advisory locks are), so several deployments
can share one PostgreSQL server.

With SQLite (one process) the lease is always held.

:class:`Leadership` is itself a background service (``start``/``stop``): it starts the services it
wraps when the lease is acquired and stops them (in reverse order) when it is lost or at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import asyncpg

from bot.config import DatabaseConfig

log = logging.getLogger(__name__)

LEADER_LOCK = 0x766F7465726C6472  # "voterldr"; advisory locks are per database
CONNECT_TIMEOUT = 5.0
QUERY_TIMEOUT = 5.0
# The server drops the session of a client it cannot reach after about 10 + 3 × 5 = 25 s, releasing
# the lock; the leader itself gives up after its check times out (3 + 5 s), so before that.
KEEPALIVES = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Lease(Protocol):
    async def try_acquire(self) -> bool:
        """True when this process holds the lease now (acquired now or before)."""

    async def check(self) -> bool:
        """True while the lease is still held."""

    async def release(self) -> None: ...


class LocalLease:
    """One process on SQLite: always the leader."""

    async def try_acquire(self) -> bool:
        return True

    async def check(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PgAdvisoryLease:
    """A session-level advisory lock on a dedicated connection."""

    def __init__(self, url: str, *, key: int = LEADER_LOCK) -> None:
        self.url = url
        self.key = key
        self.connection: Any = None  # asyncpg.Connection
        self.held = False

    async def try_acquire(self) -> bool:
        if self.held:
            return await self.check()
        try:
            if self.connection is None or self.connection.is_closed():
                self.connection = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT, server_settings=KEEPALIVES)
            got = await self.connection.fetchval(
                "SELECT pg_try_advisory_lock($1::bigint)", self.key, timeout=QUERY_TIMEOUT
            )
        except Exception as error:  # any failure: not (or no longer) the leader
            log.warning("leader lease: database unavailable (%s)", type(error).__name__)
            await self._drop()
            return False
        self.held = bool(got)
        return self.held

    async def check(self) -> bool:
        if not self.held or self.connection is None or self.connection.is_closed():
            await self._drop()
            return False
        try:
            await self.connection.fetchval("SELECT 1", timeout=QUERY_TIMEOUT)
        except Exception as error:  # any failure: not (or no longer) the leader
            log.warning("leader lease: connection lost (%s)", type(error).__name__)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        if self.held and self.connection is not None and not self.connection.is_closed():
            with contextlib.suppress(Exception):
                await self.connection.execute("SELECT pg_advisory_unlock($1::bigint)", self.key, timeout=QUERY_TIMEOUT)
        await self._drop()

    async def _drop(self) -> None:
        self.held = False
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), QUERY_TIMEOUT)
            except Exception:  # a dead connection: nothing left to close cleanly
                connection.terminate()


def lease_for(database: DatabaseConfig) -> Lease:
    if database.scheme == "postgresql":
        return PgAdvisoryLease(database.url)
    return LocalLease()


class Leadership:
    """Runs ``services`` only while ``lease`` is held; a background service itself."""

    def __init__(
        self,
        lease: Lease,
        services: Sequence[Service],
        *,
        retry_seconds: float = 2.0,
        check_seconds: float = 3.0,
    ) -> None:
        self.lease = lease
        self.services = services
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.leading = False
        self.acquired = 0  # times this process became the leader
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """One attempt now (so a leader's services are running when start-up ends), then the loop."""
        if self._task is not None:
            return
        if await self._try_acquire():
            await self._become_leader()
        self._task = asyncio.create_task(self._loop(), name="leader-lease")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._step_down()
        await self.lease.release()

    async def _loop(self) -> None:
        while True:
            if not self.leading:
                if await self._try_acquire():
                    await self._become_leader()
                    continue
                await asyncio.sleep(self.retry_seconds)
                continue
            await asyncio.sleep(self.check_seconds)
            if not await self._check():
                log.warning("leader lease lost: stopping the scheduler and the delivery engine")
                await self._step_down()
                await asyncio.sleep(self.retry_seconds)

    async def _try_acquire(self) -> bool:
        try:
            return await self.lease.try_acquire()
        except Exception:
            log.exception("leader lease: acquiring failed")
            return False

    async def _check(self) -> bool:
        try:
            return await self.lease.check()
        except Exception:
            log.exception("leader lease: check failed")
            return False

    async def _become_leader(self) -> None:
        log.info("leader lease acquired: starting the scheduler and the delivery engine")
        self.leading = True
        self.acquired += 1
        await self._start_services()

    async def _start_services(self) -> None:
        for service in self.services:
            try:
                await service.start()
            except Exception:
                log.exception("could not start %s", type(service).__name__)

    async def _step_down(self) -> None:
        if not self.leading:
            return
        self.leading = False
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("could not stop %s", type(service).__name__)
