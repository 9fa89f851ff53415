"""The operators' desk's hours (``operators`` in ``campaign.yaml``)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bot.content.models.base import Identifier, Localized, Model

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class OperatorShift(Model):
    """Operators are on duty on ``days`` from ``from`` to ``to`` (campaign time zone)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    from_: time = Field(alias="from")
    to: time

    @model_validator(mode="after")
    def _in_order(self) -> OperatorShift:
        if self.to <= self.from_:
            raise ValueError("to must be after from (a shift ends on the day it starts)")
        return self


class OperatorPeriod(Model):
    """Other hours from the milestone ``from`` on (until the next period)."""

    from_: Identifier = Field(alias="from")
    hours: list[OperatorShift] = Field(min_length=1)


class Operators(Model):
    """The operators' desk ("💬 Ask a person"): who answers, when, and how much one resident may send.
    ``periods``: other hours from a milestone on; ``until``: the milestone from which the desk is
    closed (nobody answers: residents are told so and given the commission's site)."""

    staff: Localized | None = None  # who answers, e.g. "the city call centre's staff"
    hours: list[OperatorShift] = Field(min_length=1)
    periods: list[OperatorPeriod] = []
    until: Identifier | None = None
    messages_per_hour: Annotated[int, Field(ge=1, le=200)] = 20
