"""Answers to what users did: ``answerCallbackQuery`` (within ``callback_timeout``, if set),
``answerInlineQuery`` and ``answerGuestQuery`` (the bot called into a chat as a guest answers once,
with an inline query result, in that chat)."""

from __future__ import annotations

import time
from typing import Any

from .checks import parse_text, validate_inline_result, validate_markup
from .errors import QUERY_TOO_OLD, bad_request
from .model import FakeMessage
from .state import FakeState, Request


class AnswerMethods(FakeState):
    """answerCallbackQuery, answerInlineQuery, answerGuestQuery."""

    async def _answer_callback_query(self, req: Request) -> Any:
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

    async def _answer_inline_query(self, req: Request) -> Any:
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
            validate_inline_result(result, seen)
        del self._open_inline[query_id]
        self.inline_answers[query_id] = dict(req.params)
        return True

    async def _answer_guest_query(self, req: Request) -> Any:
        """One answer per guest query, an inline query result (text results are modelled: an article
        with ``input_message_content.message_text``), posted in the chat the bot was called into,
        from the bot, with the caller in ``guest_bot_caller_user``/``guest_bot_caller_chat``."""
        query_id = str(req.params["guest_query_id"])
        called = self._open_guest.get(query_id)
        if called is None:
            raise bad_request(QUERY_TOO_OLD[len("Bad Request: ") :])
        result = req.params["result"]
        if not isinstance(result, dict):
            raise bad_request("can't parse inline query result JSON object")
        validate_inline_result(result, set())
        content = result.get("input_message_content")
        if not isinstance(content, dict) or "message_text" not in content:
            raise bad_request(f"fake server does not model {result.get('type')} results in answerGuestQuery")
        text, entities, html = parse_text(
            content["message_text"], content.get("parse_mode"), content.get("entities"), caption=False
        )
        msg = FakeMessage(
            message_id=0,
            chat_id=called.chat_id,
            date=int(time.time()),
            from_bot=True,
            chat=dict(called.chat),
            sender=self.bot_user(),
        )
        msg.text, msg.entities, msg.html = text, entities, html
        msg.reply_markup = validate_markup(result.get("reply_markup"))
        msg.extra["guest_bot_caller_user"] = dict(called.sender)
        msg.extra["guest_bot_caller_chat"] = dict(called.chat)
        msg.message_id = self._new_message_id(msg.chat_id)
        self._messages.setdefault(msg.chat_id, []).append(msg)
        req.call.created.append(msg)
        del self._open_guest[query_id]
        return {"inline_message_id": f"GQ{called.chat_id}_{msg.message_id}"}

    def _guest_chat(self, query_id: Any) -> int | None:
        """The chat a guest query answers into (for the rate limits), None for an unknown query."""
        called = self._open_guest.get(str(query_id))
        return None if called is None else called.chat_id
