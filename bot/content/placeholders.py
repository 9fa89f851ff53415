"""Facts held once: ``{call_centre}``, ``{polls_close}``… in the content's texts stand for the value
given once in ``campaign.yaml``, filled in the reader's language and formats when shown
(``bot.handlers.texts.with_facts``; the reminders use the same values). A change of hours or phone
number is then one edit. Placeholders are checked on loading: an unknown one is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

# name -> what it stands for (the list `voterbot check` gives, and docs/new-campaign.md)
FACTS: dict[str, str] = {
    "{call_centre}": "the call centre's phone (call_centre.phone)",
    "{call_centre_hours}": "the call centre's hours in the reader's language (call_centre.hours)",
    "{call_centre_name}": "the call centre's name in the reader's language (call_centre.name)",
    "{polls_open}": "the time the polls open (milestone polls-open), e.g. 07:00",
    "{polls_close}": "the time the polls close (milestone polls-close), e.g. 20:00",
    "{voting_date}": "voting day in the reader's date format, e.g. 15 March 2026",
    "{commission_site}": "the address of the commission's site (commission.url)",
    "{commission}": "the commission's name in the reader's language (commission.title)",
}
CALL_CENTRE_FACTS = ("{call_centre}", "{call_centre_hours}", "{call_centre_name}")
# The reminders' own, besides the facts: {countdown} (days left), and the older names of three facts
REMINDER_ONLY: dict[str, str] = {
    "{countdown}": "the days left until voting day",
    "{date}": "= {voting_date}",
    "{open}": "= {polls_open}",
    "{close}": "= {polls_close}",
}
_PLACEHOLDER = re.compile(r"\{[^{}\s]*\}")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def unknown_placeholders(text: str, known: Mapping[str, str] = FACTS) -> list[str]:
    return sorted(placeholders(text) - set(known))


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each placeholder of ``values`` replaced by its value (the one implementation)."""
    if "{" not in text:
        return text
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def known_list(known: Mapping[str, str] = FACTS) -> str:
    return ", ".join(known)


def placeholder_problems(where: str, texts: Iterator[tuple[str, str]], *, call_centre: bool) -> Iterator[str]:
    """One line per unknown placeholder (or a call-centre fact in a campaign without a call centre)
    in ``texts``: (field, text) pairs of the entry ``where``."""
    for field, text in texts:
        for unknown in unknown_placeholders(text):
            yield f"{where}: field {field}: unknown placeholder {unknown} (known: {known_list()})"
        if not call_centre:
            for used in sorted(placeholders(text) & set(CALL_CENTRE_FACTS)):
                yield f"{where}: field {field}: {used} is used but the campaign has no call_centre"
