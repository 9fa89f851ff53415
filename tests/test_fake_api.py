"""Tests of the fake Telegram Bot API server, driven by a real aiogram Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.filters import Command, CommandObject
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
)

from bot.devtools.fake_api import FakeMessage, FakeTelegram, parse_html, render

TOKEN = "123456:TEST-TOKEN"


def build_router() -> Router:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message, command: CommandObject) -> None:
        kb = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text="Yes", callback_data="vote:yes"),
                    InlineKeyboardButton(text="No", callback_data="vote:no"),
                ],
                [InlineKeyboardButton(text="Site", url="https://example.org")],
            ]
        )
        await message.answer(f"<b>Welcome</b> {html.escape(command.args or '')}", reply_markup=kb)

    @router.message(Command("doc"))
    async def doc(message: Message) -> None:
        await message.answer_document(
            BufferedInputFile(b"a,b\n1,2\n", filename="report.csv"), caption="Your <i>report</i>"
        )

    @router.message(Command("silent"))
    async def silent(message: Message) -> None:
        """Does nothing: a callback-free handler."""

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"<i>echo:</i> {html.escape(message.text or '')}")

    @router.message(F.document)
    async def got_document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        file = await bot.get_file(message.document.file_id)
        assert file.file_path is not None
        data = await bot.download_file(file.file_path)
        assert data is not None
        await message.answer(f"got {message.document.file_name}: {data.read().decode()}")

    @router.message(F.location)
    async def got_location(message: Message) -> None:
        assert message.location is not None
        await message.answer_venue(
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            title="Polling station",
            address="Main st. 1",
        )

    @router.callback_query(F.data.startswith("vote:"))
    async def vote(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        choice = (query.data or "").split(":", 1)[1]
        await query.message.edit_text(f"You chose <b>{choice}</b>")
        await query.answer("Saved")

    @router.inline_query()
    async def inline(query: InlineQuery) -> None:
        await query.answer(
            [
                InlineQueryResultArticle(
                    id="r1",
                    title=f"Result for {query.query}",
                    input_message_content=InputTextMessageContent(message_text=html.escape(query.query)),
                )
            ],
            cache_time=1,
        )

    @router.guest_message()
    async def guest(message: Message) -> None:
        said = html.escape((message.text or "").split(maxsplit=1)[-1])
        replied = message.reply_to_message.text if message.reply_to_message is not None else None
        await message.answer_guest_query(
            InlineQueryResultArticle(
                id="g",
                title="Guest answer",
                input_message_content=InputTextMessageContent(
                    message_text=f"<b>guest:</b> {said}" + (f" (re: {html.escape(replied)})" if replied else "")
                ),
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="More", url="https://t.me/voter_test_bot?start=x")]]
                ),
            )
        )

    return router


@dataclass
class Env:
    fake: FakeTelegram
    bot: Bot


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(token=TOKEN)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    b = Bot(TOKEN, session=session)
    try:
        yield b
    finally:
        await b.session.close()


@pytest.fixture
async def env(fake: FakeTelegram, bot: Bot) -> AsyncIterator[Env]:
    from aiogram.client.default import DefaultBotProperties

    bot.default = DefaultBotProperties(parse_mode="HTML")
    dp = Dispatcher()
    dp.include_router(build_router())
    task = asyncio.create_task(
        dp.start_polling(bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False)
    )
    try:
        await fake.wait_polling()
        yield Env(fake, bot)
    finally:
        await dp.stop_polling()
        await task


# ------------------------------------------------------------------ HTML parser (unit)


def test_parse_html_entities_and_offsets() -> None:
    text, entities = parse_html('<b>bold</b> &amp; <a href="https://x.org/?a=1&amp;b=2">link</a> &#x1F600;&#33;')
    assert text == "bold & link 😀!"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "text_link", "offset": 7, "length": 4, "url": "https://x.org/?a=1&b=2"},
    ]
    text, entities = parse_html('<pre><code class="language-python">x = 1</code></pre>')
    assert text == "x = 1"
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    text, entities = parse_html("😀<i>a</i>")
    assert entities == [{"type": "italic", "offset": 2, "length": 1}]  # UTF-16 offsets


@pytest.mark.parametrize(
    "bad",
    ["<b>x", "<b>x</i>", "x</b>", "<foo>x</foo>", "a < b", "&nbsp;", '<span class="x">s</span>', "<a>x</a>"],
)
def test_parse_html_rejects(bad: str) -> None:
    from bot.devtools.fake_api import HtmlParseError

    with pytest.raises(HtmlParseError):
        parse_html(bad)


def test_the_same_html_parsed_again_gives_entities_of_its_own() -> None:
    """The fake remembers parsed texts (a broadcast sends one text thousands of times); each
    message still gets entities of its own, and bad markup is still refused every time."""
    from bot.devtools.fake_api import ApiError

    first = FakeTelegram._parse_text("<b>Vote</b> today", "HTML", None, caption=False)
    first[1][0]["length"] = 99
    second = FakeTelegram._parse_text("<b>Vote</b> today", "HTML", None, caption=False)
    assert second == ("Vote today", [{"type": "bold", "offset": 0, "length": 4}], "<b>Vote</b> today")
    for _ in range(2):
        with pytest.raises(ApiError, match="can't parse entities"):
            FakeTelegram._parse_text("<b>Vote", "HTML", None, caption=False)


# ------------------------------------------------------------------ end-to-end with aiogram


async def test_echo_round_trip(env: Env) -> None:
    user = env.fake.user(1001, first_name="Ann", username="ann")
    ex = await user.send("hello <world> & co")
    assert ex.text == "echo: hello <world> & co"
    assert len(ex.replies) == 1
    reply = ex.replies[0]
    assert reply.from_bot and reply.chat_id == 1001
    assert reply.html == "<i>echo:</i> hello &lt;world&gt; &amp; co"
    assert reply.entities == [{"type": "italic", "offset": 0, "length": 5}]
    assert [c.method for c in ex.calls] == ["sendMessage"]
    assert ex.last is reply
    msgs = env.fake.chat_messages(1001)
    assert [m.from_bot for m in msgs] == [False, True]
    assert msgs[0].text == "hello <world> & co"
    assert msgs[1].message_id == msgs[0].message_id + 1


async def test_start_command_buttons_and_callback(env: Env) -> None:
    user = env.fake.user(1002)
    ex = await user.send("/start faq-x")
    assert ex.text == "Welcome faq-x"
    msg = ex.replies[0]
    assert [[b.text for b in row] for row in msg.buttons] == [["Yes", "No"], ["Site"]]
    assert "[1] Yes  [2] No" in render(msg)
    assert "[3] Site" in render(msg)

    ex2 = await user.press(msg, "Yes")
    assert ex2.callback_answer is not None and ex2.callback_answer["text"] == "Saved"
    assert ex2.edits == [msg]
    assert msg.text == "You chose yes" and msg.edited
    assert msg.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert env.fake.unanswered_callback_queries() == []


async def test_invalid_html_rejected(env: Env) -> None:
    env.fake.user(1003)
    await env.fake.user(1003).send("hi")
    with pytest.raises(TelegramBadRequest) as info:
        await env.bot.send_message(1003, "<b>unclosed", parse_mode="HTML")
    assert "can't parse entities" in info.value.message
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await env.bot.send_message(1003, "<blink>x</blink>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await env.bot.send_message(1003, "a < b", parse_mode="HTML")
    last = env.fake.calls[-1]
    assert last.status == 400 and last.response["error_code"] == 400
    assert str(last.response["description"]).startswith("Bad Request: can't parse entities: ")


async def test_text_length_limits(env: Env) -> None:
    await env.fake.user(1004).send("hi")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await env.bot.send_message(1004, "x" * 4097, parse_mode=None)
    ok = await env.bot.send_message(1004, "x" * 4096, parse_mode=None)
    assert len(ok.text or "") == 4096
    # Length is checked after entity parsing: tags do not count.
    ok2 = await env.bot.send_message(1004, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")
    assert ok2.entities is not None and ok2.entities[0].length == 4096
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await env.bot.send_document(1004, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)


async def test_callback_data_too_long(env: Env) -> None:
    await env.fake.user(1005).send("hi")
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]])
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await env.bot.send_message(1005, "text", reply_markup=kb)
    kb64 = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 64)]])
    sent = await env.bot.send_message(1005, "text", reply_markup=kb64)
    assert env.fake.chat_messages(1005)[-1].buttons[0][0].callback_data == "d" * 64
    assert sent.reply_markup is not None
    bad_url = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", url="javascript:x")]])
    with pytest.raises(TelegramBadRequest, match="inline keyboard button URL 'javascript:x' is invalid"):
        await env.bot.send_message(1005, "text", reply_markup=bad_url)


async def test_not_modified_and_unknown_edit(env: Env) -> None:
    await env.fake.user(1006).send("hi")
    sent = await env.bot.send_message(1006, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await env.bot.edit_message_text(text="same", chat_id=1006, message_id=sent.message_id)
    edited = await env.bot.edit_message_text(text="<b>same</b>", chat_id=1006, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await env.bot.edit_message_text(text="x", chat_id=1006, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await env.bot.edit_message_reply_markup(chat_id=1006, message_id=sent.message_id)


async def test_unknown_callback_and_unanswered(env: Env) -> None:
    user = env.fake.user(1007)
    await user.send("hi")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await env.bot.answer_callback_query("nope")
    # No handler matches "other:1", so aiogram leaves the query unanswered.
    ex = await user.press_data(1, "other:1")
    assert ex.callback_answer is None
    assert len(env.fake.unanswered_callback_queries()) == 1
    query_id = env.fake.unanswered_callback_queries()[0]
    assert await env.bot.answer_callback_query(query_id) is True
    assert env.fake.unanswered_callback_queries() == []
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await env.bot.answer_callback_query(query_id)


async def test_blocked_and_deactivated_users(env: Env) -> None:
    user = env.fake.user(1008)
    await user.send("hi")
    ex = await user.block()
    assert ex.calls == []  # the test router has no my_chat_member handler
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await env.bot.send_message(1008, "are you there?")
    await user.unblock()
    assert (await env.bot.send_message(1008, "welcome back")).text == "welcome back"
    user.deactivate()
    with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
        await env.bot.send_message(1008, "x")


async def test_unknown_chat(env: Env) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await env.bot.send_message(424242, "hello")
    env.fake.user(424243)  # known to the fake but never wrote to the bot
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await env.bot.send_message(424243, "hello")
    group = env.fake.group(-100500, title="Voters", type="supergroup")
    member = env.fake.user(1009).in_group(group)
    ex = await member.send("hi group")
    assert ex.replies[0].chat_id == -100500
    assert ex.replies[0].chat["type"] == "supergroup"


async def test_rate_limit(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1010).open_chat()
    fake.rate_limit = 2
    fake.retry_after = 3
    await bot.send_message(1010, "1")
    await bot.send_message(1010, "2")
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(1010, "3")
    assert info.value.retry_after == 3
    assert fake.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1010, "4")  # did not wait: a violation
    assert fake.stats.sent == 2
    assert fake.stats.rejected_429 == 2
    assert fake.stats.violations_after_429 == 1
    assert fake.stats.per_method["sendMessage"] == 4
    # Non-sending methods are not limited.
    assert (await bot.get_me()).username == "voter_test_bot"


async def test_paid_broadcast_uses_paid_limit(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(1011).open_chat()
    fake.rate_limit = 1
    await bot.send_message(1011, "1")
    await bot.send_message(1011, "2", allow_paid_broadcast=True)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1011, "3")


async def test_missing_field_unknown_method_and_token(fake: FakeTelegram, bot: Bot) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake.base_url}/bot{TOKEN}/sendVenue", data={"chat_id": "1"}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: latitude is required",
            }
        async with http.get(f"{fake.base_url}/bot{TOKEN}/fooBar") as resp:
            assert resp.status == 404
            assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        async with http.get(f"{fake.base_url}/bot1:WRONG/getMe") as resp:
            assert resp.status == 401
            assert (await resp.json())["description"] == "Unauthorized"
        async with http.get(f"{fake.base_url}/bot{TOKEN}/GETME") as resp:  # case-insensitive
            assert (await resp.json())["result"]["id"] == 123456
        async with http.post(f"{fake.base_url}/bot{TOKEN}/sendPoll", json={"chat_id": 1}) as resp:
            body = await resp.json()
            assert resp.status == 400 and "question is required" in body["description"]

    class FooBar(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "fooBar"

    with pytest.raises(TelegramNotFound):
        await bot(FooBar())
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "")


async def test_document_upload_and_user_document(env: Env) -> None:
    user = env.fake.user(1012)
    ex = await user.send("/doc")
    assert len(ex.documents) == 1
    doc = ex.documents[0]
    assert doc.filename == "report.csv"
    assert doc.content == b"a,b\n1,2\n"
    assert doc.mime_type == "text/csv"
    assert ex.replies[0].caption == "Your report"
    assert "[file: report.csv (8 bytes)]" in render(ex.replies[0])

    ex2 = await user.send_document("notes.txt", b"hello file")
    assert ex2.text == "got notes.txt: hello file"
    assert [c.method for c in ex2.calls] == ["getFile", "sendMessage"]


async def test_location_venue_and_copy(env: Env) -> None:
    user = env.fake.user(1013)
    ex = await user.send_location(51.1, 71.4)
    venue_msg = ex.replies[0]
    assert venue_msg.venue is not None and venue_msg.venue["title"] == "Polling station"
    assert "[venue: Polling station, Main st. 1]" in render(venue_msg)
    copied = await env.bot.copy_message(chat_id=1013, from_chat_id=1013, message_id=venue_msg.message_id)
    assert copied.message_id == venue_msg.message_id + 1
    assert env.fake.chat_messages(1013)[-1].venue == venue_msg.venue
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await env.bot.copy_message(chat_id=1013, from_chat_id=1013, message_id=777)


async def test_inline_query_results(env: Env) -> None:
    user = env.fake.user(1014)
    ex = await user.inline("polls")
    assert ex.inline_results is not None
    assert [r["id"] for r in ex.inline_results] == ["r1"]
    assert ex.inline_results[0]["title"] == "Result for polls"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await env.bot.answer_inline_query("unknown", results=[])


async def test_guest_message_answered_once_in_the_chat_it_came_from(env: Env) -> None:
    family = env.fake.group(-100900, title="Family", type="supergroup")
    family.bot_status = "left"  # guest mode: the bot is not a member
    aunt = env.fake.user(1040, language_code="kk")
    rumour = env.fake.user(1041).in_group(family).say_unseen("they say the vote moved")
    ex = await aunt.guest("is it true?", chat=family, reply_to=rumour)
    assert ex.errors == []
    [answer] = ex.replies
    assert answer.chat_id == -100900 and answer.from_bot
    assert answer.text == "guest: is it true? (re: they say the vote moved)"
    assert answer.entities[0]["type"] == "bold"
    assert answer.flat_buttons[0].url == "https://t.me/voter_test_bot?start=x"
    assert answer.extra["guest_bot_caller_user"]["id"] == 1040
    assert answer.extra["guest_bot_caller_chat"]["id"] == -100900
    assert ex.calls[-1].response["result"]["inline_message_id"]
    assert env.fake.unanswered_guest_queries() == []
    with pytest.raises(TelegramForbiddenError, match="bot is not a member"):
        await env.bot.send_message(-100900, "hello")  # only the guest answer reaches a chat the bot is not in
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await env.bot.send_message(1040, "hello")  # calling the bot as a guest opens no private chat
    assert (await env.bot.get_me()).supports_guest_queries is True


async def test_answer_guest_query_checked_as_telegram_does(fake: FakeTelegram, bot: Bot) -> None:
    article = InlineQueryResultArticle(
        id="a", title="t", input_message_content=InputTextMessageContent(message_text="x")
    )
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_guest_query("unknown", result=article)
    group = fake.group(-100901)
    query = fake.user(1042)._guest_message("hi", group, None).extra["guest_query_id"]
    async with aiohttp.ClientSession() as http:
        url = f"{fake.base_url}/bot{TOKEN}/answerGuestQuery"
        async with http.post(url, json={"guest_query_id": query}) as resp:
            assert resp.status == 400
            assert (await resp.json())["description"] == "Bad Request: result is required"
        result = {"type": "article", "id": "a", "title": "t", "input_message_content": {"message_text": "x"}}
        async with http.post(url, json={"result": result}) as resp:
            assert (await resp.json())["description"] == "Bad Request: guest_query_id is required"
    untitled = {"type": "article", "id": "a", "input_message_content": {"message_text": "x"}}
    with pytest.raises(TelegramBadRequest, match='field "title" must be non-empty'):
        await bot(_RawGuestAnswer(guest_query_id=query, result=untitled))
    bad_html = InlineQueryResultArticle(
        id="a", title="t", input_message_content=InputTextMessageContent(message_text="<b>x", parse_mode="HTML")
    )
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.answer_guest_query(query, result=bad_html)
    assert (await bot.answer_guest_query(query, result=article)).inline_message_id
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_guest_query(query, result=article)  # one answer per query
    assert [m.text for m in fake.bot_messages(-100901)] == ["x"]


async def test_guest_answers_count_against_a_group_rate_limit(fake: FakeTelegram, bot: Bot) -> None:
    fake.group_rate_limit = 2
    group = fake.group(-100902)
    caller = fake.user(1043)
    article = InlineQueryResultArticle(
        id="a", title="t", input_message_content=InputTextMessageContent(message_text="x")
    )
    queries = [caller._guest_message(f"q{n}", group, None).extra["guest_query_id"] for n in range(3)]
    await bot.answer_guest_query(queries[0], result=article)
    await bot.answer_guest_query(queries[1], result=article)
    with pytest.raises(TelegramRetryAfter):
        await bot.answer_guest_query(queries[2], result=article)
    assert fake.stats.rejected_429_chat == 1


class _RawGuestAnswer(TelegramMethod[Any]):
    """answerGuestQuery with a result as raw JSON (aiogram's models would refuse to build it)."""

    __returning__ = dict
    __api_method__ = "answerGuestQuery"

    guest_query_id: str
    result: dict[str, Any]


async def test_inline_results_validated(fake: FakeTelegram, bot: Bot) -> None:
    fake._open_inline["q1"] = None
    dup: list[Any] = [
        InlineQueryResultArticle(id="a", title="t", input_message_content=InputTextMessageContent(message_text="x")),
        InlineQueryResultArticle(id="a", title="t", input_message_content=InputTextMessageContent(message_text="y")),
    ]
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query("q1", results=dup)
    long_id = InlineQueryResultArticle(
        id="i" * 65, title="t", input_message_content=InputTextMessageContent(message_text="x")
    )
    with pytest.raises(TelegramBadRequest, match="RESULT_ID_INVALID"):
        await bot.answer_inline_query("q1", results=[long_id])


async def test_commands_webhook_and_polling_conflict(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="ru")
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    assert await bot.get_my_commands() == []
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])

    await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook"
    assert fake.webhook["secret_token"] == "s3cret"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []


