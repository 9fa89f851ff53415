"""Typed content. Every model forbids unknown fields so that a typo in a YAML key is reported.

``base.py``: the validated string types, the strict base model, texts per language, sources and
links; ``campaign.py``: the campaign and its parts; ``faq.py``: the FAQ; ``operators.py``: the
operators' desk's hours."""

from bot.content.models.base import Html, Identifier, Link, Localized, LocalizedHtml, Model, Source, Text, Url
from bot.content.models.campaign import (
    REMINDER_PLACEHOLDERS,
    REQUIRED_MILESTONES,
    CallCentre,
    Campaign,
    District,
    Milestone,
    Note,
    Preliminary,
    Reminder,
    ResultOption,
    Results,
    StationLookup,
)
from bot.content.models.faq import ANSWER_LIMIT, FaqCategory, FaqEntry, FaqFile, FaqText, OffTopic, Variant
from bot.content.models.operators import WEEKDAYS, OperatorPeriod, Operators, OperatorShift, Weekday
from bot.content.models.rumours import Rumour, RumoursFile, RumourText, Verdict

__all__ = [
    "ANSWER_LIMIT",
    "REMINDER_PLACEHOLDERS",
    "REQUIRED_MILESTONES",
    "WEEKDAYS",
    "CallCentre",
    "Campaign",
    "District",
    "FaqCategory",
    "FaqEntry",
    "FaqFile",
    "FaqText",
    "Html",
    "Identifier",
    "Link",
    "Localized",
    "LocalizedHtml",
    "Milestone",
    "Model",
    "Note",
    "OffTopic",
    "OperatorPeriod",
    "OperatorShift",
    "Operators",
    "Preliminary",
    "Reminder",
    "ResultOption",
    "Results",
    "Rumour",
    "RumourText",
    "RumoursFile",
    "Source",
    "StationLookup",
    "Text",
    "Url",
    "Variant",
    "Verdict",
    "Weekday",
]
