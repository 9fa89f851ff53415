"""Subscriptions: who receives announcements and reminders, in which language, from which district."""

from __future__ import annotations

from bot.i18n import N_

# Almaty's districts (id → English name, a msgid translated where shown).
DISTRICTS: dict[str, str] = {
    "alatau": N_("Alatau"),
    "almaly": N_("Almaly"),
    "auezov": N_("Auezov"),
    "bostandyk": N_("Bostandyk"),
    "zhetysu": N_("Zhetysu"),
    "medeu": N_("Medeu"),
    "nauryzbay": N_("Nauryzbay"),
    "turksib": N_("Turksib"),
}


def is_district(value: str | None) -> bool:
    return value is not None and value in DISTRICTS
