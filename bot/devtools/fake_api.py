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
"""

# ruff: noqa: ASYNC109  # timeouts are part of the public test API (like asyncio.wait_for)
from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import math
import mimetypes
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from aiohttp import web
from multidict import MultiDictProxy

__all__ = [
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
    "load_methods",
    "parse_html",
    "render",
]

JSON = dict[str, Any]

SENDING_METHODS = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "copyMessage",
        "sendPhoto",
        "sendDocument",
        "sendVenue",
        "sendLocation",
        "sendVideo",
        "sendAnimation",
        "sendAudio",
        "sendVoice",
        "sendMediaGroup",
    )
)

# Parameters whose values are free text: never JSON/number-decoded even if they look like JSON.
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "title",
        "address",
        "description",
        "short_description",
        "name",
        "query",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "secret_token",
        "url",
        "language_code",
        "callback_query_id",
        "inline_query_id",
        "file_id",
        "inline_message_id",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "business_connection_id",
        "message_effect_id",
        "parse_mode",
        "caption_entities_text",
        "phone_number",
        "first_name",
        "last_name",
    }
)

_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "web_app",
    "login_url",
    "pay",
    "callback_game",
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

MAX_TEXT = 4096
MAX_CAPTION = 1024


def load_methods() -> JSON:
    """Load the Bot API method metadata shipped with the package."""
    text = resources.files("bot.devtools").joinpath("bot_api_methods.json").read_text(encoding="utf-8")
    data: JSON = json.loads(text)
    return data


# --------------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered to the bot exactly as Telegram would."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's reason text."""


# --------------------------------------------------------------------------------------------------
# Telegram HTML parsing
# --------------------------------------------------------------------------------------------------

_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z][a-zA-Z0-9]{0,31});")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_:][a-zA-Z0-9_:.-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    tag: str
    entity: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int]:
    """Decode an ``&...;`` reference at ``src[i]``; returns (text, next index)."""
    m = _ENTITY_RE.match(src, i)
    if m is None:
        return "&", i + 1
    body = m.group(1)
    if body.startswith("#"):
        try:
            code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        except ValueError as exc:  # pragma: no cover - regex guarantees digits
            raise HtmlParseError(f"Invalid character entity at byte offset {_byte_offset(src, i)}") from exc
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlParseError(f"Invalid character entity at byte offset {_byte_offset(src, i)}")
        return chr(code), m.end()
    name = body.lower()
    if name not in _NAMED_ENTITIES:
        raise HtmlParseError(f'Unknown entity "&{body};" at byte offset {_byte_offset(src, i)}')
    return _NAMED_ENTITIES[name], m.end()


