"""Load ``campaign.yaml`` and ``faq.yaml`` from the content directory into typed objects.

Every problem names the file, the entry and the field, e.g.
``data/faq.yaml: entry 'documents': field ru.a: invalid Telegram HTML: <b> is not closed``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.config import LANGUAGES, Lang
from bot.content.events import EventEntry, EventsFile
from bot.content.models import Campaign, FaqEntry, FaqFile, Rumour, RumoursFile, Source
from bot.content.models.faq import Answer, Variant, answer_parts, render_answer
from bot.content.placeholders import placeholder_problems

M = TypeVar("M", bound=BaseModel)
CONTENT_FILES = ("campaign.yaml", "faq.yaml", "events.yaml")
OPTIONAL_FILES = ("rumours.yaml",)  # read when present
# libyaml's safe loader when PyYAML has it (about 9x faster on faq.yaml); the pure-Python one otherwise
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A folder's content, kept while its files are unchanged (size and modification time): loading is
# pure, and every app built in one process (the tests build hundreds) shares one copy.
_LOADED: dict[Path, tuple[tuple[tuple[str, int, int], ...], Content]] = {}


class ContentError(Exception):
    """Content could not be loaded; ``problems`` lists every problem, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)")
        self.problems = problems


@dataclass(frozen=True)
class Content:
    campaign: Campaign
    faq: FaqFile
    directory: Path
    faq_by_id: dict[str, FaqEntry] = field(default_factory=dict)
    events: list[EventEntry] = field(default_factory=list)  # data/events.yaml, as in the file
    rumours: list[Rumour] = field(default_factory=list)  # data/rumours.yaml, when there is one

    @classmethod
    def build(
        cls,
        campaign: Campaign,
        faq: FaqFile,
        directory: Path,
        events: EventsFile | None = None,
        rumours: RumoursFile | None = None,
    ) -> Content:
        return cls(
            campaign,
            faq,
            directory,
            {entry.id: entry for entry in faq.entries},
            list(events.events if events else []),
            list(rumours.rumours if rumours else []),
        )


def _read_yaml(path: Path, problems: list[str]) -> Any:
    if not path.is_file():
        problems.append(f"{path}: file not found (set CONTENT_DIR to the folder with {path.name})")
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        problems.append(f"{path}: {where}YAML syntax error: {problem}")
        return None
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text")
        return None


def _entry_label(raw: Any, loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """Turn ('entries', 4, 'ru', 'a') into ("entry 'documents'", ('ru', 'a'))."""
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw, dict):
        collection, index = str(loc[0]), loc[1]
        items = raw.get(collection)
        name = {
            "entries": "entry",
            "categories": "category",
            "events": "event",
            "reminders": "reminder",
            "milestones": "milestone",
            "districts": "district",
        }.get(collection, collection)
        ident: Any = None
        if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
            ident = items[index].get("id")
        label = f"{name} {ident!r}" if ident else f"{name} #{index + 1}"
        return label, loc[2:]
    return "", loc


