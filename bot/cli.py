"""``voterbot`` / ``python -m bot``: run, check, chat, preview, ask, drafts, db."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import LANGUAGES, ConfigError, Lang, Settings, load_settings
from bot.content import ContentError, load_content
from bot.locales import TranslationsError, locales_dir

EXIT_PROBLEMS = 1
EXIT_CONFIG = 2


def _fail(message: str) -> int:
    print(f"voterbot: {message}", file=sys.stderr)
    return EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voterbot", description="A Telegram bot that informs voters.")
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="run the bot (long polling, or a webhook server with --webhook)")
    run_cmd.add_argument(
        "--webhook", action="store_true", help="serve WEBHOOK_URL on WEBHOOK_LISTEN (also /healthz /readyz /metrics)"
    )
    check_cmd = sub.add_parser("check", help="validate the content files and the translations")
    check_cmd.add_argument(
        "--rules",
        action="store_true",
        help="also render every milestone's preview and check no source shows before its date (slower)",
    )
    new_campaign = sub.add_parser(
        "new-campaign", help="write a minimal example campaign into DIR (docs/new-campaign.md), ready for check"
    )
    new_campaign.add_argument("directory", metavar="DIR", help="an empty or new folder")
    new_campaign.add_argument("--timezone", default="UTC", help="the campaign's IANA time zone (default: UTC)")
    sub.add_parser("health", help="the container health check: the database answers with the current schema")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal, offline (no Telegram, no token)")
    chat.add_argument("--lang", choices=LANGUAGES, help="the language of the simulated Telegram user")
    chat.add_argument("--at", metavar="YYYY-MM-DDTHH:MM", help="the moment, in the campaign's time zone")
    chat.add_argument(
        "--first-contact",
        action="store_true",
        help="do not preset the language: see what a new resident sees first (the language choice)",
    )
    chat.add_argument("--save-files", metavar="DIR", help="save the pictures and files the bot sends into DIR")
    db = sub.add_parser("db", help="the database's schema: Alembic migrations of DATABASE_URL")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply the pending migrations (the bot also does at start-up)")
    db_commands.add_parser("current", help="show the database's schema revision and the newest one")
    preview = sub.add_parser(
        "preview", help="print what the bot says at every milestone (/start, /countdown, /reminders, answers)"
    )
    preview.add_argument("--lang", choices=LANGUAGES, help="one language (default: all three)")
    ask = sub.add_parser("ask", help="show how the FAQ search ranks a question and what the bot would do")
    ask.add_argument("question")
    ask.add_argument("--lang", choices=LANGUAGES, help="the language to show the questions in")
    ask.add_argument("--json", action="store_true", help='print {"decision": ..., "matches": [...]}')
    evaluation = sub.add_parser("eval", help="measure how well the bot understands the evaluation set (tests/eval)")
    evaluation.add_argument("--set", default="tests/eval", metavar="DIR", help="the set's folder (dev/, heldout/)")
    evaluation.add_argument("--split", metavar="PART", help="one part only: dev, heldout, heldout2 (default: all)")
    evaluation.add_argument("--no-misses", action="store_true", help="figures only, not the questions it got wrong")
    drafts = sub.add_parser("drafts", help="print the operators' FAQ drafts (/faq in a ticket) for the editors")
    drafts.add_argument("--limit", type=int, default=100, help="how many, newest first (default 100)")
    drafts.add_argument("--yaml", action="store_true", help="as FAQ entries to paste into data/faq.yaml")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        return _fail(str(error))
    if args.command == "check":
        return check(settings, rules=args.rules)
    if args.command == "health":
        return health(settings)
    if args.command == "new-campaign":
        return new_campaign(Path(args.directory), args.timezone)
    if args.command == "run":
        return run(settings, webhook=args.webhook)
    if args.command == "db":
        return database(settings, args.db_command)
    if args.command == "ask":
        return ask(settings, args.question, lang=args.lang or settings.default_language, as_json=args.json)
    if args.command == "preview":
        return preview(settings, lang=args.lang)
    if args.command == "eval":
        return run_eval(settings, args.set, args.split, misses=not args.no_misses)
    if args.command == "drafts":
        return print_drafts(settings, args.limit, as_yaml=args.yaml)
    if args.command == "chat":
        lang = args.lang or settings.default_language
        try:
            print(chat_banner(lang, args.at), flush=True)
        except ConfigError as error:
            return _fail(str(error))
        from bot.devtools.chat import run_chat

        return run_chat(
            settings,
            lang=lang,
            at=args.at,
            first_contact=args.first_contact,
            save_files=Path(args.save_files) if args.save_files else None,
        )
    return EXIT_CONFIG


CHAT_LANGUAGES = {"kk": "Kazakh", "ru": "Russian", "en": "English"}


def chat_banner(lang: Lang, at: str | None) -> str:
    """What ``chat`` says before the slow start: who the resident is and when."""
    from datetime import datetime

    if at is None:
        moment = "now"
    else:
        try:
            parsed = datetime.fromisoformat(at)
        except ValueError:
            raise ConfigError("--at", f"expected YYYY-MM-DDTHH:MM, got {at!r}") from None
        zone = "" if parsed.tzinfo is None else parsed.strftime(" %z")
        moment = parsed.strftime("%Y-%m-%d %H:%M") + (zone or " in the campaign's time zone")
    return (
        f"voterbot chat: an offline conversation with the bot (no Telegram, no token).\n"
        f"You are a resident writing in {CHAT_LANGUAGES[lang]} ({lang}); the bot stands at {moment}. "
        'Other choices: --lang kk|ru|en --at YYYY-MM-DDTHH:MM (make chat ARGS="..."). Starting the bot…'
    )


def check(settings: Settings, *, rules: bool = False) -> int:
    from bot.translations_check import check_translations

    problems: list[str] = []
    try:
        content = load_content(settings.content_dir)
    except ContentError as error:
        problems.extend(error.problems)
        content = None
    problems.extend(check_translations(locales_dir()))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        return EXIT_PROBLEMS
    assert content is not None
    if rules:  # renders screens: imports aiogram, which the plain check does not
        from bot.devtools.content_rules import content_problems

        broken = content_problems(content)
        for problem in broken:
            print(problem)
        if broken:
            print(f"{len(broken)} problem(s) found.", file=sys.stderr)
            return EXIT_PROBLEMS
    from bot.content.warnings import shared_phrasings

    for warning in shared_phrasings(content):
        print(warning)
    print(f"ok: campaign {content.campaign.id}, {len(content.faq.entries)} questions, translations kk ru en")
    return 0


def new_campaign(directory: Path, timezone: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bot.devtools.new_campaign import write_campaign

    try:
        today = datetime.now(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError):
        return _fail(f"--timezone: unknown time zone {timezone!r} (e.g. Asia/Almaty, Europe/Moscow, UTC)")
    try:
        written = write_campaign(directory, today=today, timezone=timezone)
    except (FileExistsError, OSError) as error:
        return _fail(str(error))
    for path in written:
        print(f"wrote {path}")
    print(
        f"Every value is an EXAMPLE: replace each with a sourced fact (docs/new-campaign.md), then\n"
        f"  CONTENT_DIR={directory} voterbot check --rules\n  CONTENT_DIR={directory} voterbot chat"
    )
    return 0


def health(settings: Settings) -> int:
    from bot.storage.errors import StorageError
    from bot.storage.health import check_schema

    try:
        print(check_schema(settings.database))
    except StorageError as error:
        print(f"voterbot: unhealthy: {error}", file=sys.stderr)
        return EXIT_PROBLEMS
    return 0


def preview(settings: Settings, *, lang: Lang | None) -> int:
    from bot.devtools.preview import all_languages
    from bot.devtools.preview import preview as print_preview

    try:
        content = load_content(settings.content_dir)
        print_preview(content, all_languages(lang), sys.stdout)
    except (ContentError, TranslationsError) as error:
        return _fail(str(error))
    except BrokenPipeError:  # `voterbot preview | head`
        return 0
    return 0


def ask(settings: Settings, question: str, *, lang: Lang, as_json: bool) -> int:
    import json

    from bot.content import ContentStore
    from bot.services.faq import FaqService

    try:
        faq = FaqService(ContentStore(load_content(settings.content_dir)))
    except ContentError as error:
        return _fail(str(error))
    understood = faq.understand(question)
    result = understood.result
    if as_json:
        print(json.dumps({**result.to_json(), "decision": understood.decision}, ensure_ascii=False))
        return 0
    print(f"decision: {understood.decision}")
    if understood.smalltalk is not None:
        print(f"  small talk: {understood.smalltalk}")
    if understood.rumour is not None:
        print(f"  checked rumour: {understood.rumour.id} ({understood.rumour.verdict})")
    for match in result.matches:
        entry = faq.entry(match.id)
        title = entry.text(lang).q if entry else ""
        print(f"  {match.score:.3f}  {match.id:<28} {title}")
    return 0


def run_eval(settings: Settings, folder: str, split: str | None, *, misses: bool) -> int:
    from pathlib import Path

    from bot.content import ContentStore
    from bot.devtools.evaluate import EvalSetError, evaluate, load_items, report
    from bot.services.faq import FaqService

    try:
        faq = FaqService(ContentStore(load_content(settings.content_dir)))
        items = [item for item in load_items(Path(folder)) if split in (None, item.split)]
        if not items:
            return _fail(f"no evaluation questions under {folder}/{split or '*'}")
        print(report(evaluate(faq, items), misses=misses))
    except (ContentError, EvalSetError, OSError) as error:
        return _fail(str(error))
    return 0


def database(settings: Settings, action: str) -> int:
    """``voterbot db upgrade`` / ``voterbot db current``: the schema of DATABASE_URL."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.storage import migrate

    async def _run() -> str:
        db = migrate.open_database(settings.database)
        try:
            if action == "current":
                return (await migrate.current(db)).describe()
            before, after = await migrate.upgrade(db)
            if before.revision == after.revision:
                return f"{after.describe()}: nothing to upgrade"
            return f"{before.describe()} -> {after.revision}"
        finally:
            await db.dispose()

    try:
        print(asyncio.run(_run()))
    except ConfigError as error:
        return _fail(str(error))
    except (OSError, SQLAlchemyError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        return _fail(f"DATABASE_URL: {settings.database.describe()}: {first_line}")
    return 0


def print_drafts(settings: Settings, limit: int, *, as_yaml: bool = False) -> int:
    """The answers operators saved with ``/faq``: never published by the bot, an editor adds them
    to ``data/faq.yaml`` (in all three languages, with sources) after checking them."""
    from datetime import date

    from bot.services.desk import drafts_as_yaml, format_draft
    from bot.storage import open_storage
    from bot.storage.base_desk import FaqDraft

    async def _drafts() -> list[FaqDraft]:
        storage = open_storage(settings.database)
        await storage.connect()
        try:
            return await storage.faq_drafts(max(1, limit))
        finally:
            await storage.close()

    drafts = asyncio.run(_drafts())
    if as_yaml:
        print(drafts_as_yaml(drafts, date.today()), end="")
        return 0
    if not drafts:
        print("no drafts")
    for draft in drafts:
        print(format_draft(draft))
    return 0


def run(settings: Settings, *, webhook: bool = False) -> int:
    """Run the bot. Whatever stops it is told in one line, with every secret redacted: a
    configuration, content, database or Bot API problem exits with code 2 and no traceback; an
    unexpected error logs its (redacted) traceback and exits with code 1."""
    try:
        token = settings.require_token()
        if webhook:
            settings.require_webhook()
    except ConfigError as error:
        return _fail(str(error))  # before importing aiogram: a missing setting is told at once

    from bot.logs import secrets_of, setup_logging
    from bot.storage import open_storage
    from bot.storage.errors import StorageError

    hook_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    redact = setup_logging(
        settings.log_level,
        secrets_of(token, hook_secret, [settings.database.url, settings.redis(), settings.bot_api_base]),
    )

    async def _main() -> str | None:
        """Serves until stopped; returns the one line to print when the Bot API cannot be used."""
        # content and the database first, before importing aiogram (seconds of CPU): a problem
        # with either is told at once
        content = load_content(settings.content_dir)
        storage = open_storage(settings.database)
        await storage.connect()
        try:
            from bot.app import create_app

            app = await create_app(settings, token=token, loaded_content=content, storage=storage)
        except BaseException:
            await storage.close()
            raise

        from bot.runners.startup import StartupError, wait_for_bot_api

        try:
            await wait_for_bot_api(app.bot, settings.bot_api_base, budget=settings.startup_retry_seconds)
        except StartupError as error:
            await app.close()
            return str(error)
        except BaseException:
            await app.close()
            raise
        if webhook:
            from bot.runners.webhook import run_webhook

            await run_webhook(app)
        else:
            from bot.runners.polling import run_polling

            await run_polling(app)
        return None

    try:
        problem = asyncio.run(_main())
    except (ContentError, TranslationsError, ConfigError, StorageError) as error:
        return _fail(redact(str(error)))
    except KeyboardInterrupt:
        logging.getLogger(__name__).info("interrupted")
        return 0
    except Exception as error:
        logging.getLogger(__name__).error("stopped by an unexpected error", exc_info=True)  # redacted
        detail = " ".join(str(error).split())[:300]
        print(redact(f"voterbot: stopped by an unexpected error: {type(error).__name__}: {detail}"), file=sys.stderr)
        return EXIT_PROBLEMS
    if problem is not None:
        return _fail(redact(problem))
    return 0
