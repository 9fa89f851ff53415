"""The HTTP side of the fake: ``/bot{token}/{method}`` and ``/file/bot{token}/{path}`` on an aiohttp
server, the method table, required parameters, and Telegram's rate limits (see the package docstring).
:class:`FakeTelegram` is the class tests use: the state, the test-side API and every method mixin."""

from __future__ import annotations

import functools
import math
import mimetypes
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from .answers import AnswerMethods
from .answers_spec import problems as answer_problems
from .chats import ChatMethods
from .errors import ApiError, bad_request
from .forum import ForumMethods
from .messages import MessageMethods
from .model import JSON, ApiCall, UploadedFile
from .params import as_bool, decode_value
from .profile import ProfileMethods
from .state import Request
from .updates import UpdateMethods

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

Handler = Callable[[Request], Awaitable[Any]]


class FakeTelegram(UpdateMethods, ProfileMethods, MessageMethods, AnswerMethods, ChatMethods, ForumMethods):
    """State and HTTP server of the fake Bot API."""

    _runner: web.AppRunner | None = None
    _port: int | None = None
    _host = "127.0.0.1"

    @functools.cached_property
    def _handlers(self) -> dict[str, Handler]:
        return {
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
            "answerguestquery": self._answer_guest_query,
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

    # ---------------------------------------------------------------- HTTP

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        for key, value in request.query.items():
            params[key] = decode_value(key, value)
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
                params[key] = decode_value(key, str(value))
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
            sending = name in SENDING_METHODS or name == "answerguestquery"
            chat = self._guest_chat(params["guest_query_id"]) if name == "answerguestquery" else params.get("chat_id")
            if sending:
                self._check_rate(params, chat)
            result = await handler(Request(canonical, params, files, call))
            missing = answer_problems(self.types, meta.get("returns", []), result)
            if missing:  # the fake's own bug: Telegram would have sent these fields
                self.spec_violations += [f"{canonical}: {problem}" for problem in missing]
            if canonical in self.garbled:  # a fault: an answer the client cannot parse
                result = {"garbled": True}
            if sending:
                self.stats.sent += 1
                now = time.monotonic()
                self._send_times.append(now)
                if self.chat_rate_limit is not None or self.group_rate_limit is not None:
                    self._chat_send_times.setdefault(chat, deque()).append(now)
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

    def _check_rate(self, params: JSON, chat: Any) -> None:
        now = time.monotonic()
        if self._retry_until is not None and now < self._retry_until:
            self.stats.violations_after_429 += 1
            raise self._too_many(self._retry_until - now)
        chat_until = self._chat_retry_until.get(chat)
        if chat_until is not None and now < chat_until:
            self.stats.violations_after_429 += 1
            self.stats.rejected_429_chat += 1
            raise self._too_many(chat_until - now)
        while self._send_times and self._send_times[0] <= now - 1.0:
            self._send_times.popleft()
        paid = as_bool(params.get("allow_paid_broadcast", False))
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
