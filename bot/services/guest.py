"""Guest mode's rules: residents call the bot into a chat it is not a member of ("@bot question").

* :class:`GuestBudget`: how many answers a chat and a caller get; a chat or a caller over its budget
  gets one notice, then silence for a while. Answers and notices together stay far below Telegram's
  20 messages a minute in a group, so a flood never meets a 429.
* :func:`question_of`: the caller's text without the bot's @mention; :func:`looks_like_claim`:
  whether it repeats something heard (a rumour to check) rather than asks.
* :class:`GuestCounts`: what guest mode did, as counters only (``/stats``, ``/metrics``): nothing of
  a guest message's text, its chat or its caller is kept.

In memory, per process (like the chats' flood budget): with several webhook replicas a chat's calls
may be spread over them, each with its own budget."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Literal

Admission = Literal["answer", "notice", "silent"]
Outcome = Literal["answer", "suggest", "off_topic", "rumour", "rumour_unknown", "empty", "notice", "silent"]

CHAT_ANSWERS = 6  # answers to one chat per window
CALLER_ANSWERS = 4  # answers to one caller per window, in all chats
WINDOW = 60.0  # seconds
QUIET = 600.0  # seconds of silence after the notice
MAX_TRACKED = 10_000  # chats or callers tracked before the idle ones are forgotten


@dataclass
class _Track:
    times: deque[float] = field(default_factory=deque)
    quiet_until: float = 0.0


class GuestBudget:
    """Answers per chat and per caller over a sliding ``window``. The first call over either budget
    gets a notice (it counts as one of the chat's messages); the chat, or the caller, is then left
    unanswered for ``quiet`` seconds. So a chat sees at most ``chat_answers`` + 1 messages from the
    bot in any window."""

    def __init__(
        self,
        chat_answers: int = CHAT_ANSWERS,
        caller_answers: int = CALLER_ANSWERS,
        window: float = WINDOW,
        quiet: float = QUIET,
    ) -> None:
        self.chat_answers = chat_answers
        self.caller_answers = caller_answers
        self.window = window
        self.quiet = quiet
        self._chats: dict[int, _Track] = {}
        self._callers: dict[int, _Track] = {}

    def _track(self, tracks: dict[int, _Track], key: int, now: float) -> _Track:
        track = tracks.get(key)
        if track is None:
            if len(tracks) >= MAX_TRACKED:
                self._forget(tracks, now)
            track = tracks[key] = _Track()
        while track.times and track.times[0] <= now - self.window:
            track.times.popleft()
        return track

    def _forget(self, tracks: dict[int, _Track], now: float) -> None:
        idle = [
            key
            for key, track in tracks.items()
            if track.quiet_until <= now and (not track.times or track.times[-1] <= now - self.window)
        ]
        for key in idle:
            del tracks[key]

    def admit(self, chat_id: int, caller_id: int, now: float) -> Admission:
        chat = self._track(self._chats, chat_id, now)
        caller = self._track(self._callers, caller_id, now)
        if now < chat.quiet_until or now < caller.quiet_until:
            return "silent"
        if len(chat.times) >= self.chat_answers:
            chat.quiet_until = now + self.quiet
            return "notice"
        if len(caller.times) >= self.caller_answers:
            caller.quiet_until = now + self.quiet
            chat.times.append(now)  # the notice is one of the chat's messages
            return "notice"
        chat.times.append(now)
        caller.times.append(now)
        return "answer"


@dataclass
class GuestCounts:
    """Guest calls by outcome since the process started: counters, nothing else."""

    answer: int = 0  # a FAQ answer
    suggest: int = 0  # the closest question offered
    off_topic: int = 0  # one polite line
    rumour: int = 0  # a claim the FAQ answers
    rumour_unknown: int = 0  # a claim it does not: the offer to hand it to a person
    empty: int = 0  # the bot called with nothing to answer: how to ask
    notice: int = 0  # the one notice of a flood
    silent: int = 0  # left unanswered: over the budget

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def items(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def total(self) -> int:
        return sum(value for _, value in self.items())


class GuestService:
    """The budget and the counters, shared by the handlers (workflow data ``guests``)."""

    def __init__(self, budget: GuestBudget | None = None) -> None:
        self.budget = budget or GuestBudget()
        self.counts = GuestCounts()


def question_of(text: str, bot_username: str) -> str:
    """The caller's words without the bot's @mention (wherever it is), spaces tidied."""
    if bot_username:
        text = re.sub(rf"@{re.escape(bot_username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


# Words that introduce something heard rather than ask: "they say", "I heard", "is it true that".
_CLAIM_MARKERS = re.compile(
    r"\b(?:"
    r"говорят|говорили|слышал[аи]?|пишут|пишет|утверждают|правда\s+ли|правда,?\s+что|это\s+правда|слух\w*|"
    r"фейк\w*|якобы|распространя\w*|"
    r"дейді|деп\s+жатыр|естідім|естіді\w*|рас\s+па|рас\s+ма|шын\s+ба|шын\s+ма|жалған|қауесет\w*|"
    r"they\s+say|people\s+say|i\s+heard|heard\s+that|is\s+it\s+true|rumou?rs?|claims?|fake|apparently|allegedly"
    r")\b",
    re.IGNORECASE,
)


def looks_like_claim(text: str) -> bool:
    """True when the words repeat something heard (a rumour to check, as ``/rumour`` does)."""
    return _CLAIM_MARKERS.search(text) is not None
