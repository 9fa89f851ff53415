"""The delivery engine: persistent, rate-limited broadcasts to subscribers.

Guarantees
----------
* Persistent: a broadcast row and one ``pending`` delivery row per recipient are committed before
  the first message goes out; results are committed in small batches. After a restart (clean or
  ``kill -9``) the engine resumes every ``running`` broadcast from its ``pending`` rows: nobody is
  skipped, and only messages sent but not yet recorded (at most :attr:`DeliveryEngine.in_flight_window`)
  can arrive twice.
* Cancellable from anywhere: a running broadcast re-reads its status every ``status_seconds`` and
  stops when another replica (which does not run the engine) cancelled it in the shared database.
* Rate: a shared :class:`SendGate` keeps every message the bot sends (broadcasts and replies) within
  ``BROADCAST_RATE`` per sliding second, spaces the broadcast evenly, and keeps each chat within its
  own pace (:mod:`bot.services.pacing`: about one a second in a private chat, 20 a minute in a
  group). A 429 for a chat the bot has just written to pauses that chat alone; a 429 that cannot be
  about one chat (no chat, a chat that got nothing else lately, several chats at once) pauses *all*
  sending for ``retry_after``. Replies to residents take precedence over the broadcast for the next
  free slot, so a broadcast never starves them.
  Paid broadcasts (up to 1,000/s) are cheap per message: the request is serialized once and only
  the chat id changes (:class:`BroadcastSender`).
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
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
    GetUpdates,
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
from aiogram.types import InlineKeyboardMarkup, InputFile
from aiohttp import ClientError, ClientTimeout

from bot.clock import Clock
from bot.services.pacing import ChatId, ChatPacer
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
REPLY_ATTEMPTS = 3  # a reply that gets a 429 waits out its pause and is sent again, twice at most
GLOBAL_AFTER_CHATS = 3  # 429s for this many chats within CROSS_CHAT_SECONDS: the bot's limit, pause all
CROSS_CHAT_SECONDS = 2.0
WINDOW_MARGIN = 0.03  # the sliding window is 1.03 s: room for jitter between us and the server
FLUSH_SECONDS = 0.1
STATUS_SECONDS = 1.0  # a running broadcast re-reads its status this often (another replica may cancel it)
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
    """Pacing of everything the bot sends: a sliding-window cap, even spacing for broadcasts,
    priority for replies, each chat's own pace (:attr:`chats`), and pauses after a 429 (of one
    chat, or of all sending: :meth:`retry_after`).

    Two sliding windows cap the sends. The first counts a request when it leaves: at most ``rate``
    in any ``1 + WINDOW_MARGIN`` seconds. The second bounds what the server can have counted in
    the last second whatever the delays on the way: the server counts a request at some moment
    between our sending it and its answer arriving, so each request it counted in the second before
    a new one (which it counts no earlier than we send it) is either still in flight or was answered
    less than a second ago. Keeping "in flight + answered within the last second" under ``rate``
    keeps the server's count under ``rate`` too, even when it stands still for a moment and then
    serves its backlog at once (which it would count as a burst we never sent). So every
    :meth:`acquire` is followed by a :meth:`release` when its request ends."""

    def __init__(self, rate: float, *, burst_fraction: float = 0.05, chats: ChatPacer | None = None) -> None:
        self.rate = rate
        self.capacity = max(1, math.floor(rate))
        self.window = 1.0 + WINDOW_MARGIN
        # Up to 30/s a broadcast is spaced at the rate and the first window trims it (24.3/s at 25);
        # faster ones are spaced so that it is just full (971/s at 1000): the windows then only cut
        # bursts (catching up after a stall), and the even stream stays under the limit.
        self.interval = 1.0 / rate if rate <= 30 else self.window / self.capacity
        self.burst = max(1.0, rate * burst_fraction) * self.interval
        self.paid_active = False  # a paid broadcast is sending: replies go out as paid too
        self._times: deque[float] = deque()
        self._answered: deque[float] = deque()  # when requests ended, the last second of them
        self.in_flight = 0
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._priority_waiting = 0
        self.pauses = 0  # times all sending was paused
        self.chats = chats if chats is not None else ChatPacer()
        self.chat_pauses = 0  # times one chat was paused
        self._chat_429s: deque[tuple[float, ChatId]] = deque()
        self._chat_lines: dict[ChatId, deque[asyncio.Future[None]]] = {}  # replies waiting per chat

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def pause(self, seconds: float) -> None:
        until = self._now() + seconds + 0.05
        if until > self._pause_until:
            self._pause_until = until
            self.pauses += 1
            log.warning("429 from Telegram: all sending paused for %.1f s", seconds)

    def retry_after(self, seconds: float, chat_id: ChatId | None = None, *, chat_only: bool = False) -> None:
        """Telegram answered 429 with ``retry_after`` to a request for ``chat_id``. Pause that chat
        alone when the 429 can be its own limit (the bot wrote to it just before, or ``chat_only``:
        a method that is not a message, such as an edit); else, or when several chats got one within
        a couple of seconds, it is the bot's overall limit: pause everything."""
        now = self._now()
        if chat_id is None or not (chat_only or self.chats.sent_recently(chat_id, now)):
            self.pause(seconds)
            return
        self.chats.pause(chat_id, now, seconds + 0.05)
        self.chat_pauses += 1
        log.info("429 from Telegram for chat %s: that chat paused for %.1f s", chat_id, seconds)
        recent = self._chat_429s
        recent.append((now, chat_id))
        while recent and recent[0][0] < now - CROSS_CHAT_SECONDS:
            recent.popleft()
        if len({chat for _, chat in recent}) >= GLOBAL_AFTER_CHATS:
            recent.clear()
            self.pause(seconds)

    def chat_wait(self, chat_id: ChatId) -> float:
        """Seconds until a message may go to ``chat_id`` (its pace, any pause of it, and replies
        already waiting for it)."""
        wait = self.chats.wait(chat_id, self._now())
        return max(wait, 0.1) if chat_id in self._chat_lines else wait

    def take_chat(self, chat_id: ChatId) -> None:
        self.chats.take(chat_id, self._now())

    async def acquire_chat(self, chat_id: ChatId) -> None:
        """Wait for ``chat_id``'s turn and take it. Messages to one chat wait in line, first come
        first served, so they reach it in the order they were sent (a notice before the answer that
        follows it)."""
        line = self._chat_lines.get(chat_id)
        if line is None:
            if self.chats.wait(chat_id, self._now()) <= 0:
                self.take_chat(chat_id)
                return
            line = self._chat_lines[chat_id] = deque()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(turn)
        if len(line) == 1:
            turn.set_result(None)
        try:
            await turn
            while (wait := self.chats.wait(chat_id, self._now())) > 0:  # noqa: ASYNC110 - a pause may grow
                await asyncio.sleep(wait)
            self.take_chat(chat_id)
        finally:
            if line and line[0] is turn:
                line.popleft()
            elif turn in line:
                line.remove(turn)
            if line:
                if not line[0].done():
                    line[0].set_result(None)
            elif self._chat_lines.get(chat_id) is line:
                del self._chat_lines[chat_id]

    async def wait_unpaused(self) -> None:
        while (left := self._pause_until - self._now()) > 0:  # noqa: ASYNC110 - the pause may be extended
            await asyncio.sleep(left)

    def _window_wait(self, now: float) -> float:
        times = self._times
        while times and times[0] <= now - self.window:
            times.popleft()
        wait = times[0] + self.window - now if len(times) >= self.capacity else 0.0
        answered = self._answered
        while answered and answered[0] <= now - 1.0:
            answered.popleft()
        if self.in_flight + len(answered) >= self.capacity:
            # the oldest answer leaves the second then; with none, look again after a slot's time
            wait = max(wait, answered[0] + 1.0 - now if answered else self.interval)
        return wait

    def release(self, *, sent: bool = True) -> None:
        """The request of an :meth:`acquire` ended (``sent=False``: it was not made after all)."""
        self.in_flight -= 1
        if sent:
            self._answered.append(self._now())

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
                    self.in_flight += 1
                    if not priority:
                        self._next_slot = max(self._next_slot + self.interval, now - self.burst)
                    return
                await asyncio.sleep(wait)
        finally:
            if priority:
                self._priority_waiting -= 1


