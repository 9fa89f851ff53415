"""The webhook's update endpoint: an aiohttp handler feeding aiogram's public webhook API.

aiogram's ``SimpleRequestHandler`` answers any request it can read; this endpoint, written as aiogram
suggests for other integrations, checks and refuses first, then calls
``Dispatcher.feed_webhook_update``:

- a wrong or missing ``X-Telegram-Bot-Api-Secret-Token``: 401 (compared as bytes in constant time);
- while the server is not accepting (starting, shutting down): 503, Telegram delivers it again;
- a body that does not arrive in time: 408; too large: 413; malformed JSON, JSON nested more than
  64 levels deep, or not an Update: 400;
- an update handled already (see :mod:`bot.runners.update_ledger`): acknowledged, not handled
  again; one being handled elsewhere: 409 (not 503, which would take this replica out of rotation).

The update is handled before the response: Telegram sends a chat's next update only after the
previous one was answered, so one user's updates stay in order whichever replica gets them. A
method a handler returns is called through the Bot API (``Dispatcher.silent_call_request``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.metrics import Metrics
from bot.runners.update_ledger import Claim, Ledger

log = logging.getLogger("bot.runners.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
Refuse = Callable[[str, Any, int, str], web.Response]  # (reason, peer, status, text) -> the response


MAX_JSON_DEPTH = 64  # Telegram's updates nest a dozen levels deep
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(body: bytes) -> int:
    """How deeply the JSON ``body`` nests (brackets inside strings do not count); cheap when the body
    has few brackets, as every real update has."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


class UpdateEndpoint:
    """``POST <path of WEBHOOK_URL>``; refusals go through ``refuse`` (counted, logged sparingly)."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret: str,
        ledger: Ledger,
        metrics: Metrics,
        refuse: Refuse,
        accepting: Callable[[], bool],
        body_timeout: float,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.ledger = ledger
        self.metrics = metrics
        self.refuse = refuse
        self.accepting = accepting
        self.body_timeout = body_timeout
        self.active: set[asyncio.Task[Any]] = set()  # requests being handled now
        self._secret = secret.encode()

    def verify_secret(self, header: str) -> bool:
        """Compared as bytes: any header (non-ASCII included) is an answer, never an exception.
        aiohttp decodes headers as UTF-8 with surrogateescape, which gives the bytes back."""
        return hmac.compare_digest(header.encode("utf-8", "surrogateescape"), self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, "")):
            self.metrics.unauthorized.inc()
            return self.refuse("secret", request.remote, 401, "Unauthorized")
        if not self.accepting():
            return web.Response(text="Shutting down", status=503, headers={"Retry-After": "1"})
        task = asyncio.current_task()
        assert task is not None
        self.active.add(task)
        try:
            return await self._handle(request)
        finally:
            self.active.discard(task)

    async def drain(self, seconds: float) -> bool:
        """Wait until the updates being handled are answered; False if some still are after ``seconds``."""
        tasks = set(self.active)
        if not tasks:
            return True
        log.info("finishing %d update(s) in flight", len(tasks))
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        if pending:
            log.warning("%d update(s) still in flight after %.0f s", len(pending), seconds)
        return not pending

    async def read_update(self, request: web.Request) -> Update | web.Response:
        """The request's Update, or the response refusing it."""
        remote = request.remote
        try:
            body = await asyncio.wait_for(request.read(), self.body_timeout)
        except TimeoutError:
            return self.refuse("body-timeout", remote, 408, "Request Timeout")
        except web.HTTPRequestEntityTooLarge:
            return self.refuse("too-large", remote, 413, "Request Entity Too Large")
        if json_depth(body) > MAX_JSON_DEPTH:  # before the parser, which recurses
            return self.refuse("too-deep", remote, 400, "Bad Request: JSON nested too deeply")
        try:
            raw = self.bot.session.json_loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return self.refuse("malformed", remote, 400, "Bad Request: malformed JSON")
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            return self.refuse("invalid", remote, 400, "Bad Request: no update_id")
        try:
            return Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError:
            return self.refuse("invalid", remote, 400, "Bad Request: not an Update")

    async def _handle(self, request: web.Request) -> web.Response:
        update = await self.read_update(request)
        if isinstance(update, web.Response):
            return update
        update_id = update.update_id
        claim = await self.ledger.claim(update_id)
        if claim is Claim.DONE:
            self.metrics.repeated.inc()
            log.info("update %d was handled already: acknowledged again", update_id)
            return web.json_response({})
        if claim is Claim.BUSY:  # 409, not 503: the proxy must not take this replica out of rotation
            log.info("update %d is being handled elsewhere: Telegram will retry", update_id)
            return web.Response(text="Conflict: being handled", status=409, headers={"Retry-After": "1"})
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(self.bot, update)
        except BaseException:
            await self.ledger.release(update_id)  # not handled: Telegram's retry may handle it
            raise
        await self.ledger.done(update_id)
        if result is not None:
            await self.dispatcher.silent_call_request(self.bot, result)
        return web.json_response({})
