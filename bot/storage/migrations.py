"""Versioned schema migrations, in SQL that SQLite and PostgreSQL both accept.

Each migration runs once, inside a transaction, and bumps ``schema_version``. Append only:
never edit a migration that has shipped. A statement is plain SQL for both backends, or an
:class:`Only` for one backend (``"sqlite"`` or ``"postgresql"``, see ``SqliteStorage.dialect``).
"""

from __future__ import annotations

from typing import NamedTuple


class Only(NamedTuple):
    """A statement for one backend only."""

    dialect: str
    sql: str


# Tables whose ``id`` the database allocates: on PostgreSQL from a sequence ``<table>_id_seq``
# (replicas insert at once), on SQLite as MAX(id) + 1 inside the insert (one writer at a time).
ID_TABLES = ("unanswered", "broadcasts", "audit_log")
DESK_ID_TABLES = ("tickets", "faq_drafts")  # migration 8


def _sequences(tables: tuple[str, ...] = ID_TABLES) -> list[str | Only]:
    statements: list[str | Only] = []
    for table in tables:
        statements += [
            Only("postgresql", f"CREATE SEQUENCE {table}_id_seq"),
            Only(
                "postgresql",
                f"SELECT setval('{table}_id_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)",
            ),
            Only("postgresql", f"ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id"),
        ]
    return statements


MIGRATIONS: list[tuple[int, str, list[str | Only]]] = [
    (
        1,
        "users",
        [
            """CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                language TEXT,
                telegram_language TEXT,
                first_seen BIGINT NOT NULL,
                last_seen BIGINT NOT NULL,
                blocked INTEGER NOT NULL DEFAULT 0,
                blocked_at BIGINT
            )""",
        ],
    ),
    (
        2,
        "faq feedback and unanswered questions",
        [
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
        ],
    ),
    (
        3,
        "subscriptions, broadcasts, deliveries and the audit log",
        [
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
        ],
    ),
    (
        4,
        "reminder preferences",
        [
            """CREATE TABLE reminder_prefs (
                user_id BIGINT PRIMARY KEY,
                mode TEXT NOT NULL DEFAULT 'all',
                vote_time TEXT,
                voted_on TEXT
            )""",
            "ALTER TABLE broadcasts ADD COLUMN reply_markup TEXT",
        ],
    ),
    (
        5,
        "events added by admins, cancellations and personal event reminders",
        [
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
                latitude REAL,
                longitude REAL,
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
        ],
    ),
    (6, "ids allocated by the database (sequences on PostgreSQL)", _sequences()),
    (
        7,
        "privacy: per-person unanswered questions, erasure by user, admin command menus",
        [
            # /unanswered counts people and caps each person's rows a day; /forget deletes by user
            "CREATE INDEX unanswered_user ON unanswered (user_id, at)",
            "CREATE INDEX deliveries_user ON deliveries (user_id)",
            # chats whose command menu includes the admin commands: reset when an id leaves ADMIN_IDS
            """CREATE TABLE admin_menus (
                user_id BIGINT PRIMARY KEY,
                set_at BIGINT NOT NULL
            )""",
        ],
    ),
    (
        8,
        "operators' desk: tickets, relayed messages, blocked residents, FAQ drafts",
        [
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
            # one open ticket per resident: two replicas seeing the same update create it once
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
            *_sequences(DESK_ID_TABLES),
        ],
    ),
]
