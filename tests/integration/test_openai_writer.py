"""The writer, with the real openai SDK over HTTP, against the fake on 127.0.0.1 speaking either the
Responses API or Chat Completions the way the common OpenAI-compatible servers do (no Responses API,
`response_format` refused with 400 or 500, JSON mode only, raw newlines in strings, code fences,
prose around the JSON, truncation at the token limit, `max_tokens` refused)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from postloop.adapters import openai_structured
from postloop.adapters.openai_writer import DRAFT_SCHEMA, OpenAIWriter, WriterError
from postloop.core.post import RetryLater
from postloop.core.ports import WriteRequest, WriterFailed
from postloop.core.records import Status
from postloop.core.text_rules import fits
from postloop.runtime import tasks
from postloop.runtime.tasks import plan_task
from postloop_local import simulate
from postloop_local.fake_openai import FakeOpenAI
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import MemoryWiring

REQUEST = WriteRequest(content_type="factual_single", prompt="One fact.", persona="A sleep researcher",
                       niche="sleep science", topics=("naps",), thread=False, seed=1)
THREAD = WriteRequest(**{**REQUEST.__dict__, "thread": True})
POST = "A 20-minute nap restores alertness because it ends before deep sleep."
GOOD = {"topic": "naps", "parts": [POST]}
TWO_LINES = {"topic": "naps", "parts": ["A 20-minute nap works.\nIt ends before deep sleep starts.",
                                        "Keep it before 3 pm: later naps cut into the night's deep sleep."]}
NANO = (120 * 0.20 + 80 * 1.25) / 1e6     # one fake answer priced as gpt-5.4-nano
T0 = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)


class Replies:
    """The fake's answers in turn; the last one repeats."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self, body):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture()
def serve():
    servers = []

    def start(*answers, **kw) -> FakeOpenAI:
        server = FakeOpenAI(Replies(*(answers or (GOOD,))), **kw)
        server.url = server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        # Every 200 must parse with the SDK's own types: the fake speaks the protocol, not a guess of it.
        for sent in server.sent:
            if sent["status"] == 200 and sent["endpoint"] == "chat":
                ChatCompletion.model_validate(sent["payload"])
            elif sent["status"] == 200 and sent["endpoint"] == "responses":
                Response.model_validate(sent["payload"])


def writer(fake, api="responses", **kw):
    return OpenAIWriter("sk-test-key", "gpt-5.4-nano", base_url=fake.url, api=api, max_retries=0, **kw)


# --- the Responses API -----------------------------------------------------------------------------

def test_writes_a_post_with_strict_structured_output(serve):
    fake = serve(GOOD)
    draft = writer(fake).write(REQUEST)
    assert draft.parts == (POST,)
    assert draft.topic == "naps" and draft.generator == "openai"
    assert draft.cost_usd == pytest.approx(NANO)
    sent = fake.requests[0]
    assert sent["path"] == "/v1/responses" and sent["auth"] == "Bearer sk-test-key"
    fmt = sent["body"]["text"]["format"]
    assert fmt == {"type": "json_schema", "name": "post_draft", "schema": DRAFT_SCHEMA, "strict": True}
    assert sent["body"]["model"] == "gpt-5.4-nano" and sent["body"]["max_output_tokens"] == 800


def test_the_schema_is_strict_mode_shaped():
    # What OpenAI's strict mode requires: every property required, no others allowed.
    assert DRAFT_SCHEMA["additionalProperties"] is False
    assert set(DRAFT_SCHEMA["required"]) == set(DRAFT_SCHEMA["properties"]) == {"topic", "parts"}


def test_overlong_parts_are_repaired_to_fit(serve):
    long = ("Sleep debt builds when you sleep less than you need. " * 12).strip()
    fake = serve({"topic": "sleep debt", "parts": [long, "Second part that is fine and specific: 7 hours."]})
    draft = writer(fake).write(THREAD)
    assert all(fits(p) for p in draft.parts) and len(draft.parts) == 2


@pytest.mark.parametrize("answer, shown", [
    ("not json", "the answer is not JSON"),
    ({"topic": "x"}, "parts: Field required"),
    ({"topic": "x", "parts": "one string"}, "parts: Input should be a valid list"),
    ({"topic": "x", "parts": [], "extra": 1}, "extra: Extra inputs are not permitted"),
    ({"topic": "x", "parts": []}, "the model returned no post"),
    ({"topic": "x", "parts": [" "]}, "no part of the model's answer fits X's length rule"),
])
def test_an_unusable_answer_is_asked_again_a_bounded_number_of_times_then_reported(serve, answer, shown):
    fake = serve(answer)
    with pytest.raises(WriterError) as caught:
        writer(fake, malformed_retries=2).write(REQUEST)
    assert fake.calls("responses") == 3
    err = caught.value
    assert str(err).startswith("the model's answer was unusable 3 time(s) in a row; last: ") and shown in str(err)
    # About this answer, not the configuration: plan goes on with its other drafts. Every attempt was billed.
    assert err.this_draft_only and isinstance(err, WriterFailed)
    assert err.cost_usd == pytest.approx(3 * NANO)


