"""The delivery engine: persistent, rate-limited broadcasts to subscribers.

Guarantees
----------
* Persistent: a broadcast row and one ``pending`` delivery row per recipient are committed before
  the first message goes out; results are committed in small batches. After a restart (clean or
  ``kill -9``) the engine resumes every ``running`` broadcast from its ``pending`` rows: nobody is
  skipped, and only messages sent but not yet recorded (at most :attr:`DeliveryEngine.in_flight_window`)
  can arrive twice.
* Rate: a shared :class:`SendGate` keeps every message the bot sends (broadcasts and replies) within
  ``BROADCAST_RATE`` per sliding second, spaces the broadcast evenly, keeps about one message per
  second per chat, and after a 429 pauses *all* sending for ``retry_after``. Replies to residents
  take precedence over the broadcast for the next free slot, so a broadcast never starves them.
* Errors: 403 (blocked, deactivated) and 400 "chat not found" mark the user inactive and are not
  retried; network errors and 5xx are retried with backoff, then counted as failed; other 400s
  count as failed at once.

The engine has no handler code and no texts: progress goes to a :class:`ProgressListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    CopyMessage,
    SendAnimation,
    SendAudio,
    SendDocument,
    SendLocation,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SendVenue,
    SendVideo,
    SendVoice,
)
from aiogram.methods.base import Response, TelegramMethod, TelegramType
from aiogram.types import InlineKeyboardMarkup

from bot.clock import Clock
from bot.storage import Storage
from bot.storage.base import Audience, BroadcastMessage, BroadcastRecord, DeliveryCounts, DeliveryResult

log = logging.getLogger(__name__)

SENDING_METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage,
    CopyMessage,
    SendPhoto,
    SendDocument,
    SendVideo,
    SendAnimation,
    SendAudio,
    SendVoice,
    SendVenue,
    SendLocation,
    SendMediaGroup,
)
MAX_ATTEMPTS = 3  # network errors and 5xx: the first try and two retries
BACKOFF_SECONDS = (1.0, 3.0)
PER_CHAT_SECONDS = 1.0
WINDOW_MARGIN = 0.03  # the sliding window is 1.03 s: room for jitter between us and the server
WINDOW_MARGIN_FAST = 0.08  # above 30/s requests queue longer on both sides: more room
FLUSH_SECONDS = 0.1
BATCH = 500

_engine_send: contextvars.ContextVar[bool] = contextvars.ContextVar("engine_send", default=False)


def concurrency_for(rate: float) -> int:
    """Requests in flight at once: enough to reach ``rate`` with a few ms of latency per request."""
    return max(2, min(100, math.ceil(rate / 10)))


def flush_size_for(rate: float) -> int:
    return max(5, concurrency_for(rate))


def in_flight_window(rate: float) -> int:
    """At most this many messages can have been sent but not yet recorded when the process dies:
    the requests in flight plus the results waiting for (or inside) the current batch commit."""
    return concurrency_for(rate) + 2 * flush_size_for(rate) + math.ceil(rate * FLUSH_SECONDS)


# ------------------------------------------------------------------------------------------------
# Pacing
# ------------------------------------------------------------------------------------------------


class SendGate:
    """Global pacing of everything the bot sends: a sliding-window cap, even spacing for broadcasts,
    priority for replies, and a pause of all sending after a 429."""

    def __init__(self, rate: float, *, burst_fraction: float = 0.05) -> None:
        self.rate = rate
        self.capacity = max(1, math.floor(rate))
        self.window = 1.0 + (WINDOW_MARGIN if rate <= 30 else WINDOW_MARGIN_FAST)
        self.interval = 1.0 / rate
        self.burst = max(1.0, rate * burst_fraction) * self.interval
        self.paid_active = False  # a paid broadcast is sending: replies go out as paid too
        self._times: deque[float] = deque()
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._priority_waiting = 0
        self.pauses = 0

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def pause(self, seconds: float) -> None:
        until = self._now() + seconds + 0.05
        if until > self._pause_until:
            self._pause_until = until
            self.pauses += 1
            log.warning("429 from Telegram: all sending paused for %.1f s", seconds)

    async def wait_unpaused(self) -> None:
        while (left := self._pause_until - self._now()) > 0:  # noqa: ASYNC110 - the pause may be extended
            await asyncio.sleep(left)

    def _window_wait(self, now: float) -> float:
        times = self._times
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.capacity:
            return 0.0
        return times[0] + self.window - now

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait for a slot and take it. Broadcast sends also keep their even spacing and give way
        to replies waiting with ``priority``."""
        if priority:
            self._priority_waiting += 1
        try:
            while True:
                await self.wait_unpaused()
                now = self._now()
                wait = self._window_wait(now)
                if not priority:
                    wait = max(wait, self._next_slot - now)
                    if self._priority_waiting and wait <= 0:
                        wait = 0.002  # a reply is waiting for this slot
                if wait <= 0:
                    self._times.append(now)
                    if not priority:
                        self._next_slot = max(self._next_slot + self.interval, now - self.burst)
                    return
                await asyncio.sleep(wait)
        finally:
            if priority:
                self._priority_waiting -= 1


