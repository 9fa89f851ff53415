"""``voterbot new-campaign DIR``: a minimal campaign that passes ``voterbot check`` and answers in
``voterbot chat``, every field explained in a comment (docs/new-campaign.md walks through it).

Every value in it is a marked EXAMPLE (example.org, "Example City"): the editors replace each one
with a fact from a public source before the bot goes live. Its dates are set from today (voting
day eight weeks on), so ``voterbot chat`` shows a campaign under way."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

FILES = ("campaign.yaml", "faq.yaml", "events.yaml")

CAMPAIGN = """\
# campaign.yaml: the campaign's facts, each held once. Every value below is an EXAMPLE: replace it
# with the fact from a public source (and that source under `sources:`) before the bot goes live.
# Texts are given in each language the bot speaks: kk, ru and en. Check with `voterbot check`.
id: example-campaign-{year}            # a short name of your own (letters, digits, dashes)
kind: election                         # election or referendum
title:
  kk: "Мысал сайлау (EXAMPLE)"
  ru: "Пример выборов (EXAMPLE)"
  en: "Example election (EXAMPLE)"
place: {{kk: "Мысал қаласы", ru: "Примерного города", en: "Example City"}}  # "<place> time"
timezone: {timezone}                   # the IANA zone every date and time below is on

# The timeline. Required milestones: polls-open and polls-close (on voting day, with a time),
# results and end; add your own (registration deadlines...). `note:` adds a line to the status
# from that milestone on. Answers and events can change wording `from:` a milestone.
milestones:
  - id: called
    date: {called}
    title: {{kk: "Сайлау тағайындалды", ru: "Выборы назначены", en: "Election called"}}
  - id: polls-open
    date: {voting_day}
    time: "08:00"
    title: {{kk: "Учаскелер ашылды", ru: "Участки открыты", en: "Polls open"}}
  - id: polls-close
    date: {voting_day}
    time: "20:00"
    title: {{kk: "Учаскелер жабылды", ru: "Участки закрыты", en: "Polls closed"}}
  - id: results
    date: {results}
    counts_from: day-end               # the hour is not known: counts from the end of that day
    title: {{kk: "Қорытынды жарияланды", ru: "Итоги объявлены", en: "Results announced"}}
  - id: end
    date: {end}
    title: {{kk: "Науқан аяқталды", ru: "Кампания завершена", en: "Campaign over"}}

# A phone line for residents (optional). Write {{call_centre}} and {{call_centre_hours}} in texts,
# never the number itself: a change is then one edit here.
call_centre:
  phone: "+1 555 0100"
  hours: {{kk: "күн сайын 09:00–18:00", ru: "ежедневно с 09:00 до 18:00", en: "daily, 09:00–18:00"}}
  name: {{kk: "Мысал жедел желісі", ru: "Пример горячей линии", en: "Example hotline"}}
  until: results                       # from this milestone on it is no longer presented as operating
  sources:
    - title: "Example commission: the hotline (EXAMPLE)"
      url: "https://example.org/hotline"
      published: {called}                # never shown before this day

# The official body whose site the bot sends residents to ({{commission_site}} in texts).
commission:
  title: {{kk: "Мысал сайлау комиссиясы", ru: "Пример избирательной комиссии", en: "Example Election Commission"}}
  url: "https://example.org"

# Reminders for subscribers: `days_before` voting day at `at`, or on a `milestone`. Placeholders:
# {{countdown}}, {{voting_date}}, {{polls_open}}, {{polls_close}}, {{call_centre}} (see
# docs/new-campaign.md for the full list).
reminders:
  - id: day
    days_before: 0
    at: "09:00"                        # on voting day: within the polling hours
    scope: voting_day
    text:
      kk: "🗳 Бүгін дауыс беру күні: учаскелер {{polls_open}}–{{polls_close}} ашық."
      ru: "🗳 Сегодня день голосования: участки открыты {{polls_open}}–{{polls_close}}."
      en: "🗳 Today is voting day: polling stations are open {{polls_open}}–{{polls_close}}."

# The campaign's own sources (the timeline's); `published` is the day (or "YYYY-MM-DD HH:MM").
sources:
  - title: "Example commission: the election is called (EXAMPLE)"
    url: "https://example.org/called"
    published: {called}
