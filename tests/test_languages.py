"""The languages in one place (bot/languages.py, issue 24): what the picker, the desk and the
checks show comes from the registry, and the registry agrees with the catalogues and the content."""

from __future__ import annotations

from bot.config import LANGUAGES
from bot.i18n import LANGUAGE_NAMES
from bot.languages import REGISTRY, is_known, labels
from bot.telegram.keyboards import language_menu
from tests.conftest import ROOT


def test_the_registry_speaks_the_bots_languages_with_a_catalogue_each() -> None:
    assert tuple(REGISTRY) == LANGUAGES
    for code, language in REGISTRY.items():
        assert (ROOT / "locales" / code / "LC_MESSAGES" / "bot.po").is_file(), code
        assert language.code == code and language.native and language.flag
        assert all(is_known(other) and other != code for other in language.fallback), code
    assert not is_known("uz") and not is_known(None)


def test_names_on_screens_come_from_the_registry() -> None:
    assert LANGUAGE_NAMES == labels() == {"kk": "🇰🇿 Қазақша", "ru": "🇷🇺 Русский", "en": "🇬🇧 English"}
    buttons = [button.text for row in language_menu().inline_keyboard for button in row]
    assert buttons == list(labels().values())
