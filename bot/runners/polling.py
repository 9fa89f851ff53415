"""Long polling (the embedded default). SIGTERM/SIGINT stop it cleanly: polling stops, updates in
flight are finished (dispatcher shutdown, see app.py), then the database and the HTTP session close."""

from __future__ import annotations

import logging

from bot.app import App

log = logging.getLogger(__name__)


async def run_polling(app: App, *, handle_signals: bool = True, handle_as_tasks: bool = True) -> None:
    dp = app.dispatcher
    try:
        await app.bot.delete_webhook(drop_pending_updates=False)
        await dp.start_polling(
            app.bot,
            handle_signals=handle_signals,
            handle_as_tasks=handle_as_tasks,
            allowed_updates=dp.resolve_used_update_types(),
            close_bot_session=True,
        )
    finally:
        await app.close()  # also when polling never started (the HTTP session is closed once)
        log.info("stopped")
