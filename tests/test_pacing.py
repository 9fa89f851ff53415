"""Per-chat pacing and the flood budget: one resident (or one group) flooding the bot does not stall
anyone else, draws no 429, gets one notice and still has the last question answered; a 429 for one
chat pauses that chat only; every button press is answered in time.

The end-to-end tests run the bot as in production (updates handled as tasks, per-chat pacing on)
against a fake Bot API that enforces Telegram's limits strictly, and assert conditions and the order
of the bot's requests, never timings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import ConfigError, Settings, load_settings
from bot.devtools.fake_api import ApiCall, FakeMessage, FakeTelegram, FakeUser
from bot.services.delivery import DeliveryEngine, SendGate
from bot.services.faq import FaqService
from bot.services.pacing import Buckets, ChatPacer, FloodBudget, Rate
from tests.conftest import RunningBot

QUESTION = "what documents do I need"  # a confident answer: the "documents" entry
LAST = "can I vote abroad"  # the flooder's last question: the "vote-abroad" entry
NOTICE = "⏳"  # the slow-down notice, in any language
TOAST = "Too many presses"

# ------------------------------------------------------------------------------------------------
# Units: the buckets, the budget, the gate's choice between pausing a chat and pausing everything
# ------------------------------------------------------------------------------------------------


def test_a_bucket_allows_its_burst_then_its_rate_and_forgets_calm_keys() -> None:
    buckets = Buckets(Rate(burst=3, per_second=1.0))
    assert [buckets.try_take(1, 0.0) for _ in range(4)] == [True, True, True, False]
    assert buckets.wait(1, 0.0) == pytest.approx(1.0)
    assert buckets.wait(1, 0.5) == pytest.approx(0.5)
    assert buckets.try_take(1, 1.0) and not buckets.try_take(1, 1.0)
    assert buckets.try_take(2, 0.0)  # another key has its own bucket
    assert buckets.full(2, 1.0) and not buckets.full(1, 1.0)
    buckets._sweep(10.0)  # both full again: forgotten
    assert len(buckets) == 0


def test_the_flood_budget_admits_a_burst_and_notices_once_per_flood() -> None:
    budget = FloodBudget(private=Rate(burst=4, per_second=1.0), group=Rate(burst=3, per_second=1 / 6))
    admitted = [budget.admit(7, 0.0) for _ in range(10)]
    assert [a.handle for a in admitted] == [True] * 4 + [False] * 6
    assert [a.notice for a in admitted] == [False] * 4 + [True] + [False] * 5  # one notice
    assert budget.wait(7, 0.0) == pytest.approx(1.0)
    assert budget.admit(7, 1.0).handle and not budget.admit(7, 1.0).notice  # still the same flood
    assert budget.admit(7, 100.0).handle  # calm again: the bucket is full ...
    for _ in range(3):
        budget.admit(7, 100.0)
    assert budget.admit(7, 100.0).notice  # ... and a new flood gets a new notice
    # a group's budget is the group's: three commands, then one every six seconds
    assert [budget.admit(-100, 0.0).handle for _ in range(4)] == [True, True, True, False]
    assert budget.wait(-100, 0.0) == pytest.approx(6.0)
    # button presses (notify=False) never take the chat's one notice
    pressed = [budget.admit(8, 0.0, notify=False) for _ in range(6)]
    assert [p.handle for p in pressed] == [True] * 4 + [False] * 2 and not any(p.notice for p in pressed)
    assert budget.admit(8, 0.0).notice


def test_the_reply_pace_keeps_under_telegrams_per_chat_limits() -> None:
    pacer = ChatPacer()
    for chat, window, limit in ((42, 1.0, 5), (-100042, 60.0, 20)):
        sent: list[float] = []
        now = 0.0
        while now < 3 * window:
            if (wait := pacer.wait(chat, now)) > 0:
                now += wait
                continue
            pacer.take(chat, now)
            sent.append(now)
        most = max(sum(1 for t in sent if start <= t < start + window) for start in sent)
        assert most < limit, (chat, most)
        assert most >= 3  # a short burst is allowed


async def test_a_429_pauses_one_chat_when_it_can_be_that_chats_limit_else_everything() -> None:
    gate = SendGate(25.0)
    gate.take_chat(1)
    gate.take_chat(1)  # two messages to chat 1 just now: a 429 for it is its own limit
    gate.retry_after(5, 1)
    assert gate.chat_wait(1) > 4 and gate.chat_wait(2) == 0
    assert (gate.pauses, gate.chat_pauses) == (0, 1)
    gate.take_chat(3)  # chat 3 got one message after a quiet spell: a 429 cannot be about it
    gate.retry_after(5, 3)
    assert gate.pauses == 1
    gate = SendGate(25.0)
    gate.retry_after(5)  # no chat named: the bot's limit
    assert gate.pauses == 1
    gate = SendGate(25.0)
    for chat in (11, 12, 13):  # several chats at once: the bot's limit after all
        gate.take_chat(chat)
        gate.take_chat(chat)
        gate.retry_after(2, chat)
    assert gate.pauses == 1 and gate.chat_pauses == 3


async def test_messages_to_one_chat_leave_in_the_order_they_were_sent() -> None:
    gate = SendGate(25.0, chats=ChatPacer(Rate(burst=1, per_second=50.0), Rate(burst=1, per_second=50.0)))
    order: list[int] = []

    async def send(number: int) -> None:
        await gate.acquire_chat(5)
        order.append(number)

    await asyncio.gather(*(send(n) for n in range(6)))
    assert order == list(range(6))
    assert gate.chat_wait(6) == 0 and gate._chat_lines == {}  # nobody left waiting


# ------------------------------------------------------------------------------------------------
# End to end: the real bot against a strict fake Bot API
# ------------------------------------------------------------------------------------------------

Strict = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def strict(make_settings: Callable[..., Settings], clock: ManualClock) -> AsyncIterator[Strict]:
    """The bot as in production (tasks, chat pacing) against a fake with Telegram's limits, strict:
    30/s overall, 5/s per private chat, 20/min per group, retry_after 5 s, 10 s to answer a press."""
    started: list[RunningBot] = []

    async def build(**limits: Any) -> RunningBot:
        options: dict[str, Any] = {
            "rate_limit": 30,
            "chat_rate_limit": 5,
            "group_rate_limit": 20,
            "retry_after": 5,
            "callback_timeout": 10,
            **limits,
        }
        fake = FakeTelegram(**options)
        await fake.start()
        bot = RunningBot(fake, make_settings(fake, chat_pacing=True), clock, handle_as_tasks=True)
        started.append(bot)
        await bot.start()
        return bot

    yield build
    for bot in started:
        await bot.stop()
        await bot.fake.stop()


def heading(bot: RunningBot, entry_id: str, lang: str = "en") -> str:
    assert bot.app is not None
    faq = bot.app.dispatcher["faq"]
    assert isinstance(faq, FaqService)
    entry = faq.entry(entry_id)
    assert entry is not None
    return "❓ " + entry.text(lang).q  # type: ignore[arg-type]


def sends_to(fake: FakeTelegram, chat_id: int, calls: list[ApiCall] | None = None) -> list[ApiCall]:
    """The bot's successful messages to ``chat_id``, in the order it sent them."""
    return [
        c
        for c in (fake.calls if calls is None else calls)
        if c.ok and c.method.startswith(("send", "copy")) and c.params.get("chat_id") == chat_id
    ]


