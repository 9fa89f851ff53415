"""The languages the bot speaks, in one place: code, native name, flag, English name and the fallback
chain (what to show when a text is missing). A leaf module: the handlers (picker, names in the
desk and the admins' screens) and the checks read it.

Adding a language is, today, this entry, a gettext catalogue (locales/<code>/LC_MESSAGES/bot.po)
and the content's translations; the content models still name kk, ru and en (``bot.config.Lang``),
which is the part of issue 24 not yet done."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as Telegram's language_code and Babel's locale
    native: str  # the language's name in itself, on the picker
    flag: str
    english: str
    fallback: tuple[str, ...] = ()  # the languages to fall back on, in order

    @property
    def label(self) -> str:
        return f"{self.flag} {self.native}"


REGISTRY: dict[str, Language] = {
    language.code: language
    for language in (
        Language("kk", "Қазақша", "🇰🇿", "Kazakh", fallback=("ru",)),
        Language("ru", "Русский", "🇷🇺", "Russian", fallback=("kk",)),
        Language("en", "English", "🇬🇧", "English", fallback=("ru",)),
    )
}


def labels() -> dict[str, str]:
    """Code -> "🇰🇿 Қазақша", in the registry's order (the language picker's)."""
    return {code: language.label for code, language in REGISTRY.items()}


def is_known(code: str | None) -> bool:
    return code is not None and code in REGISTRY
