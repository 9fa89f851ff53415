"""``voterbot eval``: how well the bot understands residents, measured on the evaluation set.

The set (``tests/eval/``) holds questions written as residents type, each labelled with the FAQ entry
a careful person would pick, or ``smalltalk``, ``off-topic`` (nothing to do with the campaign) or
``none`` (about the campaign, but no entry answers it). ``dev/`` is the part the matcher is tuned
on; every other folder (``heldout/``, ``heldout2/``) is only measured.

What counts, for each question, as the bot would treat it (``FaqService.understand``):
  * an entry expected: **right** when the bot answers with it, or offers it among the suggestions
    ("did you mean…", one tap away); **confident wrong** when it answers with another entry;
  * ``smalltalk``: right when the bot replies as to small talk; an FAQ answer is confident wrong;
  * ``off-topic``: right when the bot says it has no answer; an FAQ answer is confident wrong;
  * ``none``: right when the bot does not answer with an entry (no answer, or suggestions);
    an FAQ answer is confident wrong.
Anything else is a miss (a wrong suggestion list, or "no answer" to a question that has one).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from bot.services.faq import FaqService, Understanding

SPECIAL = ("smalltalk", "off-topic", "none")
SUGGESTED = 3  # the suggestions screen shows the top three
Verdict = Literal["right", "confident-wrong", "miss"]


@dataclass(frozen=True)
class Item:
    q: str
    lang: str
    expect: str
    kind: str
    split: str  # its folder: dev, or a held-out part
    source: str  # the file it came from


@dataclass(frozen=True)
class Outcome:
    item: Item
    verdict: Verdict
    decision: str
    found: list[str]  # what the bot answered with or suggested, best first


class EvalSetError(ValueError):
    pass


def load_items(root: Path) -> list[Item]:
    items: list[Item] = []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        split = folder.name
        for path in sorted(folder.glob("*.yaml")):
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            for number, row in enumerate(raw, 1):
                if not isinstance(row, dict) or not {"q", "lang", "expect"} <= set(row):
                    raise EvalSetError(f"{path}: item {number} needs q, lang and expect")
                kind = str(row.get("kind") or ("smalltalk" if row["expect"] == "smalltalk" else "plain"))
                items.append(Item(str(row["q"]), str(row["lang"]), str(row["expect"]), kind, split, path.name))
    return items


def judge(item: Item, understood: Understanding) -> Outcome:
    result = understood.result
    decision = understood.decision
    if decision == "answer" and result.best is not None:
        found = [result.best.id]
    elif decision == "suggest":
        found = [match.id for match in result.matches[:SUGGESTED]]
    else:
        found = []
    verdict: Verdict
    if item.expect == "smalltalk":
        verdict = "right" if decision == "smalltalk" else "confident-wrong" if decision == "answer" else "miss"
    elif item.expect == "off-topic":
        verdict = "right" if decision == "fallback" else "confident-wrong" if decision == "answer" else "miss"
    elif item.expect == "none":
        verdict = "confident-wrong" if decision == "answer" else "right"
    elif decision == "answer":
        verdict = "right" if found == [item.expect] else "confident-wrong"
    elif decision == "suggest" and item.expect in found:
        verdict = "right"
    else:
        verdict = "miss"
    return Outcome(item, verdict, decision, found)


def evaluate(faq: FaqService, items: list[Item]) -> list[Outcome]:
    unknown = {item.expect for item in items} - set(faq.content.faq_by_id) - set(SPECIAL)
    if unknown:
        raise EvalSetError(f"the evaluation set expects entries the FAQ does not have: {', '.join(sorted(unknown))}")
    return [judge(item, faq.understand(item.q)) for item in items]


@dataclass(frozen=True)
class Figures:
    total: int
    right: int
    confident_wrong: int
    answered_right: int  # answered directly with the expected entry
    smalltalk: int  # small-talk questions
    smalltalk_right: int
    fallback: int  # questions the bot said it had no answer to

    @property
    def right_share(self) -> float:
        return self.right / self.total if self.total else 0.0

    @property
    def wrong_share(self) -> float:
        return self.confident_wrong / self.total if self.total else 0.0


def figures(outcomes: list[Outcome]) -> Figures:
    return Figures(
        total=len(outcomes),
        right=sum(o.verdict == "right" for o in outcomes),
        confident_wrong=sum(o.verdict == "confident-wrong" for o in outcomes),
        answered_right=sum(o.decision == "answer" and o.found == [o.item.expect] for o in outcomes),
        smalltalk=sum(o.item.expect == "smalltalk" for o in outcomes),
        smalltalk_right=sum(o.item.expect == "smalltalk" and o.verdict == "right" for o in outcomes),
        fallback=sum(o.decision == "fallback" for o in outcomes),
    )


def by(outcomes: list[Outcome], key: str) -> dict[str, Figures]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[getattr(outcome.item, key)].append(outcome)
    return {name: figures(group) for name, group in sorted(groups.items())}


def _row(name: str, f: Figures) -> str:
    smalltalk = f"{f.smalltalk_right}/{f.smalltalk}" if f.smalltalk else "-"
    return (
        f"  {name:<10} {f.total:>4}  right {f.right_share:6.1%}  answered {f.answered_right:>4}"
        f"  confident-wrong {f.confident_wrong:>3} ({f.wrong_share:4.1%})  small talk {smalltalk:>7}"
        f"  no-answer {f.fallback / f.total if f.total else 0:5.1%}"
    )


def report(outcomes: list[Outcome], *, misses: bool = True) -> str:
    lines: list[str] = []
    for split in sorted({o.item.split for o in outcomes}, key=lambda name: (name != "dev", name)):
        part = [o for o in outcomes if o.item.split == split]
        if not part:
            continue
        lines.append(f"{split}: {len(part)} questions")
        lines.append(_row("all", figures(part)))
        lines.extend(_row(lang, f) for lang, f in by(part, "lang").items())
        kinds = by(part, "kind")
        lines.append("  by kind: " + ", ".join(f"{k} {f.right}/{f.total}" for k, f in kinds.items()))
        if misses:
            wrong = [o for o in part if o.verdict != "right"]
            order = {"confident-wrong": 0, "miss": 1}
            for o in sorted(wrong, key=lambda o: (order[o.verdict], o.item.lang, o.item.expect)):
                got = ", ".join(o.found) or "-"
                item = o.item
                lines.append(
                    f"    {o.verdict:<15} [{item.lang}] {item.q!r} expected {item.expect}, got {o.decision}: {got}"
                )
        lines.append("")
    counts = Counter(o.item.lang for o in outcomes)
    lines.append("languages: " + ", ".join(f"{lang} {n}" for lang, n in sorted(counts.items())))
    return "\n".join(lines)
