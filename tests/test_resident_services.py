"""The services the handlers write through for a resident's own state, their feedback and questions,
/stop and the admins' audit log (services/residents.py, questions.py, audit.py, privacy.py), on
real storage (SQLite and PostgreSQL) with a manual clock: what each writes, and when."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.content import ContentStore, load_content
from bot.services.audit import AuditLog
from bot.services.privacy import PrivacyService
from bot.services.questions import QuestionLog
from bot.services.residents import ResidentService
from bot.storage import Storage
from tests.conftest import BEFORE, DATA

USER = 5151
ADMIN = 900001


async def test_a_resident_seen_choosing_a_language_blocking_and_coming_back(storage: Storage) -> None:
    clock = ManualClock(BEFORE)
    residents = ResidentService(storage, clock)
    first = await residents.seen(USER, "kk")
    assert (first.telegram_language, first.language, first.blocked, first.first_seen) == ("kk", None, False, BEFORE)
    await residents.choose_language(USER, "en")
    await residents.set_reachable(USER, False)
    user = await storage.get_user(USER)
    assert user is not None and user.language == "en" and user.blocked
    clock.advance(timedelta(hours=1))
    again = await residents.seen(USER, "kk")  # writing again makes them reachable
    assert not again.blocked and again.language == "en" and again.last_seen == BEFORE + timedelta(hours=1)
    await residents.set_reachable(USER, False)
    await residents.set_reachable(USER, True)  # unblocked the bot
    user = await storage.get_user(USER)
    assert user is not None and not user.blocked


async def test_feedback_and_unanswered_questions_read_back_for_the_admins(storage: Storage) -> None:
    clock = ManualClock(BEFORE)
    questions = QuestionLog(storage, clock)
    await ResidentService(storage, clock).seen(USER, "ru")
    await questions.feedback(USER, "vote-abroad", True)
    await questions.feedback(USER, "vote-abroad", False)  # a second press replaces the first
    counts = await storage.feedback_counts("vote-abroad")
    assert (counts.helpful, counts.unhelpful) == (0, 1)

    assert await questions.unanswered(USER, "ru", "Где купить бюллетень?")
    assert not await questions.unanswered(USER, "ru", "где купить бюллетень")  # the same, within the day
    top = await questions.top_unanswered(days=14, limit=5)
    assert [(row.text, row.count) for row in top] == [("Где купить бюллетень?", 1)]
    clock.advance(timedelta(days=15))
    assert await questions.top_unanswered(days=14, limit=5) == []  # out of the window
    assert await questions.drafts(10) == []


async def test_stop_deletes_what_sends_and_audit_records_who_did_what(storage: Storage) -> None:
    clock = ManualClock(BEFORE)
    await ResidentService(storage, clock).seen(USER, "en")
    await storage.subscribe(USER, "en", clock.now())
    privacy = PrivacyService(storage, ContentStore(load_content(DATA)), retention_days=30, grace=timedelta(hours=1))
    assert await privacy.stop(USER) >= 1
    assert await storage.get_subscription(USER) is None
    assert await storage.get_user(USER) is not None  # the user row stays: a later message starts afresh

    await AuditLog(storage, clock).record(ADMIN, "faq_reload", "ok: 43 questions")
    await AuditLog(storage, clock).record(ADMIN, "unanswered.view")
    entries = await storage.audit_entries(10)
    assert {(e.admin_id, e.action, e.details, e.at) for e in entries} == {
        (ADMIN, "faq_reload", "ok: 43 questions", BEFORE),
        (ADMIN, "unanswered.view", "", BEFORE),
    }