async def test_get_updates_long_poll_and_offset(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(1015)
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    update_id = await fake.push_update({"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}})
    updates = await poll
    assert [u.update_id for u in updates] == [update_id]
    # Confirming the offset forgets older updates and counts as processed.
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    await fake.wait_processed(update_id, timeout=1)
    assert fake.last_confirmed_update == update_id
    with pytest.raises(TimeoutError, match="was not confirmed"):
        await fake.wait_processed(update_id + 1, timeout=0.05)
    assert user.id == 1015


async def test_wait_for_bot_initiated(env: Env) -> None:
    user = env.fake.user(1016)
    await user.send("hi")

    async def broadcast() -> None:
        for i in range(3):
            await env.bot.send_message(1016, f"news {i}")

    task = asyncio.create_task(broadcast())
    await env.fake.wait_for(lambda: len(env.fake.bot_messages(1016)) == 4)
    await task
    texts = [m.text for m in env.fake.bot_messages(1016)]
    assert texts[-1] == "news 2"


def test_render_plain_message() -> None:
    msg = FakeMessage(message_id=5, chat_id=1, date=0, from_bot=True, text="Hello")
    assert render(msg) == "#5 bot:\nHello"


async def test_photo_caption_edit_delete_and_chat_info(fake: FakeTelegram, bot: Bot) -> None:
    user = fake.user(1017, first_name="Bo", username="bo").open_chat()
    file_id = fake.add_file(b"\x89PNG", "pic.png", "image/png")
    photo = await bot.send_photo(1017, file_id, caption="<b>Pic</b>", parse_mode="HTML")
    assert photo.photo is not None and photo.photo[-1].file_id == file_id
    assert photo.caption == "Pic"
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(1017, "no-such-file")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_caption(
            chat_id=1017, message_id=photo.message_id, caption="<b>Pic</b>", parse_mode="HTML"
        )
    await bot.edit_message_caption(chat_id=1017, message_id=photo.message_id, caption="New")
    stored = fake.chat_messages(1017)[-1]
    assert stored.caption == "New" and stored.edited and stored.photo is not None
    assert await bot.delete_message(1017, photo.message_id) is True
    assert stored.deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1017, photo.message_id)
    with pytest.raises(TelegramBadRequest, match="fake server does not model parse_mode"):
        await bot.send_message(1017, "*x*", parse_mode="MarkdownV2")

    chat = await bot.get_chat(1017)
    assert chat.type == "private" and chat.username == "bo"
    member = await bot.get_chat_member(1017, 1017)
    assert member.status == "member" and member.user.id == user.id
    assert await bot.send_chat_action(1017, "typing") is True
    with pytest.raises(TelegramBadRequest, match="fake server does not model sendDice"):
        await bot.send_dice(1017)


async def test_an_uploaded_photo_is_checked_as_telegram_does(fake: FakeTelegram, bot: Bot) -> None:
    import io

    from aiogram.types import BufferedInputFile
    from PIL import Image

    fake.user(1018).open_chat()

    def png(width: int, height: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (width, height), (255, 255, 255)).save(out, format="PNG")
        return out.getvalue()

    sent = await bot.send_photo(1018, BufferedInputFile(png(300, 200), "ok.png"), caption="ok")
    assert sent.photo is not None and (sent.photo[-1].width, sent.photo[-1].height) == (300, 200)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(1018, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(1018, BufferedInputFile(png(2100, 100), "thin.png"))
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(1018, BufferedInputFile(png(30, 20), "long.png"), caption="x" * 1025)


def test_the_fake_knows_the_current_bot_api_and_checks_its_own_answers() -> None:
    from bot.devtools.fake_api import load_methods
    from bot.devtools.fake_api.answers_spec import problems

    meta = load_methods()
    assert meta["version"].startswith("Bot API 10."), meta["version"]  # aiogram 3.31 speaks 10.3
    types = meta["types"]
    user = {"id": 1, "is_bot": False, "first_name": "A"}
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "from": user}
    assert problems(types, ["Message"], message) == []
    assert problems(types, ["Message"], {**message, "from": {"id": 1, "is_bot": False}}) == [
        "result.from: User.first_name is required"
    ]
    assert problems(types, ["Array of Update"], [{"message": message}]) == ["result: Update.update_id is required"]
    chat = {"id": 1, "type": "private"}
    assert "result: ChatFullInfo.accepted_gift_types is required" in problems(types, ["ChatFullInfo"], chat)
