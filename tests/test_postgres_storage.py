"""The storage interface, run against both backends: SQLite and PostgreSQL (a throwaway cluster from
conftest; these cases are skipped with the reason when PostgreSQL is not installed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from bot.config import parse_database_url
from bot.storage import Storage, open_storage
from bot.storage.base import BroadcastMessage, DeliveryResult, EventRecord
from bot.storage.broadcasts import (
    ALL_SUBSCRIBERS,
    BroadcastStatus,
    DeliveryStatus,
    DistrictAudience,
    LanguageAudience,
    MessageKind,
    NoticeAudience,
    ReminderAudience,
    ReminderScope,
    UserAudience,
)
from bot.storage.migrate import head_revision
from bot.storage.sql import SqlStorage
from tests.conftest import almaty

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _event(event_id: str, starts: datetime, **changes: object) -> EventRecord:
    values: dict[str, object] = {
        "id": event_id,
        "kind": "meeting",
        "title": "Встреча «с избирателями»; it's open",
        "description": None,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
        "all_day": False,
        "district": "almaly",
        "venue_name": "Hall",
        "venue_address": "Abay 1",
        "latitude": 43.238949,
        "longitude": 76.889709,
        "organiser": "Commission",
        "organiser_kind": "official",
        "link": None,
        "created_by": 1,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return EventRecord(**values)  # type: ignore[arg-type]


# --- both backends -------------------------------------------------------------------------------


async def _rows(storage: Storage, sql: str) -> list[tuple[object, ...]]:
    """The rows of a plain SQL query (tests look at what is stored, table by table)."""
    assert isinstance(storage, SqlStorage)
    return await storage.run_sync(lambda c: [tuple(row) for row in c.execute(sa.text(sql))])


def _store(url: str) -> SqlStorage:
    return SqlStorage(parse_database_url(url))


async def _alembic_rows(store: SqlStorage) -> list[str]:
    return await store.run_sync(lambda c: list(c.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()))


async def test_migrations_run_once_and_ping(database_url: str) -> None:
    first = _store(database_url)
    await first.connect()
    assert await first.ping()
    assert await first.schema_revision() == head_revision()
    await first.close()
    again = _store(database_url)
    await again.connect()  # nothing applied twice
    assert await again.schema_revision() == head_revision()
    assert await _alembic_rows(again) == [head_revision()]
    await again.close()


async def test_users_upsert_language_blocked_and_counts(storage: Storage) -> None:
    first = await storage.touch_user(7, "kk", T0)
    assert first.language is None and first.telegram_language == "kk" and not first.blocked
    await storage.touch_user(8, None, T0)
    await storage.set_language(7, "en")
    await storage.set_blocked(7, True, T0 + timedelta(days=1))
    counts = await storage.user_counts()
    assert (counts.total, counts.active, counts.blocked) == (2, 1, 1)
    assert counts.by_language == {"en": 1, "?": 1}
    again = await storage.touch_user(7, None, T0 + timedelta(days=2))
    assert again.first_seen == first.first_seen == T0 and again.last_seen == T0 + timedelta(days=2)
    assert again.language == "en" and again.telegram_language == "kk" and not again.blocked
    assert await storage.get_user(7) == again
    assert await storage.get_user(999) is None


async def test_feedback_and_unanswered(storage: Storage) -> None:
    await storage.record_feedback(1, "how-to-vote", True, T0)
    await storage.record_feedback(2, "how-to-vote", False, T0)
    await storage.record_feedback(2, "how-to-vote", True, T0)  # changed their mind
    await storage.record_feedback(3, "other", False, T0)
    counts = await storage.feedback_counts("how-to-vote")
    assert (counts.helpful, counts.unhelpful) == (2, 0)
    for minute, (user, text) in enumerate(
        [(1, "Где голосовать?"), (2, "где  голосовать"), (1, "weather?"), (1, "old")]
    ):
        at = T0 + timedelta(minutes=minute) if text != "old" else T0 - timedelta(days=30)
        assert await storage.record_unanswered(user, "ru", text, at) is True
    top = await storage.top_unanswered(T0 - timedelta(days=14), 10)
    assert [(row.text, row.count) for row in top] == [("Где голосовать?", 2), ("weather?", 1)]
    assert top[0].last_asked == T0 + timedelta(minutes=1)


async def test_unanswered_counts_people_and_caps_each_person(storage: Storage) -> None:
    """One person repeating a line 25 times counts once and stores one row; five people asking
    another question once each outrank them; a flooder stores at most the daily cap."""
    for minute in range(25):
        stored = await storage.record_unanswered(1, "ru", "Fake news line!", T0 + timedelta(minutes=minute))
        assert stored is (minute == 0)
    for user in range(10, 15):
        await storage.record_unanswered(user, "en", "Where is my polling station?", T0 + timedelta(minutes=1))
    top = await storage.top_unanswered(T0 - timedelta(days=1), 10)
    assert [(row.text, row.count) for row in top] == [("Where is my polling station?", 5), ("Fake news line!", 1)]
    flood = [await storage.record_unanswered(2, "ru", f"question {n}", T0 + timedelta(seconds=n)) for n in range(300)]
    assert sum(flood) == 20 and all(flood[:20])  # the cap: 20 a day per person
    assert await _rows(storage, "SELECT COUNT(*) FROM unanswered WHERE user_id = 2") == [(20,)]
    next_day = T0 + timedelta(days=1, seconds=1)
    assert await storage.record_unanswered(2, "ru", "question 0", next_day) is True  # a new day
    assert await storage.record_unanswered(1, "ru", "Fake news line!", next_day) is True


async def test_subscriptions_and_audiences(storage: Storage) -> None:
    for user, lang in [(1, "ru"), (2, "kk"), (3, "en"), (4, "ru")]:
        await storage.touch_user(user, lang, T0)
        await storage.subscribe(user, lang, T0)
    await storage.set_district(1, "almaly")
    await storage.set_language(4, "en")
    await storage.set_blocked(3, True, T0)
    sub = await storage.get_subscription(1)
    assert sub is not None and (sub.language, sub.district, sub.subscribed_at) == ("ru", "almaly", T0)
    counts = await storage.subscriber_counts()
    assert counts.total == 3 and counts.by_language == {"ru": 1, "kk": 1, "en": 1}
    assert counts.by_district == {"almaly": 1, "": 2}
    assert await storage.audience_size(ALL_SUBSCRIBERS) == 3
    assert await storage.audience_size(LanguageAudience("en")) == 1  # user 4's own choice wins
    assert await storage.audience_size(DistrictAudience("almaly")) == 1
    assert await storage.audience_size(UserAudience(2)) == 1
    await storage.set_reminder_mode(2, "none")
    await storage.mark_voted(1, date(2026, 3, 15))
    assert await storage.audience_size(ReminderAudience("kk", ReminderScope.COUNTDOWN, date(2026, 3, 15))) == 0
    assert await storage.audience_size(ReminderAudience("ru", ReminderScope.VOTING_DAY, date(2026, 3, 15))) == 0
    assert await storage.audience_size(ReminderAudience("ru", ReminderScope.COUNTDOWN, date(2026, 3, 15))) == 1
    assert await storage.unsubscribe(1) is True
    assert await storage.unsubscribe(1) is False
    assert await storage.get_subscription(1) is None


async def test_reminder_prefs(storage: Storage) -> None:
    assert (await storage.reminder_prefs(5)).mode == "all"
    await storage.touch_user(5, "ru", T0)
    await storage.subscribe(5, "ru", T0)
    await storage.set_reminder_mode(5, "voting_day")
    await storage.set_vote_time(5, time(9, 30))
    await storage.mark_voted(5, date(2026, 3, 15))
    prefs = await storage.reminder_prefs(5)
    assert (prefs.mode, prefs.vote_time, prefs.voted_on) == ("voting_day", time(9, 30), date(2026, 3, 15))
    assert [p.user_id for p in await storage.vote_time_subscribers()] == [5]
    await storage.set_vote_time(5, None)
    assert await storage.vote_time_subscribers() == []


async def test_broadcast_lifecycle_and_deliveries(storage: Storage) -> None:
    for user in (10, 11, 12, 13):
        await storage.touch_user(user, "ru", T0)
        await storage.subscribe(user, "ru", T0)
    message = BroadcastMessage(
        kind=MessageKind.TEXT, text="<b>Hello</b> 'quoted' ?", reply_markup='{"inline_keyboard": []}'
    )
    record, created = await storage.create_broadcast(
        message, ALL_SUBSCRIBERS, created_by=1, now=T0, start_at=T0, key="k1", progress=(1, 2)
    )
    assert created and record.id == 1 and record.status == "scheduled" and record.message == message
    same, created = await storage.create_broadcast(
        message, ALL_SUBSCRIBERS, created_by=1, now=T0, start_at=T0, key="k1"
    )
    assert not created and same.id == record.id
    later, _ = await storage.create_broadcast(
        BroadcastMessage(kind=MessageKind.COPY, from_chat_id=1, message_id=99),
        LanguageAudience("kk"),
        created_by=None,
        now=T0,
        start_at=T0 + timedelta(hours=1),
    )
    assert later.id > record.id and later.key is None  # PostgreSQL's identity skips the id the conflict used
    assert await storage.next_scheduled_start() == T0
    due = await storage.next_due_broadcast(T0)
    assert due is not None and due.id == 1
    assert await storage.start_broadcast(1, T0) == 4
    assert await storage.start_broadcast(1, T0) == 0  # not scheduled any more
    assert await storage.pending_deliveries(1, 0, 2) == [10, 11]
    assert await storage.pending_deliveries(1, 11, 10) == [12, 13]
    await storage.record_deliveries(
        1,
        [
            DeliveryResult(10, DeliveryStatus.SENT),
            DeliveryResult(11, DeliveryStatus.SENT),
            DeliveryResult(12, DeliveryStatus.BLOCKED, "Forbidden: bot was blocked by the user"),
            DeliveryResult(13, DeliveryStatus.FAILED, "Bad Request"),
        ],
        T0 + timedelta(minutes=1),
    )
    counts = await storage.delivery_counts(1)
    assert (counts.total, counts.pending, counts.sent, counts.blocked, counts.failed) == (4, 0, 2, 1, 1)
    blocked = await storage.get_user(12)
    assert blocked is not None and blocked.blocked
    assert await storage.delivered_since(T0) == 2
    await storage.set_progress_message(1, 5, 6)
    await storage.finish_broadcast(1, BroadcastStatus.DONE, T0 + timedelta(minutes=2))
    done = await storage.get_broadcast(1)
    assert done is not None and done.status is BroadcastStatus.DONE
    assert (done.progress_chat_id, done.progress_message_id) == (5, 6)
    assert done.finished_at == T0 + timedelta(minutes=2)
    assert await storage.cancel_broadcast(1, T0) is False
    assert await storage.cancel_broadcast(later.id, T0) is True
    assert await storage.cancel_broadcast(later.id, T0) is False  # once
    assert (await storage.delivery_counts(later.id)).pending == 0
    assert [b.id for b in await storage.recent_broadcasts(5)] == [later.id, 1]
    by_key = await storage.get_broadcast_by_key("k1")
    assert by_key is not None and by_key.id == 1
    assert await storage.next_due_broadcast(T0 + timedelta(days=1)) is None


async def test_audit_log(storage: Storage) -> None:
    await storage.audit(1, "broadcast", "id=1 'all'", T0)
    await storage.audit(2, "cancel", "x" * 3000, T0 + timedelta(seconds=1))
    entries = await storage.audit_entries(10)
    assert [(e.id, e.admin_id, e.action) for e in entries] == [(2, 2, "cancel"), (1, 1, "broadcast")]
    assert len(entries[0].details) == 2000 and entries[1].at == T0


async def test_events_and_cancellations(storage: Storage) -> None:
    await storage.save_event(_event("e2", T0 + timedelta(days=2)))
    await storage.save_event(_event("e1", T0 + timedelta(days=1), all_day=True, ends_at=None, latitude=None))
    await storage.save_event(_event("e2", T0 + timedelta(days=3), title="moved"))  # an edit
    events = await storage.list_events()
    assert [e.id for e in events] == ["e1", "e2"]
    assert events[0].all_day and events[0].ends_at is None and events[0].latitude is None
    e2 = await storage.get_event("e2")
    assert e2 == _event("e2", T0 + timedelta(days=3), title="moved")  # floats survive exactly
    assert await storage.get_event("nope") is None
    assert await storage.cancel_event("e2", 1, T0) is True
    assert await storage.cancel_event("e2", 1, T0) is False
    assert await storage.cancelled_event_ids() == {"e2"}


async def test_event_reminders_claimed_once(storage: Storage) -> None:
    await storage.touch_user(1, "kk", T0)
    await storage.touch_user(2, "ru", T0)
    at = T0 + timedelta(hours=5)
    reminder = await storage.set_event_reminder(1, "e1", "1h", at, T0)
    assert (reminder.offset, reminder.remind_at, reminder.sent_at, reminder.cancelled) == ("1h", at, None, False)
    await storage.set_event_reminder(2, "e1", "1d", at - timedelta(hours=1), T0)
    await storage.set_event_reminder(2, "e2", "1h", at, T0)
    assert [r.user_id for r in await storage.pending_event_reminders("e1")] == [1, 2]
    assert [r.language for r in await storage.pending_event_reminders("e1")] == ["kk", "ru"]
    await storage.move_event_reminder(1, "e1", at + timedelta(hours=1))
    due = await storage.due_event_reminders(at, 10)
    assert [(r.user_id, r.event_id) for r in due] == [(2, "e1"), (2, "e2")]
    assert await storage.claim_event_reminder(2, "e1", at - timedelta(hours=1), "sent", at) is True
    assert await storage.claim_event_reminder(2, "e1", at - timedelta(hours=1), "sent", at) is False
    await storage.set_event_reminder_outcome(2, "e1", "failed")
    got = await storage.get_event_reminder(2, "e1")
    assert got is not None and got.outcome == "failed" and got.sent_at == at
    assert await storage.cancel_event_reminder(2, "e2") is True
    assert await storage.cancel_event_reminder(2, "e2") is False
    cancelled = await storage.cancel_event_reminders("e1")
    assert [(r.user_id, r.outcome, r.language) for r in cancelled] == [(1, "gone", "kk")]
    assert await storage.due_event_reminders(at + timedelta(days=1), 10) == []


async def test_concurrent_statements_share_the_storage(storage: Storage) -> None:
    """Handlers use one storage object from many coroutines at once."""
    await asyncio.gather(*(storage.touch_user(user, "ru", T0) for user in range(1, 51)))
    await asyncio.gather(*(storage.record_feedback(user, "e", user % 2 == 0, T0) for user in range(1, 51)))
    assert (await storage.user_counts()).total == 50
    assert (await storage.feedback_counts("e")).helpful == 25


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    stores = [_store(postgres_url) for _ in range(3)]
    await asyncio.gather(*(store.connect() for store in stores))
    try:
        assert [await store.schema_revision() for store in stores] == [head_revision()] * 3
        assert await _alembic_rows(stores[0]) == [head_revision()]
    finally:
        for store in stores:
            await store.close()


async def test_a_language_change_on_another_replica_is_seen_at_once(postgres_url: str) -> None:
    one, two = _store(postgres_url), _store(postgres_url)
    await one.connect()
    await two.connect()
    try:
        await one.touch_user(1, "ru", T0)
        await two.touch_user(1, "ru", T0)
        await one.set_language(1, "kk")
        assert (await two.touch_user(1, "ru", T0 + timedelta(seconds=1))).language == "kk"
    finally:
        await one.close()
        await two.close()


async def test_replicas_inserting_at_once_get_distinct_ids(database_url: str) -> None:
    """Unanswered questions, broadcasts and audit rows written by two replicas at the same moment."""
    replicas = [open_storage(parse_database_url(database_url)) for _ in range(2)]
    for replica in replicas:
        await replica.connect()
    try:
        message = BroadcastMessage(kind=MessageKind.TEXT, text="hi")
        per_replica = 40
        results = await asyncio.gather(
            *(
                call
                for index, replica in enumerate(replicas)
                for n in range(per_replica)
                for call in (
                    replica.record_unanswered(n, "ru", f"question {index}-{n}", T0),
                    replica.audit(index, "test", f"{index}-{n}", T0),
                    replica.create_broadcast(message, ALL_SUBSCRIBERS, created_by=index, now=T0, start_at=T0),
                )
            ),
            return_exceptions=True,
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        broadcast_ids = [r[0].id for r in results if isinstance(r, tuple) and r[1]]
        assert len(broadcast_ids) == len(set(broadcast_ids)) == 2 * per_replica
        audit = await replicas[0].audit_entries(1000)
        assert len(audit) == len({entry.id for entry in audit}) == 2 * per_replica
        unanswered = await replicas[1].top_unanswered(T0 - timedelta(days=1), 1000)
        assert sum(row.count for row in unanswered) == 2 * per_replica
    finally:
        for replica in replicas:
            await replica.close()


# --- privacy: erasure, retention, admin menus, notices (issue 12) --------------------------------


async def all_tables(storage: Storage) -> list[str]:
    """Every table of the schema, read from the database itself."""
    assert isinstance(storage, SqlStorage)
    return sorted(await storage.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def rows_mentioning(storage: Storage, needle: int) -> dict[str, list[tuple[object, ...]]]:
    """Rows of any table in which any value contains ``needle`` (as text)."""
    found: dict[str, list[tuple[object, ...]]] = {}
    for table in await all_tables(storage):
        rows = await _rows(storage, f"SELECT * FROM {table}")
        hits = [row for row in rows if any(str(needle) in str(value) for value in row)]
        if hits:
            found[table] = hits
    return found


async def seed_everything(storage: Storage, user: int, other: int) -> None:
    """``user`` in every table a resident can reach; ``other`` alongside."""
    for who in (user, other):
        await storage.touch_user(who, "ru", T0)
        await storage.subscribe(who, "ru", T0)
        await storage.set_district(who, "almaly")
        await storage.set_reminder_mode(who, "voting_day")
        await storage.set_vote_time(who, time(9, 0))
        await storage.mark_voted(who, date(2026, 3, 15))
        await storage.record_feedback(who, "how-to-vote", True, T0)
        await storage.record_unanswered(who, "ru", f"my address is Abay 1, id {who}", T0)
        await storage.set_event_reminder(who, "e1", "1h", T0 + timedelta(hours=1), T0)
        await storage.mark_admin_menu(who, T0)
    announcement, _ = await storage.create_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="hi"), ALL_SUBSCRIBERS, created_by=1, now=T0, start_at=T0
    )
    await storage.start_broadcast(announcement.id, T0)
    await storage.record_deliveries(
        announcement.id, [DeliveryResult(user, DeliveryStatus.SENT)], T0
    )  # one past, one pending
    personal, _ = await storage.create_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="vote"), UserAudience(user), created_by=None, now=T0,
        start_at=T0, key=f"vote-time:c:{user}",
    )  # fmt: skip
    await storage.start_broadcast(personal.id, T0)
    await storage.create_notice_broadcast(
        BroadcastMessage(kind=MessageKind.TEXT, text="cancelled"), [user, other], key="event-cancel:e1:ru",
        label="event-cancel:e1:ru", created_by=1, now=T0,
    )  # fmt: skip


async def test_forget_user_leaves_no_row_mentioning_them(storage: Storage) -> None:
    user, other = 98765432123, 98765432199  # 11 digits: no timestamp or count contains them
    await seed_everything(storage, user, other)
    before = await rows_mentioning(storage, user)
    assert {"users", "subscriptions", "reminder_prefs", "faq_feedback", "unanswered", "event_reminders",
            "deliveries", "broadcasts", "admin_menus"} <= set(before)  # fmt: skip
    erased = await storage.forget_user(user)
    assert erased.total >= 11
    assert await rows_mentioning(storage, user) == {}
    assert await storage.get_user(user) is None
    # the other resident keeps everything
    assert {"users", "subscriptions", "reminder_prefs", "faq_feedback", "unanswered", "event_reminders",
            "deliveries", "admin_menus"} <= set(await rows_mentioning(storage, other))  # fmt: skip
    assert (await storage.forget_user(user)).total == 0  # idempotent


async def test_stop_everything_keeps_only_the_user_row(storage: Storage) -> None:
    await seed_everything(storage, 5, 6)
    assert await storage.stop_everything(5) == 3  # the pending event reminder, the prefs, the subscription
    assert await storage.get_subscription(5) is None
    assert (await storage.reminder_prefs(5)).vote_time is None
    assert await storage.get_event_reminder(5, "e1") is None
    assert await storage.get_user(5) is not None and await storage.get_subscription(6) is not None


async def test_retention_statements(storage: Storage) -> None:
    await storage.record_unanswered(1, "ru", "old", T0 - timedelta(days=31))
    await storage.record_unanswered(2, "ru", "new", T0 - timedelta(days=29))
    assert await storage.delete_unanswered_before(T0 - timedelta(days=30)) == 1
    assert [row.text for row in await storage.top_unanswered(T0 - timedelta(days=60), 10)] == ["new"]
    for user, day in [(1, date(2026, 3, 14)), (2, date(2026, 3, 15))]:
        await storage.mark_voted(user, day)
    assert await storage.forget_votes_before(date(2026, 3, 15)) == 1
    assert (await storage.reminder_prefs(1)).voted_on is None
    assert (await storage.reminder_prefs(2)).voted_on == date(2026, 3, 15)
    await storage.set_event_reminder(1, "e1", "1h", T0 - timedelta(days=8), T0 - timedelta(days=9))
    await storage.set_event_reminder(2, "e1", "1h", T0 - timedelta(days=6), T0 - timedelta(days=9))
    assert await storage.delete_event_reminders_before(T0 - timedelta(days=7)) == 1
    assert await storage.get_event_reminder(2, "e1") is not None


async def test_admin_menus_and_scheduled_broadcasts_by_creator(storage: Storage) -> None:
    await storage.mark_admin_menu(1, T0)
    await storage.mark_admin_menu(2, T0)
    await storage.mark_admin_menu(1, T0 + timedelta(days=1))
    assert await storage.admin_menu_holders() == [1, 2]
    await storage.drop_admin_menu(2)
    assert await storage.admin_menu_holders() == [1]
    later = T0 + timedelta(days=1)
    message = BroadcastMessage(kind=MessageKind.TEXT, text="x")
    mine, _ = await storage.create_broadcast(message, ALL_SUBSCRIBERS, created_by=7, now=T0, start_at=later)
    await storage.create_broadcast(message, ALL_SUBSCRIBERS, created_by=None, now=T0, start_at=later, key="r")
    assert await storage.scheduled_broadcast_creators() == [(mine.id, 7)]


async def test_notice_broadcast_is_created_once_and_resumes_from_preparing(storage: Storage) -> None:
    message = BroadcastMessage(kind=MessageKind.TEXT, text="❌ cancelled")
    record, created = await storage.create_notice_broadcast(
        message, [3, 1, 2, 2], key="event-cancel:e1:en", label="event-cancel:e1:en", created_by=9, now=T0
    )
    assert created and record.status == "running" and record.audience == NoticeAudience("event-cancel:e1:en")
    assert await storage.pending_deliveries(record.id, 0, 10) == [1, 2, 3]
    again, created = await storage.create_notice_broadcast(
        message, [4], key="event-cancel:e1:en", label="event-cancel:e1:en", created_by=9, now=T0
    )
    assert not created and again.id == record.id and (await storage.delivery_counts(record.id)).total == 3
    due = await storage.next_due_broadcast(T0)
    assert due is not None and due.id == record.id  # the engine picks it up like any running broadcast
    # a crash after the row, before the deliveries: the same call completes it
    await _rows(
        storage,
        "INSERT INTO broadcasts (id, idempotency_key, status, kind, text, audience_kind, audience_value, created_at,"
        " start_at) VALUES (100, 'event-cancel:e2:en', 'preparing', 'text', 'x', 'notice', 'e2', 0, 0) RETURNING id",
    )
    resumed, created = await storage.create_notice_broadcast(
        message, list(range(1, 1001)), key="event-cancel:e2:en", label="e2", created_by=None, now=T0
    )
    assert not created and resumed.id == 100 and resumed.status == "running"
    assert (await storage.delivery_counts(100)).pending == 1000  # more than one INSERT's worth


async def test_cancelled_events_with_pending_reminders(storage: Storage) -> None:
    await storage.set_event_reminder(1, "e1", "1h", T0 + timedelta(hours=1), T0)
    await storage.set_event_reminder(1, "e2", "1h", T0 + timedelta(hours=1), T0)
    assert await storage.cancelled_events_with_pending_reminders() == []
    await storage.cancel_event("e1", 9, T0)
    assert await storage.cancelled_events_with_pending_reminders() == ["e1"]
    await storage.cancel_event_reminders("e1")
    assert await storage.cancelled_events_with_pending_reminders() == []


async def test_daily_activity_counts_local_days_on_both_backends(storage: Storage) -> None:
    start = almaty(2026, 3, 1, 0, 0)
    await storage.subscribe(1, "en", start - timedelta(days=2))
    await storage.subscribe(2, "en", almaty(2026, 3, 1, 0, 30))  # 19:30 UTC the day before: local 1 March
    await storage.subscribe(3, "en", almaty(2026, 3, 2, 23, 59))
    activity = await storage.daily_activity(start, 5 * 3600)
    assert activity.subscribers_before == 1
    assert activity.subscribed == {start.date(): 1, almaty(2026, 3, 2).date(): 1}
    assert activity.delivered == {}