def _decode_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            piece, i = _decode_entity(value, i)
            out.append(piece)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Raises :class:`HtmlParseError` with a Telegram-like reason on invalid markup.
    """
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            piece, i = _decode_entity(src, i)
            out.append(piece)
            pos16 += utf16_len(piece)
            continue
        if ch != "<":
            j = i
            while j < n and src[j] not in "<&":
                j += 1
            piece = src[i:j]
            out.append(piece)
            pos16 += utf16_len(piece)
            i = j
            continue
        offset = _byte_offset(src, i)
        if src.startswith("</", i):
            end = src.find(">", i)
            if end == -1:
                raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
            top = stack[-1]
            if name != top.tag:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{name}>"'
                )
            stack.pop()
            i = end + 1
            length = pos16 - top.start
            if top.tag == "code" and stack and stack[-1].tag == "pre":
                cls = top.attrs.get("class", "")
                if cls.startswith("language-") and len(cls) > len("language-"):
                    stack[-1].language = cls[len("language-") :]
                    continue
            if length <= 0:
                continue
            entity: JSON = {"type": top.entity, "offset": top.start, "length": length}
            if top.entity == "text_link":
                entity["url"] = top.attrs["href"]
            elif top.entity == "custom_emoji":
                entity["custom_emoji_id"] = top.attrs["emoji-id"]
            elif top.entity == "pre" and top.language:
                entity["language"] = top.language
            elif top.entity == "blockquote" and "expandable" in top.attrs:
                entity["type"] = "expandable_blockquote"
            entities.append(entity)
            continue
        m = _TAG_NAME_RE.match(src, i + 1)
        if m is None:
            raise HtmlParseError(f'Unsupported start tag "" at byte offset {offset}')
        name = m.group(0).lower()
        if name not in _TAG_ENTITY:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
            if src[j] == ">":
                j += 1
                break
            am = _ATTR_RE.match(src, j)
            if am is None or am.end() == j:
                raise HtmlParseError(f'Unexpected character in tag "{name}" at byte offset {offset}')
            raw = am.group(2)
            value = "" if raw is None else raw[1:-1] if raw[0] in "\"'" else raw
            attrs[am.group(1).lower()] = _decode_attr(value)
            j = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "a" and not attrs.get("href"):
            raise HtmlParseError(f'Tag "a" must have attribute "href" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        stack.append(_OpenTag(tag=name, entity=_TAG_ENTITY[name], start=pos16, attrs=attrs))
        i = j
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


@functools.lru_cache(maxsize=256)
def _parse_html_cached(src: str) -> tuple[str, list[JSON]]:
    """:func:`parse_html` remembered: a broadcast sends the same text thousands of times. Callers
    copy the entities (the cached list is never handed out); errors are not cached."""
    return parse_html(src)


# --------------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """A file known to the fake (uploaded by the bot or sent by a user)."""

    file_id: str
    file_unique_id: str
    filename: str | None
    content: bytes
    mime_type: str | None
    file_path: str

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class FakeDocument:
    filename: str | None
    content: bytes
    mime_type: str | None
    file_id: str


@dataclass
class Button:
    """One inline keyboard button (the raw dict is in ``data``)."""

    text: str
    data: JSON
    row: int
    col: int

    @property
    def callback_data(self) -> str | None:
        value = self.data.get("callback_data")
        return None if value is None else str(value)

    @property
    def url(self) -> str | None:
        value = self.data.get("url")
        return None if value is None else str(value)


@dataclass
class FakeMessage:
    message_id: int
    chat_id: int
    date: int
    from_bot: bool
    chat: JSON = field(repr=False, default_factory=dict)
    sender: JSON = field(repr=False, default_factory=dict)
    text: str | None = None
    html: str | None = None
    caption: str | None = None
    entities: list[JSON] = field(default_factory=list)
    reply_markup: JSON | None = None
    document: FakeDocument | None = None
    photo: UploadedFile | None = None
    video: UploadedFile | None = None
    venue: JSON | None = None
    location: JSON | None = None
    extra: JSON = field(default_factory=dict)
    edited: bool = False
    deleted: bool = False
    edit_date: int | None = None

    @property
    def buttons(self) -> list[list[Button]]:
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or []
        return [
            [Button(text=str(b.get("text", "")), data=b, row=r, col=c) for c, b in enumerate(row)]
            for r, row in enumerate(rows)
        ]

    @property
    def flat_buttons(self) -> list[Button]:
        return [b for row in self.buttons for b in row]

    @property
    def content(self) -> str:
        """Text or caption (plain)."""
        return self.text if self.text is not None else (self.caption or "")

    def to_dict(self) -> JSON:
        """The Bot API ``Message`` object."""
        data: JSON = {"message_id": self.message_id, "date": self.date, "chat": dict(self.chat)}
        if self.sender:
            data["from"] = dict(self.sender)
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = list(self.entities)
        if self.caption is not None:
            data["caption"] = self.caption
            if self.entities:
                data["caption_entities"] = list(self.entities)
        if self.document is not None:
            doc: JSON = {"file_id": self.document.file_id, "file_unique_id": self.document.file_id[-16:]}
            if self.document.filename:
                doc["file_name"] = self.document.filename
            if self.document.mime_type:
                doc["mime_type"] = self.document.mime_type
            doc["file_size"] = len(self.document.content)
            data["document"] = doc
        if self.photo is not None:
            width, height = photo_size(self.photo.content) or (1280, 720)
            data["photo"] = [
                {
                    "file_id": self.photo.file_id,
                    "file_unique_id": self.photo.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": self.photo.size,
                }
            ]
        if self.video is not None:
            data["video"] = {
                "file_id": self.video.file_id,
                "file_unique_id": self.video.file_unique_id,
                "width": 1280,
                "height": 720,
                "duration": 10,
                "file_size": self.video.size,
            }
        if self.venue is not None:
            data["venue"] = dict(self.venue)
            data["location"] = dict(self.venue["location"])
        elif self.location is not None:
            data["location"] = dict(self.location)
        data.update(self.extra)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = {"inline_keyboard": self.reply_markup["inline_keyboard"]}
        return data


@dataclass
class ApiCall:
    method: str
    params: JSON
    timestamp: float
    status: int = 200
    response: JSON = field(default_factory=dict)
    created: list[FakeMessage] = field(default_factory=list, repr=False)
    edited: list[FakeMessage] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        value = self.response.get("description")
        return None if value is None else str(value)


@dataclass
class Stats:
    sent: int = 0
    rejected_429: int = 0  # every 429, overall and per chat
    rejected_429_chat: int = 0  # of which for one chat's own limit (or during its pause)
    violations_after_429: int = 0  # requests made while a pause that covered them was running
    per_method: Counter[str] = field(default_factory=Counter)


@dataclass
class Exchange:
    """What the bot did while processing one update."""

    update_id: int
    chat_id: int | None
    calls: list[ApiCall]
    replies: list[FakeMessage]
    edits: list[FakeMessage]
    callback_answer: JSON | None = None
    inline_results: list[JSON] | None = None
    deleted: list[FakeMessage] = field(default_factory=list)

    @property
    def documents(self) -> list[FakeDocument]:
        return [m.document for m in self.replies if m.document is not None]

    @property
    def text(self) -> str:
        return "\n---\n".join(m.content for m in self.replies)

    @property
    def last(self) -> FakeMessage | None:
        candidates = self.replies + self.edits
        if not candidates:
            return None
        # The most recently touched message: replies/edits come from calls in order.
        order: dict[int, int] = {}
        for idx, call in enumerate(self.calls):
            for m in call.created + call.edited:
                order[id(m)] = idx
        return max(candidates, key=lambda m: order.get(id(m), -1))

    @property
    def errors(self) -> list[ApiCall]:
        return [c for c in self.calls if not c.ok]


@dataclass
class _UserState:
    user_id: int
    first_name: str
    last_name: str | None
    username: str | None
    language_code: str | None
    blocked: bool = False
    deactivated: bool = False
    has_chat: bool = False

    def to_user(self) -> JSON:
        data: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def to_chat(self) -> JSON:
        data: JSON = {"id": self.user_id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


TOPIC_ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
MAX_TOPIC_NAME = 128


@dataclass
class FakeTopic:
    """A forum topic: its id is the id of the service message that created it (as in Telegram)."""

    thread_id: int
    name: str
    icon_color: int
    closed: bool = False


@dataclass
class FakeGroup:
    fake: FakeTelegram = field(repr=False)
    chat_id: int
    title: str
    type: Literal["group", "supergroup"]
    members: set[int] = field(default_factory=set)
    is_forum: bool = False
    bot_status: Literal["member", "administrator", "left"] = "member"
    bot_can_manage_topics: bool = False
    topics: dict[int, FakeTopic] = field(default_factory=dict)

    def to_chat(self) -> JSON:
        chat: JSON = {"id": self.chat_id, "type": self.type, "title": self.title}
        if self.is_forum:
            chat["is_forum"] = True
        return chat

    def messages(self) -> list[FakeMessage]:
        return self.fake.chat_messages(self.chat_id)

    def topic_messages(self, thread_id: int) -> list[FakeMessage]:
        """Messages posted in one topic (the service message that created it excluded)."""
        return [
            m
            for m in self.messages()
            if m.extra.get("message_thread_id") == thread_id and "forum_topic_created" not in m.extra
        ]

    def topic_by_name(self, prefix: str) -> FakeTopic:
        found = [t for t in self.topics.values() if t.name.startswith(prefix)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} topics start with {prefix!r}: {[t.name for t in self.topics.values()]}")
        return found[0]


# --------------------------------------------------------------------------------------------------
# Users (the test side)
# --------------------------------------------------------------------------------------------------


class FakeUser:
    """A user acting on the bot; ``in_group`` gives the same user writing in a group."""

    def __init__(
        self, fake: FakeTelegram, state: _UserState, group: FakeGroup | None = None, thread_id: int | None = None
    ) -> None:
        self.fake = fake
        self._state = state
        self.group = group
        self.thread_id = thread_id

    @property
    def id(self) -> int:
        return self._state.user_id

    @property
    def chat_id(self) -> int:
        return self.group.chat_id if self.group is not None else self._state.user_id

    @property
    def language_code(self) -> str | None:
        return self._state.language_code

    @language_code.setter
    def language_code(self, value: str | None) -> None:
        self._state.language_code = value

    @property
    def blocked(self) -> bool:
        return self._state.blocked

    def open_chat(self) -> FakeUser:
        """Mark the private chat as known (as if the user wrote earlier) without sending an update."""
        self._state.has_chat = True
        return self

    def in_group(self, group: FakeGroup) -> FakeUser:
        group.members.add(self.id)
        return FakeUser(self.fake, self._state, group)

    def in_topic(self, group: FakeGroup, thread_id: int) -> FakeUser:
        """The same user writing in a topic of a forum supergroup (``message_thread_id`` on messages)."""
        if not group.is_forum or thread_id not in group.topics:
            raise LookupError(f"chat {group.chat_id} has no topic {thread_id}")
        group.members.add(self.id)
        return FakeUser(self.fake, self._state, group, thread_id)

    def messages(self) -> list[FakeMessage]:
        return self.fake.chat_messages(self.chat_id)

    def bot_messages(self) -> list[FakeMessage]:
        return [m for m in self.messages() if m.from_bot and not m.deleted]

    def last_bot_message(self) -> FakeMessage:
        msgs = self.bot_messages()
        if not msgs:
            raise LookupError(f"the bot has no messages in chat {self.chat_id}")
        return msgs[-1]

    def _chat(self) -> JSON:
        return self.group.to_chat() if self.group is not None else self._state.to_chat()

    async def _send_message(self, timeout: float | None = None, **content: Any) -> Exchange:
        if self.thread_id is not None and self.group is not None:
            self.fake._into_topic(content, self.group, self.thread_id)
        msg = self.fake._add_user_message(self._state, self.chat_id, self._chat(), content)
        return await self.fake._submit({"message": msg.to_dict()}, self.chat_id, self._state, timeout)

    @staticmethod
    def _text_content(text: str) -> JSON:
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        return content

    async def send(self, text: str, timeout: float | None = None) -> Exchange:
        return await self._send_message(timeout, **self._text_content(text))

    async def post(self, text: str) -> int:
        """Send ``text`` without waiting for the bot (a burst); returns the update id."""
        self._state.has_chat = True
        msg = self.fake._add_user_message(self._state, self.chat_id, self._chat(), self._text_content(text))
        return await self.fake.push_update({"message": msg.to_dict()})

    async def reply(self, to: FakeMessage, text: str, timeout: float | None = None) -> Exchange:
        """A text message replying to ``to`` (in the same chat, and topic if any)."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        if self.thread_id is not None and self.group is not None:
            self.fake._into_topic(content, self.group, self.thread_id)
        content["reply_to_message"] = to.to_dict()
        msg = self.fake._add_user_message(self._state, self.chat_id, self._chat(), content)
        return await self.fake._submit({"message": msg.to_dict()}, self.chat_id, self._state, timeout)

    async def close_topic(self, timeout: float | None = None) -> Exchange:
        """An administrator closes the topic they are in from Telegram's interface (a service message)."""
        if self.group is None or self.thread_id is None:
            raise LookupError("close_topic needs a user in a topic (in_topic)")
        self.group.topics[self.thread_id].closed = True
        return await self._send_message(timeout, forum_topic_closed={})

    async def send_sticker(self, emoji: str = "👍") -> Exchange:
        sticker = {
            **self.fake._file_stub("sticker"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return await self._send_message(sticker=sticker)

    async def send_photo(self, caption: str | None = None) -> Exchange:
        photo = [{**self.fake._file_stub("photo"), "width": 800, "height": 600}]
        content: JSON = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return await self._send_message(**content)

    async def send_voice(self, duration: int = 3) -> Exchange:
        voice = {**self.fake._file_stub("voice"), "duration": duration, "mime_type": "audio/ogg"}
        return await self._send_message(voice=voice)

    async def send_video(self, caption: str | None = None) -> Exchange:
        video = {**self.fake._file_stub("video"), "width": 640, "height": 360, "duration": 5}
        content: JSON = {"video": video}
        if caption is not None:
            content["caption"] = caption
        return await self._send_message(**content)

    async def send_animation(self) -> Exchange:
        animation = {**self.fake._file_stub("animation"), "width": 320, "height": 240, "duration": 2}
        return await self._send_message(animation=animation, document=dict(animation))

    async def send_location(self, latitude: float, longitude: float) -> Exchange:
        return await self._send_message(location={"latitude": latitude, "longitude": longitude})

    async def send_contact(self, phone_number: str, first_name: str) -> Exchange:
        contact = {"phone_number": phone_number, "first_name": first_name, "user_id": self.id}
        return await self._send_message(contact=contact)

    async def send_document(
        self, filename: str, content: bytes, mime_type: str | None = None, caption: str | None = None
    ) -> Exchange:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        uploaded = self.fake._store_file(content, filename, mime)
        doc = {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_name": filename,
            "mime_type": mime,
            "file_size": len(content),
        }
        payload: JSON = {"document": doc}
        if caption is not None:
            payload["caption"] = caption
        return await self._send_message(**payload)

    async def send_poll(self, question: str = "Poll?", options: tuple[str, ...] = ("Yes", "No")) -> Exchange:
        poll = {
            "id": str(self.fake._next_id()),
            "question": question,
            "options": [{"text": o, "voter_count": 0, "persistent_id": str(i)} for i, o in enumerate(options)],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            # newer Bot API fields that aiogram 3.31 requires
            "allows_revoting": False,
            "members_only": False,
        }
        origin = {"type": "hidden_user", "date": int(time.time()) - 60, "sender_user_name": "Someone"}
        return await self._send_message(poll=poll, forward_origin=origin)

    def _find_button(self, message: FakeMessage, which: str | int | tuple[int, int]) -> Button:
        rows = message.buttons
        if not rows:
            raise LookupError(f"message {message.message_id} has no inline keyboard")
        if isinstance(which, tuple):
            return rows[which[0]][which[1]]
        flat = message.flat_buttons
        if isinstance(which, int):
            return flat[which]
        exact = [b for b in flat if b.text == which]
        if exact:
            return exact[0]
        partial = [b for b in flat if which in b.text]
        if len(partial) == 1:
            return partial[0]
        names = [b.text for b in flat]
        if not partial:
            raise LookupError(f"no button {which!r} in message {message.message_id}: {names}")
        raise LookupError(f"button {which!r} is ambiguous in message {message.message_id}: {names}")

    async def press(
        self, message: FakeMessage, which: str | int | tuple[int, int], timeout: float | None = None
    ) -> Exchange:
        button = self._find_button(message, which)
        if button.callback_data is None:
            raise LookupError(f"button {button.text!r} has no callback_data: {button.data}")
        return await self._callback(message.to_dict(), button.callback_data, timeout)

    async def press_data(self, message_id: int, data: str, timeout: float | None = None) -> Exchange:
        msg = self.fake._find_message(self.chat_id, message_id)
        payload = (
            msg.to_dict()
            if msg is not None
            else {"message_id": message_id, "date": 0, "chat": self._chat()}  # inaccessible message
        )
        return await self._callback(payload, data, timeout)

    async def post_press(self, message: FakeMessage, which: str | int | tuple[int, int]) -> str:
        """Press a button without waiting for the bot; returns the callback query id."""
        button = self._find_button(message, which)
        if button.callback_data is None:
            raise LookupError(f"button {button.text!r} has no callback_data: {button.data}")
        self._state.has_chat = True
        query = self._callback_query(message.to_dict(), button.callback_data)
        await self.fake.push_update({"callback_query": query})
        return str(query["id"])

    def _callback_query(self, message: JSON, data: str) -> JSON:
        query_id = str(self.fake._next_id() * 1000003 + self.id % 1000)
        self.fake._open_callbacks[query_id] = time.monotonic()
        return {
            "id": query_id,
            "from": self._state.to_user(),
            "message": message,
            "chat_instance": str(abs(hash((self.chat_id, self.fake.bot_id))) % 10**18),
            "data": data,
        }

    async def _callback(self, message: JSON, data: str, timeout: float | None) -> Exchange:
        query = self._callback_query(message, data)
        return await self.fake._submit({"callback_query": query}, self.chat_id, self._state, timeout)

    async def inline(self, query: str, offset: str = "", timeout: float | None = None) -> Exchange:
        query_id = str(self.fake._next_id() * 7919 + 17)
        self.fake._open_inline[query_id] = None
        payload: JSON = {"id": query_id, "from": self._state.to_user(), "query": query, "offset": offset}
        payload["chat_type"] = "sender" if self.group is None else self.group.type
        exchange = await self.fake._submit({"inline_query": payload}, None, self._state, timeout)
        exchange.inline_results = self.fake.inline_answers.get(query_id, {}).get("results")
        return exchange

    def _member_update(self, old: str, new: str) -> JSON:
        bot_user = self.fake.bot_user()
        new_member: JSON = {"status": new, "user": bot_user}
        old_member: JSON = {"status": old, "user": bot_user}
        for member in (new_member, old_member):
            if member["status"] == "kicked":
                member["until_date"] = 0
        return {
            "my_chat_member": {
                "chat": self._state.to_chat(),
                "from": self._state.to_user(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            }
        }

    async def block(self, timeout: float | None = None) -> Exchange:
        self._state.blocked = True
        return await self.fake._submit(self._member_update("member", "kicked"), self.id, self._state, timeout)

    async def unblock(self, timeout: float | None = None) -> Exchange:
        self._state.blocked = False
        return await self.fake._submit(self._member_update("kicked", "member"), self.id, self._state, timeout)

    def deactivate(self) -> None:
        self._state.deactivated = True


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------

Handler = Callable[["_Request"], Awaitable[Any]]


@dataclass
class _Request:
    method: str
    params: JSON
    files: dict[str, UploadedFile]
    call: ApiCall


_SERVICE_FIELDS = ("forum_topic_created", "forum_topic_closed", "forum_topic_reopened", "forum_topic_edited")
# what a copy does not inherit from its source: the place in the source chat, and the origin
_NOT_COPIED = frozenset({"reply_to_message", "forward_origin", "message_thread_id", "is_topic_message"})


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} is invalid")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise bad_request(f"{name} is invalid") from exc


def _as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"{name} is invalid") from exc


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _decode_value(key: str, value: str) -> Any:
    if key in _TEXT_PARAMS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(stripped)
        return value
    if stripped in ("true", "false"):
        return stripped == "true"
    if re.fullmatch(r"-?\d{1,19}", stripped):
        return int(stripped)
    return value


def _valid_url(url: str) -> str | None:
    """None when ``url`` is acceptable for a button, else the reason."""
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.*)$", url)
    if m is None:
        return "Wrong HTTP URL"
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in ("http", "https", "tg"):
        return "Unsupported URL protocol"
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not host or " " in url:
        return "Wrong HTTP URL"
    if scheme != "tg" and "." not in host and host.split(":")[0] != "localhost":
        return "Wrong HTTP URL"
    return None


