"""Moderation, the quality judge and embeddings novelty: the real openai SDK over HTTP against the
fake on 127.0.0.1, driven through plan. Every answer the fake sends must parse with the SDK's own
types, so the fake cannot drift from what the SDK expects."""
from __future__ import annotations

import base64
import struct
from datetime import datetime, timedelta, timezone

import pytest
from openai.types import CreateEmbeddingResponse, ModerationCreateResponse
from openai.types.responses import Response

from postloop.adapters.openai_embeddings import OpenAIEmbedder
from postloop.adapters.openai_judge import JUDGE_SCHEMA, OpenAIJudge
from postloop.adapters.openai_moderation import OpenAIModerator
from postloop.core import features as feat
from postloop.core.account import parse_account
from postloop.core.plan import PlanDeps, plan
from postloop.core.ports import Draft, JudgeRequest
from postloop.core.quality import QualityContext, score_quality
from postloop.core.records import Decision, Status
from postloop_local.fake_openai import JUDGE_FORMAT, FakeOpenAI, embed_text
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry, MemoryOutcomeStore

NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "A sleep researcher", "niche": "sleep science",
           "topics": ["naps"], "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "One fact."}],
           "posting_hours": [9, 21]}
DRAFTS = (
    "A 20-minute nap restores alertness because it ends before deep sleep, which means no grogginess.",
    "Caffeine has a half-life of about 5 hours, so a 4 pm coffee still blocks adenosine at 9 pm.",
    "Most people need 7 to 9 hours: sleep debt of 1 hour a night adds up to a lost night per week.",
)
RECENT = (
    "Light in the first hour after waking sets your circadian clock for the whole day.",
    "REM sleep consolidates procedural memory, which is why practice sticks after a night's rest.",
)
NANO = (120 * 0.20 + 80 * 1.25) / 1e6        # one fake Responses call priced as gpt-5.4-nano
FAST = {"timeout": 0.5, "max_retries": 1}     # short, bounded: a timeout costs about a second


def _rule(parts, config) -> float:
    """The rule score plan gives a draft of this account."""
    return score_quality(parts, banned_phrases=config.banned_phrases, context=QualityContext.of(config)).score


class FixedWriter:
    """Writes DRAFTS (or the given texts) in turn, so every number below can be computed by hand."""

    generator = "fixed"

    def __init__(self, texts=DRAFTS):
        self.texts, self.calls = list(texts), 0

    def write(self, request):
        text = self.texts[self.calls % len(self.texts)]
        self.calls += 1
        return Draft(parts=(text,), topic="naps", generator=self.generator)


def _sdk_parses(sent: dict) -> None:
    """Parse one answer of the fake with the SDK's own type (strictly, not the SDK's lenient build)."""
    payload = sent["payload"]
    if sent["endpoint"] == "responses":
        Response.model_validate(payload)
    elif sent["endpoint"] == "moderations":
        ModerationCreateResponse.model_validate(payload)
    else:
        data = [dict(e, embedding=list(struct.unpack(f"<{len(base64.b64decode(e['embedding'])) // 4}f",
                                                      base64.b64decode(e["embedding"]))))
                if isinstance(e["embedding"], str) else e for e in payload["data"]]
        CreateEmbeddingResponse.model_validate({**payload, "data": data})


@pytest.fixture()
def fake():
    server = FakeOpenAI(judge=lambda body: server.judgement, flag_words={"violence": ["attack"]},
                        hang_seconds=3.0)
    server.judgement = {"score": 0.9, "reasons": ["specific", "clear mechanism"]}
    server.url = server.start()
    yield server
    server.stop()
    # A 200 the SDK's types cannot parse would mean the fake no longer speaks OpenAI's language.
    for sent in server.sent:
        if sent["status"] == 200:
            _sdk_parses(sent)


def _deps(fake, writer=None, **checks) -> PlanDeps:
    deps = PlanDeps(MemoryDecisionStore(), MemoryArmStore(), writer or FixedWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore())
    for name, value in checks.items():
        setattr(deps, name, value)
    return deps


def moderator(fake, **kw):
    return OpenAIModerator("sk-test", base_url=fake.url, **{**FAST, **kw})


def judge(fake, **kw):
    return OpenAIJudge("sk-test", "gpt-5.4-nano", base_url=fake.url, **{**FAST, **kw})


