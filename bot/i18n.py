"""Languages: gettext catalogues (``locales/<lang>/LC_MESSAGES/bot.mo``) through aiogram's I18n,
and Babel for dates, times and plurals in the user's language and the campaign's time zone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n.context import get_i18n
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from bot.config import LANGUAGES, Lang
from bot.locales import DOMAIN, TranslationsError, locales_dir
from bot.storage import UserRecord

__all__ = ["DOMAIN", "TranslationsError", "locales_dir"]


def create_i18n(default_language: Lang, path: Path | None = None) -> I18n:
    path = path or locales_dir()
    missing = [lang for lang in LANGUAGES if not (path / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()]
    if missing:
        raise TranslationsError(
            f"translations not compiled for {', '.join(missing)} in {path}: run `make translations`"
        )
    try:
        return I18n(path=path, default_locale=default_language, domain=DOMAIN)
    except RuntimeError as error:
        raise TranslationsError(str(error)) from None


def normalize_language(code: str | None) -> Lang | None:
    """Telegram's ``language_code`` (``ru``, ``ru-RU``, ``kk``) to one of ours, or None."""
    if not code:
        return None
    base = code.split("-")[0].split("_")[0].lower()
    for lang in LANGUAGES:
        if base == lang:
            return lang
    return None


def resolve_language(record: UserRecord | None, user: User | None, default: Lang) -> Lang:
    """The saved choice, else Telegram's language when we speak it, else the default."""
    if record is not None:
        chosen = normalize_language(record.language)
        if chosen is not None:
            return chosen
    return normalize_language(user.language_code if user else None) or default


def stored_language(record: UserRecord | None, default: Lang) -> Lang:
    """The language of a stored user outside an update: their choice, else Telegram's, else default."""
    if record is None:
        return default
    return normalize_language(record.language) or normalize_language(record.telegram_language) or default


class UserLanguageMiddleware(I18nMiddleware):
    """Picks the language per update; the user middleware has put the stored user in ``data``.
    Handlers get it as ``lang``, and gettext (``_``) uses it for the rest of the update."""

    def __init__(self, i18n: I18n, default: Lang) -> None:
        super().__init__(i18n)
        self.default = default

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        return resolve_language(data.get("user_record"), data.get("event_from_user"), self.default)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        # I18nMiddleware.__call__ with the locale resolved once (it runs on every update)
        data["lang"] = lang = await self.get_locale(event, data)
        if self.i18n_key:
            data[self.i18n_key] = self.i18n
        data[self.middleware_key] = self
        with self.i18n.context(), self.i18n.use_locale(lang):
            return await handler(event, data)


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