"""

FAQ = """\
# faq.yaml: the questions the bot answers. Every entry names its sources; every text exists in
# kk, ru and en. `q`: the question as shown; `a`: the answer (HTML: <b>, <i>, <a href>);
# `alt`: other ways residents ask it (search only, never shown); `variants`: the answer from a
# milestone on. Facts held in campaign.yaml are placeholders: {{voting_date}}, {{polls_open}},
# {{polls_close}}, {{call_centre}}, {{call_centre_hours}}, {{commission_site}}...
categories:
  - id: voting
    title: {{kk: "Дауыс беру", ru: "Голосование", en: "Voting"}}
entries:
  - id: when-to-vote
    category: voting
    reviewed: {called}                   # when an editor last checked it against its sources
    sources:
      - title: "Example commission: the election is called (EXAMPLE)"
        url: "https://example.org/called"
        published: {called}
    kk:
      q: "Дауыс беру қашан?"
      a: "Дауыс беру күні — {{voting_date}}, учаскелер {{polls_open}}–{{polls_close}} ашық. Сұрақтар: {{call_centre}}."
      variants:
        - from: polls-close
          a: "Дауыс беру {{voting_date}} өтті. Ресми ақпарат: {{commission_site}}."
      alt: ["қашан дауыс береміз", "сайлау күні", "учаскелер қашан ашылады"]
    ru:
      q: "Когда голосование?"
      a: "День голосования — {{voting_date}}, участки открыты с {{polls_open}} до {{polls_close}}.
        Вопросы: {{call_centre}}."
      variants:
        - from: polls-close
          a: "Голосование прошло {{voting_date}}. Официальная информация: {{commission_site}}."
      alt: ["когда выборы", "день голосования", "когда открываются участки"]
    en:
      q: "When is voting day?"
      a: "Voting day is {{voting_date}}; polling stations are open {{polls_open}}–{{polls_close}}.
        Questions: {{call_centre}}."
      variants:
        - from: polls-close
          a: "Voting took place on {{voting_date}}. Official information: {{commission_site}}."
      alt: ["when is the election", "election day", "when do polling stations open"]
"""

EVENTS = """\
# events.yaml: dated events listed by /events (optional `time`, `venue`, `from`/`until`
# milestones). Each names its organiser (official, campaign or other) and its sources.
events:
  - id: voting-day
    kind: official-date
    title: {{kk: "Дауыс беру күні", ru: "День голосования", en: "Voting day"}}
    description:
      kk: "Учаскелер {{polls_open}}–{{polls_close}} ашық."
      ru: "Участки открыты с {{polls_open}} до {{polls_close}}."
      en: "Polling stations are open {{polls_open}}–{{polls_close}}."
    date: {voting_day}
    time: "08:00"
    end_time: "20:00"
    organiser:
      kind: official
      name: {{kk: "Мысал сайлау комиссиясы", ru: "Пример избирательной комиссии", en: "Example Election Commission"}}
    sources:
      - title: "Example commission: the election is called (EXAMPLE)"
        url: "https://example.org/called"
        published: {called}
"""


def write_campaign(directory: Path, *, today: date, timezone: str = "UTC") -> list[Path]:
    """Write the example campaign into ``directory`` (created; refused if it holds content files)."""
    existing = [directory / name for name in FILES if (directory / name).exists()]
    if existing:
        raise FileExistsError(f"{existing[0]} exists: choose an empty folder")
    directory.mkdir(parents=True, exist_ok=True)
    voting_day = today + timedelta(weeks=8)
    values = {
        "year": voting_day.year,
        "timezone": timezone,
        "called": today.isoformat(),
        "voting_day": voting_day.isoformat(),
        "results": (voting_day + timedelta(days=2)).isoformat(),
        "end": (voting_day + timedelta(days=30)).isoformat(),
    }
    written = []
    for name, template in zip(FILES, (CAMPAIGN, FAQ, EVENTS), strict=True):
        path = directory / name
        path.write_text(template.format(**values), encoding="utf-8")
        written.append(path)
    return written
