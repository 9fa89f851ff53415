"""``voterbot chat``: an offline conversation in the terminal with the real dispatcher, handlers,
middlewares and storage. The bot talks HTTP to an in-process fake Bot API on 127.0.0.1; nothing
reaches Telegram and no token is needed.

Type a message and press Enter; type a number to press that inline button of the last message
with buttons; ``:sticker``, ``:photo``, ``:voice``, ``:location``, ``:contact`` send other kinds of message;
``:quit`` (or Ctrl-D) leaves.

The operators' desk is simulated too (a forum supergroup inside the fake): "💬 Ask a person" or
``/operator`` opens a ticket whose topic is shown as ``[operators · #1 …]``; ``:op text`` writes as an
operator in the newest ticket's topic (``:op /close``, ``:op /faq``, ``:op // a note``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, ShiftedClock, SystemClock
from bot.config import ConfigError, DatabaseConfig, Lang, Settings
from bot.content import ContentError, load_content
from bot.devtools.fake_api import Exchange
from bot.i18n import TranslationsError

CHAT_USER_ID = 100001
CHAT_OPERATOR_ID = 100002
CHAT_OPERATORS_CHAT = -1009999999999  # the simulated operators' forum (when OPERATORS_CHAT_ID is not set)


def parse_moment(value: str, settings: Settings) -> datetime:
    """``2026-03-14T10:00`` in the campaign's time zone (or with an explicit offset)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError("--at", f"expected YYYY-MM-DDTHH:MM, got {value!r}") from None
    if moment.tzinfo is None:
        campaign = load_content(settings.content_dir).campaign
        moment = moment.replace(tzinfo=campaign.tz)
    return moment


