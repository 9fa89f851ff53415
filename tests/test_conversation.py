"""The foundation, end to end: the real bot through real HTTP against the fake Bot API."""

from __future__ import annotations

import pytest

from bot.devtools.fake_api import FakeTelegram
from tests.conftest import AFTER, BEFORE, VOTING_OPEN, RunningBot, almaty, no_errors

# the end-to-end tests that use the database run on SQLite and PostgreSQL (tests/conftest.py)
pytestmark = pytest.mark.both_backends

GREETING = {"kk": "Сәлеметсіз бе", "ru": "Здравствуйте", "en": "Hello"}


CHOICE = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


@pytest.mark.parametrize(("telegram", "chosen"), [("kk", "kk"), ("ru", "ru"), ("en", "en"), ("en", "kk"), ("ru", "en")])
async def test_first_contact_asks_the_language_then_greets_once_in_it(
    running: RunningBot, fake: FakeTelegram, telegram: str, chosen: str
) -> None:
    user = fake.user(1001, first_name="Aigerim", language_code=telegram)
    exchange = await user.send("/start")
    assert len(exchange.replies) == 1  # only the picker: no greeting before the choice
    chooser = exchange.replies[0]
    assert [b.text for b in chooser.flat_buttons] == ["🇰🇿 Қазақша", "🇷🇺 Русский", "🇬🇧 English"]
    assert not any(greeting in chooser.content for greeting in GREETING.values())
    chosen_exchange = await user.press(chooser, CHOICE[chosen])
    assert not chosen_exchange.replies and len(chosen_exchange.edits) == 1  # the picker becomes the greeting
    greeting = chosen_exchange.edits[0]
    assert f"{GREETING[chosen]}, Aigerim!" in greeting.content
    assert greeting.flat_buttons[0].text.endswith({"kk": "Сұрақтар", "ru": "Вопросы", "en": "Questions"}[chosen])
    greetings = [m for m in user.bot_messages() if any(g in m.content for g in GREETING.values())]
    assert len(greetings) == 1
    again = await user.send("/start")  # later: the greeting at once, no picker
    assert len(again.replies) == 1 and f"{GREETING[chosen]}, Aigerim!" in again.replies[0].content
    no_errors(fake)


async def test_unknown_telegram_language_falls_back_to_default(running: RunningBot, fake: FakeTelegram) -> None:
    exchange = await fake.user(1002, language_code="de").send("/menu")
    assert GREETING["ru"] in exchange.replies[0].content
    exchange = await fake.user(1003, language_code=None).send("/menu")
    assert GREETING["ru"] in exchange.replies[0].content


async def test_language_switch_takes_effect_at_once_and_survives_restart(
    running: RunningBot, fake: FakeTelegram
) -> None:
    user = fake.user(1004, language_code="ru")
    chooser = (await user.send("/start")).replies[0]
    exchange = await user.press(chooser, "English")
    assert exchange.callback_answer is not None and "English" in str(exchange.callback_answer.get("text"))
    assert exchange.edits and "Hello" in exchange.edits[0].content
    # the per-chat command menu follows the choice
    scoped = [c for c in fake.calls_of("setMyCommands") if "chat" in str(c.params.get("scope"))]
    assert scoped and "Main menu" in str(scoped[-1].params["commands"])

    await running.restart()
    exchange = await user.send("/menu")
    assert "Hello" in exchange.replies[0].content
    assert "Voting day" in exchange.replies[0].content
    no_errors(fake)


async def test_language_command_switches_to_kazakh(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1005, language_code="en")
    screen = (await user.send("/language")).replies[0]
    assert "Choose your language" in screen.content
    await user.press(screen, "Қазақша")
    assert "Сәлеметсіз бе" in (await user.send("/menu")).replies[0].content


@pytest.mark.parametrize(
    "kind",
    ["send_sticker", "send_photo", "send_voice", "send_video", "send_animation", "send_poll"],
)
async def test_non_text_messages_get_a_hint(running: RunningBot, fake: FakeTelegram, kind: str) -> None:
    user = fake.user(1006, language_code="en")
    exchange = await getattr(user, kind)()
    assert len(exchange.replies) == 1
    assert "I understand text" in exchange.replies[0].content
    assert exchange.replies[0].flat_buttons  # the menu comes with it
    no_errors(fake)