_INLINE_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    # Each inner tuple is "one of these keys"; all inner tuples are required.
    "article": (("title",), ("input_message_content",)),
    "photo": (("photo_url", "photo_file_id"),),
    "gif": (("gif_url", "gif_file_id"),),
    "mpeg4_gif": (("mpeg4_gif_url", "mpeg4_file_id"),),
    "video": (("video_url", "video_file_id"), ("title",)),
    "audio": (("audio_url", "audio_file_id"),),
    "voice": (("voice_url", "voice_file_id"), ("title",)),
    "document": (("document_url", "document_file_id"), ("title",)),
    "location": (("latitude",), ("longitude",), ("title",)),
    "venue": (("latitude",), ("longitude",), ("title",), ("address",)),
    "contact": (("phone_number",), ("first_name",)),
    "game": (("game_short_name",),),
    "sticker": (("sticker_file_id",),),
}


class FakeTelegram:
    """State and HTTP server of the fake Bot API."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "voter_test_bot",
        bot_name: str = "Voter Bot",
        rate_limit: float | None = None,
        retry_after: int = 1,
        paid_rate_limit: float = 1000.0,
        default_timeout: float = 10.0,
        chat_rate_limit: float | None = None,
        group_rate_limit: float | None = None,
        callback_timeout: float | None = None,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.paid_rate_limit = paid_rate_limit
        self.default_timeout = default_timeout
        self.chat_rate_limit = chat_rate_limit  # messages per second to one private chat
        self.group_rate_limit = group_rate_limit  # messages per minute to one group
        self.callback_timeout = callback_timeout  # seconds to answer a button press

        meta = load_methods()
        self.api_version: str = str(meta.get("version", ""))
        self.methods: dict[str, JSON] = meta["methods"]
        self._method_names = {name.lower(): name for name in self.methods}

        self.calls: list[ApiCall] = []
        self.stats = Stats()
        self.webhook: JSON = {"url": ""}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.inline_answers: dict[str, JSON] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.files: dict[str, UploadedFile] = {}

        self._users: dict[int, _UserState] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._messages: dict[int, list[FakeMessage]] = {}
        self._message_ids: dict[int, int] = {}
        self._open_callbacks: dict[str, float] = {}  # query id -> when it was pressed
        self._open_inline: dict[str, None] = {}
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._confirmed = 0
        self._confirm_index: dict[int, int] = {}
        self._skipped: set[int] = set()
        self._allowed_updates: list[str] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._send_times: deque[float] = deque()
        self._retry_until: float | None = None
        self._chat_send_times: dict[Any, deque[float]] = {}
        self._chat_retry_until: dict[Any, float] = {}
        self._cond = asyncio.Condition()
        self._closing = False
        self.get_updates_requests = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._host = "127.0.0.1"

        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": self._set_my_description,
            "setmyshortdescription": self._set_my_short_description,
            "setchatmenubutton": self._set_chat_menu_button,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "senddocument": self._send_document,
            "sendphoto": self._send_photo,
            "sendvideo": self._send_video,
            "sendvenue": self._send_venue,
            "sendlocation": self._send_location,
            "copymessage": self._copy_message,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "createforumtopic": self._create_forum_topic,
            "editforumtopic": self._edit_forum_topic,
            "closeforumtopic": self._close_forum_topic,
            "reopenforumtopic": self._reopen_forum_topic,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1]) if sockets else port
        self._host = host
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://{self._host}:{self._port}"

    # ---------------------------------------------------------------- test-side API

    def bot_user(self) -> JSON:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "ru",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        state = self._users.get(user_id)
        if state is None:
            state = _UserState(user_id, first_name, last_name, username, language_code)
            self._users[user_id] = state
        return FakeUser(self, state)

    def group(self, chat_id: int, title: str = "Group", type: Literal["group", "supergroup"] = "group") -> FakeGroup:
        grp = self._groups.get(chat_id)
        if grp is None:
            grp = FakeGroup(self, chat_id, title, type)
            self._groups[chat_id] = grp
        return grp

    def forum(
        self,
        chat_id: int,
        title: str = "Operators",
        *,
        is_forum: bool = True,
        bot_admin: bool = True,
        can_manage_topics: bool = True,
    ) -> FakeGroup:
        """A supergroup with topics on (``is_forum``) where the bot is an administrator that may
        manage topics; each flag off gives the misconfigurations Telegram allows."""
        grp = self.group(chat_id, title, "supergroup")
        grp.is_forum = is_forum
        grp.bot_status = "administrator" if bot_admin else "member"
        grp.bot_can_manage_topics = bot_admin and can_manage_topics
        return grp

    def chat_messages(self, chat_id: int) -> list[FakeMessage]:
        return list(self._messages.get(chat_id, []))

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        return [m for m in self._messages.get(chat_id, []) if m.from_bot and not m.deleted]

    def unanswered_callback_queries(self) -> list[str]:
        return list(self._open_callbacks)

    def calls_of(self, method: str) -> list[ApiCall]:
        name = method.lower()
        return [c for c in self.calls if c.method.lower() == name]

    def errors(self) -> list[ApiCall]:
        return [c for c in self.calls if not c.ok]

    def add_file(self, content: bytes, filename: str | None = None, mime_type: str | None = None) -> str:
        """Register a file the bot may reference by file_id; returns the file_id."""
        return self._store_file(content, filename, mime_type).file_id

    @property
    def pending_updates(self) -> int:
        return len(self._pending)

    @property
    def last_confirmed_update(self) -> int:
        return self._confirmed

    async def wait_processed(self, update_id: int, timeout: float = 10) -> None:
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(lambda: self._confirmed >= update_id or update_id in self._skipped)
        except TimeoutError:
            raise TimeoutError(
                f"update {update_id} was not confirmed by the bot within {timeout}s "
                f"(last confirmed update: {self._confirmed}, pending: {len(self._pending)}); "
                "is the bot polling this fake server with handle_as_tasks=False?"
            ) from None

    async def wait_polling(self, timeout: float = 10) -> None:
        """Wait until the bot has started long polling (its first getUpdates request arrived)."""
        await self.wait_for(lambda: self.get_updates_requests > 0, timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until ``predicate()`` holds; re-checked after each API call the bot makes."""
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(predicate)
        except TimeoutError:
            last = self.calls[-1].method if self.calls else None
            raise TimeoutError(
                f"condition {getattr(predicate, '__name__', predicate)!r} not met within {timeout}s "
                f"({len(self.calls)} API calls so far, last: {last})"
            ) from None

    async def push_update(self, payload: JSON) -> int:
        """Enqueue a raw update (without update_id); returns its update_id."""
        update_id = next(self._update_ids)
        self._pending.append({"update_id": update_id, **payload})
        await self._notify()
        return update_id

    # ---------------------------------------------------------------- internals used by users

    def _next_id(self) -> int:
        return next(self._ids)

    def _store_file(self, content: bytes, filename: str | None, mime_type: str | None) -> UploadedFile:
        n = self._next_id()
        file_id = f"BQACAgIAAxk{n:06d}{secrets.token_hex(8)}"
        unique = f"AgAD{n:06d}{secrets.token_hex(3)}"
        ext = ""
        if filename and "." in filename:
            ext = filename.rsplit(".", 1)[1]
        path = f"documents/file_{n}.{ext}" if ext else f"documents/file_{n}"
        uploaded = UploadedFile(file_id, unique, filename, content, mime_type, path)
        self.files[file_id] = uploaded
        return uploaded

    def _file_stub(self, kind: str) -> JSON:
        uploaded = self._store_file(f"<{kind}>".encode(), None, None)
        return {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
        }

    def _new_message_id(self, chat_id: int) -> int:
        value = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = value
        return value

    def _add_user_message(self, state: _UserState, chat_id: int, chat: JSON, content: JSON) -> FakeMessage:
        state.has_chat = True
        msg = FakeMessage(
            message_id=self._new_message_id(chat_id),
            chat_id=chat_id,
            date=int(time.time()),
            from_bot=False,
            chat=chat,
            sender=state.to_user(),
        )
        text = content.pop("text", None)
        caption = content.pop("caption", None)
        entities = content.pop("entities", None)
        msg.text = text
        msg.caption = caption
        msg.entities = list(entities or [])
        msg.extra = content
        self._messages.setdefault(chat_id, []).append(msg)
        return msg

    def _into_topic(self, content: JSON, group: FakeGroup, thread_id: int) -> None:
        """Mark a message as posted in a topic: like Telegram, a message that replies to nothing
        else replies to the service message that created the topic."""
        content["message_thread_id"] = thread_id
        content["is_topic_message"] = True
        created = self._find_message(group.chat_id, thread_id)
        if created is not None and "reply_to_message" not in content:
            content["reply_to_message"] = created.to_dict()

    def _find_message(self, chat_id: int, message_id: int) -> FakeMessage | None:
        for msg in self._messages.get(chat_id, []):
            if msg.message_id == message_id and not msg.deleted:
                return msg
        return None

    async def _submit(self, payload: JSON, chat_id: int | None, state: _UserState, timeout: float | None) -> Exchange:
        state.has_chat = True
        start = len(self.calls)
        update_id = await self.push_update(payload)
        await self.wait_processed(update_id, self.default_timeout if timeout is None else timeout)
        end = self._confirm_index.get(update_id, len(self.calls))
        calls = [c for c in self.calls[start:end] if c.method.lower() != "getupdates"]
        replies = [m for c in calls for m in c.created if chat_id is None or m.chat_id == chat_id]
        edits: list[FakeMessage] = []
        for c in calls:
            for m in c.edited:
                if m not in edits and not m.deleted:
                    edits.append(m)
        deleted = [m for c in calls if c.ok and c.method.lower() == "deletemessage" for m in c.edited if m.deleted]
        answer = None
        cq = payload.get("callback_query")
        if cq is not None:
            answer = self.callback_answers.get(cq["id"])
        return Exchange(
            update_id=update_id,
            chat_id=chat_id,
            calls=calls,
            replies=replies,
            edits=edits,
            callback_answer=answer,
            deleted=deleted,
        )

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ---------------------------------------------------------------- HTTP

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        for key, value in request.query.items():
            params[key] = _decode_value(key, value)
        if request.method != "POST" or not request.can_read_body:
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params, files
        form: MultiDictProxy[Any] = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                mime = value.content_type
                if not mime or mime == "application/octet-stream":
                    mime = mimetypes.guess_type(value.filename)[0] or mime
                files[key] = self._store_file(content, value.filename, mime)
            else:
                params[key] = _decode_value(key, str(value))
        return params, files

    async def _handle_api(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        params, files = await self._read_params(request)
        call = ApiCall(method=raw_method, params=params, timestamp=time.monotonic())
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            name = raw_method.lower()
            canonical = self._method_names.get(name)
            if canonical is None:
                raise ApiError(404, "Not Found")
            call.method = canonical
            self.stats.per_method[canonical] += 1
            meta = self.methods[canonical]
            for req in meta.get("required", []):
                value = params.get(req)
                if value is None or value == "":
                    if name == "sendmessage" and req == "text":
                        raise bad_request("message text is empty")
                    raise bad_request(f"{req} is required")
            handler = self._handlers.get(name)
            if handler is None:
                raise bad_request(f"fake server does not model {canonical}")
            if name in SENDING_METHODS:
                self._check_rate(params)
            result = await handler(_Request(canonical, params, files, call))
            if name in SENDING_METHODS:
                self.stats.sent += 1
                now = time.monotonic()
                self._send_times.append(now)
                if self.chat_rate_limit is not None or self.group_rate_limit is not None:
                    self._chat_send_times.setdefault(params.get("chat_id"), deque()).append(now)
            call.status = 200
            call.response = {"ok": True, "result": result}
        except ApiError as exc:
            call.status = exc.status
            call.response = exc.body()
            if exc.status == 429:
                self.stats.rejected_429 += 1
        self.calls.append(call)
        await self._notify()
        return web.json_response(call.response, status=call.status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        for uploaded in self.files.values():
            if uploaded.file_path == path:
                return web.Response(
                    body=uploaded.content, content_type=uploaded.mime_type or "application/octet-stream"
                )
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    def _too_many(self, left: float) -> ApiError:
        seconds = max(1, math.ceil(left))
        return ApiError(429, f"Too Many Requests: retry after {seconds}", parameters={"retry_after": seconds})

    def _check_rate(self, params: JSON) -> None:
        now = time.monotonic()
        if self._retry_until is not None and now < self._retry_until:
            self.stats.violations_after_429 += 1
            raise self._too_many(self._retry_until - now)
        chat = params.get("chat_id")
        chat_until = self._chat_retry_until.get(chat)
        if chat_until is not None and now < chat_until:
            self.stats.violations_after_429 += 1
            self.stats.rejected_429_chat += 1
            raise self._too_many(chat_until - now)
        while self._send_times and self._send_times[0] <= now - 1.0:
            self._send_times.popleft()
        paid = _as_bool(params.get("allow_paid_broadcast", False))
        limit = self.paid_rate_limit if paid else self.rate_limit
        if limit is not None and len(self._send_times) >= limit:
            self._retry_until = now + self.retry_after
            raise self._too_many(self.retry_after)
        if paid:
            return
        group = self._is_group(chat)
        chat_limit, window = (self.group_rate_limit, 60.0) if group else (self.chat_rate_limit, 1.0)
        if chat_limit is None:
            return
        times = self._chat_send_times.get(chat)
        while times and times[0] <= now - window:
            times.popleft()
        if times is not None and len(times) >= chat_limit:
            self._chat_retry_until[chat] = now + self.retry_after
            self.stats.rejected_429_chat += 1
            raise self._too_many(self.retry_after)

    def _is_group(self, chat: Any) -> bool:
        if isinstance(chat, str):
            return True
        try:
            return int(chat) in self._groups or int(chat) < 0
        except (TypeError, ValueError):
            return False

    # ---------------------------------------------------------------- validation helpers

    def _chat_for_sending(self, chat_id_value: Any) -> JSON:
        if isinstance(chat_id_value, str) and chat_id_value.startswith("@"):
            for named in self._groups.values():
                if named.title == chat_id_value[1:]:
                    return named.to_chat()
            raise bad_request("chat not found")
        chat_id = _as_int(chat_id_value, "chat_id")
        grp = self._groups.get(chat_id)
        if grp is not None:
            return grp.to_chat()
        state = self._users.get(chat_id)
        if state is None or not state.has_chat:
            raise bad_request("chat not found")
        if state.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state.to_chat()

    @staticmethod
    def _parse_text(text: Any, parse_mode: Any, entities: Any, *, caption: bool) -> tuple[str, list[JSON], str | None]:
        raw = "" if text is None else str(text)
        html: str | None = None
        parsed_entities: list[JSON] = []
        mode = str(parse_mode).lower() if parse_mode else ""
        if mode == "html":
            html = raw
            try:
                raw, cached = _parse_html_cached(raw)
            except HtmlParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
            parsed_entities = [dict(e) for e in cached]
        elif mode:
            raise bad_request(f"fake server does not model parse_mode {parse_mode}")
        elif entities:
            if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
                raise bad_request("can't parse entities JSON object")
            parsed_entities = [dict(e) for e in entities]
        limit = MAX_CAPTION if caption else MAX_TEXT
        if len(raw) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return raw, parsed_entities, html

    @staticmethod
    def _validate_markup(markup: Any) -> JSON | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict):
                        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                    text = button.get("text")
                    if not isinstance(text, str) or not text.strip():
                        raise bad_request("text buttons are unallowed in the inline keyboard")
                    actions = [a for a in _INLINE_BUTTON_ACTIONS if a in button]
                    if not actions:
                        raise bad_request("text buttons are unallowed in the inline keyboard")
                    if len(actions) > 1:
                        raise bad_request(
                            "can't parse inline keyboard button: exactly one of the optional fields must be used"
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        size = len(str(data).encode("utf-8"))
                        if not isinstance(data, str) or not 1 <= size <= 64:
                            raise bad_request("BUTTON_DATA_INVALID")
                    if "url" in button:
                        url = str(button["url"])
                        reason = _valid_url(url)
                        if reason is not None:
                            raise bad_request(f"inline keyboard button URL '{url}' is invalid: {reason}")
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request("can't parse reply keyboard markup JSON object")
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str) or not text:
                        raise bad_request("keyboard button text must be non-empty")
            return markup
        if "remove_keyboard" in markup or "force_reply" in markup:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _bot_message(self, chat: JSON, params: JSON) -> FakeMessage:
        chat_id = int(chat["id"])
        msg = FakeMessage(
            message_id=0,  # assigned by _commit once the request is valid
            chat_id=chat_id,
            date=int(time.time()),
            from_bot=True,
            chat=chat,
            sender=self.bot_user(),
        )
        thread = params.get("message_thread_id")
        if thread is not None:
            grp = self._groups.get(chat_id)
            thread_id = _as_int(thread, "message_thread_id")
            if grp is None or not grp.is_forum:
                raise bad_request("message thread not found")
            topic = grp.topics.get(thread_id)
            if topic is None:
                raise bad_request("message thread not found")
            if topic.closed and not grp.bot_can_manage_topics:
                raise bad_request("TOPIC_CLOSED")
            content: JSON = {}
            reply_to_param = params.get("reply_parameters")
            if isinstance(reply_to_param, dict) and "message_id" in reply_to_param:
                content["reply_to_message"] = None  # set below from reply_parameters
            self._into_topic(content, grp, thread_id)
            if content.get("reply_to_message") is None:
                content.pop("reply_to_message", None)
            msg.extra.update(content)
        reply_to = params.get("reply_parameters")
        if isinstance(reply_to, dict) and "message_id" in reply_to:
            target = self._find_message(chat_id, _as_int(reply_to["message_id"], "message_id"))
            if target is None and not _as_bool(reply_to.get("allow_sending_without_reply", False)):
                raise bad_request("message to be replied not found")
            if target is not None:
                msg.extra["reply_to_message"] = target.to_dict()
        return msg

    def _commit(self, req: _Request, msg: FakeMessage) -> JSON:
        msg.message_id = self._new_message_id(msg.chat_id)
        self._messages.setdefault(msg.chat_id, []).append(msg)
        req.call.created.append(msg)
        return msg.to_dict()

    def _caption_into(self, msg: FakeMessage, params: JSON) -> None:
        if params.get("caption") is not None:
            text, entities, html = self._parse_text(
                params["caption"], params.get("parse_mode"), params.get("caption_entities"), caption=True
            )
            msg.caption, msg.entities, msg.html = text, entities, html

    def _resolve_file(self, value: Any, files: dict[str, UploadedFile], field_name: str) -> UploadedFile:
        if isinstance(value, str) and value.startswith("attach://"):
            uploaded = files.get(value[len("attach://") :])
            if uploaded is None:
                raise bad_request(f'file for field "{field_name}" not found in the request')
            return uploaded
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and re.match(r"^https?://", value):
            name = value.rsplit("/", 1)[-1] or None
            return self._store_file(b"", name, mimetypes.guess_type(value)[0])
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _message_for_edit(self, params: JSON) -> FakeMessage | None:
        if params.get("inline_message_id"):
            return None
        if params.get("chat_id") is None:
            raise bad_request("chat_id is required")
        if params.get("message_id") is None:
            raise bad_request("message_id is required")
        chat_id = _as_int(params["chat_id"], "chat_id")
        if chat_id not in self._groups and chat_id not in self._users:
            raise bad_request("chat not found")
        msg = self._find_message(chat_id, _as_int(params["message_id"], "message_id"))
        if msg is None:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    @staticmethod
    def _mark_edited(req: _Request, msg: FakeMessage) -> JSON:
        msg.edited = True
        msg.edit_date = int(time.time())
        req.call.edited.append(msg)
        return msg.to_dict()

    # ---------------------------------------------------------------- method handlers

    async def _true(self, req: _Request) -> Any:
        return True

    async def _get_me(self, req: _Request) -> Any:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, req: _Request) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = req.params
        self.get_updates_requests += 1
        await self._notify()
        offset = _as_int(params.get("offset", 0), "offset")
        limit = max(1, min(100, _as_int(params.get("limit", 100), "limit")))
        timeout = max(0, _as_int(params.get("timeout", 0), "timeout"))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if isinstance(allowed, list) and allowed else None
        self._drop_disallowed()
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if offset - 1 > self._confirmed:
                for uid in range(self._confirmed + 1, offset):
                    self._confirm_index[uid] = len(self.calls)
                self._confirmed = offset - 1
                await self._notify()
        elif offset < 0:
            self._pending = self._pending[offset:]
        if not self._pending and timeout > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._cond:
                    await self._cond.wait_for(lambda: bool(self._pending) or self._closing)
            self._drop_disallowed()
        return self._pending[:limit]

    def _drop_disallowed(self) -> None:
        """Like Telegram, never deliver update types outside allowed_updates; they count as processed."""
        allowed = self._allowed_updates
        if allowed is None:
            return
        keep: list[JSON] = []
        for update in self._pending:
            if any(key in update for key in allowed):
                keep.append(update)
            else:
                self._skipped.add(update["update_id"])
                self._confirm_index[update["update_id"]] = len(self.calls)
        if len(keep) != len(self._pending):
            self._pending = keep
            self._notify_soon()

    def _notify_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._notify())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _set_webhook(self, req: _Request) -> Any:
        url = str(req.params["url"])
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": req.params.get("secret_token")}
        if _as_bool(req.params.get("drop_pending_updates", False)):
            self._pending.clear()
        return True

    async def _delete_webhook(self, req: _Request) -> Any:
        self.webhook = {"url": ""}
        if _as_bool(req.params.get("drop_pending_updates", False)):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, req: _Request) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, req: _Request) -> Any:
        commands = req.params["commands"]
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise bad_request("can't parse BotCommand")
            name = str(cmd.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(req.params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, req: _Request) -> Any:
        return self.commands.get(self._commands_key(req.params), [])

    async def _delete_my_commands(self, req: _Request) -> Any:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    async def _set_my_description(self, req: _Request) -> Any:
        self.descriptions[str(req.params.get("language_code") or "")] = str(req.params.get("description") or "")
        return True

    async def _set_my_short_description(self, req: _Request) -> Any:
        lang = str(req.params.get("language_code") or "")
        self.short_descriptions[lang] = str(req.params.get("short_description") or "")
        return True

    async def _set_chat_menu_button(self, req: _Request) -> Any:
        chat_id = req.params.get("chat_id")
        key = None if chat_id is None else _as_int(chat_id, "chat_id")
        button = req.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[key] = button if isinstance(button, dict) else {"type": str(button)}
        return True

    async def _send_message(self, req: _Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        text, entities, html = self._parse_text(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._bot_message(chat, params)
        msg.text, msg.entities, msg.html, msg.reply_markup = text, entities, html, markup
        return self._commit(req, msg)

    async def _edit_message_text(self, req: _Request) -> Any:
        params = req.params
        text, entities, html = self._parse_text(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._message_for_edit(params)
        if msg is None:
            return True
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        if msg.text == text and msg.entities == entities and msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.text, msg.entities, msg.html, msg.reply_markup = text, entities, html, markup
        return self._mark_edited(req, msg)

    async def _edit_message_reply_markup(self, req: _Request) -> Any:
        markup = self._validate_markup(req.params.get("reply_markup"))
        msg = self._message_for_edit(req.params)
        if msg is None:
            return True
        if msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.reply_markup = markup
        return self._mark_edited(req, msg)

    async def _edit_message_caption(self, req: _Request) -> Any:
        params = req.params
        caption: str | None = None
        entities: list[JSON] = []
        html: str | None = None
        if params.get("caption") is not None:
            caption, entities, html = self._parse_text(
                params["caption"], params.get("parse_mode"), params.get("caption_entities"), caption=True
            )
        markup = self._validate_markup(params.get("reply_markup"))
        msg = self._message_for_edit(params)
        if msg is None:
            return True
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        if (msg.caption or None) == (caption or None) and msg.entities == entities and msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.caption, msg.entities, msg.html, msg.reply_markup = caption, entities, html, markup
        return self._mark_edited(req, msg)

    async def _delete_message(self, req: _Request) -> Any:
        chat_id = _as_int(req.params["chat_id"], "chat_id")
        if chat_id not in self._groups and chat_id not in self._users:
            raise bad_request("chat not found")
        msg = self._find_message(chat_id, _as_int(req.params["message_id"], "message_id"))
        if msg is None:
            raise bad_request("message to delete not found")
        if not msg.from_bot and chat_id in self._groups:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        req.call.edited.append(msg)
        return True

    async def _answer_callback_query(self, req: _Request) -> Any:
        query_id = str(req.params["callback_query_id"])
        pressed = self._open_callbacks.get(query_id)
        if pressed is None:
            raise bad_request(QUERY_TOO_OLD[len("Bad Request: ") :])
        if self.callback_timeout is not None and time.monotonic() - pressed > self.callback_timeout:
            raise bad_request(QUERY_TOO_OLD[len("Bad Request: ") :])  # too late: it stays unanswered
        text = req.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        url = req.params.get("url")
        if url is not None and not str(url).startswith(f"https://t.me/{self.bot_username}"):
            raise bad_request("URL_INVALID")
        del self._open_callbacks[query_id]
        self.callback_answers[query_id] = dict(req.params)
        return True

    def _validate_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise bad_request("can't parse inline query result JSON object")
        rtype = str(result.get("type", ""))
        if rtype not in _INLINE_REQUIRED:
            raise bad_request(f'RESULT_TYPE_INVALID: unsupported inline query result type "{rtype}"')
        rid = result.get("id")
        if not isinstance(rid, str) or not 1 <= len(rid.encode("utf-8")) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if rid in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(rid)
        for options in _INLINE_REQUIRED[rtype]:
            if not any(result.get(key) not in (None, "") for key in options):
                raise bad_request(f'can\'t parse inline query result: field "{options[0]}" must be non-empty')
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            text, _, _ = self._parse_text(
                content["message_text"], content.get("parse_mode"), content.get("entities"), caption=False
            )
            if not text.strip():
                raise bad_request("MESSAGE_EMPTY")
        if "reply_markup" in result:
            self._validate_markup(result["reply_markup"])

    async def _answer_inline_query(self, req: _Request) -> Any:
        query_id = str(req.params["inline_query_id"])
        if query_id not in self._open_inline:
            raise bad_request(QUERY_TOO_OLD[len("Bad Request: ") :])
        results = req.params["results"]
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._validate_inline_result(result, seen)
        del self._open_inline[query_id]
        self.inline_answers[query_id] = dict(req.params)
        return True

    async def _send_document(self, req: _Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["document"], req.files, "document")
        msg = self._bot_message(chat, req.params)
        msg.document = FakeDocument(uploaded.filename, uploaded.content, uploaded.mime_type, uploaded.file_id)
        self._caption_into(msg, req.params)
        msg.reply_markup = self._validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_photo(self, req: _Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["photo"], req.files, "photo")
        if str(req.params["photo"]).startswith("attach://"):
            _check_photo(uploaded.content)
        msg = self._bot_message(chat, req.params)
        msg.photo = uploaded
        self._caption_into(msg, req.params)
        msg.reply_markup = self._validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_video(self, req: _Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["video"], req.files, "video")
        msg = self._bot_message(chat, req.params)
        msg.video = uploaded
        self._caption_into(msg, req.params)
        msg.reply_markup = self._validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    @staticmethod
    def _location(params: JSON) -> JSON:
        lat = _as_float(params["latitude"], "latitude")
        lon = _as_float(params["longitude"], "longitude")
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise bad_request("wrong latitude or longitude")  # pragma: no cover - trivial
        return {"latitude": lat, "longitude": lon}

    async def _send_venue(self, req: _Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        location = self._location(params)
        title, address = str(params["title"]), str(params["address"])
        if not title.strip() or not address.strip():
            raise bad_request("VENUE_TITLE_EMPTY" if not title.strip() else "VENUE_ADDRESS_EMPTY")
        msg = self._bot_message(chat, params)
        msg.venue = {"location": location, "title": title, "address": address}
        msg.reply_markup = self._validate_markup(params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_location(self, req: _Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        location = self._location(req.params)
        msg = self._bot_message(chat, req.params)
        msg.location = location
        msg.reply_markup = self._validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _copy_message(self, req: _Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        from_chat = _as_int(params["from_chat_id"], "from_chat_id")
        if from_chat not in self._groups and from_chat not in self._users:
            raise bad_request("chat not found")
        source = self._find_message(from_chat, _as_int(params["message_id"], "message_id"))
        if source is None:
            raise bad_request("message to copy not found")
        if "poll" in source.extra and source.extra.get("forward_origin") is None:
            raise bad_request("message can't be copied")
        msg = self._bot_message(chat, params)
        msg.text, msg.entities, msg.html = source.text, list(source.entities), source.html
        msg.caption = source.caption
        msg.document, msg.photo, msg.video = source.document, source.photo, source.video
        msg.venue, msg.location = source.venue, source.location
        if any(key in source.extra for key in _SERVICE_FIELDS):
            raise bad_request("message can't be copied")
        msg.extra.update({k: v for k, v in source.extra.items() if k not in _NOT_COPIED})
        if "caption" in params and msg.text is None:
            self._caption_into(msg, params)
        msg.reply_markup = self._validate_markup(params.get("reply_markup"))
        self._commit(req, msg)
        return {"message_id": msg.message_id}

    async def _send_chat_action(self, req: _Request) -> Any:
        self._chat_for_sending(req.params["chat_id"])
        return True

    async def _get_file(self, req: _Request) -> Any:
        uploaded = self.files.get(str(req.params["file_id"]))
        if uploaded is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
            "file_path": uploaded.file_path,
        }

    def _known_chat(self, value: Any) -> JSON:
        chat_id = _as_int(value, "chat_id")
        grp = self._groups.get(chat_id)
        if grp is not None:
            return grp.to_chat()
        state = self._users.get(chat_id)
        if state is None or not state.has_chat:
            raise bad_request("chat not found")
        return state.to_chat()

    async def _get_chat(self, req: _Request) -> Any:
        chat = self._known_chat(req.params["chat_id"])
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, req: _Request) -> Any:
        chat = self._known_chat(req.params["chat_id"])
        user_id = _as_int(req.params["user_id"], "user_id")
        if user_id == self.bot_id:
            grp_of_bot = self._groups.get(int(chat["id"]))
            if grp_of_bot is not None and grp_of_bot.bot_status == "administrator":
                return self._bot_administrator(grp_of_bot)
            if grp_of_bot is not None and grp_of_bot.bot_status == "left":
                return {"status": "left", "user": self.bot_user()}
            return {"status": "member", "user": self.bot_user()}
        state = self._users.get(user_id)
        if state is None:
            raise bad_request("PARTICIPANT_ID_INVALID")
        grp = self._groups.get(int(chat["id"]))
        if grp is not None:
            status = "member" if user_id in grp.members else "left"
        else:
            if user_id != int(chat["id"]):
                raise bad_request("user not found")
            status = "member"
        return {"status": status, "user": state.to_user()}

    def _bot_administrator(self, grp: FakeGroup) -> JSON:
        """``ChatMemberAdministrator`` of the bot: every required field of the Bot API."""
        rights = {
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": False,
            "can_restrict_members": False,
            "can_promote_members": False,
            "can_change_info": False,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_send_welcome_messages": False,  # a newer Bot API field that aiogram 3.31 requires
            "can_pin_messages": True,
        }
        if grp.type == "supergroup":
            rights["can_manage_topics"] = grp.bot_can_manage_topics
        return {"status": "administrator", "user": self.bot_user(), **rights}

    def _forum_for_topics(self, chat_id_value: Any, action: str) -> FakeGroup:
        """The forum a topic method acts on, checked the way Telegram checks it."""
        chat = self._chat_for_sending(chat_id_value)
        grp = self._groups.get(int(chat["id"]))
        if grp is None or grp.type != "supergroup" or not grp.is_forum:
            raise bad_request("the chat is not a forum")
        if grp.bot_status != "administrator" or not grp.bot_can_manage_topics:
            raise bad_request(f"not enough rights to {action} a topic")
        return grp

    @staticmethod
    def _topic(grp: FakeGroup, params: JSON) -> FakeTopic:
        topic = grp.topics.get(_as_int(params["message_thread_id"], "message_thread_id"))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _service_message(self, req: _Request, grp: FakeGroup, thread_id: int | None, extra: JSON) -> FakeMessage:
        msg = FakeMessage(0, grp.chat_id, int(time.time()), True, grp.to_chat(), self.bot_user())
        msg.extra.update(extra)
        msg.message_id = self._new_message_id(grp.chat_id)
        if thread_id is not None:
            msg.extra["message_thread_id"] = thread_id
            msg.extra["is_topic_message"] = True
        self._messages.setdefault(grp.chat_id, []).append(msg)
        req.call.created.append(msg)
        return msg

    @staticmethod
    def _topic_name(value: Any, *, allow_empty: bool) -> str:
        name = "" if value is None else str(value)
        if not name.strip() and not allow_empty:
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > MAX_TOPIC_NAME:
            raise bad_request("TOPIC_TITLE_TOO_LONG")  # Telegram's limit: 1-128 characters
        return name

    async def _create_forum_topic(self, req: _Request) -> Any:
        params = req.params
        grp = self._forum_for_topics(params["chat_id"], "create")
        name = self._topic_name(params.get("name"), allow_empty=False)
        color = _as_int(params.get("icon_color", 7322096), "icon_color")
        if color not in TOPIC_ICON_COLORS:
            raise bad_request("TOPIC_COLOR_INVALID")  # must be one of the six colours the Bot API lists
        msg = self._service_message(req, grp, None, {"forum_topic_created": {"name": name, "icon_color": color}})
        msg.extra["message_thread_id"] = msg.message_id
        msg.extra["is_topic_message"] = True
        grp.topics[msg.message_id] = FakeTopic(msg.message_id, name, color)
        return {"message_thread_id": msg.message_id, "name": name, "icon_color": color}

    async def _edit_forum_topic(self, req: _Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "edit")
        topic = self._topic(grp, req.params)
        name = self._topic_name(req.params.get("name"), allow_empty=True)
        if not name or name == topic.name:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = name
        self._service_message(req, grp, topic.thread_id, {"forum_topic_edited": {"name": name}})
        return True

    async def _close_forum_topic(self, req: _Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "close")
        topic = self._topic(grp, req.params)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        self._service_message(req, grp, topic.thread_id, {"forum_topic_closed": {}})
        return True

    async def _reopen_forum_topic(self, req: _Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "reopen")
        topic = self._topic(grp, req.params)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        self._service_message(req, grp, topic.thread_id, {"forum_topic_reopened": {}})
        return True


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------


MAX_PHOTO_BYTES = 10 * 1024 * 1024


def photo_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG (from its IHDR chunk); None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return None


def _check_photo(content: bytes) -> None:
    """As Telegram checks an uploaded photo: an image (PNG or JPEG here), at most 10 MB, width +
    height at most 10000 and a ratio of at most 20."""
    if len(content) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    if content.startswith(b"\xff\xd8\xff"):
        return
    size = photo_size(content)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    if not width or not height or width + height > 10_000 or max(width, height) / min(width, height) > 20:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


def render(message: FakeMessage) -> str:
    """A plain-text rendering of a message for terminals and assertion messages."""
    lines: list[str] = []
    who = "bot" if message.from_bot else str(message.sender.get("first_name", "user"))
    flags = "".join([" (edited)" if message.edited else "", " (deleted)" if message.deleted else ""])
    lines.append(f"#{message.message_id} {who}{flags}:")
    if message.document is not None:
        name = message.document.filename or "file"
        lines.append(f"[file: {name} ({len(message.document.content)} bytes)]")
    if message.photo is not None:
        size = photo_size(message.photo.content)
        lines.append(f"[photo {size[0]}×{size[1]}]" if size else "[photo]")
    if message.video is not None:
        lines.append("[video]")
    if message.venue is not None:
        lines.append(f"[venue: {message.venue['title']}, {message.venue['address']}]")
    elif message.location is not None:
        lines.append(f"[location: {message.location['latitude']}, {message.location['longitude']}]")
    for kind in ("sticker", "voice", "animation", "contact", "poll"):
        if kind in message.extra:
            lines.append(f"[{kind}]")
    if message.text is not None:
        lines.append(message.text)
    elif message.caption:
        lines.append(message.caption)
    number = 0
    for row in message.buttons:
        cells: list[str] = []
        for button in row:
            number += 1
            suffix = f" -> {button.url}" if button.url else ""
            cells.append(f"[{number}] {button.text}{suffix}")
        lines.append("  ".join(cells))
    markup: Mapping[str, Any] = message.reply_markup or {}
    for row in markup.get("keyboard") or []:
        cells = [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
        lines.append("  ".join(f"<{c}>" for c in cells))
    return "\n".join(lines)
