"""What the bot asks about chats: ``getChat`` and ``getChatMember`` (the bot's own rights included)."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .model import JSON, FakeGroup
from .params import as_int
from .state import FakeState, Request


class ChatMethods(FakeState):
    """getChat, getChatMember."""

    async def _get_chat(self, req: Request) -> Any:
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

    async def _get_chat_member(self, req: Request) -> Any:
        chat = self._known_chat(req.params["chat_id"])
        user_id = as_int(req.params["user_id"], "user_id")
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
