"""/metrics through prometheus_client: one registry per app, the names and labels of before."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.runners.webhook_endpoints import desk_gauges
from bot.services.desk import DeskStats


def families(text: bytes) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
    """name -> (type, samples) as a Prometheus server would read the text."""
    return {
        family.name: (family.type, [(s.name, s.labels, s.value) for s in family.samples])
        for family in text_string_to_metric_families(text.decode())
    }


def test_each_app_has_its_own_registry_and_the_global_one_is_untouched() -> None:
    one, two = Metrics(), Metrics()
    one.unauthorized.inc()
    one.refused.labels("secret").inc(3)
    assert one.sample("voterbot_webhook_unauthorized_total") == 1
    assert one.sample("voterbot_webhook_refused_total", reason="secret") == 3
    assert two.sample("voterbot_webhook_unauthorized_total") == 0  # apart
    assert two.sample("voterbot_webhook_refused_total", reason="secret") == 0  # never seen: 0, not None
    assert REGISTRY.get_sample_value("voterbot_webhook_unauthorized_total") is None


def test_the_exposition_has_the_names_types_and_labels_of_before() -> None:
    metrics = Metrics()
    metrics.updates.labels("handled").inc()
    metrics.latency.observe(0.03)
    metrics.refused.labels("too-large").inc()
    scraped = [
        ("voterbot_updates_in_flight", "gauge", "Updates being handled now.", {}, 2),
        ("voterbot_telegram_429_pauses_total", "counter", "Times a 429 paused all sending.", {}, 4),
        *desk_gauges(DeskStats(open=3, closed=5, median_first_reply=90.0)),
    ]
    text = metrics.render(scraped)
    found = families(text)
    assert found["voterbot_updates"][0] == "counter"
    assert ("voterbot_updates_total", {"outcome": "handled"}, 1.0) in found["voterbot_updates"][1]
    assert ("voterbot_updates_total", {"outcome": "failed"}, 0.0) in found["voterbot_updates"][1]  # shown at 0
    assert found["voterbot_webhook_refused"][1] == [("voterbot_webhook_refused_total", {"reason": "too-large"}, 1.0)]
    assert found["voterbot_webhook_unauthorized"][1] == [("voterbot_webhook_unauthorized_total", {}, 0.0)]
    assert found["voterbot_webhook_repeated"][1] == [("voterbot_webhook_repeated_total", {}, 0.0)]
    histogram = found["voterbot_update_handler_seconds"]
    assert histogram[0] == "histogram"
    assert ("voterbot_update_handler_seconds_bucket", {"le": "0.025"}, 0.0) in histogram[1]
    assert ("voterbot_update_handler_seconds_bucket", {"le": "0.05"}, 1.0) in histogram[1]
    assert ("voterbot_update_handler_seconds_count", {}, 1.0) in histogram[1]
    assert found["voterbot_updates_in_flight"] == ("gauge", [("voterbot_updates_in_flight", {}, 2.0)])
    assert found["voterbot_telegram_429_pauses"] == ("counter", [("voterbot_telegram_429_pauses_total", {}, 4.0)])
    assert found["voterbot_desk_tickets"][1] == [
        ("voterbot_desk_tickets", {"status": "open"}, 3.0),
        ("voterbot_desk_tickets", {"status": "closed"}, 5.0),
    ]
    assert found["voterbot_desk_first_reply_median_seconds"][1][0][2] == 90.0
    assert b"_created" not in text  # no series the hand-written exposition did not have
    assert text.count(b"# TYPE voterbot_desk_tickets gauge") == 1


def test_scrape_time_figures_are_not_kept_between_scrapes() -> None:
    metrics = Metrics()
    assert b"voterbot_leader" in metrics.render([("voterbot_leader", "gauge", "Leader.", {}, 1.0)])
    assert b"voterbot_leader" not in metrics.render()
