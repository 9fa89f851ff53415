"""Storage: one package owns all SQL (``sql/``, tables in ``schema.py``, migrations in ``alembic/``).
Services and handlers use the :class:`Storage` protocol and its row types (``base.py``); a few
constants of the queries (``UNANSWERED_DAILY_CAP``, ``normalize_question``) are shared with them too."""

from bot.config import DatabaseConfig
from bot.storage.base import FeedbackCounts, Storage, UnansweredRow, UserCounts, UserRecord


def open_storage(database: DatabaseConfig) -> Storage:
    """The storage of DATABASE_URL, SQLite or PostgreSQL (not yet connected: call ``connect``)."""
    from bot.storage.sql import SqlStorage

    return SqlStorage(database)


__all__ = ["FeedbackCounts", "Storage", "UnansweredRow", "UserCounts", "UserRecord", "open_storage"]
