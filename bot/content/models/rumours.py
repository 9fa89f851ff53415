"""Rumours already checked (``rumours.yaml``, optional): a claim in each language with the phrasings
residents send it in, a verdict, a short explanation that may change with the timeline, and sources.
/rumour (and the FAQ matcher) recognises them before anything else."""

from __future__ import annotations

from collections.abc import Container
from datetime import date
from enum import StrEnum

from pydantic import Field, model_validator

from bot.config import Lang
from bot.content.models.base import Html, Identifier, Model, Source, Text
from bot.content.models.faq import Variant, answer_at


class Verdict(StrEnum):
    FALSE = "false"
    MISLEADING = "misleading"
    TRUE = "true"
    UNVERIFIABLE = "unverifiable"


class RumourText(Model):
    claim: Text  # the claim as the card quotes it
    explanation: Html  # holds until the first variant's milestone
    variants: list[Variant] = []  # ``a``: the explanation from a milestone on
    alt: list[Text] = Field(min_length=3)  # how residents send it (search only)

    @model_validator(mode="after")
    def _short(self) -> RumourText:
        if len(self.claim) > 200:
            raise ValueError("claim is longer than 200 characters")
        return self

    def explanation_at(self, passed: Container[str]) -> str:
        return answer_at(self.explanation, self.variants, passed)


class Rumour(Model):
    id: Identifier
    verdict: Verdict
    reviewed: date
    sources: list[Source] = Field(min_length=1)
    kk: RumourText
    ru: RumourText
    en: RumourText

    def text(self, lang: Lang) -> RumourText:
        text: RumourText = getattr(self, lang)
        return text


class RumoursFile(Model):
    rumours: list[Rumour] = []

    @model_validator(mode="after")
    def _unique(self) -> RumoursFile:
        ids = [rumour.id for rumour in self.rumours]
        if len(set(ids)) != len(ids):
            raise ValueError("rumour ids must be unique")
        return self
