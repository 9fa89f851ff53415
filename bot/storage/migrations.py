"""Versioned schema migrations, in SQL that SQLite and PostgreSQL both accept.

Each migration runs once, inside a transaction, and bumps ``schema_version``. Append only:
never edit a migration that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, list[str]]] = [
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
]
