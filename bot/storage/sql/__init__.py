"""The storage on SQLAlchemy Core (async): one implementation for SQLite and PostgreSQL.

Queries are built with the expression language over the tables of ``schema.py``. The class is
composed of one part per area, each a module of this package on :class:`~bot.storage.sql.core.SqlCore`
(the database, the statement runners, the dialect's upsert and the user cache):

- ``users``: users, reminder preferences, subscriptions;
- ``questions``: FAQ feedback and unanswered questions;
- ``broadcasts``: audiences, broadcasts, deliveries;
- ``notices``: notices to fixed recipients, the creators of scheduled broadcasts;
- ``events``: events and personal event reminders;
- ``desk``: the operators' desk (tickets, relayed messages, blocks, FAQ drafts);
- ``privacy``: erasure, ``/stop``, retention, admin-menu marks;
- ``reports``: the audit log and daily activity.
"""

from __future__ import annotations

from bot.storage.sql.broadcasts import NOTICE_AUDIENCE, BroadcastQueries
from bot.storage.sql.desk import DeskQueries
from bot.storage.sql.events import EventQueries
from bot.storage.sql.notices import NoticeQueries
from bot.storage.sql.privacy import PrivacyQueries
from bot.storage.sql.questions import UNANSWERED_DAILY_CAP, QuestionQueries, normalize_question
from bot.storage.sql.reports import ReportQueries
from bot.storage.sql.users import UserQueries


class SqlStorage(
    UserQueries,
    QuestionQueries,
    BroadcastQueries,
    NoticeQueries,
    EventQueries,
    DeskQueries,
    PrivacyQueries,
    ReportQueries,
):
    """The :class:`~bot.storage.base.Storage` on SQLite or PostgreSQL, chosen by ``DATABASE_URL``."""


__all__ = ["NOTICE_AUDIENCE", "UNANSWERED_DAILY_CAP", "SqlStorage", "normalize_question"]
