"""Questions and answers through the fake Bot API, in all three languages."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Settings
from bot.devtools.fake_api import FakeTelegram
from tests.conftest import ADMIN_ID, AFTER, BEFORE, DATA, RunningBot, no_errors

# the end-to-end tests that use the database run on SQLite and PostgreSQL (tests/conftest.py)
pytestmark = pytest.mark.both_backends


@pytest.mark.parametrize(
    ("lang", "question", "heading"),
    [
        ("ru", "где мой избирательный участок", "Где мой избирательный участок?"),
        ("kk", "дауыс беретін учаскем қайда", "Менің дауыс беру учаскем қайда?"),
        ("en", "where is my polling station", "Where is my polling station?"),
        ("en", "gde moi uchastok", "Where is my polling station?"),  # Latin letters, English user
        ("kk", "где мой участок", "Менің дауыс беру учаскем қайда?"),  # asked in Russian, answered in Kazakh
    ],
)
async def test_free_text_question_is_answered_with_sources_in_the_users_language(
    running: RunningBot, fake: FakeTelegram, lang: str, question: str, heading: str
) -> None:
    exchange = await fake.user(3001, language_code=lang).send(question)
    assert len(exchange.replies) == 1, exchange.text
    answer = exchange.replies[0]
    assert answer.content.startswith(f"❓ {heading}")
    assert "📎" in answer.content
    links = [e for e in answer.entities if e.get("type") == "text_link"]
    assert links and all(str(link["url"]).startswith("http") for link in links)
    assert ["👍" in b.text for b in answer.flat_buttons][:2] == [True, False]
    no_errors(fake)


async def test_a_question_during_a_dialog_goes_to_the_dialog_that_takes_text(
    running: RunningBot, fake: FakeTelegram
) -> None:
    admin = fake.user(ADMIN_ID, language_code="en")
    question = "where is my polling station"
    assert (await admin.send(question)).replies[0].content.startswith("❓ Where is my polling station?")
    await admin.send("/announce")
    preview, control = (await admin.send(question)).replies  # the dialog's step takes it: the draft
    assert preview.content == question and "This is exactly what subscribers will receive" in control.content
    # the next step waits for a button, not for text: a question is still answered
    assert (await admin.send(question)).replies[0].content.startswith("❓ Where is my polling station?")
    assert "nothing was sent" in (await admin.send("/cancel")).text
    no_errors(fake)


async def test_browse_categories_questions_answer_back_and_feedback(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(3002, language_code="en")
    menu = (await user.send("/menu")).replies[0]
    topics = (await user.press(menu, "Questions")).edits[0]
    assert "Questions by topic" in topics.content
    listing = (await user.press(topics, "Voting")).edits[0]
    assert "Voting" in listing.content and "page 1 of" in listing.content
    next_page = (await user.press(listing, "▶️")).edits[0]
    assert "page 2 of" in next_page.content
    previous = (await user.press(next_page, "◀️")).edits[0]
    assert "page 1 of" in previous.content
    answer = (await user.press(previous, 0)).edits[0]
    assert answer.content.startswith("❓ ")
    vote = await user.press(answer, "👍")
    assert vote.callback_answer is not None and "Thank you" in str(vote.callback_answer.get("text"))
    assert running.app is not None
    counts = await running.app.storage.feedback_counts(answer.buttons[0][0].callback_data.split(":")[1])  # type: ignore[union-attr]
    assert counts.helpful == 1
    back = (await user.press(answer, "Back")).edits[0]
    assert "page 1 of" in back.content
    no_errors(fake)


async def test_suggestion_button_opens_the_answer(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(3004, language_code="en")
    screen = (await user.send("vote")).replies[0]  # one word: a close call between several questions
    assert "Did you mean" in screen.content
    texts = [button.text for button in screen.flat_buttons]
    assert 4 <= len(texts) <= 5 and texts[-2:] == ["🙅 None of these", "📂 All topics"]  # 2-3 questions
    opened = await user.press(screen, 0)
    assert opened.replies and opened.replies[0].content.startswith("❓ ")
    no_errors(fake)


@pytest.mark.parametrize(
    ("lang", "question", "honest"),
    [
        ("ru", "какая погода будет завтра в алматы", "нет подтверждённого ответа"),
        ("en", "who will win the champions league", "I do not have a confirmed answer"),
        ("kk", "ертең футбол бар ма", "расталған жауабым жоқ"),
    ],
)
async def test_no_match_says_so_offers_topics_and_call_centre_and_is_recorded(
    running: RunningBot, fake: FakeTelegram, lang: str, question: str, honest: str
) -> None:
    exchange = await fake.user(3005, language_code=lang).send(question)
    reply = exchange.replies[0]
    assert honest in reply.content
    assert "1308" in reply.content
    assert reply.flat_buttons and reply.flat_buttons[0].callback_data == "m:faq"
    assert running.app is not None
    rows = await running.app.storage.top_unanswered(BEFORE.replace(year=2025), 10)
    assert [row.text for row in rows] == [question]


async def test_answers_follow_the_moment(running: RunningBot, fake: FakeTelegram, clock: ManualClock) -> None:
    user = fake.user(3006, language_code="ru")
    before = (await user.send("/start faq-results")).replies[0].content
    clock.set(AFTER)
    after = (await user.send("/start faq-results")).replies[0].content
    assert "7 954 667" not in before.replace("\u00a0", " ")
    assert "7 954 667" in after.replace("\u00a0", " ") or "7954667" in after
    assert "898 099" in after.replace("\u00a0", " ") or "898099" in after


async def test_deep_link_opens_the_answer_and_unknown_ids_are_honest(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(3007, language_code="en")
    exchange = await user.send("/start faq-documents")
    assert exchange.replies[0].content.startswith("❓ ")
    exchange = await user.send("/start faq-no-such-entry")
    assert "I do not have a confirmed answer" in exchange.replies[0].content
    no_errors(fake)


async def test_inline_mode_offers_answers_with_a_deep_link(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(3008, language_code="ru")
    exchange = await user.inline("документы для голосования")
    results = exchange.inline_results or []
    assert results and results[0]["id"] == "documents"
    body = results[0]["input_message_content"]["message_text"]
    assert f"https://t.me/{fake.bot_username}?start=faq-documents" in body
    assert results[0]["reply_markup"]["inline_keyboard"][0][0]["url"].endswith("start=faq-documents")
    empty = await user.inline("")
    assert len(empty.inline_results or []) >= 5
    no_errors(fake)


async def test_forged_faq_buttons_are_answered(running: RunningBot, fake: FakeTelegram) -> None:
    user = fake.user(3009, language_code="en")
    menu = (await user.send("/menu")).replies[0]
    for data in ["fe:nope:", "fc:nope:0", "fv:nope:1", "fc:voting:99", "fe:documents:nope"]:
        exchange = await user.press_data(menu.message_id, data)
        assert exchange.callback_answer is not None
    no_errors(fake)


async def test_unanswered_and_reload_are_for_admins_only(
    fake: FakeTelegram, make_settings: Callable[..., Settings], clock: ManualClock, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(DATA, content)
    bot = RunningBot(fake, make_settings(fake, content_dir=content), clock)
    await bot.start()
    try:
        resident = fake.user(3010, language_code="en")
        admin = fake.user(ADMIN_ID, language_code="en")
        for _ in range(3):  # one person three times counts once ...
            await resident.send("where can I buy cheap sneakers")
        for other in (3011, 3012):  # ... and each other person once
            await fake.user(other, language_code="en").send("Where can I buy cheap sneakers?")
        await resident.send("recipe for beshbarmak please")
        assert "I do not know this command" in (await resident.send("/unanswered")).text
        assert "I do not know this command" in (await resident.send("/faq_reload")).text

        report = (await admin.send("/unanswered")).text
        assert "Where can I buy cheap sneakers? — 👥 3" in report  # one line for both spellings
        assert report.index("sneakers") < report.index("beshbarmak")

        faq_file = content / "faq.yaml"
        good = faq_file.read_text(encoding="utf-8")
        faq_file.write_text(
            good.replace("- id: documents\n    category:", "- id: documents\n    category: nowhere\n    x:", 1)
        )
        refused = (await admin.send("/faq_reload")).text
        assert "was not reloaded" in refused and "faq.yaml" in refused
        assert (await resident.send("/start faq-documents")).replies[0].content.startswith("❓ ")  # old content live

        faq_file.write_text(good.replace("- id: call-centre\n", "- id: hotline\n", 1), encoding="utf-8")
        assert "Content reloaded" in (await admin.send("/faq_reload")).text
        assert (await resident.send("/start faq-hotline")).replies[0].content.startswith("❓ ")
        assert bot.app is not None  # every admin action is in the audit log
        audit = [(e.admin_id, e.action, e.details) for e in await bot.app.storage.audit_entries(10)]
        assert audit[:3] == [
            (ADMIN_ID, "faq_reload", f"ok: {len(bot.app.content.current.faq.entries)} questions"),
            (ADMIN_ID, "faq_reload", "refused: 1 problem(s)"),
            (ADMIN_ID, "unanswered.view", ""),
        ]
        no_errors(fake)
    finally:
        await bot.stop()


async def test_faq_reload_reads_the_files_off_the_event_loop(
    running: RunningBot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from bot.content import loader

    threads: dict[str, bool] = {}  # step -> ran on the event loop's thread
    real_load = loader.load_content

    def load(directory: Path) -> loader.Content:
        threads["load"] = threading.current_thread() is threading.main_thread()
        return real_load(directory)

    assert running.app is not None
    store = running.app.content

    def swapped(content: loader.Content) -> None:
        threads["swap"] = threading.current_thread() is threading.main_thread()

    store.subscribe(swapped)
    monkeypatch.setattr(loader, "load_content", load)
    admin = fake.user(ADMIN_ID, language_code="en")
    assert "Content reloaded" in (await admin.send("/faq_reload")).text
    assert threads == {"load": False, "swap": True}  # YAML parsed in a worker thread, swapped on the loop


@pytest.mark.parametrize("lang", ["en", "kk"])
async def test_not_helpful_offers_a_rephrase_the_nearest_questions_and_the_call_centre(
    running: RunningBot, fake: FakeTelegram, lang: str
) -> None:
    user = fake.user(3020, language_code=lang)
    answer = (await user.send("/start faq-vote-abroad")).replies[0]
    exchange = await user.press(answer, "👎")
    assert exchange.callback_answer is not None  # the toast, as before
    assert len(exchange.replies) == 1
    follow_up = exchange.replies[0]
    rephrase = {"en": "rephrase the question", "kk": "сұрақты өз сөзіңізбен"}[lang]
    assert rephrase in follow_up.content and "1308" in follow_up.content
    near = [b for b in follow_up.flat_buttons if (b.callback_data or "").startswith("fe:")]
    assert len(near) == 3 and all("vote-abroad" not in (b.callback_data or "") for b in near)
    opened = await user.press(follow_up, near[0].text)  # a nearby question opens its answer
    assert opened.replies and opened.replies[0].content.startswith("❓ ")
    assert running.app is not None
    assert (await running.app.storage.feedback_counts("vote-abroad")).unhelpful == 1
    no_errors(fake)