def embedder(fake, **kw):
    return OpenAIEmbedder("sk-test", base_url=fake.url, **{**FAST, **kw})


def _with_recent_posts(deps):
    for i, text in enumerate(RECENT):
        posted = NOW - timedelta(days=2 + i)
        deps.decisions.put_new(Decision("a", f"old{i}", posted, Status.POSTED, parts=[text], posted_at=posted))
    return deps


# --- moderation -----------------------------------------------------------------------------------

def test_clean_drafts_pass_moderation_in_one_call(fake):
    config = parse_account({**ACCOUNT, "safety": {"moderation": True}})
    d = plan(config, NOW, _deps(fake, moderator=moderator(fake)))
    assert d.status is Status.PLANNED
    [request] = [r for r in fake.requests if r["path"] == "/v1/moderations"]
    assert request["body"]["model"] == "omni-moderation-latest" and request["body"]["input"] == list(DRAFTS)
    assert request["auth"] == "Bearer sk-test"
    assert d.features.checks["safety"] == {"passed": True, "reasons": [], "error": False, "moderated": True}
    # Moderation is free: counted, and the decision's OpenAI spend stays 0.
    assert d.features.checks["openai"]["calls"]["moderation"] == 1 and d.spend == {"openai_usd": 0.0}


def test_a_flagged_draft_is_rejected_and_the_reason_recorded(fake):
    config = parse_account({**ACCOUNT, "safety": {"moderation": True}})
    flagged = "We attack sleep debt with one rule: 7 hours, every night, no exceptions."
    d = plan(config, NOW, _deps(fake, FixedWriter([flagged, DRAFTS[0], DRAFTS[1]]), moderator=moderator(fake)))
    assert d.status is Status.PLANNED and flagged not in d.parts[0]
    [rejected] = [c for c in d.candidates if c["parts"] == [flagged]]
    assert rejected["problems"] == ["safety: flagged by moderation (violence)"]
    assert rejected["checks"]["safety"]["moderated"] is True


def test_only_flagged_drafts_means_a_rejected_decision(fake):
    config = parse_account({**ACCOUNT, "max_candidates": 1, "safety": {"moderation": True}})
    d = plan(config, NOW, _deps(fake, FixedWriter(["Attack your mornings with light."]), moderator=moderator(fake)))
    assert d.status is Status.REJECTED and d.status_reason == "content: safety: flagged by moderation (violence)"


@pytest.mark.parametrize("fault, shown, requests", [
    ("timeout", "APITimeoutError", 2),              # one try plus one bounded retry, then give up
    ("500", "InternalServerError", 2),
    ("malformed", "ModerationError: expected 3 result(s), got 2", 1),   # a 200 is not retried
])
def test_a_moderation_error_blocks_the_post_and_says_why(fake, fault, shown, requests):
    fake.fail("moderations", fault)
    config = parse_account({**ACCOUNT, "safety": {"moderation": True}})
    deps = _deps(fake, moderator=moderator(fake))
    d = plan(config, NOW, deps)
    reason = f"safety check failed: moderation unavailable ({shown})"
    assert d.status is Status.REJECTED and d.status_reason == reason
    assert all(c["problems"] == [reason] for c in d.candidates)
    assert fake.calls("moderations") == requests
    assert deps.decisions.get("a", d.decision_id).status is Status.REJECTED   # stored: post will refuse it


# --- the judge ------------------------------------------------------------------------------------

def test_the_judge_is_blended_into_quality(fake):
    config = parse_account({**ACCOUNT, "judge": {"weight": 0.4}})
    d = plan(config, NOW, _deps(fake, judge=judge(fake)))
    rule = {text: _rule([text], config) for text in DRAFTS}
    chosen = d.parts[0]
    assert d.features.quality == pytest.approx(0.6 * rule[chosen] + 0.4 * 0.9)
    for c in d.candidates:
        assert c["quality"] == pytest.approx(0.6 * rule[c["parts"][0]] + 0.4 * 0.9)
    assert d.features.checks["judge"] == {"weight": 0.4, "rule_score": rule[chosen], "score": 0.9,
                                          "reasons": ["specific", "clear mechanism"]}
    # Three judge calls at gpt-5.4-nano prices, recorded with the writer's (free, here) spend.
    assert d.features.checks["openai"]["calls"]["judge"] == 3
    assert d.spend["openai_usd"] == pytest.approx(round(3 * NANO, 6))
    sent = [r["body"] for r in fake.requests if r["path"] == "/v1/responses"]
    fmt = sent[0]["text"]["format"]
    assert fmt == {"type": "json_schema", "name": JUDGE_FORMAT, "schema": JUDGE_SCHEMA, "strict": True}
    assert {b["input"] for b in sent} == set(DRAFTS)


