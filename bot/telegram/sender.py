"""The delivery engine's port to Telegram (:class:`~bot.services.delivery.ports.Sender`) over aiogram.

Paid broadcasts (up to 1,000/s) are cheap per message: the request is serialized once and only the
chat id changes (:class:`BroadcastSender`); when aiogram's session internals that shortcut relies on
are not there, each send is an ordinary ``await bot(method)``.

aiogram's errors become the port's outcomes (:func:`outcome_of`): 403 (blocked, deactivated) and
400 "chat not found" are :class:`Gone`; network errors and 5xx :class:`Unavailable` (the engine
retries them); 429 :class:`RetryAfter`; anything else from Telegram :class:`Failed`."""

from __future__ import annotations

import contextlib
import logging
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import CopyMessage, SendMessage
from aiogram.methods.base import TelegramMethod
from aiogram.types import InlineKeyboardMarkup, InputFile
from aiohttp import ClientError, ClientTimeout

from bot.services.delivery import (
    SENT,
    Failed,
    Gone,
    MessageSender,
    RetryAfter,
    SendOutcome,
    Unavailable,
)
from bot.storage.broadcasts import BroadcastMessage, MessageKind
from bot.telegram.gate_middleware import ENGINE_SEND, SendGateMiddleware

log = logging.getLogger(__name__)


class TelegramSender:
    """The :class:`~bot.services.delivery.ports.Sender` of the running bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    def prepare(self, message: BroadcastMessage, *, paid: bool) -> MessageSender:
        return BroadcastSender(self.bot, message, paid=paid)


def outcome_of(error: TelegramAPIError) -> SendOutcome:
    """How a send that raised ``error`` ended, for the engine."""
    if isinstance(error, TelegramRetryAfter):
        return RetryAfter(error.retry_after)
    if isinstance(error, TelegramForbiddenError):
        return Gone(error.message)
    if isinstance(error, TelegramBadRequest):
        lowered = error.message.lower()
        inactive = "chat not found" in lowered or "deactivated" in lowered or "blocked" in lowered
        return Gone(error.message) if inactive else Failed(error.message)
    if isinstance(error, TelegramNetworkError | TelegramServerError):
        return Unavailable(str(error))
    return Failed(error.message)


_JSON_HEADERS = {"Content-Type": "application/json"}


def broadcast_method(message: BroadcastMessage, chat_id: int, *, paid: bool) -> TelegramMethod[Any]:
    """The aiogram method that delivers ``message`` to ``chat_id``."""
    allow_paid = True if paid else None
    if message.kind == MessageKind.COPY:
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
    """Sends one broadcast message to chat after chat (a :class:`MessageSender`).

    The same message goes to everybody; only ``chat_id`` differs. So the aiogram method is built
    once, serialized once by the bot's session (``prepare_value``: bot defaults such as
    ``parse_mode`` resolved, markup dumped) into a JSON body, and each send splices its chat id into
    that body and posts it on the session's own aiohttp connection pool. A successful answer is
    only checked for ``"ok": true`` (the engine never uses the sent Message); any other answer goes
    through the session's ``check_response``, so errors are aiogram's own exceptions
    (:class:`TelegramRetryAfter`, :class:`TelegramForbiddenError`, …), and network failures become
    :class:`TelegramNetworkError` exactly as in ``AiohttpSession.make_request``; :meth:`send` turns
    them into the port's outcomes (:func:`outcome_of`).

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
            try:
                self._prepare(session)
            except (AttributeError, TypeError, ValueError) as error:
                # aiogram's session internals changed (``prepare_value``, ``api_url``…): every send
                # is then an ordinary ``await bot(method)``, slower but right
                log.warning("broadcast sends take aiogram's generic path: %s", error)
                self._session = None

    def _prepare(self, session: AiohttpSession) -> None:
        files: dict[str, InputFile] = {}
        fields: dict[str, Any] = {}
        for key, value in self.template.model_dump(warnings=False).items():
            prepared = session.prepare_value(value, bot=self.bot, files=files, _dumps_json=False)
            if key != "chat_id" and prepared is not None and prepared != "":  # as in build_form_data
                fields[key] = prepared
        if not files:  # (a text or a copy never has files to upload)
            encoded = session.json_dumps(fields).encode()
            self._body_tail = b"," + encoded[1:] if fields else b"}"  # what follows the chat id
            self._url = session.api.api_url(token=self.bot.token, method=self.template.__api_method__)
            self._timeout = ClientTimeout(total=session.timeout)
            self._session = session

    @property
    def prepared(self) -> bool:
        """True when sends take the prepared JSON path."""
        return self._session is not None

    def method(self, chat_id: int) -> TelegramMethod[Any]:
        return self.template.model_copy(update={"chat_id": chat_id})

    def body(self, chat_id: int) -> bytes:
        """The JSON body of the request to ``chat_id`` (prepared path only)."""
        return b'{"chat_id":%d%s' % (chat_id, self._body_tail)

    async def send(self, chat_id: int) -> SendOutcome:
        try:
            await self.post(chat_id)
        except TelegramAPIError as error:
            return outcome_of(error)
        return SENT

    async def post(self, chat_id: int) -> None:
        """Send to ``chat_id``; aiogram's exceptions as they come."""
        session = self._session
        if session is None:
            ENGINE_SEND.set(True)  # the gate middleware lets it through: the engine paces itself
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
