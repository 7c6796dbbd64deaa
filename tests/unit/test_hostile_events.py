"""Hostile events: every parser either returns a well-formed event or raises EventError naming the field.

The parsers run before anything is read or written (tests/integration/test_hostile_handlers.py
checks that at the handler level), so these properties are what keeps a malformed
Step Functions input, a hand-written CLI event or a fuzzed payload out of the stores.
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from postloop.core import events
from postloop.core.events import (
    EventError,
    parse_post,
    parse_scheduled,
    parse_scrape,
    parse_time,
)

from tests.hostile import (
    NASTY_STRINGS,
    json_values,
    nasty_text,
    not_of_type,
    timestamp_text,
)
from tests.hostile import well_formed_event as _well_formed

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
parse_approval = getattr(events, "parse_approval", None)


def _sample(name: str) -> dict:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


# name in messages, parser, sample event file, {key: (accepted JSON types, may be null)}
PARSERS = {
    "plan": (lambda e: parse_scheduled(e, "plan"), "plan",
             {"account_id": ((str,), False), "scheduled_time": ((str,), False)}),
    "learn": (lambda e: parse_scheduled(e, "learn"), "learn",
              {"account_id": ((str,), False), "scheduled_time": ((str,), False)}),
    "post": (parse_post, "post",
             {"account_id": ((str,), False), "decision_id": ((str,), False), "now": ((str,), False)}),
    "scrape": (parse_scrape, "scrape",
               {"account_id": ((str,), False), "now": ((str,), False), "decision_id": ((str,), True),
                "horizon_hours": ((int,), True)}),
}
if parse_approval is not None:
    PARSERS["approve"] = (parse_approval, "approve-request",
                          {"action": ((str,), False), "account_id": ((str,), False), "decision_id": ((str,), False),
                           "now": ((str,), False), "task_token": ((str,), True)})
    PARSERS["approve answer"] = (parse_approval, "approve",
                                 {"action": ((str,), False), "account_id": ((str,), False),
                                  "decision_id": ((str,), False), "approve": ((bool,), False),
                                  "reviewer": ((str,), False), "now": ((str,), True)})

ID_FIELDS = ("account_id", "decision_id", "reviewer")
TEXT_FIELDS = ID_FIELDS + ("task_token",)
TIME_FIELDS = ("scheduled_time", "now")
CASES = sorted(PARSERS)


def _message_name(case: str) -> str:
    return case.split()[0]


def _refused_clearly(err: EventError, case: str) -> str:
    message = str(err)
    assert message.startswith(f"{_message_name(case)} event: "), message
    # A clear message, not an echo of whatever was sent.
    assert len(message) < 300, message[:300]
    return message


@pytest.mark.parametrize("case", CASES)
@given(value=json_values)
def test_any_json_value_parses_well_formed_or_raises_event_error(case, value):
    parse = PARSERS[case][0]
    try:
        parsed = parse(value)
    except EventError as err:
        _refused_clearly(err, case)
    else:
        _well_formed(parsed)


@pytest.mark.parametrize("case", CASES)
@given(data=st.data())
def test_a_type_confused_field_is_named(case, data):
    parse, sample, fields = PARSERS[case]
    key = data.draw(st.sampled_from(sorted(fields)), label="key")
    kinds, nullable = fields[key]
    event = _sample(sample)
    event[key] = data.draw(not_of_type(*kinds, allow_none=nullable), label="value")
    with pytest.raises(EventError) as err:
        parse(event)
    assert f"'{key}'" in _refused_clearly(err.value, case)


@pytest.mark.parametrize("case", CASES)
@given(data=st.data())
def test_text_fields_are_printable_bounded_text_or_named(case, data):
    parse, sample, fields = PARSERS[case]
    key = data.draw(st.sampled_from([k for k in fields if k in TEXT_FIELDS]), label="key")
    event = _sample(sample)
    event[key] = data.draw(nasty_text, label="value")
    try:
        parsed = parse(event)
    except EventError as err:
        assert f"'{key}'" in _refused_clearly(err, case)
    else:
        _well_formed(parsed)
        assert getattr(parsed, key) == event[key]


@pytest.mark.parametrize("case", CASES)
@given(data=st.data())
def test_timestamps_parse_into_range_or_are_named(case, data):
    parse, sample, fields = PARSERS[case]
    key = data.draw(st.sampled_from([k for k in fields if k in TIME_FIELDS]), label="key")
    event = _sample(sample)
    event[key] = data.draw(timestamp_text, label="value")
    try:
        parsed = parse(event)
    except EventError as err:
        assert f"'{key}'" in _refused_clearly(err, case)
    else:
        _well_formed(parsed)


@pytest.mark.parametrize("case", CASES)
def test_every_required_field_is_named_when_missing(case):
    parse, sample, fields = PARSERS[case]
    optional = {"reviewer"}  # an answer may leave its reviewer out
    for key, (_, nullable) in fields.items():
        if nullable or key in optional or key == "action":
            continue
        event = _sample(sample)
        del event[key]
        with pytest.raises(EventError) as err:
            parse(event)
        assert f"'{key}'" in _refused_clearly(err.value, case)


@given(value=timestamp_text)
def test_parse_time_never_raises_anything_but_event_error(value):
    try:
        t = parse_time(value, "when")
    except EventError as err:
        assert "'when'" in str(err) and len(str(err)) < 200
    else:
        assert t.utcoffset() == timedelta(0) and events.EARLIEST <= t < events.LATEST


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_at_the_edge_of_the_calendar_are_refused_not_overflowed(value):
    # Converting these to UTC leaves datetime's range (OverflowError before the fix).
    with pytest.raises(EventError, match="'now'"):
        parse_post({**_sample("post"), "now": value})


@pytest.mark.parametrize("value", [48.0, 24.0, "24", True, [24]])
def test_horizon_must_be_a_whole_number_not_something_equal_to_one(value):
    # 48.0 == 48 in Python, so a membership test alone let a float through.
    with pytest.raises(EventError, match="'horizon_hours'"):
        parse_scrape({**_sample("scrape"), "horizon_hours": value})


@pytest.mark.parametrize("value", ["demo\ud800", "demo\x1b[31m", "demo\u2028", "\ufeffdemo", "demo\x7f"])
def test_identifiers_with_unprintable_or_unencodable_characters_are_refused(value):
    # A lone surrogate cannot be encoded for DynamoDB or Redis (UnicodeEncodeError deep in the
    # SDK before the fix); escape sequences would land verbatim in log lines.
    with pytest.raises(EventError, match="'account_id' is not a valid identifier"):
        parse_scheduled({"account_id": value, "scheduled_time": "2026-01-09T05:00:00Z"}, "plan")


def test_the_nasty_strings_include_the_limits():
    # The hostile alphabet must reach past the identifier limit, or the properties prove little.
    assert max(map(len, NASTY_STRINGS)) > events.MAX_ID_LENGTH
