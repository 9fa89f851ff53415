"""One run of the engine over a running broadcast: its pending deliveries in batches, each through
the send gate and the :class:`~bot.services.delivery.ports.Sender`, the results committed in small
batches, the status re-read now and then (another replica may cancel it).

Errors (the :data:`~bot.services.delivery.ports.SendOutcome` of each send): ``Gone`` (403, 400
"chat not found") marks the user inactive and is not retried; ``Unavailable`` (network errors, 5xx)
is retried with backoff, then counted as failed; ``Failed`` (other 400s) counts as failed at once;
``RetryAfter`` (429) pauses the chat or all sending (:class:`~bot.services.delivery.gate.SendGate`)
and sends again after the pause, without counting an attempt.

The run reaches its engine only through :class:`RunHost`."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from typing import Protocol

from bot.clock import Clock
from bot.services.delivery.gate import SendGate
from bot.services.delivery.ports import (
    Failed,
    Gone,
    MessageSender,
    RetryAfter,
    Sender,
    SendOutcome,
    Sent,
    Unavailable,
)
from bot.storage import Storage
from bot.storage.broadcasts import BroadcastRecord, BroadcastStatus, DeliveryResult, DeliveryStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # network errors and 5xx: the first try and two retries
BACKOFF_SECONDS = (1.0, 3.0)
FLUSH_SECONDS = 0.1
BATCH = 500


class RunHost(Protocol):
    """What a run needs from its engine (:class:`~bot.services.delivery.engine.DeliveryEngine`)."""

    storage: Storage
    clock: Clock
    gate: SendGate
    sender: Sender
    paid: bool
    concurrency: int  # requests in flight at once
    flush_size: int  # results committed together
    progress_seconds: float
    status_seconds: float

    @property
    def stopping(self) -> bool:
        """The engine is stopping: take no new recipients."""
        ...

    async def report(self, broadcast_id: int) -> None:
        """Tell the progress listener (never raises)."""
        ...

    def note_sent(self) -> None:
        """One message was sent just now (for the current rate)."""
        ...


class BroadcastRun:
    """One pass of the engine over a running broadcast's pending deliveries."""

    def __init__(self, engine: RunHost, record: BroadcastRecord) -> None:
        self.engine = engine
        self.record = record
        self.semaphore = asyncio.Semaphore(engine.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.retries: list[tuple[float, int]] = []  # (due, user_id)
        self.attempts: dict[int, int] = {}
        self.results: list[DeliveryResult] = []
        self.flush_lock = asyncio.Lock()
        self.last_flush = 0.0
        self.cancelled = False
        self.finished = False
        self.expired = False  # its deadline passed: what is still pending is not sent
        self.yielded = False  # a broadcast that ranks higher is due: it goes first, this one resumes after
        self.changed = asyncio.Event()
        self.sender: MessageSender | None = None
        self.unsendable = ""  # why the message cannot be sent at all: every delivery fails with it
        try:
            self.sender = engine.sender.prepare(record.message, paid=engine.paid)
        except Exception as error:
            log.exception("broadcast %s: the message cannot be sent", record.id)
            self.unsendable = repr(error)[:200]

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def cancel(self) -> None:
        self.cancelled = True
        self.changed.set()

    def _halt(self) -> bool:
        return self.cancelled or self.expired or self.yielded or self.engine.stopping

    def _past_deadline(self) -> bool:
        deadline = self.record.deadline
        if deadline is not None and self.engine.clock.now() >= deadline:
            self.expired = True
        return self.expired

    async def execute(self) -> None:
        helpers = [asyncio.create_task(self._reporter()), asyncio.create_task(self._watch_status())]
        try:
            for _ in range(3):  # a second pass only if rows stayed pending (a failed batch commit)
                await self._pass()
                await self._flush(force=True)  # count only after every result is recorded
                if self._halt():
                    break
                if (await self.engine.storage.delivery_counts(self.record.id)).pending == 0:
                    self.finished = True
                    break
            else:
                log.error("broadcast %s: deliveries still pending after 3 passes", self.record.id)
                self.finished = True
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            await self._flush(force=True)

    async def _reporter(self) -> None:
        await self.engine.report(self.record.id)
        while True:
            await asyncio.sleep(self.engine.progress_seconds)
            await self._flush(force=True)
            await self.engine.report(self.record.id)

    async def _watch_status(self) -> None:
        """A replica that does not run the engine cancels a broadcast in the shared database only:
        re-read the status every ``status_seconds`` (one read by primary key) and stop when it is no
        longer running. Also ask which broadcast ranks first now (an event notice, a sooner
        deadline): when it is another one, this one yields (it stays running and resumes after)."""
        storage = self.engine.storage
        while not self.cancelled:
            await asyncio.sleep(self.engine.status_seconds)
            try:
                record = await storage.get_broadcast(self.record.id)
                first = await storage.next_due_broadcast(self.engine.clock.now())
            except Exception:
                log.exception("broadcast %s: could not read its status", self.record.id)
                continue
            if record is None or record.status != BroadcastStatus.RUNNING:
                status = record.status if record is not None else "deleted"
                log.info("broadcast %s: %s by another process; stopping", self.record.id, status)
                self.cancel()
            elif first is not None and first.id != self.record.id:
                log.info("broadcast %s: broadcast %s ranks first now; it goes first", self.record.id, first.id)
                self.yielded = True
                self.changed.set()
                return

    async def _pass(self) -> None:
        storage = self.engine.storage
        cursor = 0
        queue: deque[int] = deque()
        exhausted = False
        while not self._halt():
            if self._past_deadline():
                break
            now = self._now()
            if self.retries and self.retries[0][0] <= now:
                _, user_id = heapq.heappop(self.retries)
            elif queue:
                user_id = queue.popleft()
            elif not exhausted:
                batch = await storage.pending_deliveries(self.record.id, cursor, BATCH)
                if not batch:
                    exhausted = True
                    continue
                cursor = batch[-1]
                queue.extend(batch)
                continue
            elif self.retries or self.tasks:
                self.changed.clear()
                timeout = max(0.01, self.retries[0][0] - now) if self.retries else 1.0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), timeout)
                continue
            else:
                break
            gate = self.engine.gate
            if (wait := gate.chat_wait(user_id)) > 0:  # its chat's turn is later (replies, a 429)
                heapq.heappush(self.retries, (now + wait, user_id))
                continue
            await self.semaphore.acquire()
            await gate.acquire()
            if self._halt():
                gate.release(sent=False)
                self.semaphore.release()
                queue.appendleft(user_id)
                break
            if (wait := gate.chat_wait(user_id)) > 0:  # a reply took the chat's turn meanwhile
                gate.release(sent=False)
                self.semaphore.release()
                heapq.heappush(self.retries, (self._now() + wait, user_id))
                continue
            gate.take_chat(user_id)
            task = asyncio.create_task(self._deliver_one(user_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _deliver_one(self, user_id: int) -> None:
        result: DeliveryResult | None = None
        try:
            if self.sender is None:
                result = DeliveryResult(user_id, DeliveryStatus.FAILED, self.unsendable)
            else:
                result = self._result(user_id, await self.sender.send(user_id))
        except Exception as error:  # a bug must not stop the broadcast; the row is recorded as failed
            log.exception("broadcast %s: sending to %s failed", self.record.id, user_id)
            result = DeliveryResult(user_id, DeliveryStatus.FAILED, repr(error)[:200])
        finally:
            self.engine.gate.release(sent=self.sender is not None)
            self.semaphore.release()
            self.changed.set()
        if result is not None:
            self.results.append(result)
            if len(self.results) >= self.engine.flush_size or self._now() - self.last_flush >= FLUSH_SECONDS:
                await self._flush()

    def _result(self, user_id: int, outcome: SendOutcome) -> DeliveryResult | None:
        """The row to record for a send that ended so; None when it is sent again later."""
        match outcome:
            case Sent():
                self.engine.note_sent()
                return DeliveryResult(user_id, DeliveryStatus.SENT)
            case RetryAfter(seconds):
                self.engine.gate.retry_after(seconds, user_id)
                heapq.heappush(self.retries, (self._now(), user_id))  # not an attempt: again after the pause
                return None
            case Gone(error):
                return DeliveryResult(user_id, DeliveryStatus.BLOCKED, error[:200])
            case Failed(error):
                return DeliveryResult(user_id, DeliveryStatus.FAILED, error[:200])
            case Unavailable(error):
                attempts = self.attempts.get(user_id, 0) + 1
                self.attempts[user_id] = attempts
                if attempts < MAX_ATTEMPTS:
                    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
                    heapq.heappush(self.retries, (self._now() + delay, user_id))
                    return None
                return DeliveryResult(user_id, DeliveryStatus.FAILED, error[:200])

    async def _flush(self, *, force: bool = False) -> None:
        if not self.results:
            return
        if self.flush_lock.locked() and not force:
            return  # a commit is under way; these results go with the next one
        async with self.flush_lock:
            batch, self.results = self.results, []
            if not batch:
                return
            self.last_flush = self._now()
            try:
                await self.engine.storage.record_deliveries(self.record.id, batch, self.engine.clock.now())
            except Exception:
                log.exception("broadcast %s: could not record %d results", self.record.id, len(batch))
