"""Simulated users: what tests drive. A :class:`FakeUser` writes, presses buttons, sends files, asks
inline queries, calls the bot into a chat as a guest and blocks the bot; each action waits until the
bot handled it and returns an :class:`Exchange` (``post``, ``post_press`` and ``post_guest`` only
enqueue: a burst, a flood)."""

# ruff: noqa: ASYNC109  # timeouts are part of the public test API (like asyncio.wait_for)
from __future__ import annotations

import mimetypes
import time
from typing import TYPE_CHECKING, Any

from .html import utf16_len
from .model import JSON, Button, Exchange, FakeGroup, FakeMessage, UserState

if TYPE_CHECKING:
    from .state import FakeState


class FakeUser:
    """A user acting on the bot; ``in_group`` gives the same user writing in a group."""

    def __init__(
        self, fake: FakeState, state: UserState, group: FakeGroup | None = None, thread_id: int | None = None
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

    def _guest_message(self, text: str, chat: FakeGroup | None, reply_to: FakeMessage | None) -> FakeMessage:
        where = chat or self.group
        if where is None:
            raise LookupError("a guest message is written in a chat: pass chat= or use in_group()")
        if not self.fake.guest_queries:
            raise LookupError("guest mode is off for this bot (FakeTelegram(guest_queries=False))")
        where.members.add(self.id)
        mention = f"@{self.fake.bot_username}"
        query_id = f"{self.fake._next_id()}{self.id % 1000:03d}"
        content: JSON = {
            "text": f"{mention} {text}",
            "entities": [{"type": "mention", "offset": 0, "length": utf16_len(mention)}],
            "guest_query_id": query_id,
        }
        if reply_to is not None:
            content["reply_to_message"] = reply_to.to_dict()
        msg = self.fake._add_user_message(self._state, where.chat_id, where.to_chat(), content, opens_chat=False)
        self.fake._open_guest[query_id] = msg
        return msg

    def say_unseen(self, text: str) -> FakeMessage:
        """A message in this user's group that the bot gets no update for (a chat it is not in, or
        chatter it cannot read): what a guest call may reply to."""
        if self.group is None:
            raise LookupError("say_unseen needs a user in a group (in_group)")
        return self.fake._add_user_message(self._state, self.chat_id, self._chat(), {"text": text}, opens_chat=False)

    async def guest(
        self,
        text: str,
        chat: FakeGroup | None = None,
        reply_to: FakeMessage | None = None,
        timeout: float | None = None,
    ) -> Exchange:
        """Call the bot into ``chat`` (or the group of ``in_group``) as a guest: "@bot text", replying
        to ``reply_to`` if given. The bot gets a ``guest_message`` update carrying ``guest_query_id``
        and may answer it once with ``answerGuestQuery``; the bot need not be a member of the chat
        (``group.bot_status = "left"``), and the caller's private chat stays unknown to the bot."""
        msg = self._guest_message(text, chat, reply_to)
        return await self.fake._submit(
            {"guest_message": msg.to_dict()}, msg.chat_id, self._state, timeout, opens_chat=False
        )

    async def post_guest(self, text: str, chat: FakeGroup | None = None) -> int:
        """Call the bot as a guest without waiting for it (a burst); returns the update id."""
        msg = self._guest_message(text, chat, None)
        return await self.fake.push_update({"guest_message": msg.to_dict()})

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

    async def send_album(self, *captions: str | None, timeout: float | None = None) -> list[FakeMessage]:
        """Photos sent together (one ``media_group_id``), as Telegram delivers them: one update per
        item, all queued at once; waits until the bot handled every one."""
        group_id = str(10**15 + self.fake._next_id())
        messages: list[FakeMessage] = []
        update_ids: list[int] = []
        for caption in captions:
            content: JSON = {"photo": [{**self.fake._file_stub("photo"), "width": 800, "height": 600}]}
            content["media_group_id"] = group_id
            if caption is not None:
                content["caption"] = caption
            if self.thread_id is not None and self.group is not None:
                self.fake._into_topic(content, self.group, self.thread_id)
            msg = self.fake._add_user_message(self._state, self.chat_id, self._chat(), content)
            messages.append(msg)
            update_ids.append(await self.fake.push_update({"message": msg.to_dict()}))
        for update_id in update_ids:
            await self.fake.wait_processed(update_id, self.fake.default_timeout if timeout is None else timeout)
        return messages

    async def edit(self, message: FakeMessage, text: str, timeout: float | None = None) -> Exchange:
        """The user edits their own message (text or caption): an ``edited_message`` update."""
        if message.text is not None:
            message.text, message.entities = text, []
        else:
            message.caption = text
        message.edited = True
        message.edit_date = int(time.time())
        return await self.fake._submit({"edited_message": message.to_dict()}, self.chat_id, self._state, timeout)

    async def forward(self, text: str, channel: str = "Almaty News") -> Exchange:
        """A text forwarded from a channel (``forward_origin`` of type ``channel``)."""
        origin = {
            "type": "channel",
            "date": int(time.time()) - 3600,
            "chat": {"id": -1001000000777, "type": "channel", "title": channel},
            "message_id": 77,
        }
        return await self._send_message(forward_origin=origin, **self._text_content(text))

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
