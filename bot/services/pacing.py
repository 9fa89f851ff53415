"""Per-chat pacing: how fast the bot writes to one chat, and how much of one chat's traffic it takes.

Telegram allows a bot about one message a second in a private chat (short bursts are tolerated),
20 messages a minute in a group, and about 30 a second overall. The overall rate is the
:class:`~bot.services.delivery.SendGate`'s; this module holds the per-chat part, in two halves:

* **Replies** (:data:`PRIVATE_REPLIES`, :data:`GROUP_REPLIES`): a token bucket per chat that every
  message the bot sends takes a token from (the gate's :class:`ChatPacer`), plus a pause of that
  chat alone after a 429 for it.
* **Updates** (:data:`PRIVATE_UPDATES`, :data:`GROUP_UPDATES`, :data:`INLINE_QUERIES`): a budget per
  chat for the messages and button presses the bot handles (:class:`FloodBudget`, used by the flood
  guard middleware). What comes beyond it is not handled: no search, no reply.

Both are token buckets: ``burst`` at once, then ``per_second``. No Telegram types in here; times are
the event loop's monotonic seconds, passed in by the caller."""

from __future__ import annotations

from dataclasses import dataclass

ChatId = int | str

# A bucket whose tokens are this close to a whole number counts as having it (float rounding).
_EPS = 1e-9


@dataclass(frozen=True)
class Rate:
    """``burst`` at once, then ``per_second`` on average."""

    burst: int
    per_second: float


# What the bot sends to one chat. Private: at most 4 in any second (Telegram tolerates short bursts
# over its one a second). Group: 3 + 17 a minute, so never more than 20 in any minute.
PRIVATE_REPLIES = Rate(burst=3, per_second=1.0)
GROUP_REPLIES = Rate(burst=3, per_second=17 / 60)

# What the bot handles from one chat (messages and button presses together). A little below the
# replies' budget, so that the "slow down" notice and the deferred last message find room.
PRIVATE_UPDATES = Rate(burst=4, per_second=1.0)
GROUP_UPDATES = Rate(burst=3, per_second=1 / 6)
# Inline queries cost a search each but no message: per user, more generous (clients send one per
# pause in typing).
INLINE_QUERIES = Rate(burst=10, per_second=2.0)
# CHAT_PACING=false (load tests, the test harness's machine-speed residents): no per-chat limit.
UNLIMITED = Rate(burst=10**9, per_second=1e9)


def is_group(chat_id: ChatId) -> bool:
    """Telegram's group, supergroup and channel ids are negative (or ``@username``)."""
    return isinstance(chat_id, str) or chat_id < 0


