"""Alembic takes over a database made by the old migration runner (schema version 6) with every row
kept, on SQLite and PostgreSQL; the schema it leaves, and the one it creates on an empty database,
is what ``bot/storage/schema.py`` declares; a database newer than the code is refused in one line."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.config import parse_database_url
from bot.storage.base import BroadcastMessage
from bot.storage.broadcasts import ALL_SUBSCRIBERS, MessageKind
from bot.storage.migrate import SchemaError, head_revision
from bot.storage.schema import metadata
from bot.storage.sql import SqlStorage
from tests.conftest import ROOT

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# --- the old runner's schema at version 6, frozen from bot/storage/migrations.py as it was ----------
# (statements for both backends; PostgreSQL got REAL as DOUBLE PRECISION and the sequences of 6)
LEGACY_V6 = [
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, name TEXT NOT NULL)",
    # 1 users
    """CREATE TABLE users (
        id BIGINT PRIMARY KEY,
        language TEXT,
        telegram_language TEXT,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        blocked INTEGER NOT NULL DEFAULT 0,
        blocked_at BIGINT
    )""",
    # 2 faq feedback and unanswered questions
    """CREATE TABLE faq_feedback (
        user_id BIGINT NOT NULL,
        entry_id TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (user_id, entry_id)
    )""",
    """CREATE TABLE unanswered (
        id BIGINT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        language TEXT NOT NULL,
        text TEXT NOT NULL,
        normalized TEXT NOT NULL,
        at BIGINT NOT NULL
    )""",
    "CREATE INDEX unanswered_at ON unanswered (at)",
    # 3 subscriptions, broadcasts, deliveries and the audit log
    """CREATE TABLE subscriptions (
        user_id BIGINT PRIMARY KEY,
        language TEXT NOT NULL,
        district TEXT,
        subscribed_at BIGINT NOT NULL
    )""",
    """CREATE TABLE broadcasts (
        id BIGINT PRIMARY KEY,
        idempotency_key TEXT UNIQUE,
        status TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT,
        from_chat_id BIGINT,
        message_id BIGINT,
        audience_kind TEXT NOT NULL,
        audience_value TEXT,
        created_by BIGINT,
        created_at BIGINT NOT NULL,
        start_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        progress_chat_id BIGINT,
        progress_message_id BIGINT
    )""",
    "CREATE INDEX broadcasts_status ON broadcasts (status, start_at)",
    """CREATE TABLE deliveries (
        broadcast_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        at BIGINT,
        PRIMARY KEY (broadcast_id, user_id)
    )""",
    "CREATE INDEX deliveries_pending ON deliveries (broadcast_id, status, user_id)",
    "CREATE INDEX deliveries_at ON deliveries (status, at)",
    """CREATE TABLE audit_log (
        id BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        admin_id BIGINT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL
    )""",
    "CREATE INDEX audit_log_at ON audit_log (at)",
    # 4 reminder preferences
    """CREATE TABLE reminder_prefs (
        user_id BIGINT PRIMARY KEY,
        mode TEXT NOT NULL DEFAULT 'all',
        vote_time TEXT,
        voted_on TEXT
    )""",
    "ALTER TABLE broadcasts ADD COLUMN reply_markup TEXT",
    # 5 events added by admins, cancellations and personal event reminders
    """CREATE TABLE events (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT,
        starts_at BIGINT NOT NULL,
        ends_at BIGINT,
        all_day INTEGER NOT NULL DEFAULT 0,
        district TEXT,
        venue_name TEXT,
        venue_address TEXT,
        latitude {REAL},
        longitude {REAL},
        organiser TEXT NOT NULL,
        organiser_kind TEXT NOT NULL,
        link TEXT,
        created_by BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""",
    """CREATE TABLE event_cancellations (
        event_id TEXT PRIMARY KEY,
        cancelled_by BIGINT,
        cancelled_at BIGINT NOT NULL
    )""",
    """CREATE TABLE event_reminders (
        user_id BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        reminder_offset TEXT NOT NULL,
        remind_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        sent_at BIGINT,
        cancelled INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        PRIMARY KEY (user_id, event_id)
    )""",
    "CREATE INDEX event_reminders_due ON event_reminders (sent_at, cancelled, remind_at)",
    "CREATE INDEX event_reminders_event ON event_reminders (event_id)",
]
# 7 (PostgreSQL: after 6) privacy: per-person unanswered questions, erasure by user, admin command menus
LEGACY_V7 = [
    "CREATE INDEX unanswered_user ON unanswered (user_id, at)",
    "CREATE INDEX deliveries_user ON deliveries (user_id)",
    """CREATE TABLE admin_menus (
        user_id BIGINT PRIMARY KEY,
        set_at BIGINT NOT NULL
    )""",
]
# 8 operators' desk: tickets, relayed messages, blocked residents, FAQ drafts (PostgreSQL: + sequences)
LEGACY_V8 = [
    """CREATE TABLE tickets (
        id BIGINT PRIMARY KEY,
        user_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        language TEXT NOT NULL,
        question TEXT NOT NULL,
        thread_id BIGINT,
        opened_at BIGINT NOT NULL,
        first_reply_at BIGINT,
        closed_at BIGINT,
        closed_by BIGINT,
        rating INTEGER,
        last_reply TEXT
    )""",
    "CREATE UNIQUE INDEX tickets_one_open ON tickets (user_id) WHERE status = 'open'",
    "CREATE UNIQUE INDEX tickets_thread ON tickets (thread_id)",
    "CREATE INDEX tickets_status ON tickets (status, opened_at)",
    """CREATE TABLE desk_messages (
        chat_id BIGINT NOT NULL,
        message_id BIGINT NOT NULL,
        ticket_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        direction TEXT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    )""",
    "CREATE INDEX desk_messages_budget ON desk_messages (user_id, direction, at)",
    """CREATE TABLE desk_blocks (
        user_id BIGINT PRIMARY KEY,
        blocked_by BIGINT NOT NULL,
        at BIGINT NOT NULL,
        told INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE faq_drafts (
        id BIGINT PRIMARY KEY,
        ticket_id BIGINT NOT NULL,
        language TEXT NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_by BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    )""",
]
LEGACY_NAMES = [
    (1, "users"),
    (2, "faq feedback and unanswered questions"),
    (3, "subscriptions, broadcasts, deliveries and the audit log"),
    (4, "reminder preferences"),
    (5, "events added by admins, cancellations and personal event reminders"),
    (6, "ids allocated by the database (sequences on PostgreSQL)"),
    (7, "privacy: per-person unanswered questions, erasure by user, admin command menus"),
    (8, "operators' desk: tickets, relayed messages, blocked residents, FAQ drafts"),
]


def _postgres_sequences(version: int = 6) -> list[str]:  # migrations 6 and 8, PostgreSQL only
    statements = []
    for table in ("unanswered", "broadcasts", "audit_log") + (("tickets", "faq_drafts") if version >= 8 else ()):
        statements += [
            f"CREATE SEQUENCE {table}_id_seq",
            f"SELECT setval('{table}_id_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)",
            f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id",
        ]
    return statements


# --- a row in every table (every column, NULLs, quotes, Cyrillic, floats, big Telegram ids) ---------
ROWS: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
    "users": (
        ["id", "language", "telegram_language", "first_seen", "last_seen", "blocked", "blocked_at"],
        [(7, "kk", "ru", 1000, 2000, 0, None), (5_000_000_001, None, None, 1, 2, 1, 3)],
    ),
    "faq_feedback": (
        ["user_id", "entry_id", "helpful", "at"],
        [(7, "how-to-vote", 1, 1000), (5_000_000_001, "how-to-vote", 0, 1001)],
    ),
    "unanswered": (
        ["id", "user_id", "language", "text", "normalized", "at"],
        [(1, 7, "ru", "Где голосовать?", "где голосовать", 1000), (9, 7, "en", 'it\'s "x"?', "it s x", 1001)],
    ),
    "subscriptions": (
        ["user_id", "language", "district", "subscribed_at"],
        [(7, "kk", "almaly", 1000), (5_000_000_001, "ru", None, 1001)],
    ),
    "broadcasts": (
        [
            "id",
            "idempotency_key",
            "status",
            "kind",
            "text",
            "from_chat_id",
            "message_id",
            "audience_kind",
            "audience_value",
            "created_by",
            "created_at",
            "start_at",
            "started_at",
            "finished_at",
            "progress_chat_id",
            "progress_message_id",
            "reply_markup",
        ],
        [
            (3, "k-1", "done", "text", "<b>Hi</b>", None, None, "all", None, 7, 10, 11, 12, 13, 7, 99, '{"a": 1}'),
            (
                4,
                None,
                "scheduled",
                "copy",
                None,
                -100123,
                5,
                "language",
                "kk",
                None,
                20,
                21,
                None,
                None,
                None,
                None,
                None,
            ),
        ],
    ),
    "deliveries": (
        ["broadcast_id", "user_id", "status", "error", "at"],
        [(3, 7, "sent", None, 12), (3, 5_000_000_001, "blocked", "Forbidden: bot was blocked", 13)],
    ),
    "audit_log": (
        ["id", "at", "admin_id", "action", "details"],
        [(40, 10, 7, "broadcast", "id=3 'all'"), (41, 11, 7, "cancel", "")],
    ),
    "reminder_prefs": (
        ["user_id", "mode", "vote_time", "voted_on"],
        [(7, "voting_day", "09:30", "2026-03-15"), (5_000_000_001, "all", None, None)],
    ),
    "events": (
        [
            "id",
            "kind",
            "title",
            "description",
            "starts_at",
            "ends_at",
            "all_day",
            "district",
            "venue_name",
            "venue_address",
            "latitude",
            "longitude",
            "organiser",
            "organiser_kind",
            "link",
            "created_by",
            "created_at",
            "updated_at",
        ],
        [
            (
                "e1",
                "meeting",
                "Встреча",
                "d",
                100,
                200,
                0,
                "almaly",
                "Hall",
                "Abay 1",
                43.238949,
                76.889709,
                "CEC",
                "official",
                "https://x",
                7,
                1,
                2,
            ),
            ("e2", "fair", "Fair", None, 300, None, 1, None, None, None, None, None, "Org", "other", None, None, 3, 4),
        ],
    ),
    "event_cancellations": (["event_id", "cancelled_by", "cancelled_at"], [("e2", 7, 500), ("e3", None, 501)]),
    "event_reminders": (
        ["user_id", "event_id", "reminder_offset", "remind_at", "created_at", "sent_at", "cancelled", "outcome"],
        [(7, "e1", "1h", 40, 30, None, 0, None), (5_000_000_001, "e1", "1d", 10, 5, 10, 0, "sent")],
    ),
}
KEYS = {
    "faq_feedback": ["user_id", "entry_id"],
    "deliveries": ["broadcast_id", "user_id"],
    "event_reminders": ["user_id", "event_id"],
    "subscriptions": ["user_id"],
    "reminder_prefs": ["user_id"],
    "event_cancellations": ["event_id"],
}


ROWS_V7: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
    "admin_menus": (["user_id", "set_at"], [(7, 100), (5_000_000_001, 101)]),
}


ROWS_V8: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
    "tickets": (
        ["id", "user_id", "kind", "status", "language", "question", "thread_id", "opened_at", "first_reply_at",
         "closed_at", "closed_by", "rating", "last_reply"],
        [(3, 7, "question", "closed", "kk", "Қайда?", 55, 10, 20, 30, 9, 1, "Мектепте"),
         (4, 7, "rumour", "open", "ru", "Правда ли?", None, 40, None, None, None, None, None)],
    ),
    "desk_messages": (
        ["chat_id", "message_id", "ticket_id", "user_id", "direction", "at"],
        [(-100, 1, 3, 7, "in", 10), (7, 2, 3, 7, "out", 20)],
    ),
    "desk_blocks": (["user_id", "blocked_by", "at", "told"], [(5_000_000_001, 9, 50, 1)]),
    "faq_drafts": (
        ["id", "ticket_id", "language", "question", "answer", "created_by", "created_at"],
        [(2, 3, "kk", "Қайда?", "Мектепте", 9, 60)],
    ),
}  # fmt: skip


def _rows(version: int) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    return {**ROWS, **(ROWS_V7 if version >= 7 else {}), **(ROWS_V8 if version >= 8 else {})}


def _inserts(placeholder: Any, version: int) -> list[tuple[str, list[tuple[Any, ...]]]]:
    out = []
    for table, (columns, rows) in _rows(version).items():
        marks = ", ".join(placeholder(i + 1) for i in range(len(columns)))
        out.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows))
    return out


def make_legacy_sqlite(path: Path, version: int = 6) -> None:
    db = sqlite3.connect(path)
    for statement in LEGACY_V6 + (LEGACY_V7 if version >= 7 else []) + (LEGACY_V8 if version >= 8 else []):
        db.execute(statement.replace("{REAL}", "REAL"))
    for sql, rows in _inserts(lambda _: "?", version):
        db.executemany(sql, rows)
    db.executemany("INSERT INTO schema_version VALUES (?, ?)", [v for v in LEGACY_NAMES if v[0] <= version])
    db.commit()
    db.close()


async def make_legacy_postgres(url: str, version: int = 6) -> None:
    db = await asyncpg.connect(url)
    try:
        for statement in LEGACY_V6:
            await db.execute(statement.replace("{REAL}", "DOUBLE PRECISION"))
        for statement in (LEGACY_V7 if version >= 7 else []) + (LEGACY_V8 if version >= 8 else []):
            await db.execute(statement)
        for sql, rows in _inserts(lambda n: f"${n}", version):
            await db.executemany(sql, rows)
        for statement in _postgres_sequences(version):  # after the rows, as on a database upgraded to 6
            await db.execute(statement)
        await db.executemany("INSERT INTO schema_version VALUES ($1, $2)", [v for v in LEGACY_NAMES if v[0] <= version])
    finally:
        await db.close()


@pytest.fixture(
    params=[("sqlite", 6), ("postgresql", 6), ("sqlite", 7), ("postgresql", 7), ("sqlite", 8), ("postgresql", 8)],
    ids=str,
)
async def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int]:
    """A database the old migration runner left at schema version 6, 7 or 8, rows in every table."""
    backend, version = request.param
    if backend == "sqlite":
        path = tmp_path / "legacy.sqlite3"
        make_legacy_sqlite(path, version)
        return f"sqlite:///{path}", version
    url: str = request.getfixturevalue("postgres_url")
    await make_legacy_postgres(url, version)
    return url, version


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _schema_differences(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _differences(store: SqlStorage) -> list[Any]:
    return await store.run_sync(_schema_differences)


async def test_versions_6_to_8_are_taken_over_with_every_row_kept(legacy: tuple[str, int]) -> None:
    legacy_url, version = legacy
    store = SqlStorage(parse_database_url(legacy_url))
    await store.connect()
    try:
        assert await store.schema_revision() == head_revision()
        tables = set(await store.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert "schema_version" not in tables
        for table, (columns, rows) in _rows(version).items():  # (ROWS lists each table's rows in key order)
            order = ", ".join(KEYS.get(table, [columns[0]]))
            query = sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")

            def read(connection: sa.Connection, query: sa.TextClause = query) -> list[tuple[Any, ...]]:
                return [tuple(row) for row in connection.execute(query)]

            got = await store.run_sync(read)
            assert got == rows, table
        assert await _differences(store) == []  # the schema is the one schema.py declares

        # the storage reads the old rows, and new ids follow the highest old one
        user = await store.get_user(7)
        assert user is not None and (user.language, user.first_seen) == ("kk", datetime.fromtimestamp(1000, UTC))
        event = await store.get_event("e1")
        assert event is not None and (event.latitude, event.longitude) == (43.238949, 76.889709)
        assert await store.cancelled_event_ids() == {"e2", "e3"}
        old = await store.get_broadcast_by_key("k-1")
        assert old is not None and old.id == 3 and old.message.reply_markup == '{"a": 1}'
        new, created = await store.create_broadcast(
            BroadcastMessage(kind=MessageKind.TEXT, text="new"), ALL_SUBSCRIBERS, created_by=7, now=T0, start_at=T0
        )
        assert created and new.id == 5
        await store.audit(7, "new", "", T0)
        assert [(e.id, e.action) for e in await store.audit_entries(3)] == [
            (42, "new"),
            (41, "cancel"),
            (40, "broadcast"),
        ]
        await store.record_unanswered(7, "ru", "ещё вопрос", T0)
        top = await store.top_unanswered(datetime.fromtimestamp(0, UTC), 10)
        assert sorted(row.text for row in top) == sorted(['it\'s "x"?', "ещё вопрос", "Где голосовать?"])
        assert (await store.delivery_counts(3)).blocked == 1
        assert await store.admin_menu_holders() == ([7, 5_000_000_001] if version >= 7 else [])
        if version >= 8:  # the desk's ids continue too
            draft = await store.add_faq_draft(3, "en", "q", "a", 9, T0)
            ticket, created = await store.open_ticket(5_000_000_001, "question", "en", "?", T0)
            assert (draft.id, ticket.id, created) == (3, 5, True)
            assert (await store.open_ticket(7, "question", "en", "?", T0))[0].id == 4  # one open ticket each
    finally:
        await store.close()


async def test_an_empty_database_gets_the_declared_schema(empty_url: str) -> None:
    store = SqlStorage(parse_database_url(empty_url))
    await store.connect()
    try:
        assert await _differences(store) == []
        assert [entry.id for entry in [*(await store.audit_entries(1))]] == []
        await store.audit(1, "first", "", T0)
        assert [entry.id for entry in await store.audit_entries(1)] == [1]
    finally:
        await store.close()


async def test_a_schema_older_than_version_6_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    make_legacy_sqlite(path, version=5)
    store = SqlStorage(parse_database_url(f"sqlite:///{path}"))
    with pytest.raises(SchemaError, match="predates version 6"):
        await store.connect()


async def test_a_database_newer_than_the_code_is_refused(empty_url: str) -> None:
    store = SqlStorage(parse_database_url(empty_url))
    await store.connect()
    await store.run_sync(lambda c: c.execute(sa.text("UPDATE alembic_version SET version_num = 'f00d'")))
    await store.close()
    again = SqlStorage(parse_database_url(empty_url))
    with pytest.raises(SchemaError, match=r"revision f00d\) is newer than this voterbot knows"):
        await again.connect()


def _voterbot(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_db_upgrade_and_current_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    make_legacy_sqlite(path)
    url = f"sqlite:///{path}"
    before = _voterbot("db", "current", url=url, cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert "schema version 6 of the old migration runner" in before.stdout
    upgraded = _voterbot("db", "upgrade", url=url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"-> {head_revision()}" in upgraded.stdout
    after = _voterbot("db", "current", url=url, cwd=tmp_path)
    assert after.stdout.strip() == f"{head_revision()} (head)"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = 'f00d'")
    refused = _voterbot("db", "upgrade", url=url, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "newer than this voterbot knows" in refused.stderr


@pytest.mark.slow
def test_alembic_command_line_finds_the_scripts() -> None:
    """`alembic heads` in the checkout (docs/architecture.md: how to add a migration) sees the same head."""
    alembic = Path(sys.executable).with_name("alembic")
    result = subprocess.run([str(alembic), "heads"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == head_revision()
