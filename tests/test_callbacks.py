"""Every button's data: one module defines it, every prefix is unique, and every packing fits in
Telegram's 64 bytes with the longest values the content and the bot allow."""

from __future__ import annotations

import inspect
import re
import typing
from enum import Enum
from pathlib import Path

from aiogram.filters.callback_data import CallbackData

from bot.content.events import EventKind
from bot.telegram import callbacks

ROOT = Path(__file__).resolve().parent.parent
IDENTIFIER = 30  # bot.content.models.base: content ids (entries, categories, districts, events)
LONGEST: dict[str, str] = {  # the longest value each text field carries
    "kind": max(typing.get_args(EventKind), key=len),
    "district": "d" * IDENTIFIER,
    "entry": "e" * IDENTIFIER,
    "category": "c" * IDENTIFIER,
    "back": "c" * IDENTIFIER,
    "id": "e" * IDENTIFIER,  # an event's id
    "value": "dist-" + "d" * IDENTIFIER,  # an audience token, a district, a reminder mode or time
    "when": "today",
    "what": "district",
    "ctx": str(2**31),  # a message id
    "code": "kk",
    "where": "p",
}
LARGEST_INT = {"page": 999}  # pages; ticket and broadcast ids up to 10**12


def factories() -> list[type[CallbackData]]:
    return [
        cls
        for _, cls in inspect.getmembers(callbacks, inspect.isclass)
        if issubclass(cls, CallbackData) and cls is not CallbackData
    ]


def test_every_factory_lives_in_one_module() -> None:
    elsewhere = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "bot").rglob("*.py")
        if path != ROOT / "bot" / "telegram" / "callbacks.py"
        and re.search(r"\(CallbackData, prefix=", path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def test_prefixes_are_unique_and_packings_fit() -> None:
    prefixes = [cls.__prefix__ for cls in factories()]
    assert len(prefixes) == len(set(prefixes)), prefixes
    for cls in factories():
        values: dict[str, object] = {}
        for name, field in cls.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, Enum):
                values[name] = max(kind, key=lambda member: len(str(member.value)))
            elif kind is int:
                values[name] = LARGEST_INT.get(name, 10**12)
            elif kind is bool:
                values[name] = True
            else:
                values[name] = LONGEST[name]
        packed = cls(**values).pack()
        assert len(packed.encode()) <= 64, (cls.__name__, packed, len(packed.encode()))


def test_an_action_outside_its_enum_is_refused() -> None:
    assert callbacks.AnnCb.unpack("ann:send:").action is callbacks.AnnAction.SEND
    for forged in ("ann:drop_tables:", "dk:nope:", "prv:forget_everyone"):
        try:
            cls = next(c for c in factories() if forged.startswith(c.__prefix__ + ":"))
            cls.unpack(forged)
        except (ValueError, TypeError):
            continue
        raise AssertionError(f"{forged} was accepted")
