"""Every handler, given hostile events on the local backends, refuses them and writes nothing.

The stores are not empty (a decision planned and posted, arms and a model learnt,
the model cached in Redis), so "nothing written" means the moto tables, the Redis
keys and values, the fake X's posts and its request log are byte for byte what
they were before each example: a refused event must not even read from X.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from postloop.core import events
from postloop.core.events import EventError
from postloop.runtime.wiring import UnknownAccount
from postloop_local.iam import as_function
from postloop_local.invoke import LambdaContext, invoke, load_handler

from tests.conftest import EVENTS, REPO, utc
from tests.hostile import (
    json_values,
    nasty_text,
    not_of_type,
    timestamp_text,
    well_formed_event,
)

FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))

# How each function's event is parsed, and the sample events it is mutated from.
PARSERS = {
    "plan": (lambda e: events.parse_scheduled(e, "plan"), ["plan"]),
    "learn": (lambda e: events.parse_scheduled(e, "learn"), ["learn"]),
    "post": (events.parse_post, ["post"]),
    "scrape": (events.parse_scrape, ["scrape"]),
    "approve": (getattr(events, "parse_approval", None), ["approve-request", "approve"]),
    "cache": (getattr(events, "parse_cache", None), ["cache", "cache-put"]),
}


def _sample(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))


@st.composite
def hostile_events(draw, function: str):
    """Anything at all, or a real sample event with one field broken, dropped or pointed elsewhere."""
    samples = PARSERS[function][1]
    kind = draw(st.sampled_from(["any", "type", "missing", "text", "time", "account"]), label="kind")
    if kind == "any":
        return draw(json_values, label="event")
    event = _sample(draw(st.sampled_from(samples), label="sample"))
    key = draw(st.sampled_from(sorted(event)), label="key")
    if kind == "type":
        event[key] = draw(not_of_type(type(event[key])), label="value")
    elif kind == "missing":
        del event[key]
    elif kind == "text":
        event[key] = draw(nasty_text, label="value")
    elif kind == "time":
        event[draw(st.sampled_from([k for k in event if k in ("now", "scheduled_time")] or [key]))] = \
            draw(timestamp_text, label="value")
    else:
        # Well-formed, but for an account nobody configured.
        event["account_id"] = draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                                           max_size=40).filter(lambda a: a != "demo"), label="account")
    return event


def snapshot(stack) -> dict:
    """Everything the handlers could have written, in comparable form."""
    import boto3
    import redis

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    tables = {}
    for name in ddb.list_tables()["TableNames"]:
        items, kwargs = [], {"TableName": name}
        while True:
            page = ddb.scan(**kwargs)
            items += [json.dumps(i, sort_keys=True) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        tables[name] = sorted(items)
    r = redis.Redis.from_url(stack.backends.info.redis_url)
    cache = {k: r.dump(k) for k in sorted(r.keys("*"))}
    x = {pid: repr(p) for pid, p in stack.x.posts.items()}
    return {"tables": tables, "redis": cache, "x_posts": x, "x_requests": repr(stack.x.requests_log)}


@pytest.fixture()
def seeded(stack):
    """The local stack with a decision planned and posted, arms and a model learnt and cached."""
    when = utc(2026, 1, 9, 5)
    stack.clock.t = when
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": "2026-01-09T05:00:00Z"})
    invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"], "now": "2026-01-09T05:00:00Z"})
    invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-09T06:00:00Z"})
    before = snapshot(stack)
    assert before["redis"] and before["x_posts"] and any(before["tables"].values())
    stack.before = before
    return stack


# Functions behind a function URL take HTTP requests, not events: their hostile requests are tested
# where their handler's fixtures are.
HTTP_FUNCTIONS = {"review": "tests/integration/test_review.py::test_hostile_requests_are_answered_4xx_with_nothing_written"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_parser_and_samples(function):
    # A new function must join the hostile-input suite: add its parser and sample events above.
    if function in HTTP_FUNCTIONS:
        path, name = HTTP_FUNCTIONS[function].split("::")
        assert f"def {name}(" in (EVENTS.parent / path).read_text(encoding="utf-8"), HTTP_FUNCTIONS[function]
        return
    assert function in PARSERS and PARSERS[function][0] is not None, f"no parser known for {function}"
    assert all((EVENTS / f"{s}.json").exists() for s in PARSERS[function][1])


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f in PARSERS and PARSERS[f][0] is not None])
def test_hostile_events_are_refused_before_anything_is_written(seeded, function):
    parse = PARSERS[function][0]
    handler = load_handler(function)
    refused = {"event": 0, "account": 0}

    @settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                      HealthCheck.filter_too_much])
    @given(event=hostile_events(function))
    def check(event):
        try:
            parsed = parse(event)
        except EventError:
            expected = EventError
        else:
            well_formed_event(parsed)  # the parser must not have let garbage through
            # Well-formed events for the configured account are not hostile; those run for real.
            assume(parsed.account_id != "demo")
            expected = UnknownAccount
        with pytest.raises((EventError, UnknownAccount)) as err, as_function(function):
            handler(event, LambdaContext(function))
        assert isinstance(err.value, expected), (event, err.value)
        message = str(err.value)
        assert len(message) < 400, message[:400]
        if expected is UnknownAccount:
            assert repr(parsed.account_id) in message
            refused["account"] += 1
        else:
            assert message.startswith(f"{function} event: "), message
            refused["event"] += 1
        assert snapshot(seeded) == seeded.before, f"{function} wrote something for {event!r:.200}"

    check()
    # Both kinds of refusal were exercised, not only one.
    assert refused["event"] > 10 and refused["account"] > 0, refused
