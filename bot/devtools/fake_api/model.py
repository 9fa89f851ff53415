"""What the fake knows: files, messages and their buttons, users, groups and forum topics, and the
record of every API call the bot made (``ApiCall``, ``Exchange``, ``Stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .state import FakeState

JSON = dict[str, Any]


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
class UserState:
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


@dataclass
class FakeTopic:
    """A forum topic: its id is the id of the service message that created it (as in Telegram)."""

    thread_id: int
    name: str
    icon_color: int
    closed: bool = False


@dataclass
class FakeGroup:
    fake: FakeState = field(repr=False)
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


def photo_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG (from its IHDR chunk); None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return None
