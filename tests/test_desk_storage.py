"""The desk's storage (migration 8) on SQLite and PostgreSQL, and the desk's rules without Telegram."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import parse_database_url
from bot.content.models import Operators
from bot.services.desk import DeskService, ForumInfo, closed_at, duty_at, format_draft, median_seconds, topic_name
from bot.storage import Storage, open_storage
from bot.storage.base_desk import Ticket

T0 = datetime(2026, 3, 12, 7, 0, tzinfo=UTC)  # 12:00 in Almaty, a Thursday
ALMATY = ZoneInfo("Asia/Almaty")


async def test_one_open_ticket_per_resident_and_a_new_one_after_closing(storage: Storage) -> None:
    first, created = await storage.open_ticket(1, "question", "ru", "где мой участок", T0)
    assert created and first.id == 1 and first.status == "open" and first.thread_id is None
    same, created = await storage.open_ticket(1, "rumour", "ru", "другой вопрос", T0)
    assert not created and same.id == first.id and same.kind == "question"
    assert await storage.set_ticket_thread(first.id, 77) and not await storage.set_ticket_thread(first.id, 78)
    assert (await storage.ticket_by_thread(77)) == (await storage.ticket(first.id))
    assert await storage.close_ticket(first.id, 900, T0) and not await storage.close_ticket(first.id, 900, T0)
    assert await storage.rate_ticket(first.id, 1, True) and not await storage.rate_ticket(first.id, 2, True)
    second, created = await storage.open_ticket(1, "question", "ru", "ещё вопрос", T0 + timedelta(hours=1))
    assert created and second.id > first.id  # (PostgreSQL: the refused insert used up a number)
    assert await storage.open_ticket_of(1) == second


async def test_two_replicas_open_one_ticket_and_relay_a_message_once(database_url: str) -> None:
    replicas = [open_storage(parse_database_url(database_url)) for _ in range(2)]
    for replica in replicas:
        await replica.connect()
    try:
        opened = await asyncio.gather(
            *(replica.open_ticket(user, "question", "kk", "сұрақ", T0) for user in range(10) for replica in replicas)
        )
        assert sum(created for _, created in opened) == 10  # one per resident, whoever won
        assert len({ticket.id for ticket, _ in opened}) == 10
        claims = await asyncio.gather(
            *(replica.claim_relay(5, 42, 1, 5, "in", T0) for replica in replicas for _ in range(3))
        )
        assert sorted(claims) == [False] * 5 + [True]
        assert await replicas[0].relayed_since(5, "in", T0 - timedelta(minutes=1)) == 1
    finally:
        for replica in replicas:
            await replica.close()


async def test_blocks_are_told_once_drafts_and_counts(storage: Storage) -> None:
    assert await storage.resident_block(3) is None
    await storage.block_resident(3, 900, T0)
    await storage.block_resident(3, 901, T0)  # a second block changes nothing
    assert await storage.resident_block(3) is False
    assert await storage.mark_block_told(3) and not await storage.mark_block_told(3)
    assert await storage.resident_block(3) is True

    ticket, _ = await storage.open_ticket(4, "question", "en", "early voting?", T0)
    await storage.record_reply(ticket.id, "No early voting.", T0 + timedelta(minutes=4))
    await storage.record_reply(ticket.id, None, T0 + timedelta(minutes=9))  # a photo: the text stays
    reloaded = await storage.ticket(ticket.id)
    assert reloaded is not None and reloaded.last_reply == "No early voting."
    assert reloaded.first_reply_at == T0 + timedelta(minutes=4)
    draft = await storage.add_faq_draft(ticket.id, "en", "early voting?", "No early voting.", 900, T0)
    assert [d.id for d in await storage.faq_drafts(10)] == [draft.id]
    assert "q: early voting?\na: No early voting." in format_draft(draft)
    counts = await storage.desk_counts(T0 - timedelta(days=1))
    assert (counts.open, counts.closed, counts.first_reply_seconds) == (1, 0, [240])


async def test_forget_and_retention_hooks(storage: Storage) -> None:
    ticket, _ = await storage.open_ticket(8, "question", "kk", "менің сұрағым", T0)
    await storage.claim_relay(8, 1, ticket.id, 8, "in", T0)
    await storage.record_reply(ticket.id, "жауап", T0)
    await storage.close_ticket(ticket.id, 900, T0 + timedelta(minutes=5))
    assert await storage.purge_desk_before(T0) == 0  # closed after the cut-off: kept
    assert await storage.purge_desk_before(T0 + timedelta(days=31)) == 2
    blank = await storage.ticket(ticket.id)
    assert blank is not None and blank.question == "" and blank.last_reply is None
    assert (await storage.desk_counts(T0 - timedelta(days=1))).closed == 1  # the figures stay
    await storage.block_resident(8, 900, T0)
    erased = await storage.forget_user(8)
    assert erased.rows["tickets"] == 1 and erased.rows["desk_blocks"] == 1 and await storage.ticket(ticket.id) is None
    assert await storage.resident_block(8) is None


def _ticket(**changes: object) -> Ticket:
    values: dict[str, object] = {
        "id": 12,
        "user_id": 1,
        "kind": "question",
        "status": "open",
        "language": "kk",
        "question": "x",
        "thread_id": None,
        "opened_at": T0,
        "first_reply_at": None,
        "closed_at": None,
        "closed_by": None,
        "rating": None,
        "last_reply": None,
    }
    values.update(changes)
    return Ticket(**values)  # type: ignore[arg-type]


def test_topic_names_stay_within_telegrams_limit() -> None:
    assert topic_name(_ticket(question="где   мой\nучасток")) == "#12 · KK · где мой участок"
    long = topic_name(_ticket(kind="rumour", question="слово " * 100, id=123456789))
    assert long.startswith("#123456789 🔎 · KK · слово") and long.endswith("…") and len(long) <= 128


def test_duty_hours_from_content() -> None:
    operators = Operators.model_validate(
        {"hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"}]}
    )
    assert duty_at(operators, ALMATY, T0).on  # Thursday 12:00
    friday_night = datetime(2026, 3, 13, 19, 0, tzinfo=ALMATY)
    duty = duty_at(operators, ALMATY, friday_night)
    assert not duty.on and duty.next_start == datetime(2026, 3, 16, 9, 0, tzinfo=ALMATY)  # Monday
    assert duty_at(None, ALMATY, friday_night).on
    assert median_seconds([60, 600, 120]) == 120 and median_seconds([]) is None
    with pytest.raises(ValueError, match="to must be after from"):
        Operators.model_validate({"hours": [{"from": "18:00", "to": "09:00"}]})


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        (ForumInfo(found=False), "is not a chat the bot can see"),
        (ForumInfo(True, is_forum=False, bot_status="administrator", can_manage_topics=True), "is not a forum"),
        (ForumInfo(True, is_forum=True, bot_status="member"), "does not have the bot as an administrator"),
        (ForumInfo(True, is_forum=True, bot_status="administrator"), "does not let the bot manage topics"),
        (ForumInfo(True, is_forum=True, bot_status="administrator", can_manage_topics=True), None),
    ],
)
def test_the_start_up_check_names_the_problem(info: ForumInfo, problem: str | None) -> None:
    found = DeskService.diagnose(info)
    assert found == problem if problem is None else (found is not None and problem in found)


def test_duty_hours_follow_the_stages_of_a_campaign() -> None:
    from bot.content import load_content
    from tests.test_campaign_b import FIXTURE

    campaign = load_content(FIXTURE).campaign  # Fictopolis: polls 08:30-21:00 on 1 June 2031, Tokyo time
    tz = campaign.tz
    operators = Operators.model_validate(
        {
            "hours": [{"from": "10:00", "to": "17:00"}],
            "periods": [{"from": "polls-open", "hours": [{"from": "08:00", "to": "22:00"}]}],
            "until": "hotline-off",
        }
    )
    eve = datetime(2031, 5, 31, 18, 0, tzinfo=tz)
    duty = duty_at(operators, tz, eve, campaign)
    assert not duty.on and duty.next_start == datetime(2031, 6, 1, 8, 0, tzinfo=tz)  # voting day's hours, all day
    assert not duty_at(operators, tz, datetime(2031, 5, 31, 9, 0, tzinfo=tz), campaign).on  # the usual hours before
    assert duty_at(operators, tz, datetime(2031, 6, 1, 21, 30, tzinfo=tz), campaign).on  # voting day's longer hours
    assert not duty_at(operators, tz, datetime(2031, 6, 2, 7, 0, tzinfo=tz), campaign).on
    assert not closed_at(operators, campaign, datetime(2031, 6, 9, 12, 0, tzinfo=tz))
    late = datetime(2031, 6, 9, 18, 0, tzinfo=tz)
    assert duty_at(operators, tz, late, campaign).next_start is None  # the desk closes before it would open again
    closed = duty_at(operators, tz, campaign.at("hotline-off"), campaign)
    assert not closed.on and closed.next_start is None and closed_at(operators, campaign, campaign.at("hotline-off"))
