"""``voterbot preview``: the editors' review sheet. For every milestone of the timeline (at a moment
just after it, and once before the first), what ``/start``, ``/countdown`` and ``/reminders`` say
and the answers to the questions chosen in ``data/preview.yaml``, as plain text: one read shows the
bot across the whole campaign. Nothing is sent anywhere; no token or database is needed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

import yaml
from aiogram.types import InlineKeyboardMarkup
from pydantic import ValidationError

from bot.config import LANGUAGES, Lang
from bot.content import Content, ContentError, ContentStore
from bot.content.loader import format_validation_error
from bot.content.models import Model, Source, Text
from bot.i18n import create_i18n, fmt_date, fmt_time
from bot.storage.base import ReminderPrefs
from bot.telegram.ui import Screen
from bot.telegram_text import strip_html

PREVIEW_FILE = "preview.yaml"
JUST_AFTER = timedelta(minutes=1)


class PreviewFile(Model):
    """``data/preview.yaml``: the questions editors want to see answered at every milestone."""

    questions: dict[Lang, list[Text]] = {}


def load_questions(directory: Path) -> dict[Lang, list[str]]:
    path = directory / PREVIEW_FILE
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {lang: list(texts) for lang, texts in PreviewFile.model_validate(raw).questions.items()}
    except yaml.YAMLError as error:
        raise ContentError([f"{path}: YAML syntax error: {error}"]) from None
    except ValidationError as error:
        raise ContentError(format_validation_error(path, raw, error)) from None


def moments(content: Content) -> Iterator[tuple[datetime, str]]:
    """A moment before the first milestone, then one just after each milestone, with a heading."""
    campaign = content.campaign
    first = campaign.moment_of(campaign.milestones[0])
    yield first - timedelta(days=1), "before the first milestone"
    for milestone in campaign.milestones:
        yield campaign.moment_of(milestone) + JUST_AFTER, f"after '{milestone.id}': {milestone.title.en}"


def all_sources(content: Content) -> list[Source]:
    """Every source the content cites, once per URL and ``from`` (in file order)."""
    campaign = content.campaign
    groups: list[Sequence[Source]] = [entry.sources for entry in content.faq.entries]
    groups += [event.sources for event in content.events]
    groups += [milestone.sources for milestone in campaign.milestones]
    groups += [campaign.sources]
    preliminary = campaign.results.preliminary if campaign.results else None
    groups += [part.sources for part in (campaign.results, preliminary) if part]
    groups += [part.sources for part in (campaign.call_centre, campaign.station_lookup) if part]
    seen: dict[tuple[str, str | None], Source] = {}
    for sources in groups:
        for source in sources:
            seen.setdefault((source.url, source.from_), source)
    return list(seen.values())


def sources_section(content: Content, moment: datetime, before: datetime | None, lang: Lang) -> str:
    """The sources out at ``moment``: how many, and those that came out since ``before``."""
    campaign = content.campaign
    every = all_sources(content)
    out = [source for source in every if campaign.shows(source, moment)]
    new = [source for source in out if before is None or not campaign.shows(source, before)]
    lines = [f"{len(out)} of {len(every)} sources may be cited now; " + (f"{len(new)} new since the heading above:")]
    for source in new:
        published = campaign.published_at(source)
        lines.append(f"  + {source.title_in(lang)} (published {published:%Y-%m-%d %H:%M}) {source.url}")
    waiting = [source for source in every if not campaign.shows(source, moment)]
    if waiting:
        lines.append(f"  not yet: {len(waiting)}")
    bare = [entry.id for entry in content.faq.entries if not campaign.shown_sources(entry.sources, moment)]
    if bare:  # their answers cite the commission's site instead: is the answer itself known by then?
        lines.append(
            "  answers with none of their sources out yet (the commission's site is cited): " + ", ".join(bare)
        )
    return "\n".join(lines)


def _plain(screen: Screen) -> str:
    lines = [strip_html(screen.text)]
    if isinstance(screen.markup, InlineKeyboardMarkup):
        for row in screen.markup.inline_keyboard:
            lines.append("  " + "  ".join(f"[{button.text}]" for button in row))
    return "\n".join(lines)


def preview(content: Content, langs: list[Lang], out: TextIO) -> None:
    from bot.handlers.faq import answer_screen, no_answer_screen, suggestions_screen
    from bot.handlers.reminders import countdown_screen, settings_view
    from bot.handlers.screens import home_screen
    from bot.services.faq import FaqService

    campaign = content.campaign
    i18n = create_i18n("ru")
    faq = FaqService(ContentStore(content))
    questions = load_questions(content.directory)
    for lang in langs:
        before: datetime | None = None
        for moment, heading in moments(content):
            with i18n.context(), i18n.use_locale(lang):
                local = moment.astimezone(campaign.tz)
                out.write(f"\n{'=' * 100}\n[{lang}] {fmt_date(local, lang)} {fmt_time(local, lang, campaign.tz)}")
                out.write(f" ({campaign.timezone}) — {heading}\n{'=' * 100}\n")
                sections = [
                    ("/start", home_screen(content, moment, lang)),
                    ("/countdown", countdown_screen(campaign, moment, lang)),
                    ("/reminders", settings_view(campaign, moment, ReminderPrefs(0), lang)),
                ]
                for question in questions.get(lang, []):
                    result = faq.search(question)
                    entry = faq.entry(result.best.id) if result.best else None
                    if result.decision == "answer" and entry is not None:
                        screen = answer_screen(faq, entry, lang, moment)
                    elif result.decision == "suggest":
                        screen = suggestions_screen(faq, [m.id for m in result.matches[:3]], lang)
                    else:
                        screen = no_answer_screen(faq, lang, moment)
                    sections.append((f"» {question}", screen))
                for title, screen in sections:
                    out.write(f"\n--- {title}\n{_plain(screen)}\n")
                out.write(f"\n--- sources\n{sources_section(content, moment, before, lang)}\n")
            before = moment


def all_languages(lang: Lang | None) -> list[Lang]:
    return [lang] if lang else list(LANGUAGES)
