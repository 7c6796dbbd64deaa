"""The judge, and the wiring from settings, against a Chat-Completions-only server: the real openai SDK
over HTTP against the fake on 127.0.0.1. (The writer's own cases are in test_openai_writer.py.)"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from openai.types.chat import ChatCompletion

from postloop.adapters.openai_judge import JUDGE_SCHEMA, JudgeError, OpenAIJudge
from postloop.core.account import parse_account
from postloop.core.plan import PlanDeps, plan
from postloop.core.ports import Draft, JudgeRequest
from postloop.core.quality import QualityContext, score_quality
from postloop.core.records import Status
from postloop.runtime.settings import load_settings
from postloop.runtime.wiring import Wiring
from postloop_local.fake_openai import FakeOpenAI
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry, MemoryOutcomeStore

NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
DRAFT = "A 20-minute nap restores alertness because it ends before deep sleep, which means no grogginess."
REQUEST = JudgeRequest(parts=(DRAFT,), content_type="fact", prompt="One fact.", persona="A sleep researcher",
                       niche="sleep science")
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "A sleep researcher", "niche": "sleep science",
           "topics": ["naps"], "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "One fact."}],
           "posting_hours": [9, 21], "max_candidates": 1, "judge": {"weight": 0.4}}


class Judgements:
    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self, body):
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture()
def serve():
    servers = []

    def start(*judgements, **kw) -> FakeOpenAI:
        server = FakeOpenAI(lambda body: {"topic": "naps", "parts": [DRAFT]},
                            judge=Judgements(*(judgements or ({"score": 0.8, "reasons": ["specific"]},))),
                            responses_api=False, **kw)
        server.url = server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        for sent in server.sent:
            if sent["status"] == 200 and sent["endpoint"] == "chat":
                ChatCompletion.model_validate(sent["payload"])


def judge(fake, **kw):
    return OpenAIJudge("sk-test", "qwen3:8b", base_url=fake.url, api="chat", max_retries=0, **kw)


def test_the_judge_over_chat_completions_with_json_schema(serve):
    fake = serve()
    verdict = judge(fake).judge(REQUEST)
    assert verdict.score == 0.8 and verdict.reasons == ("specific",)
    [sent] = fake.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["response_format"]["json_schema"] == {"name": "post_judgement", "schema": JUDGE_SCHEMA,
                                                              "strict": True}
    assert sent["body"]["messages"][1]["content"] == DRAFT


def test_the_judge_in_json_mode_where_the_schema_is_refused(serve):
    fake = serve(chat_formats=("json_object", "text"), chat_style="fenced")
    j = judge(fake)
    assert j.judge(REQUEST).score == 0.8 and j.judge(REQUEST).score == 0.8
    assert [r["body"]["response_format"]["type"] for r in fake.requests] == ["json_schema", "json_object",
                                                                              "json_object"]


def test_a_score_out_of_range_is_asked_again_then_refused(serve):
    fake = serve({"score": 7, "reasons": []}, {"score": 0.6, "reasons": ["ok"]})
    assert judge(fake).judge(REQUEST).score == 0.6 and fake.calls("chat") == 2
    fake2 = serve({"score": 7, "reasons": []})
    with pytest.raises(JudgeError, match=r"unusable 3 time\(s\) in a row; last: the judge's score 7.0 is not a "
                                         r"number in \[0, 1\]"):
        judge(fake2).judge(REQUEST)
    assert fake2.calls("chat") == 3


def test_an_unknown_judge_model_keeps_the_rule_score_and_names_the_setting(serve):
    fake = serve(models={"llama3.2"})

    class OneDraft:
        generator = "fixed"

        def write(self, request):
            return Draft(parts=(DRAFT,), topic="naps", generator="fixed")

    deps = PlanDeps(MemoryDecisionStore(), MemoryArmStore(), OneDraft(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore(), judge=judge(fake))
    config = parse_account(ACCOUNT)
    d = plan(config, NOW, deps)
    rule = score_quality([DRAFT], context=QualityContext.of(config)).score
    assert d.status is Status.PLANNED and d.features.quality == rule
    unavailable = d.features.checks["judge"]["unavailable"]
    assert unavailable.startswith(f"judge unavailable (JudgeError: 404 Not Found from {fake.url}/chat/completions — "
                                  "the server has no model 'qwen3:8b'")
    assert "check POSTLOOP_OPENAI_JUDGE_MODEL" in unavailable and fake.calls("chat") == 1


# --- settings → wiring -------------------------------------------------------------------------------

class SecretWiring(Wiring):
    def _secret(self, secret_id):   # stands in for Secrets Manager
        return {"api_key": "sk-wired"}


def _wiring(fake, **env) -> Wiring:
    return SecretWiring(load_settings({"AWS_REGION": "us-east-1", "POSTLOOP_ACCOUNTS_FILE": "unused",
                                       "POSTLOOP_OPENAI_SECRET_ID": "postloop/openai", "OPENAI_BASE_URL": fake.url,
                                       **env}))


def test_wiring_points_every_job_at_the_configured_api_and_models(serve):
    fake = serve()
    w = _wiring(fake, POSTLOOP_OPENAI_API="chat", POSTLOOP_OPENAI_MODEL="qwen3:8b",
                POSTLOOP_OPENAI_JUDGE_MODEL="llama3.2", POSTLOOP_OPENAI_EMBEDDING_MODEL="nomic-embed-text",
                POSTLOOP_OPENAI_MODERATION_MODEL="text-moderation-stable",
                POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS="1200", POSTLOOP_OPENAI_MALFORMED_RETRIES="1")
    from postloop.core.ports import WriteRequest
    draft = w.writer.write(WriteRequest(content_type="fact", prompt="One fact.", persona="p", niche="sleep",
                                        topics=("naps",), thread=False, seed=1))
    assert draft.parts == (DRAFT,)
    assert w.judge.judge(REQUEST).score == 0.8
    assert len(w.embedder.embed([DRAFT]).vectors) == 1
    w.moderator.moderate([DRAFT])
    sent = {(r["path"], r["body"]["model"]) for r in fake.requests}
    assert sent == {("/v1/chat/completions", "qwen3:8b"), ("/v1/chat/completions", "llama3.2"),
                    ("/v1/embeddings", "nomic-embed-text"), ("/v1/moderations", "text-moderation-stable")}
    chats = [r["body"] for r in fake.requests if r["path"] == "/v1/chat/completions"]
    assert {b["max_tokens"] for b in chats} == {1200}
    assert {r["auth"] for r in fake.requests} == {"Bearer sk-wired"}
    assert w.writer._structured.malformed_retries == 1


def test_the_judge_uses_the_writers_model_unless_told_otherwise(serve):
    fake = serve()
    w = _wiring(fake, POSTLOOP_OPENAI_API="chat", POSTLOOP_OPENAI_MODEL="qwen3:8b")
    w.judge.judge(REQUEST)
    assert fake.requests[-1]["body"]["model"] == "qwen3:8b"


class NoModerationFake(FakeOpenAI):
    """A server with Chat Completions only (llama.cpp, Bedrock's OpenAI path): no moderation, no embeddings."""

    def _refusal(self, endpoint, body, auth):
        if endpoint in ("moderations", "embeddings"):
            return 404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}
        return super()._refusal(endpoint, body, auth)


def test_moderation_on_a_server_without_it_blocks_every_draft_and_says_why():
    fake = NoModerationFake(lambda body: {"topic": "naps", "parts": [DRAFT]}, responses_api=False)
    fake.url = fake.start()
    try:
        w = _wiring(fake, POSTLOOP_OPENAI_API="chat")

        class OneDraft:
            generator = "fixed"

            def write(self, request):
                return Draft(parts=(DRAFT,), topic="naps", generator="fixed")

        account = {**ACCOUNT, "judge": {"weight": 0.0}, "safety": {"moderation": True}}
        deps = PlanDeps(MemoryDecisionStore(), MemoryArmStore(), OneDraft(), MemoryModelRegistry(), None,
                        outcomes=MemoryOutcomeStore(), moderator=w.moderator)
        d = plan(parse_account(account), NOW, deps)
        # Fail closed: nothing is posted unmoderated, and the reason says what is missing.
        assert d.status is Status.REJECTED
        assert d.status_reason == ("safety check failed: moderation unavailable (ModerationError: 404: the server "
                                   "has no moderation endpoint or no model 'omni-moderation-latest' "
                                   "(POSTLOOP_OPENAI_MODERATION_MODEL))")
    finally:
        fake.stop()