def chat_of(method: TelegramMethod[Any]) -> ChatId | None:
    """The chat a request is about, when it names one."""
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int | str) else None


class SendGateMiddleware(BaseRequestMiddleware):
    """Client-session middleware for the bot's own requests. A message waits for its chat's turn
    (:mod:`bot.services.pacing`), then takes a priority slot in the shared window; after a 429 it
    waits out the pause (its chat's, or everyone's) and is sent again, at most ``REPLY_ATTEMPTS``
    times in all. Other requests (edits, callback answers) go straight through, never held back by
    a pause; a 429 to one of them is still noted (that chat, or everyone without a chat)."""

    def __init__(self, gate: SendGate) -> None:
        self.gate = gate

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if _engine_send.get() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        chat_id = chat_of(method)
        if not isinstance(method, SENDING_METHODS):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                self.gate.retry_after(error.retry_after, chat_id, chat_only=True)
                raise
        if self.gate.paid_active and getattr(method, "allow_paid_broadcast", False) is None:
            method.allow_paid_broadcast = True  # type: ignore[attr-defined]
        for attempt in range(1, REPLY_ATTEMPTS + 1):
            try:
                return await self._request(make_request, bot, method, chat_id)
            except TelegramRetryAfter as error:
                if attempt == REPLY_ATTEMPTS:
                    raise
                self.gate.retry_after(error.retry_after, chat_id)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        chat_id: ChatId | None,
    ) -> Response[TelegramType]:
        if chat_id is not None:
            await self.gate.acquire_chat(chat_id)
        await self.gate.acquire(priority=True)
        try:
            return await make_request(bot, method)
        finally:
            self.gate.release()


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
        status_seconds: float = STATUS_SECONDS,
        chat_pacing: bool = True,
    ) -> None:
        self.bot = bot
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
        self._active: _Run | None = None  # the broadcast being sent now
        self._delivering: int | None = None  # ... until its final status and report are written
        self._sent_times: deque[float] = deque()
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
        final = record.status in ("done", "cancelled") and not sending
        rate = self.current_rate() if sending else 0.0
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
        run = _Run(self, record)
        self._active, self._delivering = run, record.id
        ended = False
        try:
            self.gate.paid_active = self.paid
            try:
                await run.execute()
            finally:
                self.gate.paid_active = False
                self._active = None
            if self._stopping and not run.finished:
                log.info("broadcast %s: paused for shutdown, resumes at next start", record.id)
                return
            status = "cancelled" if run.cancelled else "done"
            await self.storage.finish_broadcast(record.id, status, self.clock.now())
            log.info("broadcast %s: %s", record.id, status)
            await self._report(record.id)
            ended = True
        finally:
            async with self._finished_cond:
                self._delivering = None
                if ended:
                    self._finished.add(record.id)
                self._finished_cond.notify_all()

    async def wait_finished(self, broadcast_id: int, timeout: float) -> BroadcastRecord:  # noqa: ASYNC109
        """Wait until the broadcast is done or cancelled and, when this engine was sending it, its
        run has ended and the final report is written (for jobs and tests); TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while True:
                record = await self.storage.get_broadcast(broadcast_id)
                if record is None:
                    raise LookupError(f"no broadcast {broadcast_id}")
                if record.status in ("done", "cancelled") and self._delivering != broadcast_id:
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


# ------------------------------------------------------------------------------------------------
# Sending one broadcast message to many chats
# ------------------------------------------------------------------------------------------------

_JSON_HEADERS = {"Content-Type": "application/json"}


def broadcast_method(message: BroadcastMessage, chat_id: int, *, paid: bool) -> TelegramMethod[Any]:
    """The aiogram method that delivers ``message`` to ``chat_id``."""
    allow_paid = True if paid else None
    if message.kind == "copy":
        if message.from_chat_id is None or message.message_id is None:
            raise ValueError("a copy broadcast needs from_chat_id and message_id")
        return CopyMessage(
            chat_id=chat_id,
            from_chat_id=message.from_chat_id,
            message_id=message.message_id,
            allow_paid_broadcast=allow_paid,
        )
    markup = InlineKeyboardMarkup.model_validate_json(message.reply_markup) if message.reply_markup else None
    return SendMessage(chat_id=chat_id, text=message.text or "", reply_markup=markup, allow_paid_broadcast=allow_paid)


class BroadcastSender:
    """Sends one broadcast message to chat after chat.

    The same message goes to everybody; only ``chat_id`` differs. So the aiogram method is built
    once, serialized once by the bot's session (``prepare_value``: bot defaults such as
    ``parse_mode`` resolved, markup dumped) into a JSON body, and each send splices its chat id into
    that body and posts it on the session's own aiohttp connection pool. A successful answer is
    only checked for ``"ok": true`` (the engine never uses the sent Message); any other answer goes
    through the session's ``check_response``, so errors are aiogram's own exceptions
    (:class:`TelegramRetryAfter`, :class:`TelegramForbiddenError`, …), and network failures become
    :class:`TelegramNetworkError` exactly as in ``AiohttpSession.make_request``.

    This skips, per message, what dominates aiogram's generic path at paid-broadcast rates: the
    method model, the form encoding and the ``Response[Message]`` validation. When the bot's session
    is not an :class:`AiohttpSession`, or it has request middlewares of its own (the engine's
    :class:`SendGateMiddleware` lets engine sends through untouched), each send is an ordinary
    ``await bot(method)``."""

    def __init__(self, bot: Bot, message: BroadcastMessage, *, paid: bool) -> None:
        self.bot = bot
        self.template = broadcast_method(message, 0, paid=paid)
        session = getattr(bot, "session", None)
        self._session: AiohttpSession | None = None
        if isinstance(session, AiohttpSession) and all(isinstance(m, SendGateMiddleware) for m in session.middleware):
            files: dict[str, InputFile] = {}
            fields: dict[str, Any] = {}
            for key, value in self.template.model_dump(warnings=False).items():
                prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
                if key != "chat_id" and prepared is not None and prepared != "":  # as in build_form_data
                    fields[key] = prepared
            if not files:  # (a text or a copy never has files to upload)
                self._session = session
                encoded = session.json_dumps(fields).encode()
                self._body_tail = b"," + encoded[1:] if fields else b"}"  # what follows the chat id
                self._url = session.api.api_url(token=bot.token, method=self.template.__api_method__)
                self._timeout = ClientTimeout(total=session.timeout)

    @property
    def prepared(self) -> bool:
        """True when sends take the prepared JSON path."""
        return self._session is not None

    def method(self, chat_id: int) -> TelegramMethod[Any]:
        return self.template.model_copy(update={"chat_id": chat_id})

    def body(self, chat_id: int) -> bytes:
        """The JSON body of the request to ``chat_id`` (prepared path only)."""
        return b'{"chat_id":%d%s' % (chat_id, self._body_tail)

    async def send(self, chat_id: int) -> None:
        session = self._session
        if session is None:
            _engine_send.set(True)  # the gate middleware lets it through: the engine paces itself
            await self.bot(self.method(chat_id))
            return
        client = await session.create_session()
        try:
            async with client.post(
                self._url, data=self.body(chat_id), headers=_JSON_HEADERS, timeout=self._timeout
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as error:
            raise TelegramNetworkError(method=self.method(chat_id), message="Request timeout error") from error
        except ClientError as error:
            message = f"{type(error).__name__}: {error}"
            raise TelegramNetworkError(method=self.method(chat_id), message=message) from error
        if status == HTTPStatus.OK:
            with contextlib.suppress(ValueError, AttributeError):  # not JSON: check_response says so
                if session.json_loads(raw).get("ok") is True:
                    return
        # an error (or an odd answer): aiogram's own checks raise the right exception
        session.check_response(self.bot, self.method(chat_id), status, raw.decode("utf-8", "replace"))


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
        self.sender: BroadcastSender | None = None
        self.unsendable = ""  # why the message cannot be sent at all: every delivery fails with it
        try:
            self.sender = BroadcastSender(engine.bot, record.message, paid=engine.paid)
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
        return self.cancelled or self.engine._stopping

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
        await self.engine._report(self.record.id)
        while True:
            await asyncio.sleep(self.engine.progress_seconds)
            await self._flush(force=True)
            await self.engine._report(self.record.id)

    async def _watch_status(self) -> None:
        """A replica that does not run the engine cancels a broadcast in the shared database only:
        re-read the status every ``status_seconds`` (one read by primary key) and stop when it is no
        longer running."""
        while not self.cancelled:
            await asyncio.sleep(self.engine.status_seconds)
            try:
                record = await self.engine.storage.get_broadcast(self.record.id)
            except Exception:
                log.exception("broadcast %s: could not read its status", self.record.id)
                continue
            if record is None or record.status != "running":
                status = record.status if record is not None else "deleted"
                log.info("broadcast %s: %s by another process; stopping", self.record.id, status)
                self.cancel()

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
                result = DeliveryResult(user_id, "failed", self.unsendable)
            else:
                await self.sender.send(user_id)
                result = DeliveryResult(user_id, "sent")
                self.engine._sent_times.append(self._now())
        except TelegramRetryAfter as error:
            self.engine.gate.retry_after(error.retry_after, user_id)
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
            self.engine.gate.release(sent=self.sender is not None)
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
