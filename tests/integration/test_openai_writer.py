"""The OpenAI writer, with the real SDK, against a fake Responses endpoint on 127.0.0.1."""
from __future__ import annotations

import pytest

from postloop.adapters.openai_writer import DRAFT_SCHEMA, OpenAIWriter, WriterError
from postloop.core.ports import WriteRequest
from postloop.core.text_rules import fits
from postloop_local.fake_openai import FakeOpenAI

REQUEST = WriteRequest(content_type="factual_single", prompt="One fact.", persona="A sleep researcher",
                       niche="sleep science", topics=("naps",), thread=False, seed=1)


@pytest.fixture()
def fake():
    replies = []
    server = FakeOpenAI(lambda body: replies.pop(0))
    url = server.start()
    server.replies = replies
    server.url = url
    yield server
    server.stop()


def test_writes_a_post_with_strict_structured_output(fake):
    fake.replies.append({"topic": "naps", "parts": ["A 20-minute nap restores alertness because it ends before deep sleep."]})
    draft = OpenAIWriter("sk-test-key", "gpt-5.4-nano", base_url=fake.url).write(REQUEST)
    assert draft.parts == ("A 20-minute nap restores alertness because it ends before deep sleep.",)
    assert draft.topic == "naps" and draft.generator == "openai"
    assert draft.cost_usd == pytest.approx((120 * 0.20 + 80 * 1.25) / 1e6)
    sent = fake.requests[0]
    assert sent["path"] == "/v1/responses" and sent["auth"] == "Bearer sk-test-key"
    fmt = sent["body"]["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True and fmt["schema"] == DRAFT_SCHEMA
    assert sent["body"]["model"] == "gpt-5.4-nano"


def test_overlong_parts_are_repaired_to_fit(fake):
    long = ("Sleep debt builds when you sleep less than you need. " * 12).strip()
    fake.replies.append({"topic": "sleep debt", "parts": [long, "Second part that is fine and specific: 7 hours."]})
    draft = OpenAIWriter("k", "gpt-5.4-nano", base_url=fake.url).write(
        WriteRequest(**{**REQUEST.__dict__, "thread": True}))
    assert all(fits(p) for p in draft.parts) and len(draft.parts) == 2


@pytest.mark.parametrize("answer", ["not json", {"topic": "x"}, {"topic": "x", "parts": []}, {"topic": "x", "parts": [" "]}])
def test_unusable_answers_raise_a_clear_error(fake, answer):
    fake.replies.append(answer)
    with pytest.raises(WriterError):
        OpenAIWriter("k", "gpt-5.4-nano", base_url=fake.url, max_retries=0).write(REQUEST)
