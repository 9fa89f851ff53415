"""Regenerate ``bot/devtools/bot_api_methods.json`` (the fake Bot API's knowledge of Telegram) from the
Bot API spec shared with the team (``../shared/telegram/bot-api-spec.json``, the format of the public
telegram-bot-api-spec project):

    .venv/bin/python -m tests.support.update_bot_api [path/to/bot-api-spec.json]

It keeps, per method, the parameters, the required ones and what it returns; per type, each field's
types and which fields are required (what the fake's answers must carry for aiogram to parse them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bot" / "devtools" / "bot_api_methods.json"
SPEC = ROOT.parent / "shared" / "telegram" / "bot-api-spec.json"


def convert(spec: dict[str, object]) -> dict[str, object]:
    methods = {}
    for name, method in sorted(spec["methods"].items()):  # type: ignore[attr-defined]
        fields = method.get("fields", [])
        methods[name] = {
            "fields": [field["name"] for field in fields],
            "required": [field["name"] for field in fields if field["required"]],
            "returns": method["returns"],
        }
    types = {}
    for name, kind in sorted(spec["types"].items()):  # type: ignore[attr-defined]
        fields = kind.get("fields", [])
        types[name] = {
            "fields": {field["name"]: field["types"] for field in fields},
            "required": [field["name"] for field in fields if field["required"]],
        }
    return {"version": spec["version"], "methods": methods, "types": types}


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else SPEC
    data = convert(json.loads(source.read_text(encoding="utf-8")))
    TARGET.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n")
    methods, types = data["methods"], data["types"]
    assert isinstance(methods, dict) and isinstance(types, dict)
    print(f"{TARGET.relative_to(ROOT)}: {data['version']}, {len(methods)} methods, {len(types)} types")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
