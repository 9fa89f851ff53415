"""Where the campaign stands at a moment: before voting day, on it, or after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.content.models import Campaign, Phase

PollsState = Literal["not_open", "open", "closed"]


@dataclass(frozen=True)
class CampaignStatus:
    phase: Phase
    days_left: int  # whole calendar days until voting day in the campaign's zone (0 on the day)
    polls: PollsState
    seconds_to_open: int  # until polls open; 0 once open
    seconds_to_close: int  # until polls close; 0 once closed


def status_at(campaign: Campaign, moment: datetime) -> CampaignStatus:
    local = moment.astimezone(campaign.tz)
    phase = campaign.phase_at(moment)
    days_left = max(0, (campaign.voting_day - local.date()).days)
    if moment < campaign.opens_at:
        polls: PollsState = "not_open"
    elif moment < campaign.closes_at:
        polls = "open"
    else:
        polls = "closed"
    return CampaignStatus(
        phase=phase,
        days_left=days_left,
        polls=polls,
        seconds_to_open=max(0, int((campaign.opens_at - moment).total_seconds())),
        seconds_to_close=max(0, int((campaign.closes_at - moment).total_seconds())),
    )
