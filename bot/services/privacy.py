"""Residents' privacy: what is kept and for how long, erasure, and admins who left ``ADMIN_IDS``.

Retention (:meth:`PrivacyService.tick`, run by the scheduler's tick with the clock's ``now``):

* unanswered questions (text, language, user id, time) are deleted ``retention`` days after
  they were asked (``UNANSWERED_RETENTION_DAYS``, default 30);
* "I voted" of a day D is forgotten once voting day's reminders are over: at midnight after D
  (campaign time) plus the reminder grace period, and not before the last ``voting_day``
  reminder (whose audience leaves out those who voted) is past its grace period;
* personal event reminders are deleted a week after their moment (sent, skipped or cancelled
  by then).

No Telegram here: the command menus are reached through the :class:`MenuPort`."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.content import ContentStore
from bot.content.models import Campaign
from bot.storage import Storage
from bot.storage.base import Erased

log = logging.getLogger(__name__)
EVENT_REMINDER_RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class Retained:
    """Rows one retention pass deleted (or cleared)."""

    unanswered: int
    votes: int
    event_reminders: int
    desk: int = 0  # operators' desk: closed tickets' questions blanked, old relayed-message keys deleted


def vote_cutoff(now: datetime, campaign: Campaign, grace: timedelta) -> date:
    """ "I voted" of every day before the returned date is forgotten at ``now``: day D qualifies
    once ``now`` ≥ midnight after D (campaign time) + ``grace``, and, for the campaign's voting day,
    once its last ``voting_day`` reminder (whose audience leaves out who voted) is past its grace."""
    day = (now - grace).astimezone(campaign.tz).date()
    moments = [campaign.reminder_moment(r) for r in campaign.reminders if r.scope == "voting_day"]
    if moments and now < max(moments) + grace:
        day = min(day, campaign.voting_day)
    return day


class PrivacyService:
    def __init__(self, storage: Storage, content: ContentStore, *, retention_days: int, grace: timedelta) -> None:
        self.storage = storage
        self.content = content
        self.retention = timedelta(days=retention_days)
        self.grace = grace

    @property
    def retention_days(self) -> int:
        return self.retention.days

    async def tick(self, now: datetime) -> Retained:
        """Delete what is past its time; cheap when nothing is (each is one indexed statement)."""
        unanswered = await self.storage.delete_unanswered_before(now - self.retention)
        votes = await self.storage.forget_votes_before(vote_cutoff(now, self.content.current.campaign, self.grace))
        reminders = await self.storage.delete_event_reminders_before(now - EVENT_REMINDER_RETENTION)
        desk = await self.storage.purge_desk_before(now - self.retention)  # ticket texts: same as unanswered
        done = Retained(unanswered, votes, reminders, desk)
        if unanswered or votes or reminders or desk:
            log.info(
                "retention: %d unanswered question(s), %d \"I voted\" mark(s), %d event reminder(s), "
                "%d desk row(s) deleted or blanked",
                unanswered, votes, reminders, desk,
            )  # fmt: skip
        return done

    async def stop(self, user_id: int) -> int:
        """``/stop``: the subscription, the reminder preferences and pending event reminders go, so
        nothing more is sent; the user row stays (a later message starts afresh). Rows deleted."""
        return await self.storage.stop_everything(user_id)

    async def forget(self, user_id: int) -> Erased:
        erased = await self.storage.forget_user(user_id)
        log.info("a user's data was erased on request: %d row(s)", erased.total)  # no id in the log
        return erased


# --- admins who left ADMIN_IDS ----------------------------------------------------------------------


class MenuPort(Protocol):
    """Resets one chat's command menu to the residents' one."""

    async def reset_admin_menu(self, chat_id: int) -> None: ...


async def retire_removed_admins(
    storage: Storage, menus: MenuPort, admin_ids: Collection[int], now: datetime
) -> tuple[list[int], list[int]]:
    """At start-up: chats that had the admin menu but are no longer in ``admin_ids`` get the
    residents' menu back, and broadcasts such an admin scheduled are cancelled (one audit row
    each, under the former admin's id). Current admins are marked as holding the menu. Returns
    (chats reset, broadcasts cancelled)."""
    reset: list[int] = []
    for chat_id in await storage.admin_menu_holders():
        if chat_id in admin_ids:
            continue
        await menus.reset_admin_menu(chat_id)
        await storage.drop_admin_menu(chat_id)
        await storage.audit(chat_id, "admin.removed", "admin command menu reset", now)
        reset.append(chat_id)
    for admin in admin_ids:
        await storage.mark_admin_menu(admin, now)
    cancelled: list[int] = []
    for broadcast_id, creator in await storage.scheduled_broadcast_creators():
        if creator in admin_ids:
            continue
        if await storage.cancel_broadcast(broadcast_id, now):
            await storage.audit(
                creator, "broadcast.cancel", f"#{broadcast_id}: scheduled by an admin no longer in ADMIN_IDS", now
            )
            cancelled.append(broadcast_id)
    if reset or cancelled:
        log.warning(
            "removed admins: %d command menu(s) reset, scheduled broadcast(s) cancelled: %s", len(reset), cancelled
        )
    return reset, cancelled