def test_a_malformed_answer_then_a_good_one_gives_the_good_one(serve):
    fake = serve("I would write about naps.", GOOD)
    draft = writer(fake).write(REQUEST)
    assert draft.parts == (POST,) and fake.calls("responses") == 2
    assert draft.cost_usd == pytest.approx(2 * NANO)   # the unusable answer was billed too


def test_no_retry_when_malformed_retries_is_zero(serve):
    fake = serve("not json")
    with pytest.raises(WriterError):
        writer(fake, malformed_retries=0).write(REQUEST)
    assert fake.calls("responses") == 1


def test_an_answer_cut_at_the_token_limit_says_so(serve):
    long = {"topic": "naps", "parts": [POST] * 4}
    fake = serve(long)
    with pytest.raises(WriterError, match=r"cut off at the token limit \(64; raise POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS\)"):
        writer(fake, max_output_tokens=64, malformed_retries=1).write(THREAD)
    assert fake.sent[-1]["payload"]["status"] == "incomplete"
    assert len(writer(fake, max_output_tokens=400).write(THREAD).parts) == 4


def test_a_server_without_the_responses_api_is_a_permanent_error_with_the_fix(serve):
    fake = serve(responses_api=False)
    with pytest.raises(WriterError) as caught:
        writer(fake, malformed_retries=2).write(REQUEST)
    err = caught.value
    assert str(err).startswith(f"404 Not Found from {fake.url}/responses — the server has no Responses API; "
                               "set POSTLOOP_OPENAI_API=chat")
    assert not err.this_draft_only and fake.calls("responses") == 1     # neither the SDK nor we retried


def test_an_unknown_model_on_the_responses_api_names_the_setting(serve):
    fake = serve(models={"gpt-5.6-luna"})
    with pytest.raises(WriterError, match=r"404 Not Found .* the server has no model 'gpt-5.4-nano': check "
                                          r"POSTLOOP_OPENAI_MODEL \(server: code model_not_found"):
        writer(fake).write(REQUEST)


# --- Chat Completions -------------------------------------------------------------------------------

