"""Languages: gettext catalogues (``locales/<lang>/LC_MESSAGES/bot.mo``) and Babel for dates, times
and plurals in the user's language and the campaign's time zone.

No Telegram here: :class:`I18n` is a small gettext holder with the same ``use_locale`` /
``context`` API as aiogram's, so the command line and the services' renderers can use it without
importing aiogram. The per-update middleware that picks the language lives in
:mod:`bot.telegram.middlewares`."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from bot.config import LANGUAGES, Lang
from bot.languages import labels
from bot.locales import DOMAIN, TranslationsError, locales_dir

__all__ = ["DOMAIN", "I18n", "TranslationsError", "locales_dir"]

_current: ContextVar[I18n | None] = ContextVar("voterbot_i18n", default=None)


class I18n:
    """The compiled catalogues of one domain, and the language in use (a context variable)."""

    def __init__(self, *, path: Path, default_locale: str, domain: str = DOMAIN) -> None:
        self.path = path
        self.default_locale = default_locale
        self.domain = domain
        self._locale: ContextVar[str] = ContextVar("voterbot_locale", default=default_locale)
        self.locales: dict[str, gettext.GNUTranslations] = {}
        for lang in LANGUAGES:
            with (path / lang / "LC_MESSAGES" / f"{domain}.mo").open("rb") as fp:
                self.locales[lang] = gettext.GNUTranslations(fp)

    @property
    def current_locale(self) -> str:
        return self._locale.get()

    @contextmanager
    def use_locale(self, locale: str) -> Iterator[None]:
        """Texts in ``locale`` inside the block (and this catalogue the current one)."""
        token = self._locale.set(locale)
        current = _current.set(self)
        try:
            yield
        finally:
            _current.reset(current)
            self._locale.reset(token)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        """This catalogue the current one inside the block, in the language already in use."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def gettext(self, singular: str, plural: str | None = None, n: int = 1, locale: str | None = None) -> str:
        translator = self.locales.get(locale or self.current_locale)
        if translator is None:
            return singular if n == 1 or plural is None else plural
        if plural is None:
            return translator.gettext(singular)
        return translator.ngettext(singular, plural, n)


def get_i18n() -> I18n:
    i18n = _current.get()
    if i18n is None:
        raise LookupError("no language context: wrap the call in `i18n.use_locale(lang)`")
    return i18n


def create_i18n(default_language: Lang, path: Path | None = None) -> I18n:
    path = path or locales_dir()
    missing = [lang for lang in LANGUAGES if not (path / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()]
    if missing:
        raise TranslationsError(
            f"translations not compiled for {', '.join(missing)} in {path}: run `make translations`"
        )
    try:
        return I18n(path=path, default_locale=default_language, domain=DOMAIN)
    except OSError as error:
        raise TranslationsError(f"translations cannot be read in {path}: {error}") from None


def normalize_language(code: str | None) -> Lang | None:
    """Telegram's ``language_code`` (``ru``, ``ru-RU``, ``kk``) to one of ours, or None."""
    if not code:
        return None
    base = code.split("-")[0].split("_")[0].lower()
    for lang in LANGUAGES:
        if base == lang:
            return lang
    return None


# How each language names itself (the language picker, /stats, the desk's ticket intro).
LANGUAGE_NAMES: dict[str, str] = labels()  # from the registry (bot/languages.py)


class LanguageRecord(Protocol):
    """What the language choice reads of a stored user (``storage.base.UserRecord`` has it)."""

    @property
    def language(self) -> str | None: ...

    @property
    def telegram_language(self) -> str | None: ...


def resolve_language(record: LanguageRecord | None, language_code: str | None, default: Lang) -> Lang:
    """The saved choice, else Telegram's language when we speak it, else the default."""
    if record is not None:
        chosen = normalize_language(record.language)
        if chosen is not None:
            return chosen
    return normalize_language(language_code) or default


def stored_language(record: LanguageRecord | None, default: Lang) -> Lang:
    """The language of a stored user outside an update: their choice, else Telegram's, else default."""
    if record is None:
        return default
    return normalize_language(record.language) or normalize_language(record.telegram_language) or default


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (gettext_noop)."""
    return message


def _(message: str) -> str:
    return get_i18n().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return get_i18n().gettext(singular, plural, n)


# One date style per language: "2026 жылғы 15 наурыз", "15 марта 2026 года", "15 March 2026".
_DATE_PATTERNS: dict[str, tuple[str, str]] = {  # (plain, with the weekday)
    "kk": ("y 'жылғы' d MMMM", "y 'жылғы' d MMMM, EEEE"),
    "ru": ("d MMMM y 'года'", "EEEE, d MMMM y 'года'"),
    "en": ("d MMMM y", "EEEE, d MMMM y"),
}


def fmt_date(value: date | datetime, lang: Lang, tz: Any = None, *, with_weekday: bool = False) -> str:
    if isinstance(value, datetime) and tz is not None:
        value = value.astimezone(tz)
    day = value.date() if isinstance(value, datetime) else value
    plain, weekday = _DATE_PATTERNS.get(lang, _DATE_PATTERNS["en"])
    return format_date(day, weekday if with_weekday else plain, locale=lang)


def fmt_number(value: int, lang: Lang) -> str:
    return format_decimal(value, locale=lang)


def fmt_share(value: float, lang: Lang) -> str:
    """A percentage with two decimals: "87,15%" (kk, ru), "87.15%" (en)."""
    return format_decimal(value, format="0.00", locale=lang) + "%"


def fmt_time(value: datetime, lang: Lang, tz: Any) -> str:
    return format_time(value.astimezone(tz), "HH:mm", locale=lang)
