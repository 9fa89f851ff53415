"""Answers to what users did: ``answerCallbackQuery`` (within ``callback_timeout``, if set) and
``answerInlineQuery``."""

from __future__ import annotations

import time
from typing import Any

from .checks import validate_inline_result
from .errors import QUERY_TOO_OLD, bad_request
from .state import FakeState, Request


class AnswerMethods(FakeState):
    """answerCallbackQuery, answerInlineQuery."""

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
