"""Messages the bot sends, copies, edits and deletes: text, documents, photos, videos, venues and
locations, each checked as Telegram checks it (chat, text and entities, keyboard, thread, reply)."""

from __future__ import annotations

import mimetypes
import re
import time
from typing import Any

from .checks import check_photo, parse_text, validate_markup
from .errors import NOT_MODIFIED, bad_request
from .model import JSON, FakeDocument, FakeMessage, UploadedFile
from .params import as_bool, as_float, as_int
from .state import FakeState, Request

# service messages (forum topics) cannot be copied
SERVICE_FIELDS = ("forum_topic_created", "forum_topic_closed", "forum_topic_reopened", "forum_topic_edited")
# what a copy does not inherit from its source: the place in the source chat, and the origin
NOT_COPIED = frozenset(
    {"reply_to_message", "forward_origin", "message_thread_id", "is_topic_message", "media_group_id"}
)


class MessageMethods(FakeState):
    """sendMessage, editMessageText/ReplyMarkup/Caption, deleteMessage, sendDocument, sendPhoto,
    sendVideo, sendVenue, sendLocation, copyMessage, sendChatAction, getFile."""

    # the checks, as the tests reach them through the class
    _parse_text = staticmethod(parse_text)
    _validate_markup = staticmethod(validate_markup)

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
            thread_id = as_int(thread, "message_thread_id")
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
            target = self._find_message(chat_id, as_int(reply_to["message_id"], "message_id"))
            if target is None and not as_bool(reply_to.get("allow_sending_without_reply", False)):
                raise bad_request("message to be replied not found")
            if target is not None:
                msg.extra["reply_to_message"] = target.to_dict()
        return msg

    def _commit(self, req: Request, msg: FakeMessage) -> JSON:
        msg.message_id = self._new_message_id(msg.chat_id)
        self._messages.setdefault(msg.chat_id, []).append(msg)
        req.call.created.append(msg)
        return msg.to_dict()

    def _caption_into(self, msg: FakeMessage, params: JSON) -> None:
        if params.get("caption") is not None:
            text, entities, html = parse_text(
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
        chat_id = as_int(params["chat_id"], "chat_id")
        if chat_id not in self._groups and chat_id not in self._users:
            raise bad_request("chat not found")
        msg = self._find_message(chat_id, as_int(params["message_id"], "message_id"))
        if msg is None:
            raise bad_request("message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    @staticmethod
    def _mark_edited(req: Request, msg: FakeMessage) -> JSON:
        msg.edited = True
        msg.edit_date = int(time.time())
        req.call.edited.append(msg)
        return msg.to_dict()

    async def _send_message(self, req: Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        text, entities, html = parse_text(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = validate_markup(params.get("reply_markup"))
        msg = self._bot_message(chat, params)
        msg.text, msg.entities, msg.html, msg.reply_markup = text, entities, html, markup
        return self._commit(req, msg)

    async def _edit_message_text(self, req: Request) -> Any:
        params = req.params
        text, entities, html = parse_text(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        if not text.strip():
            raise bad_request("message text is empty")
        markup = validate_markup(params.get("reply_markup"))
        msg = self._message_for_edit(params)
        if msg is None:
            return True
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        if msg.text == text and msg.entities == entities and msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.text, msg.entities, msg.html, msg.reply_markup = text, entities, html, markup
        return self._mark_edited(req, msg)

    async def _edit_message_reply_markup(self, req: Request) -> Any:
        markup = validate_markup(req.params.get("reply_markup"))
        msg = self._message_for_edit(req.params)
        if msg is None:
            return True
        if msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.reply_markup = markup
        return self._mark_edited(req, msg)

    async def _edit_message_caption(self, req: Request) -> Any:
        params = req.params
        caption: str | None = None
        entities: list[JSON] = []
        html: str | None = None
        if params.get("caption") is not None:
            caption, entities, html = parse_text(
                params["caption"], params.get("parse_mode"), params.get("caption_entities"), caption=True
            )
        markup = validate_markup(params.get("reply_markup"))
        msg = self._message_for_edit(params)
        if msg is None:
            return True
        if msg.text is not None:
            raise bad_request("there is no caption in the message to edit")
        if (msg.caption or None) == (caption or None) and msg.entities == entities and msg.reply_markup == markup:
            raise bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        msg.caption, msg.entities, msg.html, msg.reply_markup = caption, entities, html, markup
        return self._mark_edited(req, msg)

    async def _delete_message(self, req: Request) -> Any:
        chat_id = as_int(req.params["chat_id"], "chat_id")
        if chat_id not in self._groups and chat_id not in self._users:
            raise bad_request("chat not found")
        msg = self._find_message(chat_id, as_int(req.params["message_id"], "message_id"))
        if msg is None:
            raise bad_request("message to delete not found")
        if not msg.from_bot and chat_id in self._groups:
            raise bad_request("message can't be deleted")
        msg.deleted = True
        req.call.edited.append(msg)
        return True

    async def _send_document(self, req: Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["document"], req.files, "document")
        msg = self._bot_message(chat, req.params)
        msg.document = FakeDocument(uploaded.filename, uploaded.content, uploaded.mime_type, uploaded.file_id)
        self._caption_into(msg, req.params)
        msg.reply_markup = validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_photo(self, req: Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["photo"], req.files, "photo")
        if str(req.params["photo"]).startswith("attach://"):
            check_photo(uploaded.content)
        msg = self._bot_message(chat, req.params)
        msg.photo = uploaded
        self._caption_into(msg, req.params)
        msg.reply_markup = validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_video(self, req: Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        uploaded = self._resolve_file(req.params["video"], req.files, "video")
        msg = self._bot_message(chat, req.params)
        msg.video = uploaded
        self._caption_into(msg, req.params)
        msg.reply_markup = validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    @staticmethod
    def _location(params: JSON) -> JSON:
        lat = as_float(params["latitude"], "latitude")
        lon = as_float(params["longitude"], "longitude")
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise bad_request("wrong latitude or longitude")  # pragma: no cover - trivial
        return {"latitude": lat, "longitude": lon}

    async def _send_venue(self, req: Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        location = self._location(params)
        title, address = str(params["title"]), str(params["address"])
        if not title.strip() or not address.strip():
            raise bad_request("VENUE_TITLE_EMPTY" if not title.strip() else "VENUE_ADDRESS_EMPTY")
        msg = self._bot_message(chat, params)
        msg.venue = {"location": location, "title": title, "address": address}
        msg.reply_markup = validate_markup(params.get("reply_markup"))
        return self._commit(req, msg)

    async def _send_location(self, req: Request) -> Any:
        chat = self._chat_for_sending(req.params["chat_id"])
        location = self._location(req.params)
        msg = self._bot_message(chat, req.params)
        msg.location = location
        msg.reply_markup = validate_markup(req.params.get("reply_markup"))
        return self._commit(req, msg)

    async def _copy_message(self, req: Request) -> Any:
        params = req.params
        chat = self._chat_for_sending(params["chat_id"])
        from_chat = as_int(params["from_chat_id"], "from_chat_id")
        if from_chat not in self._groups and from_chat not in self._users:
            raise bad_request("chat not found")
        source = self._find_message(from_chat, as_int(params["message_id"], "message_id"))
        if source is None:
            raise bad_request("message to copy not found")
        if "poll" in source.extra and source.extra.get("forward_origin") is None:
            raise bad_request("message can't be copied")
        msg = self._bot_message(chat, params)
        msg.text, msg.entities, msg.html = source.text, list(source.entities), source.html
        msg.caption = source.caption
        msg.document, msg.photo, msg.video = source.document, source.photo, source.video
        msg.venue, msg.location = source.venue, source.location
        if any(key in source.extra for key in SERVICE_FIELDS):
            raise bad_request("message can't be copied")
        msg.extra.update({k: v for k, v in source.extra.items() if k not in NOT_COPIED})
        if "caption" in params and msg.text is None:
            self._caption_into(msg, params)
        msg.reply_markup = validate_markup(params.get("reply_markup"))
        self._commit(req, msg)
        return {"message_id": msg.message_id}

    async def _send_chat_action(self, req: Request) -> Any:
        self._chat_for_sending(req.params["chat_id"])
        return True

    async def _get_file(self, req: Request) -> Any:
        uploaded = self.files.get(str(req.params["file_id"]))
        if uploaded is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": uploaded.file_id,
            "file_unique_id": uploaded.file_unique_id,
            "file_size": uploaded.size,
            "file_path": uploaded.file_path,
        }
