"""Telegram-flavoured HTML (``parse_mode=HTML``): plain text and MessageEntity dicts, or the reason
Telegram gives for refusing the markup."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .model import JSON


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html` with Telegram's reason text."""


_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z][a-zA-Z0-9]{0,31});")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(r"""\s*([a-zA-Z_:][a-zA-Z0-9_:.-]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    tag: str
    entity: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _decode_entity(src: str, i: int) -> tuple[str, int]:
    """Decode an ``&...;`` reference at ``src[i]``; returns (text, next index)."""
    m = _ENTITY_RE.match(src, i)
    if m is None:
        return "&", i + 1
    body = m.group(1)
    if body.startswith("#"):
        try:
            code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        except ValueError as exc:  # pragma: no cover - regex guarantees digits
            raise HtmlParseError(f"Invalid character entity at byte offset {_byte_offset(src, i)}") from exc
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise HtmlParseError(f"Invalid character entity at byte offset {_byte_offset(src, i)}")
        return chr(code), m.end()
    name = body.lower()
    if name not in _NAMED_ENTITIES:
        raise HtmlParseError(f'Unknown entity "&{body};" at byte offset {_byte_offset(src, i)}')
    return _NAMED_ENTITIES[name], m.end()


def _decode_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            piece, i = _decode_entity(value, i)
            out.append(piece)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Raises :class:`HtmlParseError` with a Telegram-like reason on invalid markup.
    """
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i = 0
    n = len(src)
    while i < n:
        ch = src[i]
        if ch == "&":
            piece, i = _decode_entity(src, i)
            out.append(piece)
            pos16 += utf16_len(piece)
            continue
        if ch != "<":
            j = i
            while j < n and src[j] not in "<&":
                j += 1
            piece = src[i:j]
            out.append(piece)
            pos16 += utf16_len(piece)
            i = j
            continue
        offset = _byte_offset(src, i)
        if src.startswith("</", i):
            end = src.find(">", i)
            if end == -1:
                raise HtmlParseError(f"Unclosed end tag at byte offset {offset}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {offset}")
            top = stack[-1]
            if name != top.tag:
                raise HtmlParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{name}>"'
                )
            stack.pop()
            i = end + 1
            length = pos16 - top.start
            if top.tag == "code" and stack and stack[-1].tag == "pre":
                cls = top.attrs.get("class", "")
                if cls.startswith("language-") and len(cls) > len("language-"):
                    stack[-1].language = cls[len("language-") :]
                    continue
            if length <= 0:
                continue
            entity: JSON = {"type": top.entity, "offset": top.start, "length": length}
            if top.entity == "text_link":
                entity["url"] = top.attrs["href"]
            elif top.entity == "custom_emoji":
                entity["custom_emoji_id"] = top.attrs["emoji-id"]
            elif top.entity == "pre" and top.language:
                entity["language"] = top.language
            elif top.entity == "blockquote" and "expandable" in top.attrs:
                entity["type"] = "expandable_blockquote"
            entities.append(entity)
            continue
        m = _TAG_NAME_RE.match(src, i + 1)
        if m is None:
            raise HtmlParseError(f'Unsupported start tag "" at byte offset {offset}')
        name = m.group(0).lower()
        if name not in _TAG_ENTITY:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {offset}")
            if src[j] == ">":
                j += 1
                break
            am = _ATTR_RE.match(src, j)
            if am is None or am.end() == j:
                raise HtmlParseError(f'Unexpected character in tag "{name}" at byte offset {offset}')
            raw = am.group(2)
            value = "" if raw is None else raw[1:-1] if raw[0] in "\"'" else raw
            attrs[am.group(1).lower()] = _decode_attr(value)
            j = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "a" and not attrs.get("href"):
            raise HtmlParseError(f'Tag "a" must have attribute "href" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise HtmlParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        stack.append(_OpenTag(tag=name, entity=_TAG_ENTITY[name], start=pos16, attrs=attrs))
        i = j
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


@functools.lru_cache(maxsize=256)
def parse_html_cached(src: str) -> tuple[str, list[JSON]]:
    """:func:`parse_html` remembered: a broadcast sends the same text thousands of times. Callers
    copy the entities (the cached list is never handed out); errors are not cached."""
    return parse_html(src)
