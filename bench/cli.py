"""Command-line start-up: CPU seconds of `voterbot ask` and `voterbot check` (child processes'
user + system time, median of 5), the tools an editor runs most."""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {'voterbot ask "когда выборы"': ["ask", "когда выборы"], "voterbot check": ["check"]}


def _cpu(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(report: list[str]) -> None:
    report.append("## Command line\n")
    report.append("| command | CPU seconds (median of 5) |")
    report.append("|---|---|")
    for label, args in COMMANDS.items():
        report.append(f"| `{label}` | {statistics.median(_cpu(args) for _ in range(5)):.2f} s |")
    report.append("")
    report.append(
        "Neither imports aiogram (a test checks it). Before (commit 92dd51b, aiogram imported through "
        "bot.i18n): `voterbot ask` took 4.8–5.6 s of CPU on this machine."
    )
