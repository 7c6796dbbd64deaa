"""Event parsing: the shipped sample events, errors that name the field, times in UTC."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from postloop.core.events import (
    EventError,
    PostEvent,
    ScheduledEvent,
    ScrapeEvent,
    parse_post,
    parse_scheduled,
    parse_scrape,
    parse_time,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"


def _event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


def test_every_sample_event_is_covered():
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == ["approve", "approve-request", "cache", "cache-put",
                                                             "learn", "plan", "post", "scrape"]


def test_approve_samples_parse():
    from postloop.core.events import parse_approval
    answer = parse_approval(_event("approve"))
    assert (answer.action, answer.approve, answer.reviewer, answer.now) == ("answer", True, "alex", None)
    request = parse_approval(_event("approve-request"))
    assert request.action == "request" and request.task_token is None
    assert request.now == datetime(2026, 1, 9, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("name, hour", [("plan", 5), ("learn", 6)])
def test_scheduled_samples_parse(name, hour):
    e = parse_scheduled(_event(name), name)
    assert e == ScheduledEvent("demo", datetime(2026, 1, 9, hour, 0, tzinfo=timezone.utc))


def test_post_sample_parses():
    e = parse_post(_event("post"))
    assert e == PostEvent("demo", "20260109T050000Z-23577213", datetime(2026, 1, 9, 5, 0, tzinfo=timezone.utc))


def test_scrape_sample_parses():
    e = parse_scrape(_event("scrape"))
    assert e == ScrapeEvent("demo", datetime(2026, 1, 9, 5, 0, tzinfo=timezone.utc),
                            "20260108T090000Z-6c0f0ad0", 24)


def test_scrape_without_decision_or_horizon():
    e = parse_scrape({"account_id": "demo", "now": "2026-01-09T05:00:00Z"})
    assert e.decision_id is None and e.horizon_hours is None
    e = parse_scrape({"account_id": "demo", "now": "2026-01-09T05:00:00Z", "decision_id": None, "horizon_hours": 48})
    assert e.decision_id is None and e.horizon_hours == 48


@pytest.mark.parametrize("value, expected", [
    ("2026-01-09T06:00:00+02:00", datetime(2026, 1, 9, 4, 0, tzinfo=timezone.utc)),
    ("2026-01-08T23:30:00-05:00", datetime(2026, 1, 9, 4, 30, tzinfo=timezone.utc)),
    ("2026-01-09T05:00:00Z", datetime(2026, 1, 9, 5, 0, tzinfo=timezone.utc)),
    ("2026-01-09T05:00:00.250+00:00", datetime(2026, 1, 9, 5, 0, 0, 250_000, tzinfo=timezone.utc)),
])
def test_times_come_back_in_utc(value, expected):
    t = parse_time(value)
    assert t == expected
    assert t.utcoffset() == timedelta(0)
    assert t.tzinfo is timezone.utc
    e = parse_scheduled({"account_id": "demo", "scheduled_time": value}, "plan")
    assert e.scheduled_time.tzinfo is timezone.utc and e.scheduled_time.hour == expected.hour


# (parser, event mutation, text the message must contain)
def _plan(e):
    return parse_scheduled(e, "plan")


CASES = {
    "missing account_id": (_plan, {"account_id": None}, "'account_id' is missing"),
    "empty account_id": (_plan, {"account_id": ""}, "'account_id' must be a non-empty string"),
    "blank account_id": (parse_post, {"account_id": "   "}, "'account_id' must be a non-empty string"),
    "numeric account_id": (parse_scrape, {"account_id": 42}, "'account_id' must be a non-empty string"),
    "numeric decision_id": (parse_post, {"decision_id": 7}, "'decision_id' must be a non-empty string"),
    "missing decision_id": (parse_post, {"decision_id": None}, "'decision_id' is missing"),
    "newline in id": (parse_post, {"decision_id": "a\nb"}, "'decision_id' is not a valid identifier"),
    "over-long id": (parse_post, {"account_id": "a" * 129}, "'account_id' is not a valid identifier"),
    "time without zone": (_plan, {"scheduled_time": "2026-01-09T05:00:00"}, "'scheduled_time' must carry a time zone"),
    "date only": (parse_post, {"now": "2026-01-09"}, "'now' must carry a time zone"),
    "non-ISO time": (parse_post, {"now": "Jan 9 2026 5am"}, "'now' is not an ISO-8601 timestamp"),
    "numeric time": (parse_scrape, {"now": 1767934800}, "'now' must be an ISO-8601 timestamp string"),
    "missing time": (parse_scrape, {"now": None}, "'now' is missing"),
    "horizon 12": (parse_scrape, {"horizon_hours": 12}, "'horizon_hours' must be one of (24, 48)"),
    "horizon as string": (parse_scrape, {"horizon_hours": "24"}, "'horizon_hours'"),
    "horizon true": (parse_scrape, {"horizon_hours": True}, "'horizon_hours'"),
}

SAMPLE_FOR = {_plan: "plan", parse_post: "post", parse_scrape: "scrape"}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_errors_name_the_field(case):
    parser, change, text = CASES[case]
    event = _event(SAMPLE_FOR[parser])
    for key, value in change.items():
        if value is None and key in event:
            del event[key]
        else:
            event[key] = value
    with pytest.raises(EventError) as err:
        parser(event)
    assert text in str(err.value)
    # The message also says which event it was.
    assert str(err.value).startswith(f"{SAMPLE_FOR[parser]} event: ")


@pytest.mark.parametrize("event, kind", [([], "list"), ("plan", "str"), (None, "NoneType"), (3, "int")])
@pytest.mark.parametrize("parse, name", [(_plan, "plan"), (parse_post, "post"), (parse_scrape, "scrape")])
def test_non_object_events_raise(event, kind, parse, name):
    with pytest.raises(EventError, match=rf"^{name} event: expected a JSON object, got {kind}$"):
        parse(event)


def test_event_error_is_a_value_error():
    assert issubclass(EventError, ValueError)
