"""The composition root: builds settings-driven services, the bot and the dispatcher in one place.

Nothing is created at import time; everything a handler needs reaches it as dispatcher workflow
data (``storage``, ``content``, ``clock``, ``settings``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import LinkPreviewOptions

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.content import Content, ContentStore, load_content
from bot.handlers.broadcast_progress import BroadcastReporter
from bot.handlers.desk import TelegramDeskPort
from bot.handlers.events import TelegramEventNotifier
from bot.handlers.faq.screens import TelegramAnswerTexts
from bot.handlers.reminders import ReminderRenderer
from bot.handlers.routers import build_routers
from bot.i18n import I18n, create_i18n
from bot.services.announcements import AnnouncementService
from bot.services.answer_loop import AnswerLoop
from bot.services.audit import AuditLog
from bot.services.delivery import DeliveryEngine
from bot.services.desk import DeskService
from bot.services.events import EventService
from bot.services.faq import FaqService
from bot.services.guest import GuestService
from bot.services.leader import Leadership, lease_for
from bot.services.pictures import PictureService
from bot.services.privacy import PrivacyService, retire_removed_admins
from bot.services.questions import QuestionLog
from bot.services.reminders import ReminderService
from bot.services.residents import ResidentService
from bot.services.scheduler import ReminderScheduler
from bot.services.subscriptions import SubscriptionService
from bot.storage import Storage, open_storage
from bot.telegram.commands import CommandMenus, register_commands
from bot.telegram.gate_middleware import SendGateMiddleware
from bot.telegram.middlewares import FloodGuardMiddleware, InFlightMiddleware, UserLanguageMiddleware, UserMiddleware
from bot.telegram.sender import TelegramSender

log = logging.getLogger(__name__)
DRAIN_SECONDS = 25.0
FSM_TTL = timedelta(days=1)  # conversation state and data in Redis expire after a day unused


class Background(Protocol):
    """A long-running service started after the bot connects and stopped before it closes."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Services:
    """What the handlers are given, by these names: aiogram injects a workflow value into a handler's
    parameter of the same name (``async def on_stats(message, questions: QuestionLog)``). Built once in
    :func:`create_app`; the runners read it by attribute (``app.services.delivery``)."""

    residents: ResidentService
    questions: QuestionLog
    audit: AuditLog
    faq: FaqService
    guests: GuestService
    pictures: PictureService
    desk: DeskService
    delivery: DeliveryEngine
    announcements: AnnouncementService
    events: EventService
    answers: AnswerLoop
    privacy: PrivacyService
    reminders: ReminderService
    scheduler: ReminderScheduler
    subscriptions: SubscriptionService
    leadership: Leadership

    def workflow_data(self) -> dict[str, object]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class App:
    settings: Settings
    content: ContentStore
    storage: Storage
    clock: Clock
    i18n: I18n
    bot: Bot
    dispatcher: Dispatcher
    in_flight: InFlightMiddleware
    background: list[Background] = field(default_factory=list)
    services: Services | None = None  # set by create_app

    async def close(self) -> None:
        await self.storage.close()
        await self.dispatcher.fsm.storage.close()
        await self.dispatcher.fsm.events_isolation.close()
        await self.bot.session.close()


def create_bot(settings: Settings, token: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_base))
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)),
    )


def fsm_options(settings: Settings) -> dict[str, Any]:
    """With ``REDIS_URL``: aiogram's RedisStorage (state and data with TTLs, shared by replicas) and
    its event isolation (a Redis lock per chat and user: one user's updates are handled one at a
    time, in order, whichever replica receives them). Without: aiogram's in-memory defaults."""
    redis_url = settings.redis()
    if redis_url is None:
        return {}
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    fsm = RedisStorage.from_url(
        redis_url, key_builder=DefaultKeyBuilder(with_bot_id=True), state_ttl=FSM_TTL, data_ttl=FSM_TTL
    )
    return {"storage": fsm, "events_isolation": fsm.create_isolation()}


def create_dispatcher(
    settings: Settings, content: ContentStore, storage: Storage, clock: Clock, i18n: I18n, residents: ResidentService
) -> tuple[Dispatcher, InFlightMiddleware]:
    dp = Dispatcher(settings=settings, content=content, clock=clock, **fsm_options(settings))
    dp["storage"] = storage  # (aiogram's own ``storage=`` argument is the FSM's)
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)
    dp.update.outer_middleware(UserMiddleware(residents))
    UserLanguageMiddleware(i18n, settings.default_language).setup(dp)
    if settings.chat_pacing:
        flood_guard = FloodGuardMiddleware()  # after the language: its notice is in the user's language
        flood_guard.setup(dp)
        dp.shutdown.register(flood_guard.close)
    dp.include_routers(*build_routers())

    async def on_startup(bot: Bot) -> None:
        desk: DeskService | None = dp.workflow_data.get("desk")
        desk_on = desk is not None and await desk.start()  # before the menu: /operator only with a desk
        await register_commands(bot, i18n, settings.default_language, settings.admin_ids, desk=desk_on)
        await log_guest_mode(bot)
        # before the delivery engine starts: a removed admin's scheduled broadcasts never go out
        menus = CommandMenus(bot, i18n, settings.default_language, storage)
        await retire_removed_admins(storage, menus, settings.admin_ids, clock.now())

    async def on_shutdown() -> None:
        desk: DeskService | None = dp.workflow_data.get("desk")
        if desk is not None:
            await desk.drain()  # the items of an operator's album still waiting to be relayed

    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
    return dp, in_flight


