"""``make bench``: runs every benchmark and writes bench/RESULTS.md with the machine and date."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

SUITES = [
    "bench.faq",
    "bench.delivery",
    "bench.scale",
    "bench.plan",
    "bench.voting_day",
    "bench.pacing",
    "bench.runtime",
    "bench.cli",
    "bench.pictures",
]
TITLES = {
    "## Questions and answers": "bench.faq",
    "## Delivery engine": "bench.delivery",
    "## Deliveries at scale": "bench.scale",
    "## Reminder plans at scale": "bench.plan",
    "## Voting day at a million subscribers (compressed clock)": "bench.voting_day",
    "## Flood pacing": "bench.pacing",
    "## Production runtime": "bench.runtime",
    "## Command line": "bench.cli",
    "## Pictures": "bench.pictures",
}
RESULTS = Path(__file__).with_name("RESULTS.md")


def _sections(text: str) -> dict[str, list[str]]:
    """The previous results, split by suite (a suite's section starts with its ``## `` title); a
    section no suite writes (a one-time comparison) is kept under its title."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(TITLES.get(line.strip(), line.strip()), [])
        if current is not None:
            current.append(line)
    return sections


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
    previous = _sections(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    for name in SUITES:
        if only and name.split(".")[-1] not in only:
            # not run this time: keep its figures from the last run (they carry their own date)
            report.extend(previous.get(name, []))
            if report[-1] != "":
                report.append("")
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        print(f"running {name} …", file=sys.stderr)
        module.run(report)
        if report[-1] != "":
            report.append("")
    for name, lines in previous.items():
        if name not in SUITES:
            report.extend(lines)
            if report[-1] != "":
                report.append("")
    text = "\n".join(report) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
