"""Middlewares: the stored user for every update, a count of updates in flight so that shutdown can
finish them, and the flood guard (each chat's budget of handled messages and button presses)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, InlineQuery, Message, TelegramObject, Update, User

from bot.config import Lang
from bot.i18n import I18n, _, normalize_language, resolve_language
from bot.services.pacing import FloodBudget
from bot.services.residents import ResidentService

log = logging.getLogger(__name__)


class UserLanguageMiddleware(BaseMiddleware):
    """Picks the language per update; the user middleware has put the stored user in ``data``.
    Handlers get it as ``lang`` (and the catalogues as ``i18n``), and gettext (``_``) uses it for
    the rest of the update."""

    def __init__(self, i18n: I18n, default: Lang) -> None:
        self.i18n = i18n
        self.default = default

    def setup(self, router: Router) -> None:
        for name, observer in router.observers.items():
            if name != "update":
                observer.outer_middleware(self)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        data["lang"] = lang = resolve_language(
            data.get("user_record"), user.language_code if user else None, self.default
        )
        data["i18n"] = self.i18n
        with self.i18n.use_locale(lang):
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Upserts the user on every update in a private chat with the bot (first/last seen, Telegram
    language, reactivation); a guest call, even from a private chat between two people, is not one."""

    def __init__(self, residents: ResidentService) -> None:
        self.residents = residents

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        private = chat is None or chat.type == "private"  # group members are not our users
        guest = isinstance(event, Update) and event.guest_message is not None  # nor who calls the bot as a guest
        if user is not None and not user.is_bot and private and not guest:
            data["user_record"] = await self.residents.seen(user.id, normalize_language(user.language_code))
        return await handler(event, data)


class InFlightMiddleware(BaseMiddleware):
    """Counts updates being handled; ``drain`` waits until none are left."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._count

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def drain(self, seconds: float) -> bool:
        if self._count:
            log.info("waiting for %d update(s) in flight", self._count)
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            log.warning("%d update(s) still in flight after %.0f s", self._count, seconds)
            return False
        return True


DEFERRED = "flood_deferred"  # workflow data of a message handled after waiting for its chat's turn


class FloodGuardMiddleware(BaseMiddleware):
    """Each chat's budget of handled updates (:class:`~bot.services.pacing.FloodBudget`), checked
    before any filter or handler runs, so a flood costs neither searches nor replies.

    * Messages beyond the budget are not handled. The first one of a flood gets one short notice;
      the newest one waits for the chat's next turn and is then handled as usual (fed to the
      dispatcher again), so the last question is still answered. While one waits, newer messages
      replace it.
    * A button press beyond the budget is answered at once with a short toast (Telegram shows a
      spinner until then) and goes no further.
    * Inline queries beyond a user's budget are dropped (the client asks again as the user types).
    * In groups only commands count: other messages are no work (the bot ignores them), and the
      budget is the group's, shared by its members.
    * An album arrives as several messages: the first counts and is handled; the rest are merged.

    Register it with :meth:`setup` after the language middleware (the notice is in the user's
    language), and call :meth:`close` at shutdown."""

    def __init__(self, budget: FloodBudget | None = None) -> None:
        self.budget = budget or FloodBudget()
        self._pending: dict[int, tuple[Update, Bot, Dispatcher]] = {}
        self._timers: dict[int, asyncio.Task[None]] = {}
        self._albums: dict[int, str] = {}  # chat -> media_group_id of its latest album

    def setup(self, router: Router) -> None:
        for observer in (router.message, router.callback_query, router.inline_query):
            observer.outer_middleware(self)

    async def close(self) -> None:
        timers, self._timers = list(self._timers.values()), {}
        self._pending.clear()
        for task in timers:
            task.cancel()
        await asyncio.gather(*timers, return_exceptions=True)

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get(DEFERRED):
            return await handler(event, data)  # its turn was taken when it was fed again
        if isinstance(event, Message):
            return await self._message(handler, event, data)
        if isinstance(event, CallbackQuery):
            return await self._callback(handler, event, data)
        if isinstance(event, InlineQuery) and not self.budget.admit_inline(event.from_user.id, self._now()):
            return None
        return await handler(event, data)

    async def _message(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        message: Message,
        data: dict[str, Any],
    ) -> Any:
        chat_id = message.chat.id
        if message.chat.type != "private" and not await self._for_us(message, data["bot"]):
            return await handler(message, data)  # chatter the bot ignores, or another bot's command
        if message.media_group_id is not None:
            if self._albums.get(chat_id) == message.media_group_id:
                return None  # the rest of an album: its first message had the answer
            if len(self._albums) > 10_000:
                self._albums.clear()
            self._albums[chat_id] = message.media_group_id
        if chat_id in self._pending:  # an older message waits for the chat's turn: this one replaces it
            self._defer(chat_id, data)
            return None
        admission = self.budget.admit(chat_id, self._now())
        if admission.handle:
            return await handler(message, data)
        self._defer(chat_id, data)
        if admission.notice:
            await self._notice(message)
        return None

    async def _callback(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        query: CallbackQuery,
        data: dict[str, Any],
    ) -> Any:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        if self.budget.admit(chat_id, self._now(), notify=False).handle:
            return await handler(query, data)
        try:
            await query.answer("⏳ " + _("Too many presses at once. Please wait a moment."))
        except TelegramAPIError as error:
            log.info("could not answer a button press beyond the budget: %s", error)
        return None

    @staticmethod
    async def _for_us(message: Message, bot: Bot) -> bool:
        """A command the bot answers in a group: ``/help`` or ``/help@this_bot``."""
        text = message.text or message.caption or ""
        if not text.startswith("/"):
            return False
        _command, at, target = text.split(maxsplit=1)[0].partition("@")
        if not at:
            return True
        me = await bot.me()
        return target.lower() == (me.username or "").lower()

    async def _notice(self, message: Message) -> None:
        text = "⏳ " + _(
            "Please slow down: too many messages at once. I will answer the latest one in a moment "
            "and skip the ones before it."
        )
        try:
            await message.answer(text)
        except TelegramAPIError as error:
            log.info("could not send the slow-down notice to chat %s: %s", message.chat.id, error)

    def _defer(self, chat_id: int, data: dict[str, Any]) -> None:
        """Keep the newest message of ``chat_id`` for its next turn."""
        update: Update | None = data.get("event_update")
        if update is None:
            return
        pending = self._pending.get(chat_id)
        if pending is None or pending[0].update_id < update.update_id:
            self._pending[chat_id] = (update, data["bot"], data["dispatcher"])
        if chat_id not in self._timers:
            self._timers[chat_id] = asyncio.create_task(self._later(chat_id), name=f"flood-deferred:{chat_id}")

    async def _later(self, chat_id: int) -> None:
        while (wait := self.budget.wait(chat_id, self._now())) > 0:  # noqa: ASYNC110 - a plain timer
            await asyncio.sleep(wait)
        self._timers.pop(chat_id, None)
        pending = self._pending.pop(chat_id, None)
        if pending is None:
            return
        update, bot, dispatcher = pending
        self.budget.take(chat_id, self._now())
        try:
            await dispatcher.feed_update(bot, update, **{DEFERRED: True})
        except Exception:
            log.exception("the deferred update %s failed", update.update_id)
