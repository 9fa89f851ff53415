"""The content rules ``voterbot check`` runs beyond the schema (the editors' side of the tests: the
engine's tests run on fixture campaigns, what is in ``data/`` is checked here).

The loader already refuses an entry without sources and a text missing a language. On top of it:

- every milestone's preview (``voterbot preview``: /start, /countdown, /reminders and the questions
  of ``preview.yaml``, in every language) renders without error;
- no source is shown before its date: at every milestone, no FAQ answer names a source that is not
  out yet (published later, or ``from`` a milestone still to come)."""

from __future__ import annotations

import io
from datetime import datetime

from bot.config import LANGUAGES
from bot.content import Content, ContentStore
from bot.devtools.preview import all_sources, moments, preview


def content_problems(content: Content) -> list[str]:
    """Every rule broken, one line each naming the file, entry and moment (empty: all well)."""
    problems: list[str] = []
    try:
        preview(content, list(LANGUAGES), io.StringIO())
    except Exception as error:  # any failure to render is the editor's to see
        problems.append(f"{content.directory}: the preview does not render: {type(error).__name__}: {error}")
    problems.extend(_sources_before_their_date(content))
    return problems


def _sources_before_their_date(content: Content) -> list[str]:
    from bot.handlers.faq import answer_screen
    from bot.i18n import create_i18n
    from bot.services.faq import FaqService

    campaign = content.campaign
    faq = FaqService(ContentStore(content))
    every = all_sources(content)
    i18n = create_i18n("ru")
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for moment, heading in moments(content):
        out = {source.url for source in every if campaign.shows(source, moment)}
        # the commission's site is the standing reference (cited when no source is out yet)
        waiting = {source.url for source in every if not campaign.shows(source, moment)} - out
        waiting.discard(campaign.commission.url)
        if not waiting:
            continue
        for entry in content.faq.entries:
            for lang in LANGUAGES:
                with i18n.context(), i18n.use_locale(lang):
                    text = answer_screen(faq, entry, lang, moment).text
                for url in sorted(waiting):
                    if f'href="{url}"' in text and (entry.id, url) not in seen:
                        seen.add((entry.id, url))
                        problems.append(
                            f"{content.directory / 'faq.yaml'}: entry {entry.id!r}: shows {url} "
                            f"{_when(moment)} ({heading}), before the source is out"
                        )
    return problems


def _when(moment: datetime) -> str:
    return f"at {moment:%Y-%m-%d %H:%M}"