def test_drafts_already_rejected_are_not_judged(fake):
    config = parse_account({**ACCOUNT, "judge": {"weight": 0.5}, "banned_phrases": ["no grogginess"]})
    d = plan(config, NOW, _deps(fake, judge=judge(fake)))
    assert fake.calls("responses") == 2
    [capped] = [c for c in d.candidates if c["parts"] == [DRAFTS[0]]]
    assert capped["quality"] <= 0.2 and capped["checks"]["judge"]["skipped"] == "draft already rejected"


@pytest.mark.parametrize("fault, shown", [
    ("timeout", "APITimeoutError"),
    ("500", "InternalServerError"),
    # A malformed answer is asked for again (twice by default), then reported.
    ("malformed", "JudgeError: the model's answer was unusable 3 time(s) in a row; last: the answer is not JSON"),
])
def test_a_judge_error_keeps_the_rule_score_and_notes_it(fake, fault, shown):
    fake.fail("responses", fault)
    config = parse_account({**ACCOUNT, "judge": {"weight": 0.4}})
    d = plan(config, NOW, _deps(fake, judge=judge(fake)))
    assert d.status is Status.PLANNED   # quality is not safety: the post goes ahead on the rule score
    assert d.features.quality == _rule(d.parts, config)
    assert d.features.checks["judge"]["unavailable"] == f"judge unavailable ({shown})"
    assert all(c["quality"] == _rule(c["parts"], config) for c in d.candidates)
    assert d.features.checks["openai"]["calls"]["judge"] == 1     # the first failure stops the judging
    # Malformed answers were still billed calls (three of them); a timeout or a 500 was not.
    assert d.spend["openai_usd"] == pytest.approx(round(3 * NANO, 6) if fault == "malformed" else 0.0)


def test_a_judge_score_out_of_range_is_refused(fake):
    fake.judgement = {"score": 7, "reasons": []}
    config = parse_account({**ACCOUNT, "judge": {"weight": 0.4}})
    d = plan(config, NOW, _deps(fake, judge=judge(fake)))
    assert "is not a number in [0, 1]" in d.features.checks["judge"]["unavailable"]
    assert d.features.quality == _rule(d.parts, config)


# --- embeddings novelty ---------------------------------------------------------------------------

def _cosine_novelty(text: str) -> float:
    return feat.cosine_novelty(embed_text(text, 64), [embed_text(r, 64) for r in RECENT])


def test_novelty_by_embeddings_against_recent_posts(fake):
    config = parse_account({**ACCOUNT, "novelty": {"method": "embeddings"}})
    d = plan(config, NOW, _with_recent_posts(_deps(fake, embedder=embedder(fake))))
    assert d.status is Status.PLANNED
    [request] = [r for r in fake.requests if r["path"] == "/v1/embeddings"]
    # One call per plan: the recent posts (oldest first) and the drafts together.
    assert request["body"]["model"] == "text-embedding-3-small"
    assert request["body"]["input"] == [RECENT[1], RECENT[0], *DRAFTS]
    chosen = d.parts[0]
    assert d.features.novelty == pytest.approx(_cosine_novelty(chosen))
    assert d.features.checks["novelty"] == {"method": "embeddings", "embeddings": pytest.approx(_cosine_novelty(chosen)),
                                            "ngrams": pytest.approx(feat.novelty(chosen, list(RECENT)))}
    tokens = fake.sent[-1]["payload"]["usage"]["prompt_tokens"]
    assert d.spend["openai_usd"] == pytest.approx(round(tokens * 0.02 / 1e6, 6))
    assert d.features.checks["openai"]["usd"]["embeddings"] == pytest.approx(round(tokens * 0.02 / 1e6, 6))


