"""Storage: one module family owns all SQL. Handlers and services see only :class:`Storage`."""

from bot.config import DatabaseConfig
from bot.storage.base import FeedbackCounts, Storage, UnansweredRow, UserCounts, UserRecord


def open_storage(database: DatabaseConfig) -> Storage:
    """The storage of DATABASE_URL, SQLite or PostgreSQL (not yet connected: call ``connect``)."""
    from bot.storage.sql import SqlStorage

    return SqlStorage(database)


__all__ = ["FeedbackCounts", "Storage", "UnansweredRow", "UserCounts", "UserRecord", "open_storage"]
