"""Pictures through the fake Bot API: the official result (from 18 March, never before), the
"I voted" card and the admins' chart; the PNGs are decoded, and the caption carries the facts."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from bot.config import Lang
from bot.content import load_content
from bot.devtools.fake_api import FakeMessage, FakeTelegram, FakeUser
from bot.services.pictures import font
from bot.storage.base import BroadcastMessage
from bot.storage.broadcasts import ALL_SUBSCRIBERS, MessageKind
from tests.conftest import ADMIN_ID, DATA, VOTING_OPEN, RunningBot, almaty, no_errors

CAMPAIGN = load_content(DATA).campaign
FIGURES = {  # both options' votes and shares, and the turnout, as each language writes them
    "en": ["7,954,667", "87.15%", "898,099", "9.84%", "73.12%"],
    "ru": ["7\xa0954\xa0667", "87,15%", "898\xa0099", "9,84%", "73,12%"],
    "kk": ["7\xa0954\xa0667", "87,15%", "898\xa0099", "9,84%", "73,12%"],
}
CHOICE = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def decoded(message: FakeMessage) -> Image.Image:
    assert message.photo is not None, message
    image = Image.open(io.BytesIO(message.photo.content))
    image.load()
    assert image.format == "PNG"
    return image


def photos(messages: list[FakeMessage]) -> list[FakeMessage]:
    return [m for m in messages if m.photo is not None]


async def resident(fake: FakeTelegram, user_id: int, lang: str) -> FakeUser:
    user = fake.user(user_id, first_name="Dana", language_code="en")
    await user.press((await user.send("/start")).replies[0], CHOICE[lang])
    return user


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_results_picture_from_18_march_and_never_before(
    running: RunningBot, fake: FakeTelegram, lang: Lang
) -> None:
    user = await resident(fake, 8001, lang)
    for moment in (VOTING_OPEN, almaty(2026, 3, 16, 9, 0), almaty(2026, 3, 17, 23, 59)):
        running.clock.set(moment)
        assert photos((await user.send("/countdown")).replies) == []
        assert photos((await user.send("/start faq-results")).replies) == []

    running.clock.set(almaty(2026, 3, 18, 0, 0))
    countdown = await user.send("/countdown")
    assert len(countdown.replies) == 2 and countdown.replies[0].photo is None  # the text, then the picture
    picture = countdown.replies[1]
    image = decoded(picture)
    assert image.width == 1000 and 560 <= image.height <= 800
    text, caption = countdown.replies[0].content, picture.content
    for figure in FIGURES[lang]:
        assert figure in text and figure not in caption, (figure, caption)  # the figures said once, above
    for option in CAMPAIGN.results.options if CAMPAIGN.results else []:
        assert option.title.get(lang) in text  # both options, named alike
    assert "interfax.ru" in (picture.html or "")  # the caption: the sources, linked
    upload = fake.calls_of("sendPhoto")[-1]
    assert str(upload.params["photo"]).startswith("attach://")

    answer = await user.send("/start faq-results")  # the results answer brings the same picture…
    assert [m.photo is not None for m in answer.replies] == [False, True]
    assert FIGURES[lang][4] in answer.replies[0].content and FIGURES[lang][4] not in answer.replies[1].content
    reused = fake.calls_of("sendPhoto")[-1]
    assert picture.photo is not None and reused.params["photo"] == picture.photo.file_id  # …uploaded once
    no_errors(fake)


async def test_i_voted_card_shows_no_option(running: RunningBot, fake: FakeTelegram) -> None:
    running.clock.set(VOTING_OPEN)
    user = await resident(fake, 8002, "kk")
    countdown = (await user.send("/countdown")).replies[0]
    exchange = await user.press(countdown, "✅")
    card = photos(exchange.replies)
    assert len(card) == 1
    image = decoded(card[0])
    assert image.size == (1000, 560)
    caption = card[0].content
    assert CAMPAIGN.title.kk in caption and "15 наурыз" in caption
    assert CAMPAIGN.results is not None
    for option in CAMPAIGN.results.options:
        assert option.title.kk not in caption
    no_errors(fake)


async def test_stats_chart_for_admins_only(running: RunningBot, fake: FakeTelegram) -> None:
    assert running.app is not None
    storage = running.app.storage
    today = almaty(2026, 3, 12, 12, 0)
    for number, days_ago in enumerate([40, 20, 20, 3, 0]):
        fake.user(8100 + number, language_code="en").open_chat()
        await storage.touch_user(8100 + number, "en", today - timedelta(days=days_ago))
        await storage.subscribe(8100 + number, "en", today - timedelta(days=days_ago))
    running.clock.set(almaty(2026, 3, 5, 12, 0))  # an announcement delivered on 5 March
    engine = running.app.dispatcher["delivery"]
    record = await engine.create_broadcast(BroadcastMessage(kind=MessageKind.TEXT, text="hi"), ALL_SUBSCRIBERS)
    await engine.wait_finished(record.id, timeout=10)
    running.clock.set(today)
    stranger = await fake.user(8200, language_code="en").send("/stats")
    assert photos(stranger.replies) == [] and "I do not know this command" in stranger.text

    admin = fake.user(ADMIN_ID, language_code="en")
    exchange = await admin.send("/stats")
    assert exchange.replies[0].photo is None and "Subscribers: 5" in exchange.replies[0].content
    chart = photos(exchange.replies)
    assert len(chart) == 1
    assert decoded(chart[0]).size == (1000, 640)
    # the last 30 whole days (10 Feb – 11 Mar): one subscriber before them, three within, one today
    assert "10 February 2026 – 11 March 2026: subscribers 1 → 4; messages delivered 5." in chart[0].content
    again = photos((await admin.send("/stats")).replies)  # drawn once that day: the same file
    assert again and fake.calls_of("sendPhoto")[-1].params["photo"] == (
        chart[0].photo.file_id if chart[0].photo else ""
    )
    no_errors(fake)


def test_the_font_carries_kazakh_letters() -> None:
    face = font(24)
    missing = face.getmask("?").getbbox()
    for letter in "әғқңөұүһіӘҒҚҢӨҰҮҺІ":
        assert face.getmask(letter).getbbox() != missing, letter


def test_every_i_voted_title_fits_the_card() -> None:
    from PIL import ImageDraw

    from bot.i18n import _, create_i18n
    from bot.services.pictures import CARD_SIZE, CARD_TEXT_LEFT, headline_layout

    i18n = create_i18n("en")

    draw = ImageDraw.Draw(Image.new("RGB", CARD_SIZE))
    width = CARD_SIZE[0] - CARD_TEXT_LEFT - 56
    for lang in ("kk", "ru", "en"):
        with i18n.context(), i18n.use_locale(lang):
            title = _("I voted")
        size, lines = headline_layout(draw, title, width)
        face = font(size, bold=True)
        assert " ".join(lines) == title, (lang, lines)  # nothing cut: ")" of "проголосовал(а)" included
        assert all(draw.textlength(line, font=face) <= width for line in lines), (lang, size, lines)
    assert headline_layout(draw, "I voted", width)[0] == 64  # a short title keeps the large size
