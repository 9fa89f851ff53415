"""Sending the pictures (``bot.services.pictures``): the words and figures in the reader's language,
the facts in the caption too, Telegram's ``file_id`` reused once a picture is uploaded."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, Message

from bot.config import Lang
from bot.content.models import Campaign
from bot.handlers.texts import results_text, sources_block
from bot.i18n import _, fmt_date, fmt_number, fmt_share
from bot.services.campaign import share
from bot.services.pictures import (
    Bar,
    BarsPicture,
    Chart,
    Picture,
    PictureService,
    Series,
    VotedCard,
    draw_chart,
    draw_results,
    draw_voted,
)
from bot.storage.base import DailyActivity
from bot.telegram_text import escape, strip_html

log = logging.getLogger(__name__)
CAPTION_LIMIT = 1024
STATS_DAYS = 30


async def send_picture(
    bot: Bot,
    chat_id: int,
    pictures: PictureService,
    picture: Picture,
    caption: str,
    *,
    filename: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Upload once, then reuse the ``file_id``; a refused ``file_id`` is uploaded again."""
    if strip_html(caption) and len(strip_html(caption)) > CAPTION_LIMIT:
        caption = escape(strip_html(caption)[: CAPTION_LIMIT - 1]) + "…"
    if picture.file_id is not None:
        try:
            return await bot.send_photo(chat_id, picture.file_id, caption=caption, reply_markup=markup)
        except TelegramBadRequest as error:
            log.info("file_id of %s refused (%s); uploading again", picture.key, error.message)
            pictures.forget_upload(picture.key)
    sent = await bot.send_photo(
        chat_id, BufferedInputFile(picture.png, filename=filename), caption=caption, reply_markup=markup
    )
    if sent.photo:
        pictures.uploaded(picture.key, sent.photo[-1].file_id)
    return sent


# --- the official result ------------------------------------------------------------------------


def results_known(campaign: Campaign, now: datetime) -> bool:
    return campaign.results is not None and campaign.passed("results", now)


def results_caption(campaign: Campaign, lang: Lang, now: datetime) -> str:
    """Every figure of the picture, and its sources (the picture is never the only carrier)."""
    results = campaign.results
    assert results is not None
    caption = results_text(campaign, lang) + "\n" + sources_block(results.sources, lang, campaign, now)
    if len(strip_html(caption)) > CAPTION_LIMIT:  # long source titles: the figures come first
        caption = results_text(campaign, lang)
    return caption


def results_picture_of(campaign: Campaign, lang: Lang, now: datetime) -> BarsPicture:
    results = campaign.results
    assert results is not None
    turnout = share(results.voted, results.eligible)
    bars = [
        Bar(
            _("Turnout"),
            turnout / 100,
            f"{fmt_share(turnout, lang)} · {fmt_number(results.voted, lang)}",
        )
    ]
    for option in results.options:  # every option drawn exactly as the turnout is
        part = share(option.votes, results.voted)
        bars.append(
            Bar(
                f"«{option.title.get(lang)}»", part / 100, f"{fmt_share(part, lang)} · {fmt_number(option.votes, lang)}"
            )
        )
    shown = campaign.shown_sources(results.sources, now)
    sources = "; ".join(source.title_in(lang) for source in shown) or campaign.commission.title.get(lang)
    return BarsPicture(
        title=campaign.title.get(lang),
        subtitle=_("Official results ({announced})").format(announced=results.announced.get(lang)),
        bars=bars,
        footer=_("Sources: {sources}").format(sources=sources),
    )


async def send_results(
    bot: Bot,
    chat_id: int,
    campaign: Campaign,
    lang: Lang,
    pictures: PictureService,
    now: datetime,
    *,
    figures_sent: bool = False,
) -> None:
    """The official result as a picture, with its figures and sources (those out at ``now``) in the
    caption; ``figures_sent``: the message just before gave every figure (an FAQ answer,
    /countdown), so the caption is only the sources — the same figures are not said twice."""
    picture_of = results_picture_of(campaign, lang, now)  # translated here, in the handler's locale
    shown = tuple(campaign.shows(source, now) for source in campaign.results.sources) if campaign.results else ()
    picture = await pictures.get(("results", campaign.id, lang, shown), lambda: draw_results(picture_of))
    caption = (
        sources_block(campaign.results.sources, lang, campaign, now)
        if figures_sent and campaign.results
        else results_caption(campaign, lang, now)
    )
    await send_picture(bot, chat_id, pictures, picture, caption, filename="results.png")


# --- "I voted" ----------------------------------------------------------------------------------


async def send_voted_card(bot: Bot, chat_id: int, campaign: Campaign, lang: Lang, pictures: PictureService) -> None:
    card = VotedCard(
        headline=_("I voted"),
        title=campaign.title.get(lang),
        day=fmt_date(campaign.voting_day, lang),
        place=campaign.place.get(lang),
    )
    picture = await pictures.get(("voted", campaign.id, lang), lambda: draw_voted(card))
    caption = (
        "🗳 "
        + _("I voted: {campaign}, {day}.").format(campaign=escape(card.title), day=escape(card.day))
        + "\n"
        + _("Forward this card to share it; it shows no choice.")
    )
    await send_picture(bot, chat_id, pictures, picture, caption, filename="i-voted.png")


# --- the admins' chart --------------------------------------------------------------------------


def stats_days(today: date) -> list[date]:
    """The last 30 whole days, ending yesterday (a finished day does not change: one drawing a day)."""
    return [today - timedelta(days=STATS_DAYS - offset) for offset in range(STATS_DAYS)]


def stats_chart_of(activity: DailyActivity, days: list[date], lang: Lang) -> tuple[Chart, str]:
    """The chart and its caption (the totals, in words, for whoever does not see the picture)."""
    running = activity.subscribers_before
    subscribers = []
    for day in days:
        running += activity.subscribed.get(day, 0)
        subscribers.append(running)
    delivered = [activity.delivered.get(day, 0) for day in days]
    first, last = fmt_date(days[0], lang), fmt_date(days[-1], lang)
    chart = Chart(
        title=_("Last {n} days").format(n=len(days)) + f": {first} – {last}",
        first_day=first,
        last_day=last,
        series=[
            Series(
                _("Subscribers (still subscribed), at the end of each day"),
                subscribers,
                _("highest: {n}").format(n=fmt_number(max(subscribers, default=0), lang)),
            ),
            Series(
                _("Messages delivered per day"),
                delivered,
                _("highest: {n}").format(n=fmt_number(max(delivered, default=0), lang)),
            ),
        ],
    )
    caption = "📈 " + _("{first} – {last}: subscribers {start} → {end}; messages delivered {sent}.").format(
        first=first,
        last=last,
        start=fmt_number(subscribers[0] if subscribers else 0, lang),
        end=fmt_number(subscribers[-1] if subscribers else 0, lang),
        sent=fmt_number(sum(delivered), lang),
    )
    return chart, caption


def stats_key(days: list[date], lang: Lang) -> tuple[str, date, str]:
    return ("stats", days[-1], lang)


async def send_stats_chart(bot: Bot, chat_id: int, picture: Picture, pictures: PictureService) -> None:
    await send_picture(bot, chat_id, pictures, picture, picture.caption, filename="stats.png")


async def stats_picture(activity: DailyActivity, days: list[date], lang: Lang, pictures: PictureService) -> Picture:
    chart, caption = stats_chart_of(activity, days, lang)
    return await pictures.get(stats_key(days, lang), lambda: draw_chart(chart), caption)