async def test_location_contact_and_document_get_a_specific_answer(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1007, language_code="kk")
    location = await user.send_location(43.24, 76.89)
    assert "геолокация бойынша іздемеймін" in location.text  # stations are not found by location…
    assert "eGov Mobile" in location.text and "ЖСН" in location.text  # …but by IIN and region, on eGov
    assert "kaz.inform.kz" in (location.replies[0].html or "")  # with its source
    contact = await user.send_contact("+77000000000", "Aigerim")
    assert "телефон нөмірі немесе контакт керек емес" in contact.text and "+7700" not in contact.text
    assert running.app is not None
    record = await running.app.storage.get_user(1007)
    assert record is not None and "7700" not in repr(record)  # nothing of the contact is kept
    assert "Мен мәтінді түсінемін" in (await user.send_document("notes.txt", b"hello")).text
    running.clock.set(almaty(2026, 3, 16, 10, 0))  # after the polls closed: no station lookup
    late = await user.send_location(43.24, 76.89)
    assert "геолокация бойынша іздемеймін" in late.text and "eGov" not in late.text
    no_errors(fake)


async def test_unknown_command_gets_help(running: RunningBot, fake: FakeTelegram) -> None:
    exchange = await fake.user(1008, language_code="en").send("/frobnicate now")
    assert "I do not know this command" in exchange.text
    assert "/menu" in exchange.text and "1308" in exchange.text


async def test_a_4096_character_message_is_answered(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1009, language_code="ru")
    exchange = await user.send("ы" * 4096)
    assert exchange.replies
    exchange = await user.send("🗳" * 2048)  # 4096 UTF-16 units of astral characters
    assert exchange.replies
    no_errors(fake)


async def test_markup_in_user_text_is_never_sent_unescaped(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1010, first_name="<b>Bob</b> & <i>Co", language_code="en")
    exchange = await user.press((await user.send("/start")).replies[0], "English")
    assert "Hello, <b>Bob</b> & <i>Co!" in exchange.edits[0].content  # shown literally, as typed
    exchange = await user.send("<b>bold</b> & <a href='x'>link</a>")
    assert exchange.replies
    no_errors(fake)


@pytest.mark.parametrize("data", ["lang:xx", "m:nowhere", "garbage", "fe:", "lang", "x" * 64])
async def test_forged_or_stale_callback_data_is_answered_with_a_notice(
    running: RunningBot, fake: FakeTelegram, data: str
) -> None:
    user = fake.user(1011, language_code="en")
    menu = (await user.send("/menu")).replies[0]
    exchange = await user.press_data(menu.message_id, data)
    assert exchange.callback_answer is not None
    assert "out of date" in str(exchange.callback_answer.get("text"))
    no_errors(fake)


async def test_pressing_the_same_button_twice_does_not_edit_to_the_same_content(
    running: RunningBot, fake: FakeTelegram
) -> None:
    user = fake.user(1012, language_code="en")
    menu = (await user.send("/menu")).replies[0]
    await user.press(menu, "Language")
    # a double tap: the second press arrives when the message already shows the language screen
    second = await user.press_data(menu.message_id, "m:language")
    assert second.callback_answer is not None
    assert second.edits == []
    no_errors(fake)


async def test_group_chat_only_commands_addressed_to_the_bot(running: RunningBot, fake: FakeTelegram) -> None:
    group = fake.group(-5001, title="Neighbours")
    member = fake.user(1013, language_code="en").in_group(group)
    assert (await member.send("hello everyone")).replies == []
    assert (await member.send("/help@other_bot")).replies == []
    exchange = await member.send(f"/help@{fake.bot_username}")
    assert len(exchange.replies) == 1
    assert "private chat" in exchange.replies[0].content
    assert exchange.replies[0].flat_buttons[0].url == f"https://t.me/{fake.bot_username}?start=group"
    no_errors(fake)


