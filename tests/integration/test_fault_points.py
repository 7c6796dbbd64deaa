"""Where the fault run injects: the fake X's and the fake OpenAI's fault schedules, and the
conditional writes post and the workflow's Catch rely on, against moto."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from moto import mock_aws

from postloop.adapters.dynamo_stores import DynamoDecisionStore
from postloop.adapters.openai_writer import OpenAIWriter
from postloop.adapters.tables import TableNames, bind_tables
from postloop.adapters.x_api import XApiClient
from postloop.core.ports import ClaimRefused, WriteRequest
from postloop.core.records import Decision, Status
from postloop.core.x_errors import XRateLimited
from postloop_local.fake_openai import FakeOpenAI
from postloop_local.fake_x import FakeXServer, QuietAudience, ScheduledFault

TOKEN = "fault-point-token"
NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def _x_with(schedule):
    server = FakeXServer(QuietAudience(), lambda: NOW, token=TOKEN, fault_schedule=schedule)
    server.start()
    return server


def test_scheduled_503s_are_retried_by_the_real_client():
    answers = [ScheduledFault(status=503), ScheduledFault(status=503)]
    server = _x_with(lambda method, path, query, body: answers.pop(0) if method == "POST" and answers else None)
    try:
        sleeps = []
        client = XApiClient(server.base_url, TOKEN, sleep=sleeps.append)
        pid = client.create_post("posted on the third try")
        assert [p.post_id for p in server.live_posts()] == [pid] and len(sleeps) == 2
    finally:
        server.stop()


def test_an_answer_held_past_the_timeout_after_x_posted_is_found_not_posted_twice():
    held = [ScheduledFault(handle_first=True, delay=0.6)]
    server = _x_with(lambda method, path, query, body: held.pop(0) if method == "POST" and held else None)
    try:
        client = XApiClient(server.base_url, TOKEN, timeout=0.2, sleep=lambda s: None)
        pid = client.create_post("X made it; the answer came too late")
        assert [p.post_id for p in server.live_posts()] == [pid]
        # Before retrying, the client asked X and found the post: the create was sent once.
        assert client.creates_found_on_x == 1 and server.repeated_creates == []
        assert len([r for r in server.requests_log if r[:2] == ("POST", "/2/tweets")]) == 1
    finally:
        server.stop()


def test_a_scheduled_429_carries_its_reset_time():
    reset = int((datetime.now(timezone.utc) + timedelta(minutes=9)).timestamp())
    limited = ScheduledFault(status=429, headers={"x-rate-limit-reset": str(reset)})
    server = _x_with(lambda method, path, query, body: limited if method == "POST" else None)
    try:
        with pytest.raises(XRateLimited) as caught:
            XApiClient(server.base_url, TOKEN, sleep=lambda s: None).create_post("not now")
        assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=timezone.utc)
        assert server.live_posts() == []
    finally:
        server.stop()


REQUEST = WriteRequest(content_type="fact", prompt="One fact.", persona="p", niche="sleep", topics=("naps",),
                       thread=False, seed=1)


def test_openai_429_is_retried_by_the_sdk_then_the_writer_answers():
    modes = ["429"]
    fake = FakeOpenAI(lambda body: {"topic": "naps", "parts": ["A 20-minute nap ends before deep sleep."]},
                      fault_schedule=lambda endpoint, body: modes.pop(0) if modes else None)
    url = fake.start()
    try:
        draft = OpenAIWriter("k", "gpt-5.4-nano", base_url=url, max_retries=2).write(REQUEST)
        assert draft.parts and fake.calls("responses") == 2
        assert [s["status"] for s in fake.sent] == [429, 200]
    finally:
        fake.stop()


def test_an_openai_outage_reaches_the_caller_once_the_sdk_gives_up():
    import openai
    fake = FakeOpenAI(lambda body: {"topic": "t", "parts": ["p"]}, hang_seconds=0.5,
                      fault_schedule=lambda endpoint, body: "timeout")
    url = fake.start()
    try:
        with pytest.raises(openai.APITimeoutError):
            OpenAIWriter("k", "gpt-5.4-nano", base_url=url, timeout=0.1, max_retries=1).write(REQUEST)
        assert fake.calls("responses") == 2
    finally:
        fake.stop()


@pytest.fixture()
def store():
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    with mock_aws():
        tables = bind_tables(TableNames("content-test", "o", "b", "m"), "us-east-1")
        tables.content_metadata.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        s = DynamoDecisionStore(tables)
        s.put_new(Decision(account_id="a", decision_id="d1", planned_at=NOW, status=Status.PLANNED, parts=["p"]))
        yield s
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_only_the_holder_of_the_claim_may_write(store):
    d = store.claim_for_posting("a", "d1", NOW)
    late = NOW + timedelta(minutes=4)
    taken = store.take_over_claim("a", "d1", NOW, late)
    assert taken.status is Status.POSTING and taken.updated_at == late
    with pytest.raises(ClaimRefused):               # the first holder lost it
        d.status = Status.POSTED
        store.save_claimed(d, NOW)
    with pytest.raises(ClaimRefused):               # a second taker of the same old claim loses
        store.take_over_claim("a", "d1", NOW, late + timedelta(seconds=1))
    taken.status, taken.post_ids = Status.POSTED, ["1"]
    store.save_claimed(taken, late)
    assert store.get("a", "d1").post_ids == ["1"]


def test_the_catch_fails_a_decision_unless_it_already_ended(store):
    assert store.fail_unless_terminal("a", "d1", "post failed: RetryLater: X 429", NOW)
    d = store.get("a", "d1")
    assert d.status is Status.FAILED and d.status_reason == "post failed: RetryLater: X 429"
    assert not store.fail_unless_terminal("a", "d1", "again", NOW)
    assert not store.fail_unless_terminal("a", "missing", "nothing to fail", NOW)
    assert store.get("a", "missing") is None
