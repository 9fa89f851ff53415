"""The desk's conversation states and the filters that keep its routers silent while it is off."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message, TelegramObject

from bot.services.desk import DeskService


class DeskStates(StatesGroup):
    asking = State()  # the bot asked for the question
    talking = State()  # a conversation with the operators is open: messages go to them
    rumour = State()  # the bot asked for the rumour to check


class DeskOn(Filter):
    """The desk passed its start-up check (and ``OPERATORS_CHAT_ID`` is set)."""

    async def __call__(self, event: TelegramObject, desk: DeskService | None = None) -> bool:
        return desk is not None and desk.enabled


class InOperatorsChat(Filter):
    async def __call__(self, message: Message, desk: DeskService | None = None) -> bool:
        return desk is not None and desk.enabled and message.chat.id == desk.chat_id
