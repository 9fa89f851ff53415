"""Where the campaign stands at a moment. The timeline in ``campaign.yaml`` decides: the stage is the
last milestone passed, and every rule below asks the timeline, never a date of its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.content.models import Campaign, Milestone

PollsState = Literal["not_open", "open", "closed"]
Period = Literal["before", "voting_day", "counting", "results", "archive"]


@dataclass(frozen=True)
class CampaignStatus:
    stage: Milestone | None  # the last milestone passed (None before the first)
    period: Period  # what the bot may say: before voting day, on it, counting, results known, archive
    days_left: int  # whole calendar days until voting day in the campaign's zone (0 on the day)
    polls: PollsState
    seconds_to_open: int  # until polls open; 0 once open
    seconds_to_close: int  # until polls close; 0 once closed

    @property
    def stage_id(self) -> str:
        return self.stage.id if self.stage else ""

    @property
    def polls_open(self) -> bool:
        return self.polls == "open"

    @property
    def results_known(self) -> bool:
        return self.period in ("results", "archive")


def status_at(campaign: Campaign, moment: datetime) -> CampaignStatus:
    local = moment.astimezone(campaign.tz)
    days_left = max(0, (campaign.voting_day - local.date()).days)
    if moment < campaign.opens_at:
        polls: PollsState = "not_open"
    elif moment < campaign.closes_at:
        polls = "open"
    else:
        polls = "closed"
    if campaign.passed("end", moment):
        period: Period = "archive"
    elif campaign.passed("results", moment):
        period = "results"
    elif polls == "closed":
        period = "counting"
    elif days_left == 0:
        period = "voting_day"
    else:
        period = "before"
    return CampaignStatus(
        stage=campaign.stage_at(moment),
        period=period,
        days_left=days_left,
        polls=polls,
        seconds_to_open=max(0, int((campaign.opens_at - moment).total_seconds())),
        seconds_to_close=max(0, int((campaign.closes_at - moment).total_seconds())),
    )


def note_at(campaign: Campaign, moment: datetime) -> Milestone | None:
    """The milestone whose ``note`` holds at ``moment``: the last one passed that has a note, unless
    that note's ``until`` milestone has passed too."""
    found = None
    for milestone in campaign.milestones:
        if milestone.note is not None and campaign.moment_of(milestone) <= moment:
            found = milestone
    until = found.note.until if found is not None and found.note is not None else None
    return None if until is not None and campaign.passed(until, moment) else found


def share(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, rounded to two decimals (as the commission gives them)."""
    return round(100 * part / whole, 2) if whole else 0.0