def test_a_reworded_repeat_is_a_near_duplicate_by_embeddings(fake):
    # The same words in another order; the fake's embeddings are bags of words, so they match exactly.
    # The n-gram threshold is 0 here, so only the embeddings method can reject the draft.
    shuffled = " ".join(reversed(RECENT[0].rstrip(".").split())) + "."
    config = parse_account({**ACCOUNT, "max_candidates": 1, "min_novelty": 0.0,
                            "novelty": {"method": "embeddings", "min_novelty": 0.1}})
    d = plan(config, NOW, _with_recent_posts(_deps(fake, FixedWriter([shuffled]), embedder=embedder(fake))))
    assert d.status is Status.REJECTED
    assert d.status_reason == "content: near-duplicate of a recent post (embedding novelty 0.00)"


def test_without_recent_posts_no_embeddings_are_bought(fake):
    config = parse_account({**ACCOUNT, "novelty": {"method": "embeddings"}})
    d = plan(config, NOW, _deps(fake, embedder=embedder(fake)))
    assert fake.calls("embeddings") == 0 and d.features.novelty == 1.0 and d.spend == {"openai_usd": 0.0}


@pytest.mark.parametrize("fault, shown", [
    ("timeout", "APITimeoutError"),
    ("500", "InternalServerError"),
    ("malformed", "EmbeddingError: expected 5 embedding(s) indexed 0-4, got 4"),
])
def test_an_embeddings_error_falls_back_to_ngrams_and_notes_it(fake, fault, shown):
    fake.fail("embeddings", fault)
    config = parse_account({**ACCOUNT, "novelty": {"method": "embeddings"}})
    d = plan(config, NOW, _with_recent_posts(_deps(fake, embedder=embedder(fake))))
    assert d.status is Status.PLANNED
    assert d.features.novelty == feat.novelty(d.parts[0], [RECENT[1], RECENT[0]])
    assert d.features.checks["novelty"]["method"] == "ngrams"
    assert d.features.checks["novelty"]["fallback"] == f"embeddings unavailable ({shown})"
    # The malformed answer was billed (its usage is known); the failed calls cost nothing.
    assert (d.spend["openai_usd"] > 0) is (fault == "malformed")


# --- everything at once -------------------------------------------------------------------------

def test_all_checks_together_record_calls_and_spend(fake):
    config = parse_account({**ACCOUNT, "safety": {"moderation": True, "banned_words": ["casino"]},
                            "judge": {"weight": 0.25}, "novelty": {"method": "embeddings"}})
    d = plan(config, NOW, _with_recent_posts(_deps(fake, moderator=moderator(fake), judge=judge(fake),
                                                   embedder=embedder(fake))))
    assert d.status is Status.PLANNED
    openai = d.features.checks["openai"]
    assert openai["calls"] == {"moderation": 1, "judge": 3, "embeddings": 1}
    assert openai["usd"]["moderation"] == 0.0 and openai["usd"]["judge"] == pytest.approx(round(3 * NANO, 6))
    assert d.spend["openai_usd"] == pytest.approx(openai["usd"]["judge"] + openai["usd"]["embeddings"])


# --- wiring -----------------------------------------------------------------------------------------

def test_wiring_builds_the_checks_from_the_writers_openai_secret(fake):
    from postloop.runtime.settings import load_settings
    from postloop.runtime.wiring import Wiring

    class SecretWiring(Wiring):
        def _secret(self, secret_id):   # stands in for Secrets Manager; the key is what matters here
            assert secret_id == "postloop/openai"
            return {"api_key": "sk-wired"}

    env = {"AWS_REGION": "us-east-1", "POSTLOOP_ACCOUNTS_FILE": "unused", "OPENAI_BASE_URL": fake.url}
    w = SecretWiring(load_settings({**env, "POSTLOOP_OPENAI_SECRET_ID": "postloop/openai"}))
    assert w.moderator.moderate([DRAFTS[0]])[0].flagged is False
    assert w.judge.judge(JudgeRequest(parts=(DRAFTS[0],), content_type="fact", prompt="One fact.",
                                      persona="p", niche="n")).score == 0.9
    assert len(w.embedder.embed([DRAFTS[0]]).vectors) == 1
    assert {r["auth"] for r in fake.requests} == {"Bearer sk-wired"}
    assert {r["path"] for r in fake.requests} == {"/v1/moderations", "/v1/responses", "/v1/embeddings"}
    # Without an OpenAI secret there is nothing to build: plan then refuses accounts that need them.
    bare = Wiring(load_settings(env))
    assert bare.moderator is None and bare.judge is None and bare.embedder is None
