"""A strict fake Telegram Bot API server for tests and local tooling.

The server speaks the HTTP protocol aiogram uses (``/bot{token}/{method}``), validates requests the way
Telegram does (HTML entities, keyboards, lengths, unknown chats, blocked users, rate limits) and lets the
test side act as users: every user action enqueues an :class:`Update` for long polling and waits until the
bot confirmed it (the next ``getUpdates`` offset), returning an :class:`Exchange` with what the bot did;
``post`` and ``post_press`` only enqueue (a burst, a flood), and the test awaits conditions instead.

Rate limits (all off by default), as Telegram applies them to messages sent (``SENDING_METHODS``):
``rate_limit`` per second overall, ``chat_rate_limit`` per second to one private chat,
``group_rate_limit`` per minute to one group, each over a sliding window. A request over a limit
gets 429 with ``retry_after``; until that time has passed, every message (after an overall 429) or
every message to that chat (after a chat's 429) gets 429 again and counts as a violation.
``callback_timeout``: a button press answered later than that is "query is too old", as in Telegram.

The package, one purpose a module:

- ``server``: :class:`FakeTelegram`, the aiohttp app, the method table and the rate limits;
- ``state``: what the fake knows and the test-side API (``user``, ``group``, ``wait_for``, ...);
- ``users``: :class:`FakeUser`, the simulated users tests drive;
- ``updates``, ``profile``, ``messages``, ``answers``, ``chats``, ``forum``: the method handlers;
- ``model``: messages, buttons, groups, topics and the record of calls (``ApiCall``, ``Exchange``);
- ``html``: Telegram's HTML into text and entities; ``checks``: what Telegram accepts;
  ``params``: request parameters decoded; ``errors``: Telegram's error answers;
- ``render``: a message as plain text (``voterbot chat``).

Import from ``bot.devtools.fake_api``: the names below are its public API.
"""

from .checks import MAX_CAPTION, MAX_TEXT, load_methods
from .errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request
from .html import HtmlParseError, parse_html, utf16_len
from .model import (
    JSON,
    ApiCall,
    Button,
    Exchange,
    FakeDocument,
    FakeGroup,
    FakeMessage,
    FakeTopic,
    Stats,
    UploadedFile,
    photo_size,
)
from .render import render
from .server import SENDING_METHODS, FakeTelegram
from .users import FakeUser

__all__ = [
    "JSON",
    "MAX_CAPTION",
    "MAX_TEXT",
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "SENDING_METHODS",
    "ApiCall",
    "ApiError",
    "Button",
    "Exchange",
    "FakeDocument",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegram",
    "FakeTopic",
    "FakeUser",
    "HtmlParseError",
    "Stats",
    "UploadedFile",
    "bad_request",
    "load_methods",
    "parse_html",
    "photo_size",
    "render",
    "utf16_len",
]