def run_chat(
    settings: Settings,
    *,
    lang: Lang | None,
    at: str | None,
    first_contact: bool = False,
    save_files: Path | None = None,
) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # previewing a past moment: the scheduler's "reminder skipped" notes are not for the editor
    logging.getLogger("bot.services.reminders").setLevel(logging.ERROR)
    try:
        clock: Clock = ShiftedClock(parse_moment(at, settings)) if at else SystemClock()
        return asyncio.run(
            chat(
                settings,
                clock=clock,
                lang=lang or settings.default_language,
                first_contact=first_contact,
                save_files=save_files,
            )
        )
    except (ConfigError, ContentError, TranslationsError) as error:
        print(f"voterbot: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or the output closed (`| head`)
        return 0


async def chat(
    settings: Settings,
    *,
    clock: Clock,
    lang: Lang,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    first_contact: bool = False,
    save_files: Path | None = None,
) -> int:
    from bot.app import create_app
    from bot.devtools.fake_api import FakeMessage, FakeTelegram, render
    from bot.runners.polling import run_polling

    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    fake = FakeTelegram()
    await fake.start()
    with tempfile.TemporaryDirectory(prefix="voterbot-chat-") as tmp:
        path = Path(tmp) / "chat.sqlite3"
        desk_chat = settings.operators_chat_id or CHAT_OPERATORS_CHAT
        forum = fake.forum(desk_chat, "Operators")
        chat_settings = settings.replace(
            bot_api_base=fake.base_url,
            database=DatabaseConfig("sqlite", f"sqlite:///{path}", path),
            operators_chat_id=desk_chat,
        )
        app = await create_app(chat_settings, clock=clock, token=fake.token)
        polling = asyncio.create_task(run_polling(app, handle_signals=False, handle_as_tasks=False))
        user = fake.user(CHAT_USER_ID, first_name="Resident", language_code=lang)
        keyboard: FakeMessage | None = None
        shown: set[tuple[int, int]] = set()

        def save(message: FakeMessage) -> None:
            """With --save-files: the picture or file the bot sent, written into that folder."""
            upload = message.photo or message.document
            if save_files is None or upload is None:
                return
            save_files.mkdir(parents=True, exist_ok=True)
            name = upload.filename or ("photo.png" if message.photo is not None else "file.bin")
            path = save_files / f"{message.message_id:04d}-{Path(name).name}"
            path.write_bytes(upload.content)
            print(f"(saved: {path})", file=out)

        def show(messages: list[FakeMessage]) -> None:
            nonlocal keyboard
            for message in messages:
                shown.add((message.chat_id, message.message_id))
                print("\n" + render(message), file=out)
                save(message)
                if message.buttons:
                    keyboard = message

        def show_desk() -> None:
            """What happened elsewhere: in the operators' topics, and replies that reached the resident."""
            for message in forum.messages():
                key = (message.chat_id, message.message_id)
                if key in shown or "forum_topic_created" in message.extra:
                    continue
                shown.add(key)
                topic = forum.topics.get(int(message.extra.get("message_thread_id") or 0))
                where = f"[operators · {topic.name}]" if topic else "[operators · General]"
                print(f"\n{where}\n" + render(message), file=out)
            fresh = [m for m in user.bot_messages() if (m.chat_id, m.message_id) not in shown]
            if fresh:
                show(fresh)

        async def as_operator(text: str) -> Exchange | None:
            if not forum.topics:
                print("(no ticket yet: ask a person first, with /operator)", file=out)
                return None
            newest = max(forum.topics)
            operator = fake.user(CHAT_OPERATOR_ID, first_name="Operator", language_code=lang)
            return await operator.in_topic(forum, newest).send(text)

        print(
            "Ready. Type a message; a number presses a button;"
            " :sticker :photo :voice :location :contact send other things; :op text writes as an operator"
            " in the newest ticket (:op /close); :quit leaves.",
            file=out,
        )
        try:
            # On first contact the bot asks for the language; the language of --lang counts as chosen
            # (one update fewer: a burst of piped input stays within the per-chat pacing).
            if first_contact:  # --first-contact: what a new resident sees first (the language choice)
                print("(first contact: no language chosen yet)", file=out)
            else:
                await app.storage.touch_user(CHAT_USER_ID, lang, clock.now())
                await app.storage.set_language(CHAT_USER_ID, lang)
                print(f"(language {lang} chosen for you; /language changes it; --first-contact does not)", file=out)
            exchange = await user.send("/start")
            show(exchange.replies + exchange.edits)
            while True:
                print("\nyou> ", end="", file=out, flush=True)
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                text = line.rstrip("\n")
                if not text.strip():
                    continue
                if text.strip() in (":quit", ":q"):
                    break
                if text.strip().isdigit():
                    if keyboard is None:
                        print("(no buttons to press)", file=out)
                        continue
                    index = int(text.strip()) - 1
                    count = sum(len(row) for row in keyboard.buttons)
                    if not 0 <= index < count:
                        print(f"(choose a button from 1 to {count})", file=out)
                        continue
                    exchange = await user.press(keyboard, index)
                    if exchange.callback_answer and exchange.callback_answer.get("text"):
                        print(f"(notice: {exchange.callback_answer['text']})", file=out)
                else:
                    kinds: dict[str, Callable[[], Awaitable[Exchange]]] = {
                        ":sticker": user.send_sticker,
                        ":photo": user.send_photo,
                        ":voice": user.send_voice,
                    }
                    if text.strip() in kinds:
                        exchange = await kinds[text.strip()]()
                    elif text.strip().startswith(":op "):
                        operator_exchange = await as_operator(text.strip()[4:].strip())
                        if operator_exchange is not None:
                            show_desk()
                        continue
                    elif text.strip() == ":location":
                        exchange = await user.send_location(43.238, 76.889)
                    elif text.strip() == ":contact":
                        exchange = await user.send_contact("+70000000000", "Resident")
                    else:
                        exchange = await user.send(text)
                show(exchange.replies + exchange.edits)
                show_desk()
        finally:
            await app.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            await fake.stop()
    return 0
