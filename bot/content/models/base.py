"""What every content model is made of: the validated string types (Telegram HTML, URLs, plain text,
identifiers), the strict base model, texts per language, sources and links."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.config import Lang
from bot.telegram_text import HtmlError, check_html

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")  # 30 characters keep callback data within 64 bytes


def _html(value: str) -> str:
    try:
        check_html(value)
    except HtmlError as error:
        raise ValueError(f"invalid Telegram HTML: {error}") from None
    return value.strip()


def _url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s<>\"]*", value):
        raise ValueError(f"not a well-formed http(s) URL: {value!r}")
    return value


def _plain(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


Html = Annotated[str, AfterValidator(_html)]


Url = Annotated[str, AfterValidator(_url)]


Text = Annotated[str, AfterValidator(_plain)]


Identifier = Annotated[str, Field(pattern=_ID_RE.pattern)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Model):
    """A text in each of the bot's languages; all three are required."""

    kk: Text
    ru: Text
    en: Text

    def get(self, lang: Lang) -> str:
        return str(getattr(self, lang))


class LocalizedHtml(Model):
    kk: Html
    ru: Html
    en: Html

    def get(self, lang: Lang) -> str:
        return str(getattr(self, lang))


class Source(Model):
    """A public source. ``title`` is one string, or a title per language (shown in the reader's).
    ``published``: when it was published (a day, or a day and hour on the campaign's clock, e.g.
    ``"2026-03-15 18:00"``); it is never shown before. ``from``: a milestone before which it is not
    shown either (its title would tell the outcome)."""

    title: Text | Localized
    url: Url
    published: datetime | date
    from_: Identifier | None = Field(default=None, alias="from")

    def title_in(self, lang: Lang) -> str:
        return self.title if isinstance(self.title, str) else self.title.get(lang)


class Link(Model):
    title: Localized
    url: Url