async def test_deep_link_with_unknown_payload_falls_back_to_greeting(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1014, language_code="en")
    first = await user.send("/start something-unknown")  # first contact: the language first
    assert "Hello" in (await user.press(first.replies[0], "English")).edits[0].content
    exchange = await user.send("/start something-unknown")
    assert "Hello" in exchange.replies[0].content


async def test_commands_are_registered_for_each_language(running: RunningBot, fake: FakeTelegram) -> None:
    by_language = {c.params.get("language_code"): c.params["commands"] for c in fake.calls_of("setMyCommands")}
    assert {"kk", "ru", "en"} <= set(by_language)
    assert "Басты мәзір" in str(by_language["kk"])
    assert "Главное меню" in str(by_language["ru"])
    assert "Main menu" in str(by_language["en"])


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (BEFORE, "Осталось 3 дня"),
        (almaty(2026, 3, 13, 23, 59), "Осталось 2 дня"),
        (almaty(2026, 3, 14, 23, 59), "Участки откроются завтра в 07:00."),
        (almaty(2026, 3, 15, 6, 0), "Участки открываются в 07:00"),
        (VOTING_OPEN, "участки открыты до 20:00"),
        (almaty(2026, 3, 15, 20, 0), "Идёт подсчёт голосов."),
        (almaty(2026, 2, 12, 9, 0), "Остался 31 день"),
        (almaty(2026, 2, 10, 9, 0), "Осталось 33 дня"),
        (almaty(2026, 3, 18, 9, 0), "«Да, принимаю»: 7\u00a0954\u00a0667 голосов (87,15%)"),
        (almaty(2026, 7, 2, 9, 0), "Новая Конституция действует с 1 июля 2026 года"),
        (AFTER, "Референдум завершён."),
    ],
)
async def test_the_greeting_knows_the_phase(
    running: RunningBot, fake: FakeTelegram, moment: object, expected: str
) -> None:
    running.clock.set(moment)  # type: ignore[arg-type]
    exchange = await fake.user(1015, language_code="ru").send("/menu")
    assert expected in exchange.replies[0].content


async def test_handler_failure_gets_a_polite_answer(
    running: RunningBot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("content exploded")

    monkeypatch.setattr("bot.handlers.start.help_screen", broken)
    exchange = await fake.user(1016, language_code="kk").send("/help")
    assert "Біз жақта қате кетті" in exchange.text
    monkeypatch.undo()
    assert "/menu" in (await fake.user(1016).send("/help")).text  # the bot keeps working


async def test_blocking_marks_inactive_and_writing_again_reactivates(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(1017, language_code="en")
    await user.send("/start")
    await user.block()
    assert running.app is not None
    record = await running.app.storage.get_user(1017)
    assert record is not None and record.blocked
    await user.unblock()
    await user.send("/menu")
    record = await running.app.storage.get_user(1017)
    assert record is not None and not record.blocked


async def test_restart_keeps_users(running: RunningBot, fake: FakeTelegram) -> None:
    await fake.user(1018, language_code="en").send("/start")
    app = await running.restart()
    counts = await app.storage.user_counts()
    assert counts.total == 1 and counts.active == 1


HELP = {
    "kk": ["Сұрақтар", "Іс-шаралар мен күндер", "Еске салғыштар", "Баптаулар"],
    "ru": ["Вопросы", "Мероприятия и даты", "Напоминания", "Настройки"],
    "en": ["Questions", "Events and dates", "Reminders", "Settings"],
}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_help_lists_every_residents_command_grouped_in_their_language(
    running: RunningBot, fake: FakeTelegram, lang: str
) -> None:
    from bot.telegram.commands import USER_COMMANDS

    user = fake.user(1020, language_code=lang)
    await user.press((await user.send("/start")).replies[0], CHOICE[lang])
    text = (await user.send("/help")).text
    for name, _description in USER_COMMANDS:
        if name != "start":
            assert f"/{name} — " in text, (name, text)
    positions = [text.index(group) for group in HELP[lang]]
    assert positions == sorted(positions), text  # questions, events, reminders, settings
    assert "1308" in text  # and where an official answer is given
    if lang != "en":
        assert "Questions and answers" not in text and "Reminder settings" not in text  # translated
    no_errors(fake)