class _Bucket:
    __slots__ = ("at", "flagged", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at
        self.flagged = False


class Buckets:
    """A token bucket per key, created full on first use and forgotten once it is full again (so the
    map holds only the keys that were busy in the last few seconds)."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self._buckets: dict[ChatId, _Bucket] = {}
        self._sweep_at = 1024

    def __len__(self) -> int:
        return len(self._buckets)

    def _refill(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.rate.burst), bucket.tokens + max(0.0, now - bucket.at) * self.rate.per_second)

    def tokens(self, key: ChatId, now: float) -> float:
        bucket = self._buckets.get(key)
        return float(self.rate.burst) if bucket is None else self._refill(bucket, now)

    def wait(self, key: ChatId, now: float) -> float:
        """Seconds until ``key`` has a token (0: now)."""
        missing = 1.0 - self.tokens(key, now)
        return 0.0 if missing <= _EPS else missing / self.rate.per_second

    def take(self, key: ChatId, now: float) -> None:
        """Take a token (the bucket may go below zero when the caller insists: it then waits longer)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(self.rate.burst - 1.0, now)
            if len(self._buckets) > self._sweep_at:
                self._sweep(now)
            return
        bucket.tokens = self._refill(bucket, now) - 1.0
        bucket.at = now

    def try_take(self, key: ChatId, now: float) -> bool:
        if self.wait(key, now) > 0:
            return False
        self.take(key, now)
        return True

    def full(self, key: ChatId, now: float) -> bool:
        return self.tokens(key, now) >= self.rate.burst - _EPS

    def flagged(self, key: ChatId) -> bool:
        bucket = self._buckets.get(key)
        return bucket is not None and bucket.flagged

    def flag(self, key: ChatId, value: bool = True) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.flagged = value

    def _sweep(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if self._refill(b, now) >= self.rate.burst - _EPS]:
            del self._buckets[key]
        self._sweep_at = max(1024, 2 * len(self._buckets))


class ChatPacer:
    """The replies' half: a bucket per chat (private or group rate) and per-chat pauses after a 429."""

    def __init__(self, private: Rate = PRIVATE_REPLIES, group: Rate = GROUP_REPLIES) -> None:
        self.private = Buckets(private)
        self.group = Buckets(group)
        self._paused: dict[ChatId, float] = {}

    @classmethod
    def unlimited(cls) -> ChatPacer:
        """No per-chat pace; a 429 for a chat still pauses it."""
        return cls(UNLIMITED, UNLIMITED)

    def _buckets(self, chat_id: ChatId) -> Buckets:
        return self.group if is_group(chat_id) else self.private

    def wait(self, chat_id: ChatId, now: float) -> float:
        """Seconds until a message may go to ``chat_id`` (its pause, then its bucket)."""
        paused = self._paused.get(chat_id)
        if paused is not None:
            if paused > now:
                return paused - now
            del self._paused[chat_id]
        return self._buckets(chat_id).wait(chat_id, now)

    def take(self, chat_id: ChatId, now: float) -> None:
        self._buckets(chat_id).take(chat_id, now)

    def pause(self, chat_id: ChatId, now: float, seconds: float) -> None:
        until = now + seconds
        if until > self._paused.get(chat_id, 0.0):
            self._paused[chat_id] = until
        if len(self._paused) > 1024:  # forget the pauses that are over
            self._paused = {c: t for c, t in self._paused.items() if t > now}

    def paused(self, chat_id: ChatId, now: float) -> bool:
        return self._paused.get(chat_id, 0.0) > now

    def sent_recently(self, chat_id: ChatId, now: float) -> bool:
        """Whether another message went to ``chat_id`` shortly before the last one (the one that just
        got a 429): only then can the 429 be that chat's own limit. A chat that got one message
        after a quiet spell cannot be over its limit: the 429 is about the bot as a whole."""
        buckets = self._buckets(chat_id)
        return buckets.tokens(chat_id, now) < buckets.rate.burst - 1.0 - _EPS


@dataclass(frozen=True)
class Admission:
    handle: bool  # within the budget: handle it
    notice: bool = False  # over it, for the first time since the chat was last calm: tell them once


ADMIT = Admission(handle=True)


class FloodBudget:
    """The updates' half: one chat's messages and button presses are handled within a token bucket;
    beyond it they are not. The first time a chat goes over, :meth:`admit` says to send the notice;
    not again until the chat has been calm long enough for its bucket to fill up."""

    def __init__(
        self, private: Rate = PRIVATE_UPDATES, group: Rate = GROUP_UPDATES, inline: Rate = INLINE_QUERIES
    ) -> None:
        self.private = Buckets(private)
        self.group = Buckets(group)
        self.inline = Buckets(inline)
        self.dropped = 0

    def _buckets(self, chat_id: ChatId) -> Buckets:
        return self.group if is_group(chat_id) else self.private

    def admit(self, chat_id: ChatId, now: float, *, notify: bool = True) -> Admission:
        """Take a token for one update from ``chat_id``, or say it is over the budget. ``notify``:
        the caller will tell the chat (so only the first one over is told)."""
        buckets = self._buckets(chat_id)
        if buckets.full(chat_id, now):
            buckets.flag(chat_id, False)  # calm again: a new flood gets a new notice
        if buckets.try_take(chat_id, now):
            return ADMIT
        self.dropped += 1
        if not notify or buckets.flagged(chat_id):
            return Admission(handle=False)
        buckets.flag(chat_id)
        return Admission(handle=False, notice=True)

    def wait(self, chat_id: ChatId, now: float) -> float:
        """Seconds until ``chat_id`` may have an update handled again."""
        return self._buckets(chat_id).wait(chat_id, now)

    def take(self, chat_id: ChatId, now: float) -> None:
        """Spend a token on an update that waited for it (the last message of a flood)."""
        self._buckets(chat_id).take(chat_id, now)

    def admit_inline(self, user_id: int, now: float) -> bool:
        if self.inline.try_take(user_id, now):
            return True
        self.dropped += 1
        return False
