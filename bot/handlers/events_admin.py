"""Router placeholder: filled by its feature."""

from __future__ import annotations

from aiogram import Router


def router() -> Router:
    return Router(name="events_admin")
