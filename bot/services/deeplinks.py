"""Deep links: ``t.me/<bot>?start=<payload>`` payloads, parsed and validated."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PAYLOAD_RE = re.compile(r"^(?P<kind>faq|event)-(?P<value>[a-z0-9][a-z0-9-]{0,59})$")


@dataclass(frozen=True)
class DeepLink:
    kind: str  # "faq", "event", or "" for none/unknown
    value: str = ""


def parse_deep_link(payload: str | None) -> DeepLink:
    if not payload:
        return DeepLink("")
    match = _PAYLOAD_RE.fullmatch(payload.strip())
    if not match:
        return DeepLink("")
    return DeepLink(match.group("kind"), match.group("value"))


def make_payload(kind: str, value: str) -> str:
    payload = f"{kind}-{value}"
    if not _PAYLOAD_RE.fullmatch(payload):
        raise ValueError(f"not a valid deep-link payload: {payload!r}")
    return payload
