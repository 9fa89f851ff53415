"""The client-session middleware that paces the bot's own requests through the delivery engine's
:class:`~bot.services.delivery.gate.SendGate`: replies to residents share the broadcast's rate,
wait for their chat's turn, honour 429 pauses and take precedence over the broadcast."""

from __future__ import annotations

import contextvars
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
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

from bot.services.delivery import SendGate
from bot.services.pacing import ChatId

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
REPLY_ATTEMPTS = 3  # a reply that gets a 429 waits out its pause and is sent again, twice at most

# Set by the broadcast sender's generic path: the engine paces its own sends, the middleware lets
# them through untouched.
ENGINE_SEND: contextvars.ContextVar[bool] = contextvars.ContextVar("engine_send", default=False)


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
        if ENGINE_SEND.get() or isinstance(method, GetUpdates):
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
