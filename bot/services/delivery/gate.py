"""The send gate: pacing of everything the bot sends, broadcasts and replies alike.

* Rate: every message the bot sends stays within ``BROADCAST_RATE`` per sliding second; a broadcast
  is spaced evenly; each chat keeps its own pace (:mod:`bot.services.pacing`: about one a second in
  a private chat, 20 a minute in a group).
* 429: a 429 for a chat the bot has just written to pauses that chat alone; a 429 that cannot be
  about one chat (no chat, a chat that got nothing else lately, several chats at once) pauses *all*
  sending for ``retry_after``.
* Replies to residents take precedence over the broadcast for the next free slot, so a broadcast
  never starves them.

Pure logic on the event loop's clock: no Telegram types. The Telegram side (the request middleware
that makes replies wait here) is :class:`bot.telegram.gate_middleware.SendGateMiddleware`."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque

from bot.services.pacing import ChatId, ChatPacer

log = logging.getLogger(__name__)

GLOBAL_AFTER_CHATS = 3  # 429s for this many chats within CROSS_CHAT_SECONDS: the bot's limit, pause all
CROSS_CHAT_SECONDS = 2.0
WINDOW_MARGIN = 0.03  # the sliding window is 1.03 s: room for jitter between us and the server


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
