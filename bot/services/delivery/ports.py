"""The engine's port to Telegram: a :class:`Sender` prepares a broadcast message once, then sends it
to chat after chat and says how each send ended (:data:`SendOutcome`), never by raising.

The Telegram implementation is :class:`bot.telegram.sender.TelegramSender`; tests use fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.storage.broadcasts import BroadcastMessage


@dataclass(frozen=True, slots=True)
class Sent:
    """Telegram accepted the message."""


@dataclass(frozen=True, slots=True)
class Gone:
    """The recipient cannot be reached (403: blocked, deactivated; 400 "chat not found"): the user
    becomes inactive; not retried."""

    error: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Refused for another reason (any other 400, an unexpected answer): not retried."""

    error: str


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """429: send again after ``seconds`` (the gate decides whether the chat or everything pauses)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A network error or a 5xx: retried with backoff, then counted as failed."""

    error: str


SendOutcome = Sent | Gone | Failed | RetryAfter | Unavailable
SENT = Sent()


class MessageSender(Protocol):
    """One broadcast message, prepared: sends it to one chat."""

    async def send(self, chat_id: int) -> SendOutcome: ...


class Sender(Protocol):
    def prepare(self, message: BroadcastMessage, *, paid: bool) -> MessageSender:
        """The message made ready to send to many chats; raises (ValueError…) when it cannot be
        sent at all (then every delivery of it fails with that error, without a request)."""
        ...
