"""``make bench``: runs every benchmark and writes bench/RESULTS.md with the machine and date."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

SUITES = ["bench.faq", "bench.delivery"]


def main() -> int:
    only = sys.argv[1:]
    report = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}",
        "",
    ]
    for name in SUITES:
        if only and name.split(".")[-1] not in only:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        print(f"running {name} …", file=sys.stderr)
        module.run(report)
    text = "\n".join(report) + "\n"
    Path(__file__).with_name("RESULTS.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
