"""The delivery engine: the background service that sends broadcasts (see the package docstring for
its guarantees). Handlers and services reach it as the ``delivery`` workflow data."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.clock import Clock
from bot.services.delivery.gate import SendGate
from bot.services.delivery.planner import DeliveryPlan, plan
from bot.services.delivery.ports import Sender
from bot.services.delivery.run import FLUSH_SECONDS, BroadcastRun
from bot.services.pacing import ChatPacer
from bot.storage import Storage
from bot.storage.broadcasts import Audience, BroadcastMessage, BroadcastRecord, BroadcastStatus, DeliveryCounts

log = logging.getLogger(__name__)

STATUS_SECONDS = 1.0  # a running broadcast re-reads its status this often (another replica may cancel it)


def concurrency_for(rate: float) -> int:
    """Requests in flight at once: enough to reach ``rate`` with a few ms of latency per request."""
    return max(2, min(100, math.ceil(rate / 10)))


def flush_size_for(rate: float) -> int:
    return max(5, concurrency_for(rate))


def in_flight_window(rate: float) -> int:
    """At most this many messages can have been sent but not yet recorded when the process dies:
    the requests in flight plus the results waiting for (or inside) the current batch commit."""
    return concurrency_for(rate) + 2 * flush_size_for(rate) + math.ceil(rate * FLUSH_SECONDS)


@dataclass(frozen=True)
class BroadcastProgress:
    broadcast: BroadcastRecord
    counts: DeliveryCounts
    rate: float  # messages per second, recently
    eta_seconds: float | None
    final: bool

    @property
    def done(self) -> int:
        return self.counts.sent + self.counts.blocked + self.counts.failed


class ProgressListener(Protocol):
    """Told of a broadcast's progress every ``progress_seconds`` while it is sent, and once more
    when it has ended (``final``). Implemented on the handler side (the admin's progress message:
    :class:`bot.handlers.broadcast_progress.BroadcastReporter`)."""

    async def __call__(self, progress: BroadcastProgress) -> None: ...


class DeliveryEngine:
    """Background service (``start``/``stop``); handlers reach it as the ``delivery`` workflow data.
    It reaches Telegram through ``sender`` only (:class:`~bot.services.delivery.ports.Sender`)."""

    def __init__(
        self,
        sender: Sender,
        storage: Storage,
        clock: Clock,
        *,
        rate: float,
        paid: bool = False,
        listener: ProgressListener | None = None,
        progress_seconds: float = 3.0,
        poll_seconds: float = 1.0,
        status_seconds: float = STATUS_SECONDS,
        chat_pacing: bool = True,
    ) -> None:
        self.sender = sender
        self.storage = storage
        self.clock = clock
        self.rate = rate
        self.paid = paid
        self.listener = listener
        self.progress_seconds = progress_seconds
        self.poll_seconds = poll_seconds
        self.status_seconds = status_seconds
        self.gate = SendGate(rate, chats=None if chat_pacing else ChatPacer.unlimited())
        self.concurrency = concurrency_for(rate)
        self.flush_size = flush_size_for(rate)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._active: BroadcastRun | None = None  # the broadcast being sent now
        self._delivering: int | None = None  # ... until its final status and report are written
        self._sent_times: deque[float] = deque()
        self._finished: set[int] = set()
        self._finished_cond = asyncio.Condition()

    @property
    def in_flight_window(self) -> int:
        return in_flight_window(self.rate)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def note_sent(self) -> None:
        self._sent_times.append(asyncio.get_running_loop().time())

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="delivery-engine")

    async def stop(self) -> None:
        """Stop taking new recipients, let the requests in flight finish and record them."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, 15)
        except TimeoutError:
            log.warning("delivery engine did not stop in time; pending deliveries resume at next start")

    def wake(self) -> None:
        self._wake.set()

    # ---------------------------------------------------------------- API for handlers and jobs
    async def create_broadcast(
        self,
        message: BroadcastMessage,
        audience: Audience,
        *,
        created_by: int | None = None,
        start_at: datetime | None = None,
        key: str | None = None,
        progress: tuple[int, int] | None = None,
        deadline: datetime | None = None,
    ) -> BroadcastRecord:
        """Persist a broadcast; when it is due now, its delivery rows too (before anything is sent).
        With ``key``, an existing broadcast with that key is returned instead of a new one.
        ``progress`` is the (chat id, message id) the listener keeps up to date. What is not sent
        by ``deadline`` is not sent (counted as expired); a sooner deadline goes first."""
        now = self.clock.now()
        start = start_at if start_at is not None else now
        record, created = await self.storage.create_broadcast(
            message,
            audience,
            created_by=created_by,
            now=now,
            start_at=start,
            key=key,
            progress=progress,
            deadline=deadline,
        )
        if created and start <= now:
            await self.storage.start_broadcast(record.id, now)
            record = await self.storage.get_broadcast(record.id) or record
        self._wake.set()
        return record

    async def create_notice(
        self,
        message: BroadcastMessage,
        recipients: Sequence[int],
        *,
        key: str,
        label: str,
        created_by: int | None = None,
    ) -> BroadcastRecord:
        """Persist a broadcast of ``message`` to a fixed list of ``recipients`` (event notices), with
        its delivery rows, before anything is sent; the same ``key`` returns the existing one."""
        record, _created = await self.storage.create_notice_broadcast(
            message, recipients, key=key, label=label, created_by=created_by, now=self.clock.now()
        )
        self._wake.set()
        return record

    async def cancel(self, broadcast_id: int) -> bool:
        """Cancel a scheduled or running broadcast; False when it has already ended.

        The broadcast this engine is sending stops at once and writes its final status itself. Any
        other one is cancelled in storage: when another replica's engine is sending it, that engine
        sees the status within ``status_seconds`` and stops."""
        active = self._active
        if active is not None and active.record.id == broadcast_id:
            active.cancel()
            return True
        return await self.storage.cancel_broadcast(broadcast_id, self.clock.now())

    async def progress(self, broadcast_id: int) -> BroadcastProgress | None:
        record = await self.storage.get_broadcast(broadcast_id)
        if record is None:
            return None
        counts = await self.storage.delivery_counts(broadcast_id)
        sending = self._active is not None and self._active.record.id == broadcast_id
        # not final while this engine is still sending it (cancelled by another replica: stopping)
        final = record.status.ended and not sending
        rate = self.current_rate() if sending else 0.0
        eta = counts.pending / rate if rate > 0 and not final else None
        return BroadcastProgress(record, counts, rate, eta, final)

    def plan(self, recipients: int, *, wanted: datetime, deadline: datetime | None) -> DeliveryPlan:
        """When a broadcast to ``recipients`` starting at ``wanted`` (never moved: the admin's choice)
        finishes at this engine's rate, against ``deadline``."""
        return plan(recipients, self.rate, wanted=wanted, deadline=deadline, earliest=wanted)

    def current_rate(self, seconds: float = 5.0) -> float:
        now = asyncio.get_running_loop().time()
        times = self._sent_times
        while times and times[0] < now - 10:
            times.popleft()
        recent = sum(1 for t in times if t >= now - seconds)
        return recent / seconds

    # ---------------------------------------------------------------- the worker
    async def _run(self) -> None:
        while not self._stopping:
            try:
                record = await self.storage.next_due_broadcast(self.clock.now())
                if record is None:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                    continue
                if record.status == BroadcastStatus.SCHEDULED:
                    await self.storage.start_broadcast(record.id, self.clock.now())
                    record = await self.storage.get_broadcast(record.id) or record
                if record.deadline is not None and self.clock.now() >= record.deadline:
                    await self._expire(record)
                    continue
                await self._deliver(record)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery engine error; retrying in a second")
                await asyncio.sleep(1)

    async def _deliver(self, record: BroadcastRecord) -> None:
        log.info("broadcast %s: delivering", record.id)
        run = BroadcastRun(self, record)
        self._active, self._delivering = run, record.id
        ended = False
        try:
            self.gate.paid_active = self.paid
            try:
                await run.execute()
            finally:
                self.gate.paid_active = False
                self._active = None
            if run.expired and not run.cancelled:
                await self._expire(record)
                ended = True
                return
            if run.yielded and not run.finished and not run.cancelled:
                log.info("broadcast %s: paused for a broadcast that ranks first, resumes after it", record.id)
                return
            if self._stopping and not run.finished:
                log.info("broadcast %s: paused for shutdown, resumes at next start", record.id)
                return
            status = BroadcastStatus.CANCELLED if run.cancelled else BroadcastStatus.DONE
            await self.storage.finish_broadcast(record.id, status, self.clock.now())
            log.info("broadcast %s: %s", record.id, status)
            await self.report(record.id)
            ended = True
        finally:
            async with self._finished_cond:
                self._delivering = None
                if ended:
                    self._finished.add(record.id)
                self._finished_cond.notify_all()

    async def _expire(self, record: BroadcastRecord) -> None:
        """Its deadline has passed: what is still pending is not sent; it is counted as expired."""
        expired = await self.storage.expire_broadcast(record.id, self.clock.now())
        deadline = record.deadline.isoformat() if record.deadline else "?"
        log.warning("broadcast %s: deadline %s passed; %d messages not sent (expired)", record.id, deadline, expired)
        await self.report(record.id)

    async def wait_finished(self, broadcast_id: int, timeout: float) -> BroadcastRecord:  # noqa: ASYNC109
        """Wait until the broadcast is done or cancelled and, when this engine was sending it, its
        run has ended and the final report is written (for jobs and tests); TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while True:
                record = await self.storage.get_broadcast(broadcast_id)
                if record is None:
                    raise LookupError(f"no broadcast {broadcast_id}")
                if record.status.ended and self._delivering != broadcast_id:
                    return record
                async with self._finished_cond:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._finished_cond.wait_for(lambda: broadcast_id in self._finished), self.poll_seconds
                        )

    async def report(self, broadcast_id: int) -> None:
        """Tell the listener how ``broadcast_id`` is doing (its errors are logged, never raised)."""
        if self.listener is None:
            return
        try:
            progress = await self.progress(broadcast_id)
            if progress is not None:
                await self.listener(progress)
        except Exception:
            log.exception("progress listener failed for broadcast %s", broadcast_id)
