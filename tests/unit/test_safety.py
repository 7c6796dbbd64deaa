"""Safety: banned words and topics, moderation verdicts, config validation, and failing closed."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from postloop.core.account import ConfigError, parse_account
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import PlanDeps, plan, require_checks
from postloop.core.ports import CheckError, Draft, ModerationResult
from postloop.core.records import Decision, Status
from postloop.core.safety import SAFETY_FAILURE, check_drafts, lexical_reasons, matches, term_problem
from postloop.runtime.tasks import plan_task
from postloop_local.memory import (MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry,
                                   MemoryOutcomeStore, MemoryWiring)

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "p", "niche": "sleep", "topics": ["naps"],
           "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "x"}], "posting_hours": [9, 21]}
CLEAN = ("A 20-minute nap restores alertness because it ends before deep sleep, which means you wake "
         "up without the grogginess of a 90-minute cycle.")


def safety(**section):
    return parse_account({**ACCOUNT, "safety": section}).safety


# --- matching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, term", [
    ("Try this Gambling trick", "gambling"),
    ("#gambling is everywhere", "gambling"),             # a hashtag is still the word
    ("gambling_tips for you", "gambling"),               # an underscore is not a letter
    ("Gamblers lose sleep", "gambl*"),                   # a prefix term
    ("sleeping-pills are not the answer", "sleeping pills"),
    ("Sleeping\n  pills are not the answer", "sleeping pills"),
    ("sleeping pills are not the answer", "sleeping-pills"),
    ("gam\u200bbling at night", "gambling"),             # a zero-width space inside the word
    ("soft gam\u00adbling hyphen", "gambling"),          # a soft hyphen inside the word
    ("ｇａｍｂｌｉｎｇ in full width", "gambling"),       # NFKC folds full-width letters
    ("STRASSE", "straße"),                               # case folding, not just lowering
    ("learn c++ today", "c++"),
])
def test_terms_match_whole_words_after_folding(text, term):
    assert matches(text, term)


@pytest.mark.parametrize("text, term", [
    ("We tried again and again", "ai"),                  # inside a word
    ("gamblingo is a made-up word", "gambling"),
    ("sleeping well needs no pills", "sleeping pills"),  # both words, not as a phrase
    ("gambit", "gambl*"),
])
def test_terms_do_not_match_inside_other_words(text, term):
    assert not matches(text, term)


@pytest.mark.parametrize("term, problem", [
    ("", "must not be empty"), ("  ", "must not be empty"), ("*", "must not be empty"),
    ("ga*", "at least 3 characters"), ("a*b", "may only end"), ("sleep ga*", "at least 3 characters"),
])
def test_unusable_terms_are_explained(term, problem):
    assert problem in term_problem(term)


def test_usable_terms_have_no_problem():
    assert term_problem("gam*") is None and term_problem("sleeping pills") is None


def test_lexical_reasons_name_each_word_and_topic_hit():
    s = safety(banned_words=["casino", "jackpot"],
               banned_topics=["crypto", {"name": "medication", "terms": ["sleeping pills", "zolpidem"]}])
    assert lexical_reasons(CLEAN, s) == []
    text = "Casino nights and zolpidem: why both wreck your sleep. Crypto too."
    assert lexical_reasons(text, s) == [
        "safety: banned word 'casino'",
        "safety: banned topic 'crypto' (term 'crypto')",
        "safety: banned topic 'medication' (term 'zolpidem')",
    ]


# --- moderation and failing closed ---------------------------------------------------------------

class StubModerator:
    """Answers with the given results (or raises the given error); records what it was asked."""

    def __init__(self, results=None, error: Exception | None = None):
        self.results, self.error, self.asked = results, error, []

    def moderate(self, texts):
        self.asked.append(list(texts))
        if self.error is not None:
            raise self.error
        return self.results if self.results is not None else [ModerationResult(False, (), SCORES) for _ in texts]


SCORES = {"violence": 0.01, "self-harm": 0.01, "illicit": 0.01}


def test_moderation_sees_only_drafts_the_lists_passed_and_passes_clean_ones():
    s = safety(banned_words=["casino"], moderation=True)
    mod = StubModerator()
    verdicts, calls = check_drafts([CLEAN, "casino tips", CLEAN + " Again."], s, mod)
    assert calls == 1 and mod.asked == [[CLEAN, CLEAN + " Again."]]   # one call for the whole plan
    assert [v.passed for v in verdicts] == [True, False, True]
    assert verdicts[0].moderated and not verdicts[1].moderated
    assert verdicts[1].reasons == ("safety: banned word 'casino'",) and not verdicts[1].error


def test_a_flagged_draft_is_rejected_with_its_categories():
    s = safety(moderation=True)
    mod = StubModerator([ModerationResult(True, ("violence", "harassment"), SCORES)])
    [verdict], _ = check_drafts([CLEAN], s, mod)
    assert not verdict.passed and not verdict.error
    assert verdict.reasons == ("safety: flagged by moderation (violence, harassment)",)


@pytest.mark.parametrize("error, shown", [
    (TimeoutError("read timed out"), "TimeoutError"),
    (ConnectionError("refused"), "ConnectionError"),
    (CheckError("expected 2 result(s), got 1"), "CheckError: expected 2 result(s), got 1"),
])
def test_a_moderator_that_raises_blocks_every_draft_it_was_asked_about(error, shown):
    s = safety(moderation=True)
    verdicts, calls = check_drafts([CLEAN, CLEAN + " Two."], s, StubModerator(error=error))
    assert calls == 1
    for v in verdicts:
        assert not v.passed and v.error
        assert v.reasons == (f"{SAFETY_FAILURE}: moderation unavailable ({shown})",)


@pytest.mark.parametrize("results, detail", [
    ([], "expected 2 moderation result(s), got 0"),                                   # too few
    ([ModerationResult(False, (), SCORES)] * 3, "expected 2 moderation result(s), got 3"),
    ([ModerationResult("no", (), SCORES)] * 2, "no yes/no 'flagged'"),                 # not a boolean
    ([ModerationResult(False, (), {"violence": 1.7})] * 2, "not a number in [0, 1]"),
    (None, "expected 2 moderation result(s), got NoneType"),
])
def test_a_malformed_moderation_answer_blocks_too(results, detail):
    class Odd:
        def moderate(self, texts):
            return results

    verdicts, _ = check_drafts([CLEAN, CLEAN + " Two."], safety(moderation=True), Odd())
    assert all(not v.passed and v.error for v in verdicts)
    assert detail in verdicts[0].reasons[0] and verdicts[0].reasons[0].startswith(SAFETY_FAILURE)


def test_moderation_on_without_a_moderator_blocks():
    [verdict], calls = check_drafts([CLEAN], safety(moderation=True), None)
    assert calls == 0 and verdict.error and verdict.reasons[0].startswith(f"{SAFETY_FAILURE}: moderation unavailable")


def test_a_topic_category_hits_at_its_score_even_when_not_flagged():
    s = safety(moderation=True, banned_topics=[
        {"name": "violence", "moderation_categories": ["violence"], "min_category_score": 0.3}])
    low = ModerationResult(False, (), {**SCORES, "violence": 0.29})
    high = ModerationResult(False, (), {**SCORES, "violence": 0.31})
    verdicts, _ = check_drafts([CLEAN, CLEAN + " B."], s, StubModerator([low, high]))
    assert verdicts[0].passed
    assert verdicts[1].reasons == ("safety: banned topic 'violence' (moderation category violence, score 0.31)",)


def test_an_answer_missing_a_topic_category_cannot_clear_the_topic():
    s = safety(moderation=True, banned_topics=[{"name": "drugs", "moderation_categories": ["illicit"]}])
    [verdict], _ = check_drafts([CLEAN], s, StubModerator([ModerationResult(False, (), {"violence": 0.0})]))
    assert verdict.error and "lacks the score of illicit" in verdict.reasons[0]


def test_nothing_configured_means_nothing_checked():
    verdicts, calls = check_drafts([CLEAN, "casino"], safety(), StubModerator(error=RuntimeError()))
    assert calls == 0 and all(v.passed for v in verdicts)


# --- configuration ---------------------------------------------------------------------------------

BROKEN = {
    "safety not an object": ({"safety": ["casino"]}, "account.safety: expected dict"),
    "unknown safety key": ({"safety": {"banned_wrds": []}}, "account.safety: unknown field(s) banned_wrds"),
    "word not text": ({"safety": {"banned_words": ["ok", 3]}}, "account.safety.banned_words[1]: expected str"),
    "empty word": ({"safety": {"banned_words": [" "]}}, "account.safety.banned_words[0]: must not be empty"),
    "short prefix": ({"safety": {"banned_words": ["ab*"]}}, "account.safety.banned_words[0]: a prefix"),
    "moderation a string": ({"safety": {"moderation": "yes"}}, "account.safety.moderation: expected bool"),
    "topic without terms": ({"safety": {"banned_topics": [{"name": "x"}]}},
                            "account.safety.banned_topics[0]: needs 'terms' or 'moderation_categories'"),
    "topic without name": ({"safety": {"banned_topics": [{"terms": ["x"]}]}},
                           "account.safety.banned_topics[0]: 'name' is missing"),
    "topic bad term": ({"safety": {"banned_topics": [{"name": "x", "terms": ["ok", ""]}]}},
                       "account.safety.banned_topics[0].terms[1]: must not be empty"),
    "unknown category": ({"safety": {"moderation": True,
                                     "banned_topics": [{"name": "x", "moderation_categories": ["gore"]}]}},
                         "account.safety.banned_topics[0].moderation_categories[0]: one of harassment"),
    "category without moderation": ({"safety": {"banned_topics": [{"name": "x", "moderation_categories": ["hate"]}]}},
                                    "moderation_categories: needs account.safety.moderation set to true"),
    "score 0": ({"safety": {"moderation": True, "banned_topics": [
        {"name": "x", "moderation_categories": ["hate"], "min_category_score": 0}]}},
        "account.safety.banned_topics[0].min_category_score: must lie in (0, 1]"),
    "duplicate topics": ({"safety": {"banned_topics": ["crypto", "crypto"]}},
                         "account.safety.banned_topics: names must be unique"),
    "judge weight 1.5": ({"judge": {"weight": 1.5}}, "account.judge.weight: must lie in [0, 1]"),
    "judge weight text": ({"judge": {"weight": "high"}}, "account.judge.weight: expected float"),
    "judge unknown key": ({"judge": {"model": "x"}}, "account.judge: unknown field(s) model"),
    "novelty method": ({"novelty": {"method": "bert"}}, "account.novelty.method: one of ngrams, embeddings"),
    "novelty threshold": ({"novelty": {"min_novelty": 1}}, "account.novelty.min_novelty: must lie in [0, 1)"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_sections_name_the_field(case):
    change, message = BROKEN[case]
    with pytest.raises(ConfigError) as err:
        parse_account({**ACCOUNT, **change})
    assert message in str(err.value)


def test_defaults_change_nothing():
    cfg = parse_account(ACCOUNT)
    assert not cfg.safety.active and cfg.judge.weight == 0.0 and cfg.novelty.method == "ngrams"


def test_the_documented_example_parses_with_every_section():
    cfg = parse_account(json.loads((REPO / "docs/examples/account.json").read_text(encoding="utf-8")))
    assert cfg.safety.moderation and cfg.safety.banned_words and cfg.banned_phrases
    assert {t.name for t in cfg.safety.banned_topics} >= {"crypto"}
    assert any(t.moderation_categories for t in cfg.safety.banned_topics)
    assert 0 < cfg.judge.weight <= 1 and cfg.novelty.method == "embeddings"


def test_the_shipped_demo_needs_no_openai():
    demo = json.loads((REPO / "layers/local/python/postloop_local/accounts/demo.json").read_text(encoding="utf-8"))
    cfg = parse_account(demo)
    assert not cfg.safety.moderation and cfg.judge.weight == 0 and cfg.novelty.method == "ngrams"
    require_checks(cfg, _deps())   # no OpenAI-backed check is needed: the offline simulation runs


# --- plan fails closed ------------------------------------------------------------------------------

class FixedWriter:
    """Writes the given texts in turn (one per candidate)."""

    generator = "fixed"

    def __init__(self, *texts):
        self.texts = list(texts)
        self.calls = 0

    def write(self, request):
        text = self.texts[self.calls % len(self.texts)]
        self.calls += 1
        return Draft(parts=(text,), topic="naps", generator=self.generator)


def _deps(writer=None, **checks):
    return PlanDeps(MemoryDecisionStore(), MemoryArmStore(), writer or OfflineWriter(), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore(), **checks)


def test_plan_blocks_every_draft_when_moderation_fails():
    config = parse_account({**ACCOUNT, "safety": {"moderation": True}})
    deps = _deps(moderator=StubModerator(error=TimeoutError()))
    d = plan(config, NOW, deps)
    assert d.status is Status.REJECTED
    assert d.status_reason == f"{SAFETY_FAILURE}: moderation unavailable (TimeoutError)"
    # Every candidate carries the failure (a weak draft may carry a quality reason too).
    assert all(d.status_reason in c["problems"] for c in d.candidates)
    assert d.features.checks["safety"]["error"] is True
    assert d.features.checks["openai"]["calls"] == {"moderation": 1, "judge": 0, "embeddings": 0}
    assert deps.decisions.get("a", d.decision_id).status is Status.REJECTED


def test_plan_keeps_a_clean_draft_and_rejects_one_with_a_banned_word():
    config = parse_account({**ACCOUNT, "max_candidates": 2, "safety": {"banned_words": ["melatonin gummies"]}})
    d = plan(config, NOW, _deps(FixedWriter("Melatonin gummies fix everything, trust me.", CLEAN)))
    assert d.status is Status.PLANNED and d.parts == [CLEAN]
    assert d.candidates[0]["problems"] == ["safety: banned word 'melatonin gummies'"]
    assert d.features.checks["safety"] == {"passed": True, "reasons": [], "error": False, "moderated": False}


def test_plan_rejects_when_every_draft_hits_a_banned_topic():
    config = parse_account({**ACCOUNT, "max_candidates": 1, "safety": {"banned_topics": [
        {"name": "medication", "terms": ["sleeping pill*"]}]}})
    d = plan(config, NOW, _deps(FixedWriter("Sleeping pills cut deep sleep by 20% in one study.")))
    assert d.status is Status.REJECTED
    assert d.status_reason == "content: safety: banned topic 'medication' (term 'sleeping pill*')"


@pytest.mark.parametrize("section, field", [
    ({"safety": {"moderation": True}}, "safety.moderation"),
    ({"judge": {"weight": 0.3}}, "judge.weight"),
    ({"novelty": {"method": "embeddings"}}, "novelty.method"),
])
def test_plan_refuses_a_check_it_was_not_given(section, field):
    deps = _deps()
    with pytest.raises(ConfigError, match="no OpenAI secret is configured") as err:
        plan(parse_account({**ACCOUNT, **section}), NOW, deps)
    assert field in str(err.value)
    assert deps.decisions.planned_between("a", NOW - timedelta(days=1), NOW + timedelta(days=1)) == []


def test_plan_task_on_a_wiring_without_openai_refuses_moderation():
    account = copy.deepcopy(ACCOUNT)
    account["safety"] = {"moderation": True}
    w = MemoryWiring([account], audience=None, clock=lambda: NOW)
    event = {"account_id": "a", "scheduled_time": NOW.isoformat().replace("+00:00", "Z")}
    with pytest.raises(ConfigError, match="safety.moderation"):
        plan_task(event, w)
    w.moderator = StubModerator()   # a wiring that has one passes it on
    assert plan_task(event, w)["status"] == "planned" and w.moderator.asked


def test_an_existing_decision_is_returned_before_checks_are_required():
    deps = _deps()
    first = plan(parse_account(ACCOUNT), NOW, deps)
    again = plan(parse_account({**ACCOUNT, "safety": {"moderation": True}}), NOW, deps)
    assert again.decision_id == first.decision_id and again.status is first.status
    assert isinstance(again, Decision)
