"""Text that Telegram accepts: HTML escaping, a checker for Telegram's HTML subset, length in
Telegram's units (UTF-16 code units after entity parsing) and a splitter that keeps tags balanced."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

MESSAGE_LIMIT = 4096

_ALLOWED: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
_TOKEN_RE = re.compile(
    r"<(?P<close>/)?(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
    r"|&(?P<entity>#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);"
    r"|(?P<bad>[<&])"
)
_ATTR_RE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


class HtmlError(ValueError):
    pass


def escape(text: str) -> str:
    """Escape user or content text for parse_mode=HTML."""
    return html.escape(text, quote=False)


def escape_attr(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class _Token:
    kind: str  # "text", "open", "close"
    raw: str
    name: str = ""
    plain: str = ""


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for match in _TOKEN_RE.finditer(source):
        if match.start() > position:
            chunk = source[position : match.start()]
            tokens.append(_Token("text", chunk, plain=chunk))
        position = match.end()
        if match.group("bad"):
            char = match.group("bad")
            raise HtmlError(f"unescaped {char!r} at offset {match.start()} (write &lt; or &amp;)")
        if match.group("entity"):
            tokens.append(_Token("text", match.group(0), plain=html.unescape(match.group(0))))
            continue
        name = match.group("name").lower()
        if name not in _ALLOWED:
            raise HtmlError(f"unsupported tag <{name}>")
        if match.group("close"):
            tokens.append(_Token("close", match.group(0), name=name))
            continue
        attributes = dict((key.lower(), value) for key, value in _ATTR_RE.findall(match.group("attrs") or ""))
        unknown = set(attributes) - _ALLOWED[name]
        if unknown:
            raise HtmlError(f"unsupported attribute {sorted(unknown)[0]!r} on <{name}>")
        if name == "a" and not attributes.get("href", "").strip("\"'"):
            raise HtmlError("<a> needs an href")
        tokens.append(_Token("open", match.group(0), name=name))
    if position < len(source):
        tokens.append(_Token("text", source[position:], plain=source[position:]))
    return tokens


def check_html(source: str) -> None:
    """Raise :class:`HtmlError` unless ``source`` is valid Telegram HTML."""
    stack: list[str] = []
    for token in _tokenize(source):
        if token.kind == "open":
            stack.append(token.name)
        elif token.kind == "close":
            if not stack or stack[-1] != token.name:
                raise HtmlError(f"unexpected </{token.name}>")
            stack.pop()
    if stack:
        raise HtmlError(f"<{stack[-1]}> is not closed")


def strip_html(source: str) -> str:
    """The plain text Telegram shows for ``source``."""
    return "".join(token.plain for token in _tokenize(source))


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def visible_length(source: str) -> int:
    return utf16_length(strip_html(source))


def truncate_plain(text: str, limit: int) -> str:
    """Cut plain text to ``limit`` UTF-16 units, with an ellipsis when cut."""
    if utf16_length(text) <= limit:
        return text
    out = text
    while utf16_length(out) > limit - 1:
        out = out[: max(0, len(out) - max(1, (utf16_length(out) - limit + 1) // 2))]
    return out.rstrip() + "…"


def split_html(source: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split valid Telegram HTML into chunks of at most ``limit`` visible characters.

    Breaks at line ends where possible, then at spaces, then anywhere; tags open across a break are
    closed at the end of one chunk and reopened at the start of the next.
    """
    if utf16_length(source) <= limit or visible_length(source) <= limit:  # tags only ever shorten
        return [source]
    pieces: list[_Token] = []
    for token in _tokenize(source):
        if token.kind != "text" or token.raw.startswith("&"):
            pieces.append(token)
            continue
        for part in re.split(r"(?<=\n)|(?<= )", token.raw):
            if part:
                pieces.append(_Token("text", part, plain=part))
    chunks: list[str] = []
    current: list[str] = []
    opened: list[_Token] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        body = "".join(current) + "".join(f"</{token.name}>" for token in reversed(opened))
        if strip_html(body).strip():
            chunks.append(body.strip("\n") if not opened else body)
        current = [token.raw for token in opened]
        size = 0

    for piece in pieces:
        if piece.kind == "open":
            opened.append(piece)
            current.append(piece.raw)
            continue
        if piece.kind == "close":
            if opened:
                opened.pop()
            current.append(piece.raw)
            continue
        length = utf16_length(piece.plain)
        if size + length > limit and size > 0:
            flush()
        while length > limit:  # a single word longer than a message
            head = piece.raw[:limit]
            current.append(head)
            size = limit
            flush()
            piece = _Token("text", piece.raw[limit:], plain=piece.plain[limit:])
            length = utf16_length(piece.plain)
        current.append(piece.raw)
        size += length
    flush()
    return chunks


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
LEAD_LIMIT = 220


def lead_html(source: str, limit: int = LEAD_LIMIT) -> str:
    """The lead of an answer, for a short reply: its first line (its first paragraph when that line
    only introduces a list) if it fits in ``limit`` visible characters, else as many of its first
    sentences as fit, cut only where the HTML stays valid. A first sentence longer than ``limit`` is
    cut as plain text, with an ellipsis."""
    text = source.strip()
    first, _, rest = text.partition("\n")
    if first.rstrip().endswith(":") and rest:
        first = text.split("\n\n", 1)[0]
    first = first.strip()
    if visible_length(first) <= limit:
        return first
    best = ""
    for match in _SENTENCE_END.finditer(first):
        head = first[: match.start()]
        if visible_length(head) > limit:
            break
        try:
            check_html(head)
        except HtmlError:
            continue
        best = head
    return best or html.escape(truncate_plain(strip_html(first), limit), quote=False)