def test_chat_asks_with_response_format_json_schema_first(serve):
    fake = serve(GOOD, responses_api=False)
    w = writer(fake, api="chat")
    draft = w.write(REQUEST)
    assert draft.parts == (POST,) and draft.cost_usd == pytest.approx(NANO)
    [sent] = fake.requests
    body = sent["body"]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test-key"
    assert body["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "post_draft", "schema": DRAFT_SCHEMA, "strict": True}}
    assert body["max_tokens"] == 800 and body["model"] == "gpt-5.4-nano"
    system, user = body["messages"]
    assert system["role"] == "system" and json.dumps(DRAFT_SCHEMA, separators=(",", ":")) in system["content"]
    assert user == {"role": "user", "content": "Content type: factual_single. One fact.\nPick one topic from: naps."}
    assert w._structured.chat_format == "json_schema"


@pytest.mark.parametrize("accepted, refusal, asked, kept", [
    (("json_object", "text"), 400, ["json_schema", "json_object"], "json_object"),   # JSON mode only
    (("json_object", "text"), 500, ["json_schema", "json_object"], "json_object"),   # a 500 on the schema
    (("text",), 400, ["json_schema", "json_object", None], "prompt"),                 # neither: the prompt
    (("text",), 500, ["json_schema", "json_object", None], "prompt"),
    (("json_schema", "text"), 400, ["json_schema"], "json_schema"),                  # LM Studio: no JSON mode
])
def test_chat_steps_down_to_json_mode_then_the_prompt_and_keeps_the_step(serve, accepted, refusal, asked, kept):
    fake = serve(TWO_LINES, responses_api=False, chat_formats=accepted, format_refusal=refusal)
    w = writer(fake, api="chat")
    assert w.write(THREAD).parts == tuple(TWO_LINES["parts"])
    assert [(r["body"].get("response_format") or {}).get("type") for r in fake.requests] == asked
    assert w._structured.chat_format == kept
    # The step is paid once per client: the next draft asks in the form that answered.
    fake.requests.clear()
    w.write(THREAD)
    assert [(r["body"].get("response_format") or {}).get("type") for r in fake.requests] == [asked[-1]]


def test_a_transient_500_everywhere_is_not_a_step_down(serve):
    import openai
    fake = serve(responses_api=False)
    fake.fail("chat", "500")
    w = writer(fake, api="chat")
    with pytest.raises(openai.InternalServerError):
        w.write(REQUEST)
    assert w._structured.chat_format == "json_schema"      # nothing answered lower down: nothing is kept


@pytest.mark.parametrize("style", ["raw_newlines", "fenced", "prose"])
def test_chat_answers_as_local_models_write_them_are_read(serve, style):
    fake = serve(TWO_LINES, responses_api=False, chat_style=style)
    assert writer(fake, api="chat").write(THREAD).parts == tuple(TWO_LINES["parts"])
    assert fake.calls("chat") == 1


@pytest.mark.parametrize("style", ["raw_newlines", "fenced", "prose"])
def test_without_lenient_reading_those_answers_are_lost(serve, style, monkeypatch):
    # The guard off: strict json.loads, as the writer used to read answers.
    monkeypatch.setattr(openai_structured, "extract_json", json.loads)
    fake = serve(TWO_LINES, responses_api=False, chat_style=style)
    with pytest.raises(WriterError, match="unusable 2 time"):
        writer(fake, api="chat", malformed_retries=1).write(THREAD)


def test_chat_truncation_at_the_token_limit_is_reported_and_bounded(serve):
    fake = serve({"topic": "naps", "parts": [POST] * 4}, responses_api=False)
    with pytest.raises(WriterError) as caught:
        writer(fake, api="chat", max_output_tokens=64, malformed_retries=2).write(THREAD)
    assert "cut off at the token limit (64; raise POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS)" in str(caught.value)
    assert fake.calls("chat") == 3 and caught.value.this_draft_only
    assert {s["payload"]["choices"][0]["finish_reason"] for s in fake.sent} == {"length"}


def test_truncation_without_its_check_is_a_vaguer_reason(serve, monkeypatch):
    # The guard off (finish_reason ignored): the reason no longer says what to change.
    real = openai_structured.StructuredClient._chat

    def ignore_length(self, *args):
        reply = real(self, *args)
        return openai_structured._Reply(**{**reply.__dict__, "cut_off": False})

    monkeypatch.setattr(openai_structured.StructuredClient, "_chat", ignore_length)
    fake = serve({"topic": "naps", "parts": [POST] * 4}, responses_api=False)
    with pytest.raises(WriterError) as caught:
        writer(fake, api="chat", max_output_tokens=64, malformed_retries=0).write(THREAD)
    assert "token limit" not in str(caught.value)


def test_a_server_that_refuses_max_tokens_gets_max_completion_tokens(serve):
    fake = serve(GOOD, responses_api=False, refuse_max_tokens=True)
    w = writer(fake, api="chat")
    w.write(REQUEST)
    w.write(REQUEST)
    bodies = [r["body"] for r in fake.requests]
    assert ["max_tokens" in b for b in bodies] == [True, False, False]
    assert [b.get("max_completion_tokens") for b in bodies] == [None, 800, 800]


def test_chat_unknown_model_is_permanent_and_names_the_setting(serve):
    fake = serve(responses_api=False, models={"qwen3:8b"})
    with pytest.raises(WriterError) as caught:
        writer(fake, api="chat").write(REQUEST)
    assert str(caught.value).startswith(
        f"404 Not Found from {fake.url}/chat/completions — the server has no model 'gpt-5.4-nano' or no Chat "
        "Completions API at this URL: check POSTLOOP_OPENAI_MODEL and OPENAI_BASE_URL")
    assert not caught.value.this_draft_only and fake.calls("chat") == 1


def test_a_refused_key_is_permanent_and_no_part_of_it_is_repeated(serve):
    fake = serve(responses_api=False, api_key="sk-the-right-one")
    with pytest.raises(WriterError) as caught:
        OpenAIWriter("sk-wrong-key-7f3a9", "m", base_url=fake.url, api="chat", max_retries=2).write(REQUEST)
    reason = str(caught.value)
    assert reason.startswith(f"401 Unauthorized from {fake.url}/chat/completions — the server refused the API key")
    assert fake.calls("chat") == 1                          # the SDK does not retry a 401 either
    said = fake.sent[0]["payload"]["error"]["message"]
    assert "f3a9" in said and "f3a9" not in reason and "sk-" not in reason


class KeyQuotingFake(FakeOpenAI):
    """A server whose 400 quotes the whole key sent (some proxies echo their request)."""

    def _refusal(self, endpoint, body, auth):
        return 400, {"error": {"message": f"bad request from {auth}; token=tok_live_51HxYzAbCdEfGhIjKlMnOpQr",
                               "type": "invalid_request_error", "param": None, "code": None}}


def test_a_servers_words_are_kept_but_credentials_in_them_are_not():
    fake = KeyQuotingFake(Replies(GOOD), responses_api=False)
    url = fake.start()
    try:
        with pytest.raises(WriterError) as caught:
            OpenAIWriter("sk-proj-abc123secret", "m", base_url=url, api="chat", max_retries=0).write(REQUEST)
        reason = str(caught.value)
        assert "the server refused the request (server: bad request from Bearer [key]; token=[redacted])" in reason
        assert "abc123secret" not in reason and "51HxYz" not in reason
        # The guard off: the server's words go through as they are, key and all.
        original = openai_structured._redact
        openai_structured._redact = lambda text, key: text
        try:
            with pytest.raises(WriterError) as leaked:
                OpenAIWriter("sk-proj-abc123secret", "m", base_url=url, api="chat", max_retries=0).write(REQUEST)
        finally:
            openai_structured._redact = original
        assert "abc123secret" in str(leaked.value)
    finally:
        fake.stop()


def test_the_api_setting_is_checked():
    with pytest.raises(ValueError, match="api must be one of responses, chat"):
        OpenAIWriter("k", "m", client=object(), api="completions")


# --- through plan: a permanent error is a failed decision, not a retry ---------------------------------

def _plan_with(writer_):
    account = simulate.load_account("demo")
    w = MemoryWiring([account], QuietAudience(), lambda: T0)
    w.writer = writer_
    out = plan_task({"account_id": "demo", "scheduled_time": "2026-04-01T09:00:00Z"}, w)
    return out, w.decisions.get("demo", out["decision_id"])


def test_a_404_ends_as_a_failed_decision_with_the_reason_and_is_not_retried(serve):
    fake = serve(responses_api=False)
    out, d = _plan_with(writer(fake))
    reason = (f"writer: 404 Not Found from {fake.url}/responses — the server has no Responses API; "
              "set POSTLOOP_OPENAI_API=chat")
    assert out["status"] == "failed" and out["reason"].startswith(reason) and out["approved"] is False
    assert d.status is Status.FAILED and d.status_reason == out["reason"] and d.parts == []
    assert fake.calls("responses") == 1     # the first draft's refusal stops the others


def test_without_the_permanent_error_guard_the_404_would_be_retried_forever(serve, monkeypatch):
    # The guard off: every writer error is "not now", as before.
    def old_write(self, request):
        try:
            return self._inner.write(request)
        except Exception as err:
            raise RetryLater(f"writer unavailable: {type(err).__name__}") from None

    monkeypatch.setattr(tasks.RetryableWriter, "write", old_write)
    fake = serve(responses_api=False)
    with pytest.raises(RetryLater):
        _plan_with(writer(fake))


def test_one_unusable_draft_is_dropped_and_noted_the_others_are_planned(serve):
    fake = serve("no JSON here", "still none", GOOD)
    out, d = _plan_with(writer(fake, malformed_retries=1))
    assert out["status"] in ("planned", "rejected") and d.parts
    [failure] = d.features.checks["writer"]["failed_drafts"]
    assert failure.startswith("the model's answer was unusable 2 time(s) in a row; last: the answer is not JSON")
    # Two unusable answers plus three good ones (max_candidates 3), all billed.
    assert fake.calls("responses") == 4 and d.spend["openai_usd"] == pytest.approx(round(4 * NANO, 6), abs=1e-6)


def test_when_every_draft_is_unusable_the_decision_fails_with_the_last_reason(serve):
    fake = serve("no JSON here")
    out, d = _plan_with(writer(fake, malformed_retries=1))
    assert out["status"] == "failed"
    assert out["reason"] == "writer: the model's answer was unusable 2 time(s) in a row; last: the answer is not JSON"
    assert fake.calls("responses") == 6 and d.spend["openai_usd"] == pytest.approx(round(6 * NANO, 6))
    assert d.planned_at == T0 and d.updated_at == T0 and d.content_type and d.hour is not None


def test_the_same_slot_planned_again_finds_the_failed_decision(serve):
    fake = serve(responses_api=False)
    account = simulate.load_account("demo")
    w = MemoryWiring([account], QuietAudience(), lambda: T0)
    w.writer = writer(fake)
    event = {"account_id": "demo", "scheduled_time": "2026-04-01T09:00:00Z"}
    first = plan_task(event, w)
    again = plan_task(event, w)
    assert again == first and fake.calls("responses") == 1
    assert w.decisions.planned_between("demo", T0 - timedelta(hours=1), T0 + timedelta(hours=1))[0].status \
        is Status.FAILED