def format_validation_error(path: Path, raw: Any, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        label, rest = _entry_label(raw, tuple(item["loc"]))
        where = ".".join(str(part) for part in rest)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required but missing"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field (check the spelling)"
        parts = [str(path)]
        if label:
            parts.append(label)
        if where:
            parts.append(f"field {where}")
        lines.append(": ".join(parts) + f": {message}")
    return lines


def _validate(path: Path, model: type[M], problems: list[str], hook: Callable[[Any], Any] | None = None) -> M | None:
    raw = _read_yaml(path, problems)
    if raw is None and not path.is_file():
        return None
    if not isinstance(raw, dict):
        if raw is not None or path.is_file():
            problems.append(f"{path}: expected a mapping at the top level")
        return None
    try:
        return model.model_validate(hook(raw) if hook else raw)
    except ValidationError as error:
        problems.extend(format_validation_error(path, raw, error))
        return None


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    stats = []
    for name in CONTENT_FILES:
        try:
            stat = (directory / name).stat()
        except OSError:
            return ()
        stats.append((name, stat.st_mtime_ns, stat.st_size))
    for name in OPTIONAL_FILES:
        try:
            stat = (directory / name).stat()
        except OSError:
            continue
        stats.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


def load_content(directory: Path) -> Content:
    """Load and validate all content files; raise :class:`ContentError` listing every problem. The
    same unchanged files give the same (immutable) :class:`Content`."""
    key = directory.resolve()
    fingerprint = _fingerprint(directory)
    cached = _LOADED.get(key)
    if fingerprint and cached is not None and cached[0] == fingerprint:
        return cached[1]
    content = _load(directory)
    if fingerprint:
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[key] = (fingerprint, content)
    return content


def _load(directory: Path) -> Content:
    problems: list[str] = []
    if not directory.is_dir():
        raise ContentError([f"{directory}: content folder not found (set CONTENT_DIR)"])
    campaign = _validate(directory / "campaign.yaml", Campaign, problems)
    faq = _validate(directory / "faq.yaml", FaqFile, problems)
    events = _validate(directory / "events.yaml", EventsFile, problems)
    rumours = (
        _validate(directory / "rumours.yaml", RumoursFile, problems) if (directory / "rumours.yaml").exists() else None
    )
    if problems or campaign is None or faq is None or events is None:
        raise ContentError(problems or [f"{directory}: content could not be loaded"])
    problems = cross_check(directory, campaign, faq, events, rumours)
    if problems:
        raise ContentError(problems)
    return Content.build(campaign, faq, directory, events, rumours)


def _texts_by_milestone(first_name: str, by_lang: Mapping[Lang, tuple[Answer, list[Variant]]]) -> list[tuple[str, str]]:
    """A text and its variants by milestone, in every language, named by field, rendered whole."""
    named: list[tuple[str, str]] = []
    for lang, (first, variants) in by_lang.items():
        named.append((f"{lang}.{first_name}", render_answer(first)))
        named += [(f"{lang}.variants.{v.from_}.a", render_answer(v.a)) for v in variants]
    return named


def fact_problems(
    directory: Path, campaign: Campaign, faq: FaqFile, events: EventsFile, rumours: RumoursFile | None
) -> list[str]:
    """Placeholders of facts held once ({call_centre}, {polls_close}…) in the texts shown to
    residents: FAQ answers, rumours' explanations, events' descriptions, milestones' notes."""
    has_centre = campaign.call_centre is not None
    problems: list[str] = []
    for entry in faq.entries:
        where = f"{directory / 'faq.yaml'}: entry {entry.id!r}"
        texts = _texts_by_milestone("a", {lang: (entry.text(lang).a, entry.text(lang).variants) for lang in LANGUAGES})
        problems += placeholder_problems(where, iter(texts), call_centre=has_centre)
    for rumour in rumours.rumours if rumours else []:
        where = f"{directory / 'rumours.yaml'}: rumour {rumour.id!r}"
        by_lang = {lang: (rumour.text(lang).explanation, rumour.text(lang).variants) for lang in LANGUAGES}
        texts = _texts_by_milestone("explanation", by_lang)
        problems += placeholder_problems(where, iter(texts), call_centre=has_centre)
    for event in events.events:
        descriptions = [("description", event.description)]
        descriptions += [(f"variants.{v.from_}.description", v.description) for v in event.variants]
        texts = [(f"{name}.{lang}", text.get(lang)) for name, text in descriptions if text for lang in LANGUAGES]
        where = f"{directory / 'events.yaml'}: event {event.id!r}"
        problems += placeholder_problems(where, iter(texts), call_centre=has_centre)
    for milestone in campaign.milestones:
        if milestone.note is not None:
            texts = [(f"note.{lang}", milestone.note.get(lang)) for lang in LANGUAGES]
            where = f"{directory / 'campaign.yaml'}: milestone {milestone.id!r}"
            problems += placeholder_problems(where, iter(texts), call_centre=has_centre)
    return problems


def cross_check(
    directory: Path, campaign: Campaign, faq: FaqFile, events: EventsFile, rumours: RumoursFile | None = None
) -> list[str]:
    """What one file says of another: FAQ variants and events name milestones of campaign.yaml (in
    its order), events name its districts."""
    order = {milestone.id: index for index, milestone in enumerate(campaign.milestones)}
    known = ", ".join(order)
    problems: list[str] = []
    faq_path, events_path = directory / "faq.yaml", directory / "events.yaml"
    for entry in faq.entries:
        if all(source.from_ is not None for source in entry.sources):
            problems.append(f"{faq_path}: entry {entry.id!r}: field sources: one source must be shown at every moment")
        for index, source in enumerate(entry.sources):
            if source.from_ is not None and source.from_ not in order:
                problems.append(
                    f"{faq_path}: entry {entry.id!r}: field sources.{index}.from: unknown milestone "
                    f"{source.from_!r} (campaign.yaml has: {known})"
                )
        for lang in ("kk", "ru", "en"):
            text = entry.text(lang)
            for name, answer in [("a", text.a), *((f"variants.{v.from_}.a", v.a) for v in text.variants)]:
                for part in answer_parts(answer):
                    if isinstance(part, str):
                        continue
                    for key, milestone in (("from", part.from_), ("until", part.until)):
                        if milestone is not None and milestone not in order:
                            problems.append(
                                f"{faq_path}: entry {entry.id!r}: field {lang}.{name}: {key}: unknown milestone "
                                f"{milestone!r} (campaign.yaml has: {known})"
                            )
            last = -1
            for variant in entry.text(lang).variants:
                where = f"{faq_path}: entry {entry.id!r}: field {lang}.variants"
                if variant.from_ not in order:
                    problems.append(f"{where}: unknown milestone {variant.from_!r} (campaign.yaml has: {known})")
                    continue
                if order[variant.from_] <= last:
                    problems.append(f"{where}: {variant.from_!r} is out of order (list variants in milestone order)")
                last = order[variant.from_]
    for rumour in rumours.rumours if rumours else []:
        where = f"{directory / 'rumours.yaml'}: rumour {rumour.id!r}"
        for index, source in enumerate(rumour.sources):
            if source.from_ is not None and source.from_ not in order:
                problems.append(f"{where}: field sources.{index}.from: unknown milestone {source.from_!r}")
        for lang in LANGUAGES:
            for variant in rumour.text(lang).variants:
                if variant.from_ not in order:
                    problems.append(f"{where}: field {lang}.variants: unknown milestone {variant.from_!r}")
    problems += fact_problems(directory, campaign, faq, events, rumours)
    problems += source_problems(directory, campaign, faq, events)
    problems += dated_problems(directory, campaign, faq)
    entry_ids = {entry.id for entry in faq.entries}
    for entry_id in campaign.results.faq if campaign.results else []:
        if entry_id not in entry_ids:
            problems.append(f"{directory / 'campaign.yaml'}: results: field faq: unknown FAQ entry {entry_id!r}")
    for event in events.events:
        for field_name, milestone in event.milestones():
            if milestone not in order:
                problems.append(
                    f"{events_path}: event {event.id!r}: field {field_name}: unknown milestone {milestone!r} "
                    f"(campaign.yaml has: {known})"
                )
        if event.from_ in order and event.until in order and order[event.until] <= order[event.from_]:
            problems.append(f"{events_path}: event {event.id!r}: field until: must come after 'from' in the timeline")
        district = event.venue.district if event.venue else None
        if district is not None and not campaign.is_district(district):
            districts = ", ".join(d.id for d in campaign.districts) or "none"
            problems.append(
                f"{events_path}: event {event.id!r}: field venue.district: unknown district {district!r} "
                f"(campaign.yaml has: {districts})"
            )
    return problems


def _early(campaign: Campaign, source: Source, shown_from: datetime) -> str:
    """Why ``source`` would be shown before its date from ``shown_from`` on ("" if it would not)."""
    published = campaign.published_at(source)
    if shown_from >= published:
        return ""
    return (
        f"shown from {shown_from:%Y-%m-%d %H:%M} but published {published:%Y-%m-%d %H:%M}: it would be shown "
        "before its date (fix published, or show it from a later milestone)"
    )


def source_problems(directory: Path, campaign: Campaign, faq: FaqFile, events: EventsFile) -> list[str]:
    """Every place that shows a source from a moment the content names (a source's ``from``, the
    results, a milestone's own sources) must not come before the source's ``published`` date."""
    problems: list[str] = []
    faq_path, events_path, campaign_path = (
        directory / "faq.yaml",
        directory / "events.yaml",
        directory / "campaign.yaml",
    )

    def declared(where: str, sources: Sequence[Source], shown_from: datetime | None = None) -> None:
        for index, source in enumerate(sources):
            moments = [moment for moment in (shown_from,) if moment is not None]
            if source.from_ is not None and campaign.has(source.from_):
                moments.append(campaign.at(source.from_))
            if moments:
                why = _early(campaign, source, max(moments))
                if why:
                    problems.append(f"{where}: field sources.{index}: {why}")

    for entry in faq.entries:
        declared(f"{faq_path}: entry {entry.id!r}", entry.sources)
    for event in events.events:
        declared(f"{events_path}: event {event.id!r}", event.sources)
    for milestone in campaign.milestones:
        declared(f"{campaign_path}: milestone {milestone.id!r}", milestone.sources, campaign.moment_of(milestone))
    if campaign.results is not None and campaign.has("results"):
        declared(f"{campaign_path}: results", campaign.results.sources, campaign.at("results"))
    preliminary = campaign.results.preliminary if campaign.results is not None else None
    if preliminary is not None:
        if not campaign.has("preliminary-results"):
            problems.append(f"{campaign_path}: results: field preliminary: needs a 'preliminary-results' milestone")
        else:
            shown_from = campaign.at("preliminary-results")
            declared(f"{campaign_path}: results.preliminary", preliminary.sources, shown_from)
    return problems


_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
}
_DEADLINE = {
    "en": re.compile(
        r"\b(?:no later than|not later than|by|until|before)\s+(?:\d{1,2}:\d{2}\s+on\s+)?(\d{1,2})\s+("
        + "|".join(_MONTHS["en"])
        + r")(?:\s+(\d{4}))?"
    ),
    "ru": re.compile(
        r"(?:не позднее|до)\s+(?:\d{1,2}:\d{2}\s+)?(\d{1,2})\s+(" + "|".join(_MONTHS["ru"]) + r")(?:\s+(\d{4}))?"
    ),
}
_PAST = {
    "en": re.compile(r"\b(?:was|were|had|ended|closed|did|ran)\b", re.I),
    "ru": re.compile(r"(?:был|выдавал|проходил|шл[аио]\b|закончил|завершил|объявил|разрешалась)", re.I),
}
DATED_LANGUAGES: tuple[Lang, ...] = ("en", "ru")  # the languages whose dated statements are checked


