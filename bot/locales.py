"""Where the gettext catalogues are, without importing aiogram: the command-line tools that only read
content (``voterbot check``, ``ask``, ``eval``) start fast. (``preview`` renders the bot's screens, so
it imports aiogram.)"""

from __future__ import annotations

from pathlib import Path

DOMAIN = "bot"


def locales_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "locales"
    return packaged if packaged.is_dir() else Path("locales")


class TranslationsError(Exception):
    pass
