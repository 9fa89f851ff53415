"""Request parameters as the bot sends them (query string, JSON or multipart form), decoded and
coerced the way Telegram reads them."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from .errors import bad_request

# Parameters whose values are free text: never JSON/number-decoded even if they look like JSON.
TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "title",
        "address",
        "description",
        "short_description",
        "name",
        "query",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "secret_token",
        "url",
        "language_code",
        "callback_query_id",
        "inline_query_id",
        "file_id",
        "inline_message_id",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "business_connection_id",
        "message_effect_id",
        "parse_mode",
        "caption_entities_text",
        "phone_number",
        "first_name",
        "last_name",
    }
)


def as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_request(f"{name} is invalid")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError as exc:
        raise bad_request(f"{name} is invalid") from exc


def as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"{name} is invalid") from exc


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def decode_value(key: str, value: str) -> Any:
    if key in TEXT_PARAMS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(stripped)
        return value
    if stripped in ("true", "false"):
        return stripped == "true"
    if re.fullmatch(r"-?\d{1,19}", stripped):
        return int(stripped)
    return value
