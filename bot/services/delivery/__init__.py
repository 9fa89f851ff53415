"""The delivery engine: persistent, rate-limited broadcasts to subscribers.

Guarantees
----------
* Persistent: a broadcast row and one ``pending`` delivery row per recipient are committed before
  the first message goes out; results are committed in small batches. After a restart (clean or
  ``kill -9``) the engine resumes every ``running`` broadcast from its ``pending`` rows: nobody is
  skipped, and only messages sent but not yet recorded (at most :attr:`DeliveryEngine.in_flight_window`)
  can arrive twice.
* Cancellable from anywhere: a running broadcast re-reads its status every ``status_seconds`` and
  stops when another replica (which does not run the engine) cancelled it in the shared database.
* Rate: a shared :class:`SendGate` keeps every message the bot sends (broadcasts and replies) within
  ``BROADCAST_RATE`` per sliding second, spaces the broadcast evenly, and keeps each chat within its
  own pace; a 429 pauses one chat or all sending; replies go first (:mod:`.gate`).
  Paid broadcasts (up to 1,000/s) are cheap per message: the Telegram sender serializes the request
  once and only the chat id changes (:mod:`bot.telegram.sender`).
* Deadlines and priorities: what is still pending when a broadcast's deadline passes is not sent
  (delivery rows ``expired``, counted). Event notices go first, then the soonest deadline; a running
  broadcast yields to one that ranks first and resumes after it (:mod:`.run`). :mod:`.planner`
  says when a broadcast must start to finish by its deadline, and when it will finish.
* Errors: 403 (blocked, deactivated) and 400 "chat not found" mark the user inactive and are not
  retried; network errors and 5xx are retried with backoff, then counted as failed; other 400s
  count as failed at once (:mod:`.run`).

No Telegram types and no texts in here: the engine sends through a :class:`Sender` port
(:mod:`.ports`; the Telegram one is :class:`bot.telegram.sender.TelegramSender`) and progress goes
to a :class:`ProgressListener` (the admin's progress message, handler side).

Modules: :mod:`.gate` (pacing of every send), :mod:`.ports` (the sender port and its outcomes),
:mod:`.engine` (the background service and its API), :mod:`.run` (one pass over a broadcast),
:mod:`.planner` (start and finish against a deadline)."""

from bot.services.delivery.engine import (
    STATUS_SECONDS,
    BroadcastProgress,
    DeliveryEngine,
    ProgressListener,
    concurrency_for,
    flush_size_for,
    in_flight_window,
)
from bot.services.delivery.gate import SendGate
from bot.services.delivery.ports import (
    SENT,
    Failed,
    Gone,
    MessageSender,
    RetryAfter,
    Sender,
    SendOutcome,
    Sent,
    Unavailable,
)

__all__ = [
    "SENT",
    "STATUS_SECONDS",
    "BroadcastProgress",
    "DeliveryEngine",
    "Failed",
    "Gone",
    "MessageSender",
    "ProgressListener",
    "RetryAfter",
    "SendGate",
    "SendOutcome",
    "Sender",
    "Sent",
    "Unavailable",
    "concurrency_for",
    "flush_size_for",
    "in_flight_window",
]
