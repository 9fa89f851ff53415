"""Feature routers. Handlers do Telegram I/O only; they call services and the storage.

Routers are created per application (factories), so that a process can build the bot twice
(tests restart it on the same database)."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import common, errors, fallback, groups, language, membership, start


def build_routers() -> list[Router]:
    # Order matters: group chats first (they only get commands), the catch-alls last.
    return [
        errors.router(),
        groups.router(),
        membership.router(),
        start.router(),
        language.router(),
        common.router(),
        fallback.router(),
    ]