def _deadlines(campaign: Campaign, html: str, lang: str = "en") -> list[tuple[str, datetime]]:
    """The deadlines a text states ("no later than 21 February", "не позднее 21 февраля"), each with
    the end of its day; not those in the past tense ("were issued until 14 March")."""
    found = []
    for match in _DEADLINE[lang].finditer(html):
        sentence = re.split(r"[.!?;:]\s", html[: match.start()])[-1]
        if _PAST[lang].search(sentence):
            continue  # "were issued until 18:00 on 14 March" stays true
        year = int(match.group(3)) if match.group(3) else campaign.voting_day.year
        day = date(year, _MONTHS[lang].index(match.group(2)) + 1, int(match.group(1)))
        found.append((match.group(0), datetime.combine(day + timedelta(days=1), time(0, 0), campaign.tz)))
    return found


def dated_problems(directory: Path, campaign: Campaign, faq: FaqFile) -> list[str]:
    """A statement of what will happen by a date ("published no later than 21 February") must not be
    shown after that date: each English and Russian answer (and its parts with from/until) and each milestone's
    note holds over a span of the timeline, and a deadline inside it must not end before the span."""
    problems: list[str] = []
    never = datetime.max.replace(tzinfo=campaign.tz)

    def until_of(milestone_id: str | None) -> datetime:
        return campaign.at(milestone_id) if milestone_id is not None and campaign.has(milestone_id) else never

    for entry, lang in ((entry, lang) for entry in faq.entries for lang in DATED_LANGUAGES):
        text = entry.text(lang)
        starts: list[str | None] = [variant.from_ for variant in text.variants]
        spans: list[tuple[str, Answer, datetime]] = [(f"{lang}.a", text.a, until_of(starts[0] if starts else None))]
        for variant, following in zip(text.variants, [*starts[1:], None], strict=False):
            spans.append((f"{lang}.variants.{variant.from_}.a", variant.a, until_of(following)))
        for name, answer, span_end in spans:
            for part in answer_parts(answer):
                html, shown_until = (
                    (part, span_end) if isinstance(part, str) else (part.text, min(span_end, until_of(part.until)))
                )
                for phrase, deadline in _deadlines(campaign, html, lang):
                    if shown_until > deadline:
                        shown = (
                            "at every later moment" if shown_until == never else f"until {shown_until:%Y-%m-%d %H:%M}"
                        )
                        problems.append(
                            f"{directory / 'faq.yaml'}: entry {entry.id!r}: field {name}: {phrase!r} is shown after "
                            f"that date ({shown}): give the sentence an until: milestone, or a variant"
                        )
    milestones = campaign.milestones
    for index, milestone in enumerate(milestones):
        if milestone.note is None:
            continue
        later = [m.id for m in milestones[index + 1 :] if m.note is not None]
        end = min(until_of(later[0] if later else None), until_of(milestone.note.until))
        for lang in DATED_LANGUAGES:
            for phrase, deadline in _deadlines(campaign, milestone.note.get(lang), lang):
                if end > deadline:
                    problems.append(
                        f"{directory / 'campaign.yaml'}: milestone {milestone.id!r}: field note.{lang}: {phrase!r} is "
                        "shown after that date: give the note an until: milestone"
                    )
    return problems


class ContentStore:
    """Holds the live content; ``reload`` swaps it only when the new files validate."""

    def __init__(self, content: Content, listeners: list[Callable[[Content], None]] | None = None) -> None:
        self._content = content
        self._listeners = listeners or []

    @property
    def current(self) -> Content:
        return self._content

    def subscribe(self, listener: Callable[[Content], None]) -> None:
        self._listeners.append(listener)

    def reload(self) -> Content:
        return self.swap(load_content(self._content.directory))

    async def reload_in_thread(self) -> Content:
        """``reload`` with the files read and validated in a worker thread (a large file must not
        stall every other update); the swap itself happens here, on the event loop."""
        return self.swap(await asyncio.to_thread(load_content, self._content.directory))

    def swap(self, content: Content) -> Content:
        self._content = content
        for listener in self._listeners:
            listener(content)
        return content
