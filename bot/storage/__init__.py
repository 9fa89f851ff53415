"""Storage: one module family owns all SQL. Handlers and services see only :class:`Storage`."""

from bot.config import DatabaseConfig
from bot.storage.base import FeedbackCounts, Storage, UnansweredRow, UserCounts, UserRecord


def open_storage(database: DatabaseConfig) -> Storage:
    """The backend chosen by the DATABASE_URL scheme (not yet connected: call ``connect``)."""
    if database.scheme == "sqlite":
        from bot.storage.sqlite import SqliteStorage

        return SqliteStorage(database.path)
    from bot.storage.postgres import PostgresStorage

    return PostgresStorage(database.url)


__all__ = ["FeedbackCounts", "Storage", "UnansweredRow", "UserCounts", "UserRecord", "open_storage"]
