"""A plain-text rendering of a message, for ``voterbot chat`` and assertion messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import FakeMessage, photo_size


def render(message: FakeMessage) -> str:
    """A plain-text rendering of a message for terminals and assertion messages."""
    lines: list[str] = []
    who = "bot" if message.from_bot else str(message.sender.get("first_name", "user"))
    flags = "".join([" (edited)" if message.edited else "", " (deleted)" if message.deleted else ""])
    lines.append(f"#{message.message_id} {who}{flags}:")
    if message.document is not None:
        name = message.document.filename or "file"
        lines.append(f"[file: {name} ({len(message.document.content)} bytes)]")
    if message.photo is not None:
        size = photo_size(message.photo.content)
        lines.append(f"[photo {size[0]}×{size[1]}]" if size else "[photo]")
    if message.video is not None:
        lines.append("[video]")
    if message.venue is not None:
        lines.append(f"[venue: {message.venue['title']}, {message.venue['address']}]")
    elif message.location is not None:
        lines.append(f"[location: {message.location['latitude']}, {message.location['longitude']}]")
    for kind in ("sticker", "voice", "animation", "contact", "poll"):
        if kind in message.extra:
            lines.append(f"[{kind}]")
    if message.text is not None:
        lines.append(message.text)
    elif message.caption:
        lines.append(message.caption)
    number = 0
    for row in message.buttons:
        cells: list[str] = []
        for button in row:
            number += 1
            suffix = f" -> {button.url}" if button.url else ""
            cells.append(f"[{number}] {button.text}{suffix}")
        lines.append("  ".join(cells))
    markup: Mapping[str, Any] = message.reply_markup or {}
    for row in markup.get("keyboard") or []:
        cells = [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
        lines.append("  ".join(f"<{c}>" for c in cells))
    return "\n".join(lines)
