"""The bot's own profile: ``getMe``, its commands, descriptions and menu button (and ``logOut``/``close``)."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import bad_request
from .model import JSON
from .params import as_int
from .state import FakeState, Request


class ProfileMethods(FakeState):
    """getMe, logOut, close, set/get/deleteMyCommands, setMyDescription, setMyShortDescription,
    setChatMenuButton."""

    async def _true(self, req: Request) -> Any:
        return True

    async def _get_me(self, req: Request) -> Any:
        return {
            **self.bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
            "supports_guest_queries": self.guest_queries,
        }

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, req: Request) -> Any:
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

    async def _get_my_commands(self, req: Request) -> Any:
        return self.commands.get(self._commands_key(req.params), [])

    async def _delete_my_commands(self, req: Request) -> Any:
        self.commands.pop(self._commands_key(req.params), None)
        return True

    async def _set_my_description(self, req: Request) -> Any:
        self.descriptions[str(req.params.get("language_code") or "")] = str(req.params.get("description") or "")
        return True

    async def _set_my_short_description(self, req: Request) -> Any:
        lang = str(req.params.get("language_code") or "")
        self.short_descriptions[lang] = str(req.params.get("short_description") or "")
        return True

    async def _set_chat_menu_button(self, req: Request) -> Any:
        chat_id = req.params.get("chat_id")
        key = None if chat_id is None else as_int(chat_id, "chat_id")
        button = req.params.get("menu_button") or {"type": "default"}
        self.menu_buttons[key] = button if isinstance(button, dict) else {"type": str(button)}
        return True