def answered(user: FakeUser) -> bool:
    return any(m.content.startswith("❓") for m in user.bot_messages())


def first_answer_index(fake: FakeTelegram, user: FakeUser) -> int:
    for index, call in enumerate(fake.calls):
        if call.ok and call.params.get("chat_id") == user.chat_id and call.method == "sendMessage":
            return index
    raise LookupError(user.chat_id)


async def test_a_flood_from_one_private_chat_stalls_nobody(strict: Strict) -> None:
    bot = await strict()
    fake = bot.fake
    flooder = fake.user(7000, language_code="en")
    others = [fake.user(7100 + i, language_code=("kk", "ru", "en")[i % 3]) for i in range(20)]
    for _ in range(150):
        await flooder.post(QUESTION)
    for other in others:  # the others ask in the middle of the flood
        await other.post(QUESTION)
    for _ in range(149):
        await flooder.post(QUESTION)
    await flooder.post(LAST)

    await fake.wait_for(lambda: all(answered(o) for o in others), timeout=30)
    last = heading(bot, "vote-abroad")
    await fake.wait_for(lambda: flooder.last_bot_message().content.startswith(last), timeout=30)

    assert fake.stats.rejected_429 == 0
    assert fake.errors() == [] and fake.unanswered_callback_queries() == []
    for other in others:  # each one answered, once, in their language
        replies = other.bot_messages()
        assert len(replies) == 1 and replies[0].content.startswith("❓") and "📎" in replies[0].content
    assert others[2].bot_messages()[0].content.startswith(heading(bot, "documents"))
    # the flooder: one notice, a handful of answers, and the last question answered last
    texts = [m.content for m in flooder.bot_messages()]
    assert sum(t.startswith(NOTICE) for t in texts) == 1
    assert len(texts) <= 8, texts
    assert texts[-1].startswith(last)
    # nobody waited behind the flood: by the time the last of the others was answered, the flooder
    # had had no more than its budget (four answers), the notice and one deferred answer
    last_other = max(first_answer_index(fake, o) for o in others)
    assert len(sends_to(fake, flooder.chat_id, fake.calls[:last_other])) <= 6


