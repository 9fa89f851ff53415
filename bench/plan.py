"""A voting campaign at a million subscribers, planned (issue 27): for every reminder of
data/campaign.yaml, when it starts, when it finishes and its deadline, at 25/s, 30/s and paid
1,000/s, every subscriber reached by every reminder. Pure arithmetic (the planner the bot runs on
its clock); the sending itself is measured by ``bench/scale.py``.

Run alone: ``.venv/bin/python -m bench plan``."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.delivery import ROOT
from bot.content.loader import load_content
from bot.services.delivery.planner import PAID_RATE, in_sequence, plan
from bot.services.reminders import reminder_window

SUBSCRIBERS = (1_000_000, 2_000_000)
RATES = (25.0, 30.0, PAID_RATE)


def run(report: list[str]) -> None:
    campaign = load_content(ROOT / "data").campaign
    tz = campaign.tz
    report.append("## Reminder plans at scale")
    report.append("")
    report.append(
        f"Computed {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/plan.py` for every reminder of "
        "`data/campaign.yaml`, each reaching every subscriber (the planner the bot runs: start at the "
        "reminder's time, or earlier when its window needs it; the window ends at its deadline and "
        "before the night), one after the other as the engine sends them (one broadcast at a time). "
        "Times in the campaign's zone; ⚠️ = cannot finish by its deadline: what is left then expires."
    )
    report.append("")
    report.append("| subscribers | rate | reminder | time | window | starts | finishes |")
    report.append("|---|---|---|---|---|---|---|")
    for count in SUBSCRIBERS:
        for rate in RATES:
            alone = [
                (
                    reminder,
                    plan(count, rate, wanted=campaign.reminder_moment(reminder), deadline=deadline, earliest=earliest),
                )
                for reminder in campaign.reminders
                for earliest, deadline in [reminder_window(campaign, reminder)]
            ]
            alone.sort(key=lambda pair: pair[1].start)
            for (reminder, _alone), planned in zip(alone, in_sequence([p for _r, p in alone]), strict=True):
                earliest, deadline = reminder_window(campaign, reminder)
                moment = campaign.reminder_moment(reminder)
                mark = "" if planned.fits else " ⚠️"
                report.append(
                    f"| {count:,} | {rate:g}/s | {reminder.id} | {moment.astimezone(tz):%d.%m %H:%M} | "
                    f"{earliest.astimezone(tz):%H:%M}–{deadline.astimezone(tz):%d.%m %H:%M} | "
                    f"{planned.start.astimezone(tz):%d.%m %H:%M} | {planned.finish.astimezone(tz):%d.%m %H:%M}{mark} |"
                )
    report.append("")
