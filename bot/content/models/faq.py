"""The FAQ (``faq.yaml``): categories, entries with their answers per language and milestone, and the
off-topic examples."""

from __future__ import annotations

from collections.abc import Container
from datetime import date

from pydantic import Field, model_validator

from bot.config import Lang
from bot.content.models.base import Html, Identifier, Localized, Model, Source, Text
from bot.telegram_text import visible_length

ANSWER_LIMIT = 3500  # leaves room for the sources and buttons within Telegram's 4096


class FaqCategory(Model):
    id: Identifier
    title: Localized


class Variant(Model):
    """An answer that holds from a milestone on (until the next variant's milestone)."""

    from_: Identifier = Field(alias="from")
    a: Html


class FaqText(Model):
    q: Text
    a: Html  # holds until the first variant's milestone
    variants: list[Variant] = []
    alt: list[Text] = Field(min_length=1)
    keywords: list[Text] = []  # search vocabulary only, never shown

    @model_validator(mode="after")
    def _within_limits(self) -> FaqText:
        for name, value in [("a", self.a), *((f"variants.{v.from_}.a", v.a) for v in self.variants)]:
            if visible_length(value) > ANSWER_LIMIT:
                raise ValueError(f"{name} is {visible_length(value)} characters; keep answers under {ANSWER_LIMIT}")
        if len(self.q) > 200:
            raise ValueError("q is longer than 200 characters")
        return self

    def answers(self) -> list[str]:
        return [self.a, *(variant.a for variant in self.variants)]

    def answer(self, passed: Container[str]) -> str:
        """The answer at a moment when the milestones in ``passed`` have passed (variants are in
        milestone order: the last one passed holds)."""
        chosen = self.a
        for variant in self.variants:
            if variant.from_ in passed:
                chosen = variant.a
        return chosen


class FaqEntry(Model):
    id: Identifier
    category: Identifier
    reviewed: date
    sources: list[Source] = Field(min_length=1)
    kk: FaqText
    ru: FaqText
    en: FaqText

    def text(self, lang: Lang) -> FaqText:
        text: FaqText = getattr(self, lang)
        return text


class OffTopic(Model):
    """Examples of questions the bot must not answer (search vocabulary, never shown)."""

    kk: list[Text] = []
    ru: list[Text] = []
    en: list[Text] = []


class FaqFile(Model):
    categories: list[FaqCategory] = Field(min_length=1)
    entries: list[FaqEntry] = Field(min_length=1)
    off_topic: OffTopic = OffTopic()

    @model_validator(mode="after")
    def _consistent(self) -> FaqFile:
        seen: set[str] = set()
        for entry in self.entries:
            if entry.id in seen:
                raise ValueError(f"entry id {entry.id!r} is used twice")
            seen.add(entry.id)
        categories = {category.id for category in self.categories}
        if len(categories) != len(self.categories):
            raise ValueError("category ids must be unique")
        for entry in self.entries:
            if entry.category not in categories:
                raise ValueError(f"entry {entry.id!r}: unknown category {entry.category!r}")
        return self