async def test_a_flood_of_commands_in_a_group_stays_within_20_a_minute(strict: Strict) -> None:
    bot = await strict()
    fake = bot.fake
    group = fake.group(-100777, title="Neighbours", type="supergroup")
    member = fake.user(7200, language_code="ru").in_group(group)
    bystander = fake.user(7201, language_code="ru").in_group(group)
    others = [fake.user(7300 + i, language_code="en") for i in range(10)]
    for _ in range(50):
        await member.post(f"/help@{fake.bot_username}")
    await bystander.post("hello neighbours")  # chatter: not the bot's business, not counted
    await bystander.post("/help@some_other_bot")
    for other in others:
        await other.post(QUESTION)
    for _ in range(50):
        await member.post(f"/help@{fake.bot_username}")

    await fake.wait_for(lambda: all(answered(o) for o in others), timeout=30)

    def texts() -> list[str]:
        return [str(c.params.get("text", "")) for c in sends_to(fake, group.chat_id)]

    await fake.wait_for(lambda: any(t.startswith(NOTICE) for t in texts()), timeout=30)
    notice_at = next(i for i, t in enumerate(texts()) if t.startswith(NOTICE))
    # the last /help is answered after the notice (it waited for the group's turn)
    await fake.wait_for(lambda: len(sends_to(fake, group.chat_id)) > notice_at + 1, timeout=30)

    assert fake.stats.rejected_429 == 0
    assert fake.errors() == []
    sent = texts()
    assert sum(t.startswith(NOTICE) for t in sent) == 1
    assert len(sent) <= 6, sent  # three at once, the notice, the last one: never 20 a minute
    assert sent[-1] == sent[0] and not sent[-1].startswith(NOTICE)  # the last /help got the invitation
    # the others were answered before the group's deferred answer: they did not wait for it
    group_last = max(i for i, c in enumerate(fake.calls) if c.ok and c.params.get("chat_id") == group.chat_id)
    assert all(first_answer_index(fake, o) < group_last for o in others)


