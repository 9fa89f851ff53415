"""What the fake answers is checked against the Bot API spec (``bot_api_methods.json``, made from the
spec by ``tests/support/update_bot_api.py``): every object carries the fields the spec marks required,
recursively, so aiogram parses the fake's answers as it would Telegram's. A violation is the fake's
own bug: it is recorded (``FakeTelegram.spec_violations``) and the tests' ``no_errors`` fails on it."""

from __future__ import annotations

from typing import Any

from .model import JSON

ARRAY = "Array of "
MAX_DEPTH = 8


def _type_of(name: str) -> tuple[str, int]:
    depth = 0
    while name.startswith(ARRAY):
        name, depth = name[len(ARRAY) :], depth + 1
    return name, depth


def _values(value: Any, depth: int) -> list[Any]:
    if depth == 0:
        return [value]
    if not isinstance(value, list):
        return []
    return [inner for item in value for inner in _values(item, depth - 1)]


def problems(
    types: dict[str, JSON], returns: list[str], value: Any, where: str = "result", level: int = 0
) -> list[str]:
    """The required fields missing in ``value``, an answer of one of the types ``returns``."""
    if level > MAX_DEPTH or not isinstance(value, (dict, list)):
        return []
    found: list[str] = []
    for declared in returns:
        name, depth = _type_of(declared)
        kind = types.get(name)
        if kind is None or not kind.get("fields"):  # a primitive, or a union the spec leaves open
            continue
        for item in _values(value, depth):
            if not isinstance(item, dict):
                continue
            found += [f"{where}: {name}.{field} is required" for field in kind["required"] if field not in item]
            for field, field_types in kind["fields"].items():
                if field in item:
                    found += problems(types, field_types, item[field], f"{where}.{field}", level + 1)
        return found  # the first declared object type decides (unions are open)
    return found
