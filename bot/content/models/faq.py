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


class Sentence(Model):
    """A part of an answer shown only from the milestone ``from`` and/or until the milestone
    ``until`` (e.g. "polling stations are published no later than 21 February", until that day)."""

    text: Html
    from_: Identifier | None = Field(default=None, alias="from")
    until: Identifier | None = None

    def holds(self, passed: Container[str]) -> bool:
        return (self.from_ is None or self.from_ in passed) and (self.until is None or self.until not in passed)


# An answer: one text, or a list of parts (texts and sentences with from/until), joined with spaces
Answer = Html | list[Html | Sentence]


def answer_parts(answer: Answer) -> list[Html | Sentence]:
    return [answer] if isinstance(answer, str) else answer


def render_answer(answer: Answer, passed: Container[str] | None = None) -> str:
    """The answer's text when the milestones in ``passed`` have passed (every part when None)."""
    texts = []
    for part in answer_parts(answer):
        if isinstance(part, str):
            texts.append(part)
        elif passed is None or part.holds(passed):
            texts.append(part.text)
    return " ".join(text for text in texts if text)


class Variant(Model):
    """An answer that holds from a milestone on (until the next variant's milestone)."""

    from_: Identifier = Field(alias="from")
    a: Answer


def answer_at(first: Answer, variants: list[Variant], passed: Container[str]) -> str:
    """``first`` until the first of ``variants`` (in milestone order) whose milestone has passed; the
    last one passed holds; of its parts, those whose from/until hold."""
    chosen = first
    for variant in variants:
        if variant.from_ in passed:
            chosen = variant.a
    return render_answer(chosen, passed)


class FaqText(Model):
    q: Text
    a: Answer  # holds until the first variant's milestone
    variants: list[Variant] = []
    alt: list[Text] = Field(min_length=1)
    keywords: list[Text] = []  # search vocabulary only, never shown

    @model_validator(mode="after")
    def _within_limits(self) -> FaqText:
        for name, value in [("a", self.a), *((f"variants.{v.from_}.a", v.a) for v in self.variants)]:
            length = visible_length(render_answer(value))
            if length > ANSWER_LIMIT:
                raise ValueError(f"{name} is {length} characters; keep answers under {ANSWER_LIMIT}")
        if len(self.q) > 200:
            raise ValueError("q is longer than 200 characters")
        return self

    def answers(self) -> list[str]:
        """Every answer's full text (all its parts)."""
        return [render_answer(self.a), *(render_answer(variant.a) for variant in self.variants)]

    def answer(self, passed: Container[str]) -> str:
        """The answer at a moment when the milestones in ``passed`` have passed (variants are in
        milestone order: the last one passed holds; of its parts, those whose from/until hold)."""
        return answer_at(self.a, self.variants, passed)


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
