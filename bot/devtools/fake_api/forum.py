"""Forum topics in supergroups: create, edit, close and reopen, with the service messages Telegram
posts and the rights it checks."""

from __future__ import annotations

import time
from typing import Any

from .checks import TOPIC_ICON_COLORS, topic_name
from .errors import bad_request
from .model import JSON, FakeGroup, FakeMessage, FakeTopic
from .params import as_int
from .state import FakeState, Request


class ForumMethods(FakeState):
    """createForumTopic, editForumTopic, closeForumTopic, reopenForumTopic."""

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
        topic = grp.topics.get(as_int(params["message_thread_id"], "message_thread_id"))
        if topic is None:
            raise bad_request("TOPIC_ID_INVALID")
        return topic

    def _service_message(self, req: Request, grp: FakeGroup, thread_id: int | None, extra: JSON) -> FakeMessage:
        msg = FakeMessage(0, grp.chat_id, int(time.time()), True, grp.to_chat(), self.bot_user())
        msg.extra.update(extra)
        msg.message_id = self._new_message_id(grp.chat_id)
        if thread_id is not None:
            msg.extra["message_thread_id"] = thread_id
            msg.extra["is_topic_message"] = True
        self._messages.setdefault(grp.chat_id, []).append(msg)
        req.call.created.append(msg)
        return msg

    async def _create_forum_topic(self, req: Request) -> Any:
        params = req.params
        grp = self._forum_for_topics(params["chat_id"], "create")
        name = topic_name(params.get("name"), allow_empty=False)
        color = as_int(params.get("icon_color", 7322096), "icon_color")
        if color not in TOPIC_ICON_COLORS:
            raise bad_request("TOPIC_COLOR_INVALID")  # must be one of the six colours the Bot API lists
        msg = self._service_message(req, grp, None, {"forum_topic_created": {"name": name, "icon_color": color}})
        msg.extra["message_thread_id"] = msg.message_id
        msg.extra["is_topic_message"] = True
        grp.topics[msg.message_id] = FakeTopic(msg.message_id, name, color)
        return {"message_thread_id": msg.message_id, "name": name, "icon_color": color}

    async def _edit_forum_topic(self, req: Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "edit")
        topic = self._topic(grp, req.params)
        name = topic_name(req.params.get("name"), allow_empty=True)
        if not name or name == topic.name:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.name = name
        self._service_message(req, grp, topic.thread_id, {"forum_topic_edited": {"name": name}})
        return True

    async def _close_forum_topic(self, req: Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "close")
        topic = self._topic(grp, req.params)
        if topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = True
        self._service_message(req, grp, topic.thread_id, {"forum_topic_closed": {}})
        return True

    async def _reopen_forum_topic(self, req: Request) -> Any:
        grp = self._forum_for_topics(req.params["chat_id"], "reopen")
        topic = self._topic(grp, req.params)
        if not topic.closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = False
        self._service_message(req, grp, topic.thread_id, {"forum_topic_reopened": {}})
        return True