class SendGateMiddleware(BaseRequestMiddleware):
    """Client-session middleware: the bot's own replies wait out a 429 pause, take priority slots
    in the shared window and are retried once after a 429."""

    def __init__(self, gate: SendGate) -> None:
        self.gate = gate

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _engine_send.get() or not isinstance(method, SENDING_METHODS):
            return await make_request(bot, method)
        if self.gate.paid_active and getattr(method, "allow_paid_broadcast", False) is None:
            method.allow_paid_broadcast = True  # type: ignore[attr-defined]
        await self.gate.acquire(priority=True)
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            self.gate.pause(error.retry_after)
            await self.gate.acquire(priority=True)
            return await make_request(bot, method)


# ------------------------------------------------------------------------------------------------
# The engine
# ------------------------------------------------------------------------------------------------


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


ProgressListener = Callable[[BroadcastProgress], Awaitable[None]]


class _Cancelled(Exception):
    pass


class DeliveryEngine:
    """Background service (``start``/``stop``); handlers reach it as the ``delivery`` workflow data."""

    def __init__(
        self,
        bot: Bot,
        storage: Storage,
        clock: Clock,
        *,
        rate: float,
        paid: bool = False,
        listener: ProgressListener | None = None,
        progress_seconds: float = 3.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.bot = bot
        self.storage = storage
        self.clock = clock
        self.rate = rate
        self.paid = paid
        self.listener = listener
        self.progress_seconds = progress_seconds
        self.poll_seconds = poll_seconds
        self.gate = SendGate(rate)
        self.concurrency = concurrency_for(rate)
        self.flush_size = flush_size_for(rate)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._current: int | None = None
        self._cancel_current = False
        self._sent_times: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._finished: set[int] = set()
        self._finished_cond = asyncio.Condition()

    @property
    def in_flight_window(self) -> int:
        return in_flight_window(self.rate)

    def request_middleware(self) -> SendGateMiddleware:
        return SendGateMiddleware(self.gate)

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
    ) -> BroadcastRecord:
        """Persist a broadcast; when it is due now, its delivery rows too (before anything is sent).
        With ``key``, an existing broadcast with that key is returned instead of a new one.
        ``progress`` is the (chat id, message id) the listener keeps up to date."""
        now = self.clock.now()
        start = start_at if start_at is not None else now
        record, created = await self.storage.create_broadcast(
            message, audience, created_by=created_by, now=now, start_at=start, key=key, progress=progress
        )
        if created and start <= now:
            await self.storage.start_broadcast(record.id, now)
            record = await self.storage.get_broadcast(record.id) or record
        self._wake.set()
        return record

    async def cancel(self, broadcast_id: int) -> bool:
        """Cancel a scheduled or running broadcast; False when it has already ended."""
        if broadcast_id == self._current:
            self._cancel_current = True
            self._wake.set()
            return True
        return await self.storage.cancel_broadcast(broadcast_id, self.clock.now())

    async def progress(self, broadcast_id: int) -> BroadcastProgress | None:
        record = await self.storage.get_broadcast(broadcast_id)
        if record is None:
            return None
        counts = await self.storage.delivery_counts(broadcast_id)
        final = record.status in ("done", "cancelled")
        rate = self.current_rate() if broadcast_id == self._current else 0.0
        eta = counts.pending / rate if rate > 0 and not final else None
        return BroadcastProgress(record, counts, rate, eta, final)

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
                if record.status == "scheduled":
                    await self.storage.start_broadcast(record.id, self.clock.now())
                    record = await self.storage.get_broadcast(record.id) or record
                await self._deliver(record)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery engine error; retrying in a second")
                await asyncio.sleep(1)

    async def _deliver(self, record: BroadcastRecord) -> None:
        log.info("broadcast %s: delivering", record.id)
        self._current = record.id
        self._cancel_current = False
        run = _Run(self, record)
        self.gate.paid_active = self.paid
        try:
            await run.execute()
        finally:
            self.gate.paid_active = False
            self._current = None
        if self._stopping and not run.finished:
            log.info("broadcast %s: paused for shutdown, resumes at next start", record.id)
            return
        status = "cancelled" if run.cancelled else "done"
        await self.storage.finish_broadcast(record.id, status, self.clock.now())
        log.info("broadcast %s: %s", record.id, status)
        await self._report(record.id)
        async with self._finished_cond:
            self._finished.add(record.id)
            self._finished_cond.notify_all()

    async def wait_finished(self, broadcast_id: int, timeout: float) -> BroadcastRecord:  # noqa: ASYNC109
        """Wait until the broadcast is done or cancelled (for jobs and tests); TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while True:
                record = await self.storage.get_broadcast(broadcast_id)
                if record is None:
                    raise LookupError(f"no broadcast {broadcast_id}")
                if record.status in ("done", "cancelled"):
                    return record
                async with self._finished_cond:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._finished_cond.wait_for(lambda: broadcast_id in self._finished), self.poll_seconds
                        )

    async def _report(self, broadcast_id: int) -> None:
        if self.listener is None:
            return
        try:
            progress = await self.progress(broadcast_id)
            if progress is not None:
                await self.listener(progress)
        except Exception:
            log.exception("progress listener failed for broadcast %s", broadcast_id)

    async def _send(self, message: BroadcastMessage, chat_id: int) -> None:
        _engine_send.set(True)
        paid = True if self.paid else None
        if message.kind == "copy":
            if message.from_chat_id is None or message.message_id is None:
                raise ValueError("a copy broadcast needs from_chat_id and message_id")
            await self.bot.copy_message(chat_id, message.from_chat_id, message.message_id, allow_paid_broadcast=paid)
        else:
            markup = InlineKeyboardMarkup.model_validate_json(message.reply_markup) if message.reply_markup else None
            await self.bot.send_message(chat_id, message.text or "", reply_markup=markup, allow_paid_broadcast=paid)


class _Run:
    """One pass of the engine over a running broadcast's pending deliveries."""

    def __init__(self, engine: DeliveryEngine, record: BroadcastRecord) -> None:
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
        self.changed = asyncio.Event()

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _halt(self) -> bool:
        if self.engine._cancel_current:
            self.cancelled = True
        return self.cancelled or self.engine._stopping

    async def execute(self) -> None:
        reporter = asyncio.create_task(self._reporter())
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
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            await self._flush(force=True)

    async def _reporter(self) -> None:
        await self.engine._report(self.record.id)
        while True:
            await asyncio.sleep(self.engine.progress_seconds)
            await self._flush(force=True)
            await self.engine._report(self.record.id)

    async def _pass(self) -> None:
        storage = self.engine.storage
        cursor = 0
        queue: deque[int] = deque()
        exhausted = False
        while not self._halt():
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
            last = self.engine._chat_last.get(user_id)
            if last is not None and now - last < PER_CHAT_SECONDS:
                heapq.heappush(self.retries, (last + PER_CHAT_SECONDS, user_id))
                continue
            await self.semaphore.acquire()
            await self.engine.gate.acquire()
            if self._halt():
                self.semaphore.release()
                queue.appendleft(user_id)
                break
            self.engine._chat_last[user_id] = self._now()
            task = asyncio.create_task(self._deliver_one(user_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _deliver_one(self, user_id: int) -> None:
        result: DeliveryResult | None = None
        try:
            await self.engine._send(self.record.message, user_id)
            result = DeliveryResult(user_id, "sent")
            self.engine._sent_times.append(self._now())
        except TelegramRetryAfter as error:
            self.engine.gate.pause(error.retry_after)
            heapq.heappush(self.retries, (self._now(), user_id))  # not an attempt: send again after the pause
        except TelegramForbiddenError as error:
            result = DeliveryResult(user_id, "blocked", error.message[:200])
        except TelegramBadRequest as error:
            lowered = error.message.lower()
            inactive = "chat not found" in lowered or "deactivated" in lowered or "blocked" in lowered
            result = DeliveryResult(user_id, "blocked" if inactive else "failed", error.message[:200])
        except (TelegramNetworkError, TelegramServerError) as error:
            attempts = self.attempts.get(user_id, 0) + 1
            self.attempts[user_id] = attempts
            if attempts < MAX_ATTEMPTS:
                delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
                heapq.heappush(self.retries, (self._now() + delay, user_id))
            else:
                result = DeliveryResult(user_id, "failed", str(error)[:200])
        except TelegramAPIError as error:
            result = DeliveryResult(user_id, "failed", error.message[:200])
        except Exception as error:  # a bug must not stop the broadcast; the row is recorded as failed
            log.exception("broadcast %s: sending to %s failed", self.record.id, user_id)
            result = DeliveryResult(user_id, "failed", repr(error)[:200])
        finally:
            self.semaphore.release()
            self.changed.set()
        if result is not None:
            self.results.append(result)
            if len(self.results) >= self.engine.flush_size or self._now() - self.last_flush >= FLUSH_SECONDS:
                await self._flush()

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
            chat_last = self.engine._chat_last
            if len(chat_last) > 4 * self.engine.concurrency + self.engine.rate:
                cutoff = self._now() - PER_CHAT_SECONDS
                for chat_id in [c for c, t in chat_last.items() if t < cutoff]:
                    del chat_last[chat_id]
