"""What ``voterbot check`` warns of without failing: content that loads, but would confuse the search."""

from __future__ import annotations

import re
from collections import defaultdict

from bot.config import LANGUAGES
from bot.content.loader import Content

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def _normal(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text.casefold().replace("ё", "е")).split())


def shared_phrasings(content: Content) -> list[str]:
    """A phrasing (question or ``alt``) that two entries share, in one language: the search cannot
    tell which of them a resident means."""
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in content.faq.entries:
        for lang in LANGUAGES:
            text = entry.text(lang)
            for phrasing in {_normal(p) for p in (text.q, *text.alt)}:
                owners[(lang, phrasing)].append(entry.id)
    path = content.directory / "faq.yaml"
    return [
        f"{path}: warning: {lang} phrasing {phrasing!r} is in entries {', '.join(ids)}: keep it in one"
        for (lang, phrasing), ids in sorted(owners.items())
        if len(ids) > 1
    ]
