"""The examples of issue 23, each at its moment, through the fake Bot API in kk, ru and en: sources
only from their publication, the preliminary results, hours and minutes left, notes and sentences
that end, "announced today"."""

from __future__ import annotations

from datetime import datetime

from bot.config import Lang
from bot.devtools.fake_api import FakeTelegram, FakeUser
from tests.conftest import RunningBot, almaty, no_errors

LANGS: tuple[Lang, ...] = ("kk", "ru", "en")


async def people(fake: FakeTelegram) -> dict[Lang, FakeUser]:
    users = {lang: fake.user(5100 + index, language_code=lang) for index, lang in enumerate(LANGS)}
    for user in users.values():
        await user.send("/start")
    return users


async def reply(user: FakeUser, text: str) -> str:
    return "\n".join(message.content for message in (await user.send(text)).replies)


async def countdowns(running: RunningBot, users: dict[Lang, FakeUser], moment: datetime) -> dict[Lang, str]:
    running.clock.set(moment)
    return {lang: await reply(user, "/countdown") for lang, user in users.items()}


async def test_who_won_on_10_march_cites_no_results_article(running: RunningBot, fake: FakeTelegram) -> None:
    running.clock.set(almaty(2026, 3, 10, 12, 0))
    users = await people(fake)
    questions = {"kk": "Кім жеңді?", "ru": "Кто победил?", "en": "Who won?"}
    for lang, user in users.items():
        text = await reply(user, questions[lang])
        assert "Interfax" not in text and "Интерфакс" not in text and "Caspian" not in text, (lang, text)
        assert "exclusive.kz" not in text, (lang, text)
    no_errors(fake)


async def test_countdown_in_the_last_hours(running: RunningBot, fake: FakeTelegram) -> None:
    users = await people(fake)
    eve = await countdowns(running, users, almaty(2026, 3, 14, 23, 59))
    assert "Polling stations open tomorrow at 07:00." in eve["en"]
    assert "Участки откроются завтра в 07:00." in eve["ru"]
    assert "Учаскелер ертең сағат 07:00-де ашылады." in eve["kk"]
    assert "1 day left" not in eve["en"] and "Остался 1 день" not in eve["ru"]
    last = await countdowns(running, users, almaty(2026, 3, 15, 19, 59))
    assert "polls are open until 20:00 (1 minute left)" in last["en"], last["en"]
    assert "осталась 1 минута" in last["ru"] and "1 минут қалды" in last["kk"]
    assert "hour" not in last["en"]
    twelve = await countdowns(running, users, almaty(2026, 3, 15, 19, 48))
    assert "(12 minutes left)" in twelve["en"] and "осталось 12 минут" in twelve["ru"]
    afternoon = await countdowns(running, users, almaty(2026, 3, 15, 18, 30))
    assert "(1 hour 30 minutes left)" in afternoon["en"] and "осталось 1 час 30 минут" in afternoon["ru"]
    no_errors(fake)


async def test_the_count_the_preliminary_and_the_official_results(running: RunningBot, fake: FakeTelegram) -> None:
    users = await people(fake)
    night = await countdowns(running, users, almaty(2026, 3, 15, 23, 0))
    assert "The votes are being counted." in night["en"] and "Идёт подсчёт голосов." in night["ru"]
    assert "🤫" not in night["en"]  # the days of silence are over once the polls close
    morning = await countdowns(running, users, almaty(2026, 3, 16, 9, 0))
    assert "announces the preliminary results today" in morning["en"], morning["en"]
    assert "объявляет предварительные итоги сегодня" in morning["ru"]
    assert "87.15" not in morning["en"]
    afternoon = await countdowns(running, users, almaty(2026, 3, 16, 15, 0))
    for lang, text in afternoon.items():
        assert "being counted" not in text and "подсчёт голосов" not in text and "саналып" not in text, (lang, text)
    assert "Preliminary results (Central Referendum Commission, 16 March 2026):" in afternoon["en"]
    assert "«Yes, I accept»: 7,954,667 votes (87.15%)" in afternoon["en"]
    assert "«No, I do not accept»: 898,099 votes (9.84%)" in afternoon["en"]
    assert "Предварительные итоги" in afternoon["ru"] and "Алдын ала қорытынды" in afternoon["kk"]
    assert "adopted" not in afternoon["en"]  # the outcome only with the official results
    results_day = await countdowns(running, users, almaty(2026, 3, 17, 12, 0))
    assert "The official results are announced today, 17 March 2026." in results_day["en"], results_day["en"]
    assert "Официальные итоги объявляются сегодня" in results_day["ru"]
    assert "not been announced yet" not in results_day["en"]
    no_errors(fake)