async def test_pressing_a_button_60_times_answers_every_press_in_time(strict: Strict) -> None:
    bot = await strict()
    fake = bot.fake
    user = fake.user(7400, language_code="en")
    await user.post("/countdown")
    await fake.wait_for(lambda: bool(user.bot_messages()), timeout=10)
    screen: FakeMessage = user.last_bot_message()
    other = fake.user(7401, language_code="en")
    presses = [await user.post_press(screen, "calendar") for _ in range(30)]
    await other.post(QUESTION)
    presses += [await user.post_press(screen, "calendar") for _ in range(30)]

    await fake.wait_for(lambda: all(p in fake.callback_answers for p in presses), timeout=20)
    toasts = [p for p in presses if TOAST in str(fake.callback_answers[p].get("text", ""))]
    admitted = len(presses) - len(toasts)

    def documents() -> list[FakeMessage]:
        return [m for m in user.bot_messages() if m.document is not None]

    await fake.wait_for(lambda: len(documents()) == admitted, timeout=20)
    await fake.wait_for(lambda: answered(other), timeout=20)

    assert fake.unanswered_callback_queries() == []  # every press answered within Telegram's window
    assert fake.errors() == []  # ... none too late ("query is too old"), and no 429
    assert fake.stats.rejected_429 == 0
    assert 1 <= admitted <= 5 and len(toasts) >= 55
    # a press beyond the budget is answered before anything else is sent for it: nothing is sent
    assert len(documents()) == admitted


async def test_a_429_for_one_chat_pauses_that_chat_only(strict: Strict) -> None:
    # the fake allows one message a second per chat: the bot's burst of three draws a 429 for it
    bot = await strict(chat_rate_limit=1, retry_after=5)
    fake = bot.fake
    assert bot.app is not None
    engine = bot.app.dispatcher["delivery"]
    assert isinstance(engine, DeliveryEngine)
    flooder = fake.user(7500, language_code="en")
    others = [fake.user(7600 + i, language_code="en") for i in range(5)]
    await flooder.post(QUESTION)
    await fake.wait_for(lambda: len(flooder.bot_messages()) == 1, timeout=10)
    await flooder.post(QUESTION)  # within the second: the bot's pace allows it, this fake does not
    await fake.wait_for(lambda: fake.stats.rejected_429 >= 1, timeout=10)
    await flooder.post(QUESTION)  # while the chat is paused: waits for it
    for other in others:
        await other.post(QUESTION)
    await fake.wait_for(lambda: all(answered(o) for o in others), timeout=10)
    await fake.wait_for(lambda: len(flooder.bot_messages()) == 3, timeout=40)

    assert engine.gate.pauses == 0 and engine.gate.chat_pauses >= 1  # that chat only
    assert fake.stats.violations_after_429 == 0  # nothing went to it while it was paused
    assert {c.params.get("chat_id") for c in fake.errors()} == {flooder.chat_id}
    assert all(c.status == 429 for c in fake.errors())
    # the others were answered while the flooder's chat waited out its pause
    retried = sends_to(fake, flooder.chat_id)[1]
    assert all(first_answer_index(fake, o) < fake.calls.index(retried) for o in others)


async def test_the_flood_guard_keeps_no_timers_after_shutdown(strict: Strict) -> None:
    bot = await strict()
    flooder = bot.fake.user(7700, language_code="en")
    for _ in range(10):
        await flooder.post(QUESTION)
    await bot.fake.wait_for(lambda: any(m.content.startswith(NOTICE) for m in flooder.bot_messages()), timeout=10)
    await bot.stop()
    pending = [t for t in asyncio.all_tasks() if t.get_name().startswith("flood-deferred:")]
    assert pending == []


def test_chat_pacing_is_on_by_default_and_a_bad_value_names_the_variable() -> None:
    assert load_settings({}, dotenv=None).chat_pacing is True
    assert load_settings({"CHAT_PACING": "false"}, dotenv=None).chat_pacing is False
    with pytest.raises(ConfigError, match="CHAT_PACING"):
        load_settings({"CHAT_PACING": "sometimes"}, dotenv=None)
