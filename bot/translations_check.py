"""Checks the gettext catalogues: every message of the template translated in kk, ru and en, with
all plural forms and the same ``{placeholders}`` as the original."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.config import LANGUAGES

_PLACEHOLDER_RE = re.compile(r"\{[a-z_]*\}")


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER_RE.findall(text))


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def check_translations(locales: Path) -> list[str]:
    problems: list[str] = []
    template_path = locales / "bot.pot"
    if not template_path.is_file():
        return [f"{template_path}: template not found (run `make i18n`)"]
    template = _read(template_path)
    wanted = [message for message in template if message.id]
    for lang in LANGUAGES:
        path = locales / lang / "LC_MESSAGES" / "bot.po"
        if not path.is_file():
            problems.append(f"{path}: catalogue not found (run `make i18n`)")
            continue
        catalog = _read(path)
        for message in wanted:
            key = message.id
            found = catalog.get(key[0] if isinstance(key, tuple) else key)
            label = key[0] if isinstance(key, tuple) else key
            where = f"{path}: message {label!r}"
            if found is None:
                problems.append(f"{where}: missing (run `make i18n`)")
                continue
            if found.fuzzy:
                problems.append(f"{where}: marked fuzzy; review the translation and remove the flag")
            raw = found.string
            strings: list[str] = [str(item) for item in raw] if isinstance(raw, tuple | list) else [str(raw or "")]
            if not all(strings):
                problems.append(f"{where}: not translated")
                continue
            originals = [str(item) for item in key] if isinstance(key, tuple) else [str(key)]
            expected = set().union(*(_placeholders(text) for text in originals))
            for text in strings:
                if _placeholders(text) - expected or (expected - _placeholders(text) - {"{n}"}):
                    problems.append(f"{where}: placeholders differ from the original ({', '.join(sorted(expected))})")
                    break
            if isinstance(key, tuple) and len(strings) != catalog.num_plurals:
                problems.append(f"{where}: needs {catalog.num_plurals} plural forms, has {len(strings)}")
    return problems
