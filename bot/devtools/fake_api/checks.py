"""What Telegram accepts from a bot: the Bot API method list, text lengths and parse modes, keyboards
and their buttons, inline query results, uploaded photos and forum topic names. Each check raises the
``ApiError`` Telegram would answer."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from .errors import bad_request
from .html import HtmlParseError, parse_html_cached
from .model import JSON, photo_size

MAX_TEXT = 4096
MAX_CAPTION = 1024


def load_methods() -> JSON:
    """Load the Bot API method metadata shipped with the package."""
    text = resources.files("bot.devtools").joinpath("bot_api_methods.json").read_text(encoding="utf-8")
    data: JSON = json.loads(text)
    return data


INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "web_app",
    "login_url",
    "pay",
    "callback_game",
)


INLINE_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    # Each inner tuple is "one of these keys"; all inner tuples are required.
    "article": (("title",), ("input_message_content",)),
    "photo": (("photo_url", "photo_file_id"),),
    "gif": (("gif_url", "gif_file_id"),),
    "mpeg4_gif": (("mpeg4_gif_url", "mpeg4_file_id"),),
    "video": (("video_url", "video_file_id"), ("title",)),
    "audio": (("audio_url", "audio_file_id"),),
    "voice": (("voice_url", "voice_file_id"), ("title",)),
    "document": (("document_url", "document_file_id"), ("title",)),
    "location": (("latitude",), ("longitude",), ("title",)),
    "venue": (("latitude",), ("longitude",), ("title",), ("address",)),
    "contact": (("phone_number",), ("first_name",)),
    "game": (("game_short_name",),),
    "sticker": (("sticker_file_id",),),
}


def valid_url(url: str) -> str | None:
    """None when ``url`` is acceptable for a button, else the reason."""
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.*)$", url)
    if m is None:
        return "Wrong HTTP URL"
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme not in ("http", "https", "tg"):
        return "Unsupported URL protocol"
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if not host or " " in url:
        return "Wrong HTTP URL"
    if scheme != "tg" and "." not in host and host.split(":")[0] != "localhost":
        return "Wrong HTTP URL"
    return None


def parse_text(text: Any, parse_mode: Any, entities: Any, *, caption: bool) -> tuple[str, list[JSON], str | None]:
    raw = "" if text is None else str(text)
    html: str | None = None
    parsed_entities: list[JSON] = []
    mode = str(parse_mode).lower() if parse_mode else ""
    if mode == "html":
        html = raw
        try:
            raw, cached = parse_html_cached(raw)
        except HtmlParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        parsed_entities = [dict(e) for e in cached]
    elif mode:
        raise bad_request(f"fake server does not model parse_mode {parse_mode}")
    elif entities:
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
        parsed_entities = [dict(e) for e in entities]
    limit = MAX_CAPTION if caption else MAX_TEXT
    if len(raw) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return raw, parsed_entities, html


def validate_markup(markup: Any) -> JSON | None:
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays')
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                text = button.get("text")
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                actions = [a for a in INLINE_BUTTON_ACTIONS if a in button]
                if not actions:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                if len(actions) > 1:
                    raise bad_request(
                        "can't parse inline keyboard button: exactly one of the optional fields must be used"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(str(data).encode("utf-8"))
                    if not isinstance(data, str) or not 1 <= size <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = str(button["url"])
                    reason = valid_url(url)
                    if reason is not None:
                        raise bad_request(f"inline keyboard button URL '{url}' is invalid: {reason}")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("keyboard button text must be non-empty")
        return markup
    if "remove_keyboard" in markup or "force_reply" in markup:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def validate_inline_result(result: Any, seen: set[str]) -> None:
    if not isinstance(result, dict):
        raise bad_request("can't parse inline query result JSON object")
    rtype = str(result.get("type", ""))
    if rtype not in INLINE_REQUIRED:
        raise bad_request(f'RESULT_TYPE_INVALID: unsupported inline query result type "{rtype}"')
    rid = result.get("id")
    if not isinstance(rid, str) or not 1 <= len(rid.encode("utf-8")) <= 64:
        raise bad_request("RESULT_ID_INVALID")
    if rid in seen:
        raise bad_request("RESULT_ID_DUPLICATE")
    seen.add(rid)
    for options in INLINE_REQUIRED[rtype]:
        if not any(result.get(key) not in (None, "") for key in options):
            raise bad_request(f'can\'t parse inline query result: field "{options[0]}" must be non-empty')
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        text, _, _ = parse_text(
            content["message_text"], content.get("parse_mode"), content.get("entities"), caption=False
        )
        if not text.strip():
            raise bad_request("MESSAGE_EMPTY")
    if "reply_markup" in result:
        validate_markup(result["reply_markup"])


MAX_PHOTO_BYTES = 10 * 1024 * 1024
TOPIC_ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
MAX_TOPIC_NAME = 128


def check_photo(content: bytes) -> None:
    """As Telegram checks an uploaded photo: an image (PNG or JPEG here), at most 10 MB, width +
    height at most 10000 and a ratio of at most 20."""
    if len(content) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    if content.startswith(b"\xff\xd8\xff"):
        return
    size = photo_size(content)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    if not width or not height or width + height > 10_000 or max(width, height) / min(width, height) > 20:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")


def topic_name(value: Any, *, allow_empty: bool) -> str:
    name = "" if value is None else str(value)
    if not name.strip() and not allow_empty:
        raise bad_request("TOPIC_TITLE_EMPTY")
    if len(name) > MAX_TOPIC_NAME:
        raise bad_request("TOPIC_TITLE_TOO_LONG")  # Telegram's limit: 1-128 characters
    return name