async def log_guest_mode(bot: Bot) -> None:
    """Whether residents can call the bot into chats it is not in (guest mode, set in @BotFather)."""
    try:
        me = await bot.me()
    except TelegramAPIError as error:
        log.warning("could not read the bot's profile: %s", error)
        return
    if me.supports_guest_queries:
        log.info("guest mode is on: residents can call @%s into any chat", me.username)
    else:
        log.info("guest mode is off for @%s (switch it on in @BotFather to be called into any chat)", me.username)


async def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    token: str | None = None,
    loaded_content: Content | None = None,
    storage: Storage | None = None,
) -> App:
    """Load content, open the database (migrating it) and wire the bot. Raises ContentError,
    TranslationsError or ConfigError on bad input. ``voterbot run`` passes the content and the
    connected storage it has already opened (before importing aiogram, to fail fast)."""
    content = ContentStore(loaded_content or load_content(settings.content_dir))
    i18n = create_i18n(settings.default_language)
    if storage is None:
        storage = open_storage(settings.database)
        await storage.connect()
    clock = clock or SystemClock()
    bot = create_bot(settings, token or settings.require_token())
    residents = ResidentService(storage, clock)
    dp, in_flight = create_dispatcher(settings, content, storage, clock, i18n, residents)
    app = App(settings, content, storage, clock, i18n, bot, dp, in_flight)
    faq = FaqService(content)
    pictures = PictureService()
    content.subscribe(pictures.clear)  # drawn again from the new content

    # the operators' desk (OPERATORS_CHAT_ID): checked at start-up, off when the chat is not usable
    campaign_tz = lambda: content.current.campaign.tz  # noqa: E731
    desk_port = (
        TelegramDeskPort(bot, settings.operators_chat_id, i18n, settings.default_language, campaign_tz)
        if settings.operators_chat_id is not None
        else None
    )
    desk = DeskService(
        storage,
        clock,
        chat_id=settings.operators_chat_id,
        port=desk_port,
        operators=lambda: content.current.campaign.operators,
        tz=campaign_tz,
        campaign=lambda: content.current.campaign,
    )

    # --- background services: created here, exposed to handlers as workflow data, started with
    # polling (dispatcher startup) and stopped before the session closes (dispatcher shutdown).
    delivery = DeliveryEngine(
        TelegramSender(bot),
        storage,
        clock,
        rate=settings.broadcast_rate,
        paid=settings.broadcast_paid,
        chat_pacing=settings.chat_pacing,
        listener=BroadcastReporter(bot, storage, i18n, settings.default_language, content),
    )
    bot.session.middleware(SendGateMiddleware(delivery.gate))  # replies share the rate and honour 429 pauses
    app.background.append(delivery)
    events = EventService(
        content,
        storage,
        clock,
        TelegramEventNotifier(bot, i18n, lambda: content.current.campaign),
        default_language=settings.default_language,
        grace=timedelta(seconds=settings.reminder_grace_seconds),
        notices=delivery,  # cancellation and change notices: persistent, resumed after a crash
    )

    reminders = ReminderService(
        content,
        storage,
        delivery,
        clock,
        ReminderRenderer(i18n, settings.default_language),
        grace=timedelta(seconds=settings.reminder_grace_seconds),
        rate=settings.broadcast_rate,
        paid=settings.broadcast_paid,
    )
    reminders.on_tick.append(events.send_due)  # personal event reminders ride the same clock
    answers = AnswerLoop(
        storage,
        faq,
        content,
        delivery,
        TelegramAnswerTexts(faq, i18n),
        clock,
        default_language=settings.default_language,
    )
    reminders.on_tick.append(answers.tick)  # after a deploy or a reload: answers to waiting questions
    privacy = PrivacyService(
        storage,
        content,
        retention_days=settings.unanswered_retention_days,
        grace=timedelta(seconds=settings.reminder_grace_seconds),
    )
    reminders.on_tick.append(privacy.tick)  # retention: old unanswered texts, "I voted", old event reminders
    scheduler = ReminderScheduler(reminders, clock)
    app.background.append(scheduler)  # after the engine: due reminders need it running

    # Only the replica holding the leader lease runs them (with SQLite: always this process).
    leadership = Leadership(lease_for(settings.database), app.background)
    app.services = Services(
        residents=residents,
        questions=QuestionLog(storage, clock),
        audit=AuditLog(storage, clock),
        faq=faq,
        guests=GuestService(),  # guest mode's budgets and counters (in memory: nothing of the texts)
        pictures=pictures,
        desk=desk,
        delivery=delivery,
        announcements=AnnouncementService(storage, delivery, clock, content),  # the admin's broadcasts
        events=events,
        answers=answers,
        privacy=privacy,
        reminders=reminders,
        scheduler=scheduler,
        subscriptions=SubscriptionService(storage, content, clock, reminders, scheduler),
        leadership=leadership,
    )
    dp.workflow_data.update(app.services.workflow_data())

    async def start_background() -> None:
        await leadership.start()

    async def stop_background() -> None:
        # updates in flight first (they may use the services), then the services
        await app.in_flight.drain(DRAIN_SECONDS)
        await leadership.stop()

    dp.startup.register(start_background)
    dp.shutdown.register(stop_background)
    log.info("content %s, database %s", settings.content_dir, settings.database.describe())
    return app
