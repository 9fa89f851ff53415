"""Start-up: reach the Bot API before serving, retrying an unreachable one with back-off.

One log line per failed attempt (the reason and the next delay); after ``budget`` seconds, or at
once when the answer can never improve by waiting (the token refused, the URL answering 404), a
:class:`StartupError` that the CLI prints as one line with exit code 2."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import User

log = logging.getLogger(__name__)
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
REQUEST_TIMEOUT = 10  # seconds for one getMe


class StartupError(Exception):
    """The Bot API cannot be used; the message says which and why, in one line."""


def _reason(error: BaseException) -> str:
    if isinstance(error, ClientDecodeError):  # not what the server said: it may echo the request (the token)
        return f"{type(error).__name__}: {error.message}: not a Bot API answer ({type(error.original).__name__})"
    text = " ".join(str(error).split())  # one line, whatever the server sent
    text = text[:200] + "…" if len(text) > 200 else text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def wait_for_bot_api(
    bot: Bot,
    base: str,
    *,
    budget: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> User:
    """``getMe`` until it answers."""
    started = monotonic()
    delay = FIRST_DELAY
    attempt = 0
    while True:
        attempt += 1
        try:
            me = await bot.get_me(request_timeout=REQUEST_TIMEOUT)
        except TelegramUnauthorizedError as error:
            raise StartupError(f"BOT_TOKEN: the Bot API at {base} refused the token ({_reason(error)})") from None
        except TelegramNotFound as error:
            raise StartupError(
                f"BOT_API_BASE: {base} is not a Bot API server, or the token is wrong ({_reason(error)})"
            ) from None
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, ClientDecodeError) as error:
            if isinstance(error, TelegramRetryAfter):
                delay = max(delay, float(error.retry_after))
            elapsed = monotonic() - started
            if elapsed + delay > budget:
                raise StartupError(
                    f"BOT_API_BASE: the Bot API at {base} is unreachable: {attempt} attempt(s) in {elapsed:.0f} s, "
                    f"last: {_reason(error)}"
                ) from None
            log.warning(
                "the Bot API at %s is unreachable (%s); retrying in %.0f s (attempt %d)",
                base,
                _reason(error),
                delay,
                attempt,
            )
            await sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
            continue
        except TelegramAPIError as error:  # any other refusal: waiting will not change it
            raise StartupError(f"BOT_API_BASE: the Bot API at {base} refused getMe ({_reason(error)})") from None
        if attempt > 1:
            log.info("the Bot API at %s answered after %d attempt(s)", base, attempt)
        return me