async def test_a_deadline_is_not_said_after_its_date(running: RunningBot, fake: FakeTelegram) -> None:
    users = await people(fake)
    questions: dict[Lang, str] = {"ru": "Где мой избирательный участок?", "en": "Where is my polling station?"}
    running.clock.set(almaty(2026, 2, 15, 12, 0))
    before = {lang: await reply(users[lang], question) for lang, question in questions.items()}
    assert "no later than 21 February 2026" in before["en"] and "не позднее 21 февраля" in before["ru"]
    running.clock.set(almaty(2026, 3, 15, 12, 0))
    after = {lang: await reply(users[lang], question) for lang, question in questions.items()}
    assert "21 February" not in after["en"] and "21 февраля" not in after["ru"], after
    assert "eGov Mobile" in after["en"]
    no_errors(fake)


async def test_after_i_voted_nothing_about_voting_day_is_offered(running: RunningBot, fake: FakeTelegram) -> None:
    running.clock.set(almaty(2026, 3, 15, 10, 0))
    users = await people(fake)
    for lang, user in users.items():
        await user.send("/subscribe")
        before = (await user.send("/reminders")).replies[0]
        assert any((b.callback_data or "").startswith("rm:time:") for b in before.flat_buttons), lang
        countdown = (await user.send("/countdown")).replies[0]
        await user.press(countdown, 0)  # ✅ I voted
        after = (await user.send("/reminders")).replies[0]
        data = [b.callback_data or "" for b in after.flat_buttons]
        assert not any(d.startswith("rm:time:") or d == "rm:mode:voting_day" for d in data), (lang, data)
        words = {"en": "on voting day (", "ru": "в день голосования (", "kk": "дауыс беру күні ("}
        assert words[lang] not in after.content, (lang, after.content)
    no_errors(fake)


async def test_checked_on_is_never_after_the_bots_moment(running: RunningBot, fake: FakeTelegram) -> None:
    users = await people(fake)
    running.clock.set(almaty(2026, 2, 20, 12, 0))
    early = await reply(users["en"], "What documents do I need?")
    assert "Checked on" not in early and "December 2026" not in early, early
    running.clock.set(almaty(2026, 12, 5, 12, 0))
    late = await reply(users["en"], "What documents do I need?")
    assert "Checked on 1 December 2026" in late, late
    no_errors(fake)


async def test_one_stage_wording_and_the_tense_between_the_results_and_1_july(
    running: RunningBot, fake: FakeTelegram
) -> None:
    users = await people(fake)
    running.clock.set(almaty(2026, 4, 1, 12, 0))
    kurultai = await reply(users["en"], "What is the Kurultai?")
    assert "parliament will be the unicameral Kurultai" in kurultai and "parliament is the" not in kurultai
    running.clock.set(almaty(2026, 8, 24, 12, 0))
    stage = {
        "en": "Voting is over; the official results are announced.",
        "ru": "Голосование завершено; официальные итоги объявлены.",
        "kk": "Дауыс беру аяқталды; ресми қорытынды жарияланды.",
    }
    for lang, user in users.items():
        for command in ("/reminders", "/help"):
            text = await reply(user, command)
            assert stage[lang] in text, (lang, command, text)
        assert "campaign is over" not in await reply(user, "/reminders")
    running.clock.set(almaty(2026, 9, 10, 12, 0))
    archive = {lang: await reply(user, "/help") for lang, user in users.items()}
    assert "The referendum is over." in archive["en"] and "Референдум завершён." in archive["ru"]
    assert "The referendum is over." in await reply(users["en"], "/countdown")
    no_errors(fake)


async def test_a_turnout_source_waits_for_its_hour_and_the_silence_note_for_nobody(
    running: RunningBot, fake: FakeTelegram
) -> None:
    users = await people(fake)
    questions = {
        "kk": "Алматыда қатысу қандай болды?",
        "ru": "Какая явка была в Алматы?",
        "en": "What was the turnout in Almaty?",
    }
    running.clock.set(almaty(2026, 3, 15, 17, 0))
    for lang, user in users.items():
        text = await reply(user, questions[lang])
        assert "Kursiv" not in text and "kursiv" not in text, (lang, text)
    running.clock.set(almaty(2026, 3, 15, 18, 30))
    assert "Kursiv" in await reply(users["ru"], questions["ru"])
    for moment in (almaty(2026, 3, 16, 10, 0), almaty(2026, 3, 17, 10, 0)):
        texts = await countdowns(running, users, moment)
        assert not [lang for lang, text in texts.items() if "🤫" in text], texts
    texts = await countdowns(running, users, almaty(2026, 3, 14, 10, 0))
    assert all("🤫" in text for text in texts.values())  # on the day of silence itself, it is said
    no_errors(fake)
