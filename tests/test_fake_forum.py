"""The fake Bot API's forum topics, driven by a real aiogram Bot: as strict as Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ChatMemberAdministrator, ChatMemberMember

from bot.devtools.fake_api import FakeTelegram

OPS = -1001234567890


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    try:
        yield client
    finally:
        await client.session.close()


async def test_topics_created_posted_to_closed_and_reopened(fake: FakeTelegram, bot: Bot) -> None:
    forum = fake.forum(OPS)
    chat = await bot.get_chat(OPS)
    assert chat.is_forum is True and chat.type == "supergroup"
    member = await bot.get_chat_member(OPS, fake.bot_id)
    assert isinstance(member, ChatMemberAdministrator) and member.can_manage_topics is True

    topic = await bot.create_forum_topic(OPS, "#1 · RU · где мой участок")
    assert topic.name == "#1 · RU · где мой участок" and topic.icon_color == 7322096
    created = forum.messages()[-1]
    assert created.extra["forum_topic_created"]["name"] == topic.name
    assert created.message_id == topic.message_thread_id  # a topic's id is its creation message's id

    sent = await bot.send_message(OPS, "hello", message_thread_id=topic.message_thread_id)
    assert sent.is_topic_message and sent.message_thread_id == topic.message_thread_id
    assert sent.reply_to_message is not None and sent.reply_to_message.forum_topic_created is not None
    general = await bot.send_message(OPS, "in General")
    assert general.message_thread_id is None and not general.is_topic_message

    # an operator's message in the topic, and a copy of it to a resident (not into the topic)
    resident = fake.user(5001).open_chat()
    operator = fake.user(700001).in_topic(forum, topic.message_thread_id)
    content: dict[str, object] = {"text": "an answer"}
    fake._into_topic(content, forum, topic.message_thread_id)
    posted = fake._add_user_message(operator._state, OPS, forum.to_chat(), content)  # no bot polls here
    assert posted.to_dict()["is_topic_message"] is True
    copied = await bot.copy_message(resident.id, OPS, posted.message_id)
    copy = resident.bot_messages()[-1]
    assert copy.message_id == copied.message_id and copy.content == "an answer"
    assert "message_thread_id" not in copy.extra and "reply_to_message" not in copy.extra
    with pytest.raises(TelegramBadRequest, match="message can't be copied"):
        await bot.copy_message(resident.id, OPS, created.message_id)  # service messages are not copied

    assert await bot.edit_forum_topic(OPS, topic.message_thread_id, name="#1 · RU · renamed")
    assert forum.topics[topic.message_thread_id].name == "#1 · RU · renamed"
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(OPS, topic.message_thread_id, name="#1 · RU · renamed")
    assert await bot.close_forum_topic(OPS, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(OPS, topic.message_thread_id)
    assert forum.topics[topic.message_thread_id].closed
    assert "forum_topic_closed" in forum.messages()[-1].extra
    await bot.send_message(OPS, "the bot manages topics: it may still post", message_thread_id=topic.message_thread_id)
    assert await bot.reopen_forum_topic(OPS, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.reopen_forum_topic(OPS, topic.message_thread_id)


async def test_topic_requests_are_checked_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    fake.forum(OPS)
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_TOO_LONG"):
        await bot.create_forum_topic(OPS, "x" * 129)
    assert (await bot.create_forum_topic(OPS, "x" * 128)).name == "x" * 128
    with pytest.raises(TelegramBadRequest, match="TOPIC_TITLE_EMPTY"):
        await bot.create_forum_topic(OPS, "   ")
    with pytest.raises(TelegramBadRequest, match="TOPIC_COLOR_INVALID"):
        await bot.create_forum_topic(OPS, "ok", icon_color=0x123456)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(OPS, "nowhere", message_thread_id=999)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.close_forum_topic(OPS, 999)
    resident = fake.user(5002).open_chat()
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(resident.id, "a private chat has no topics", message_thread_id=1)


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ({"is_forum": False}, "the chat is not a forum"),
        ({"bot_admin": False}, "not enough rights to create a topic"),
        ({"can_manage_topics": False}, "not enough rights to create a topic"),
    ],
)
async def test_topics_need_a_forum_and_the_right(
    fake: FakeTelegram, bot: Bot, flags: dict[str, bool], reason: str
) -> None:
    fake.forum(OPS, "Operators", **flags)
    with pytest.raises(TelegramBadRequest, match=reason):
        await bot.create_forum_topic(OPS, "a topic")
    member = await bot.get_chat_member(OPS, fake.bot_id)
    if flags.get("bot_admin") is False:
        assert isinstance(member, ChatMemberMember)
    else:
        assert isinstance(member, ChatMemberAdministrator)
        assert bool(member.can_manage_topics) is (flags.get("can_manage_topics", True))
    assert bool((await bot.get_chat(OPS)).is_forum) is flags.get("is_forum", True)
