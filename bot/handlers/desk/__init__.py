"""The operators' desk in Telegram (issue 15): residents talk to people, operators answer in topics.

Two directions, kept apart as in MasterGroosha's telegram-feedback-bot-topics:

- :func:`residents_router` (``residents.py``) — private chats: ``/operator`` and "💬 Ask a person",
  ``/rumour`` and "🔎 Check a rumour", ``/done`` and "↩️ Back to the bot", the messages of an open
  conversation (FSM state ``DeskStates.talking``: the FAQ search never sees them), the 👍/👎 rating.
  Their texts and buttons are in ``screens.py``; passing a message on to the ticket's topic in
  ``relay.py``.
- :func:`operators_router` (``operators.py``) — the operators' forum supergroup: whatever an operator
  writes in a ticket's topic is copied to the resident (``//`` stays internal), ``/close``,
  ``/block``, ``/faq``.

Rules live in :mod:`bot.services.desk`; :class:`TelegramDeskPort` (``port.py``) is its way to
Telegram. Both routers exist only while the desk is on (``DeskOn``, ``states.py``): without
``OPERATORS_CHAT_ID``, or with a chat that failed the start-up check, nothing here answers and
nothing mentions the desk. ``stats.py``: the desk's lines of ``/stats``."""

from bot.handlers.desk.operators import operators_router
from bot.handlers.desk.port import TelegramDeskPort
from bot.handlers.desk.residents import residents_router
from bot.handlers.desk.states import DeskOn, DeskStates, InOperatorsChat
from bot.handlers.desk.stats import stats_lines

__all__ = [
    "DeskOn",
    "DeskStates",
    "InOperatorsChat",
    "TelegramDeskPort",
    "operators_router",
    "residents_router",
    "stats_lines",
]
