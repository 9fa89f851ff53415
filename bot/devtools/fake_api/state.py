"""The fake's state and the test-side API on it: users, groups and forums, the messages of every chat,
the updates queued for the bot and those it confirmed, files, and the waits tests use
(``wait_for``, ``wait_processed``). The method handlers (``updates``, ``profile``, ``messages``,
``answers``, ``chats``, ``forum``) are mixins over :class:`FakeState`; ``server.FakeTelegram``
puts them together behind the HTTP server."""

# ruff: noqa: ASYNC109  # timeouts are part of the public test API (like asyncio.wait_for)
from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .checks import load_methods
from .errors import ApiError, bad_request
from .model import JSON, ApiCall, Exchange, FakeGroup, FakeMessage, Stats, UploadedFile, UserState
from .params import as_int
from .users import FakeUser


@dataclass
class Request:
    """One API call as a method handler receives it."""

    method: str
    params: JSON
    files: dict[str, UploadedFile]
    call: ApiCall


class FakeState:
    """State of the fake Bot API and what tests do with it (the server is ``FakeTelegram``)."""

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
        guest_queries: bool = True,
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
        self.guest_queries = guest_queries  # guest mode on in @BotFather: users may call the bot into any chat

        meta = load_methods()
        self.api_version: str = str(meta.get("version", ""))
        self.methods: dict[str, JSON] = meta["methods"]
        self.types: dict[str, JSON] = meta.get("types", {})
        self.spec_violations: list[str] = []  # answers of the fake missing fields the spec requires
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
        self.garbled: set[str] = set()  # methods whose successful answer is replaced by one no client parses

        self._users: dict[int, UserState] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._messages: dict[int, list[FakeMessage]] = {}
        self._message_ids: dict[int, int] = {}
        self._open_callbacks: dict[str, float] = {}  # query id -> when it was pressed
        self._open_inline: dict[str, None] = {}
        self._open_guest: dict[str, FakeMessage] = {}  # guest query id -> the message that called the bot
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
            state = UserState(user_id, first_name, last_name, username, language_code)
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

    def unanswered_guest_queries(self) -> list[str]:
        return list(self._open_guest)

    def calls_of(self, method: str) -> list[ApiCall]:
        name = method.lower()
        return [c for c in self.calls if c.method.lower() == name]

    def errors(self) -> list[ApiCall]:
        return [c for c in self.calls if not c.ok]

    def add_file(self, content: bytes, filename: str | None = None, mime_type: str | None = None) -> str:
        """Register a file the bot may reference by file_id; returns the file_id."""
        return self._store_file(content, filename, mime_type).file_id

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

    def _add_user_message(
        self, state: UserState, chat_id: int, chat: JSON, content: JSON, *, opens_chat: bool = True
    ) -> FakeMessage:
        if opens_chat:
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

    async def _submit(
        self, payload: JSON, chat_id: int | None, state: UserState, timeout: float | None, *, opens_chat: bool = True
    ) -> Exchange:
        if opens_chat:  # a guest call does not: the caller may never have started the bot
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

    # ---------------------------------------------------------------- chats, as method handlers find them

    def _is_group(self, chat: Any) -> bool:
        if isinstance(chat, str):
            return True
        try:
            return int(chat) in self._groups or int(chat) < 0
        except (TypeError, ValueError):
            return False

    def _chat_for_sending(self, chat_id_value: Any) -> JSON:
        if isinstance(chat_id_value, str) and chat_id_value.startswith("@"):
            for named in self._groups.values():
                if named.title == chat_id_value[1:]:
                    return named.to_chat()
            raise bad_request("chat not found")
        chat = self._known_chat(chat_id_value)
        grp = self._groups.get(int(chat["id"])) if chat["type"] != "private" else None
        if grp is not None and grp.bot_status == "left":  # a chat the bot is only called into as a guest
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        state = self._users.get(chat["id"]) if chat["type"] == "private" else None
        if state is not None and state.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if state is not None and state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _known_chat(self, value: Any) -> JSON:
        chat_id = as_int(value, "chat_id")
        grp = self._groups.get(chat_id)
        if grp is not None:
            return grp.to_chat()
        state = self._users.get(chat_id)
        if state is None or not state.has_chat:
            raise bad_request("chat not found")
        return state.to_chat()
