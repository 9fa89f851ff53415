"""Blocking the bot marks the user inactive; unblocking (or writing again) reactivates them."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.services.residents import ResidentService
from bot.telegram.filters import Magic


def router() -> Router:
    r = Router(name="membership")
    r.my_chat_member.filter(Magic(F.chat.type == ChatType.PRIVATE))
    r.my_chat_member.register(on_blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    r.my_chat_member.register(on_unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return r


async def on_blocked(event: ChatMemberUpdated, residents: ResidentService) -> None:
    await residents.set_reachable(event.from_user.id, False)


async def on_unblocked(event: ChatMemberUpdated, residents: ResidentService) -> None:
    await residents.set_reachable(event.from_user.id, True)
