"""End to end: the loop under injected faults, as `postloop faults` runs it, bounded for CI.

One lane of the 1,000-decision run's shape (7 simulated days at 12 plans a day, 84 plan slots)
on the embedded backends: the real handlers, moto, a real redis-server, the fake X and the fake
OpenAI on 127.0.0.1, with every kind of fault injected, the rarer ones at raised rates so that
each occurs in so short a run, and X's duplicate refusal off. The embedded backends cost about
0.3 s of CPU per decision, so a few hundred decisions would not fit the suite's budget: this
takes about 35 s of CPU, 60-90 s on a busy 2-core machine. The 1,000-decision figures are in
docs/reliability.md.

Then, for each held figure, a one-day lane (8 plan slots, a few seconds) with the guard that holds
it switched off shows the figure going above zero: the figures are computed against the fake X's
own store, so they can fail.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings
from datetime import datetime, timedelta, timezone

import pytest

from postloop_local import cli, faults

# Rare kinds raised so that an 84-decision run meets each of them (the default rates are the
# 1,000-decision run's).
RATES = dataclasses.replace(faults.FaultRates(), x_429=0.04, x_timeout=0.06, crash_mid_thread=0.25,
                            crash_after_accept=0.08,
                            crash_after_outcome_saved=0.03, crash_after_plan_saved=0.04, openai_timeout=0.03,
                            openai_malformed=0.03, x_read_429=0.01, redis_outage_per_day=0.6,
                            duplicate_delivery=0.08, overlapping_delivery=0.08)


@pytest.fixture(scope="module")
def run(redis_binary):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        return faults.run_faults(decisions=84, seed=3, posts_per_day=12, lane_days=7, rates=RATES)


def test_nothing_is_posted_twice_and_every_record_matches_x(run):
    x = run["figures"]["x"]
    assert run["x_duplicate_refusal"] is False and x["duplicate_refusals"] == 0
    assert x["live_posts"] > 84
    assert x["duplicate_posts"] == 0
    # No create reached X for a text it already held: after every lost answer the client asked X first.
    assert x["repeated_creates_by_the_loop"] == 0
    lost = run["injected"].get("x.create.503_after_create", 0) + run["injected"].get("x.create.timeout_after_create", 0)
    assert lost > 0 and x["creates_found_on_x_before_a_retry"] > 0
    assert x["posts_recorded_by_two_decisions"] == 0 and x["recorded_posts_missing_on_x"] == 0


def test_every_live_post_belongs_to_one_posted_decision(run):
    x = run["figures"]["x"]
    assert x["orphaned_posts"] == 0, run["unrecorded"]
    assert x["posts_on_x_recorded_by_no_decision"] == 0


def test_every_decision_ends_with_a_terminal_status(run):
    f = run["figures"]
    assert f["decisions"] >= 80 and f["non_terminal"] == 0, run["non_terminal_ids"]
    assert set(f["statuses"]) <= {"posted", "failed", "rejected", "skipped"}


def test_the_arms_count_each_settled_outcome_once(run):
    arms = run["figures"]["arms"]
    assert arms["distinct_settled_decisions"] > 60
    assert arms["outcomes_counted_twice"] == 0 and arms["arms_differing_from_settled_outcomes"] == 0
    assert arms["settled_outcomes_of_no_live_post"] == 0
    assert (arms["type_pulls"] == arms["hour_pulls"] == arms["distinct_settled_decisions"] == arms["learn_samples"]
            == arms["live_posts_learned_from"])


def test_no_exception_goes_unhandled(run):
    assert run["figures"]["unhandled_exceptions"] == 0, run["unhandled"]
    assert faults.broken_invariants(run) == []


def test_every_kind_of_fault_was_injected_and_the_workflow_retried(run):
    injected = run["injected"]
    kinds = {
        "X 5xx": ["x.create.503", "x.read.503"], "X 429": ["x.create.429", "x.read.429"],
        "X timeout": ["x.create.timeout_after_create", "x.create.timeout_before_create"],
        "lost answer": ["x.create.503_after_create", "x.create.timeout_after_create"],
        "thread part refused": ["x.reply_refused"], "crash after X accepted": ["crash.after_accept"],
        "crash mid-thread": ["crash.mid_thread"], "other crashes": ["crash.after_claim", "crash.after_plan_saved",
                                                                    "crash.after_outcome_saved"],
        "Redis down": ["redis.outages"], "DynamoDB throttled": ["dynamo.throttled"],
        "conditional-write conflicts": [k for k in injected if k.startswith("dynamo.conditional_conflict")],
        "OpenAI timeout": ["openai.timeout"], "OpenAI 429": ["openai.429"], "OpenAI malformed": ["openai.malformed"],
        "plan delivered twice": ["schedule.cycle.delivered_twice_at_once", "schedule.cycle.delivered_twice_later"],
    }
    missing = [name for name, keys in kinds.items() if not sum(injected.get(k, 0) for k in keys)]
    assert missing == []
    f = run["figures"]
    assert f["delayed_decisions"] > 0 and f["workflow_retries"]
    assert f["redis"]["plans_while_down"] > 0


def test_the_report_names_each_held_figure(run):
    text = faults.format_report({**run, "broken_invariants": faults.broken_invariants(run)})
    for _, label in faults.HELD:
        assert label in text
    assert "All held figures are zero." in text


def test_the_command_refuses_lanes_too_short_to_settle(capsys):
    assert cli.main(["faults", "--lane-days", "2"]) == 2
    assert "--lane-days" in capsys.readouterr().err


def test_the_command_runs_with_x_duplicate_refusal_off_unless_asked(monkeypatch):
    seen = []
    monkeypatch.setattr(faults, "run_faults", lambda **kw: seen.append(kw["x_duplicate_refusal"]) or {})
    monkeypatch.setattr(faults, "broken_invariants", lambda summary: [])
    monkeypatch.setattr(faults, "format_report", lambda summary: "")
    cli.main(["faults", "--decisions", "1"])
    cli.main(["faults", "--decisions", "1", "--x-duplicate-refusal"])
    assert seen == [False, True]


# --- each held figure fails when its guard is off -------------------------------------------------


def _guard_off_lane(rates: dict, plans: int = 8) -> dict:
    """One simulated day of `plans` plan slots, with the rates given raised and X's duplicate
    refusal off; the lane's figures."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        lane = faults.run_lane(1, 11, 1, plans, dataclasses.replace(faults.FaultRates(), **rates))
    return faults.summarise([lane], "guard off")


LOST_ANSWERS = {"x_timeout": 0.15, "x_timeout_after_create": 1.0, "x_5xx": 0.15, "x_5xx_after_create": 1.0}


def test_without_asking_x_before_a_retry_lost_answers_post_twice(redis_binary, monkeypatch):
    from postloop.adapters.x_api import XApiClient
    monkeypatch.setattr(XApiClient, "_find_recent_own_post", lambda self, text, reply_to=None: None)

    x = _guard_off_lane(LOST_ANSWERS)["figures"]["x"]

    assert x["duplicate_posts"] > 0 and x["repeated_creates_by_the_loop"] > 0
    assert x["orphaned_posts"] > 0   # the second copy is recorded by nobody


def test_without_reconciling_a_taken_over_claim_a_crash_after_x_accepted_posts_twice(redis_binary, monkeypatch):
    from postloop.core import post as post_case
    monkeypatch.setattr(post_case, "_reconcile", lambda deps, d, now: None)

    x = _guard_off_lane({"crash_after_accept": 0.5})["figures"]["x"]

    assert x["duplicate_posts"] > 0 and x["orphaned_posts"] > 0


def test_without_the_claim_a_retried_post_posts_twice(redis_binary, monkeypatch):
    from postloop.adapters.dynamo_stores import DynamoDecisionStore
    from postloop.core.records import Status

    def unconditional_claim(self, account_id, decision_id, now):
        d = self.get(account_id, decision_id)
        d.status, d.updated_at = Status.POSTING, now
        self.save(d)
        return d

    monkeypatch.setattr(DynamoDecisionStore, "claim_for_posting", unconditional_claim)

    x = _guard_off_lane({"crash_after_accept": 0.5})["figures"]["x"]

    assert x["duplicate_posts"] > 0 and x["repeated_creates_by_the_loop"] > 0


def test_without_the_workflows_catch_decisions_are_left_unfinished(redis_binary, monkeypatch):
    from postloop_local import simulate
    monkeypatch.setattr(simulate, "fail_unless_terminal", lambda *args, **kwargs: False)

    f = _guard_off_lane({"crash_after_accept": 1.0}, plans=4)["figures"]   # every post attempt dies before its save

    assert f["non_terminal"] > 0


def test_when_learn_counts_an_outcome_twice_the_figures_against_x_show_it(redis_binary, monkeypatch):
    from postloop.core import learn
    real = learn.settled_samples
    monkeypatch.setattr(learn, "settled_samples", lambda *a, **kw: [s for s in real(*a, **kw) for _ in (0, 1)])

    arms = _guard_off_lane({}, plans=4)["figures"]["arms"]

    assert arms["outcomes_counted_twice"] > 0 and arms["arms_differing_from_settled_outcomes"] > 0


def test_without_turning_throttling_into_retry_later_exceptions_go_unhandled(redis_binary, monkeypatch):
    from postloop.runtime import tasks
    monkeypatch.setattr(tasks, "AWS_TRANSIENT", frozenset())

    f = _guard_off_lane({"dynamo_throttle": 0.03})["figures"]

    assert f["unhandled_exceptions"] > 0


# --- each figure against X, on a state built by hand --------------------------------------------------


T = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)


def _measure(on_x: list[tuple[str, str]], decisions: list, settled: tuple[str, ...] = ()) -> dict:
    """The figures `measure` computes for X holding `on_x` (id, text), the `decisions` given, and a
    usable 48 h outcome for each decision id in `settled`."""
    from postloop.core.records import Outcome
    from postloop_local import simulate
    from postloop_local.fake_x import FakeXServer, QuietAudience, StoredPost
    from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryOutcomeStore

    x = FakeXServer(QuietAudience(), lambda: T, duplicate_refusal=False)   # never started: its store only
    for post_id, text in on_x:
        x.posts[post_id] = StoredPost(post_id, text, T, None, x.user_id)
    store, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    for d in decisions:
        store.put_new(d)
    for decision_id in settled:
        outcomes.put_if_absent(Outcome(account_id="a", decision_id=decision_id, horizon_hours=48,
                                       collected_at=T + timedelta(days=2), posted_at=T, impressions=100, likes=5,
                                       retweets=0, replies=0))
    return faults.measure(x, store, outcomes, MemoryArmStore(), {"account_id": "a"}, T - timedelta(days=1),
                          T + timedelta(days=3), {"samples": 0}, faults.FaultPlan(1, lambda: T), faults.Observed(),
                          simulate.SimResult("s", "postloop", 1, 1, "memory"))


def _decision(decision_id: str, text: str, post_ids: list[str], status: str = "posted"):
    from postloop.core.records import Decision, Status
    return Decision(account_id="a", decision_id=decision_id, planned_at=T, status=Status(status), parts=[text],
                    post_ids=post_ids, posted_at=T if post_ids else None)


def _held(figures: dict) -> dict:
    out = {}
    for path, _ in faults.HELD:
        value = figures
        for key in path:
            value = value[key]
        out[".".join(path)] = value
    return out


def test_a_state_that_matches_x_holds_every_figure_at_zero():
    f = _measure([("11", "one"), ("12", "two")], [_decision("d1", "one", ["11"]), _decision("d2", "two", ["12"])],
                 settled=("d1", "d2"))
    assert set(_held(f).values()) == {0}


@pytest.mark.parametrize("on_x, decisions, settled, figure", [
    # The same text live twice (a create retried blindly): a duplicate, and the copy is an orphan.
    ([("11", "one"), ("12", "one")], [("d1", "one", ["11"], "posted")], (), "x.duplicate_posts"),
    # A post X holds that a failed decision made (the Catch could not look): an orphan.
    ([("11", "one")], [("d1", "one", [], "failed")], (), "x.orphaned_posts"),
    # One post adopted by two decisions.
    ([("11", "one")], [("d1", "one", ["11"], "posted"), ("d2", "one", ["11"], "posted")], (),
     "x.posts_recorded_by_two_decisions"),
    # A decision recording an id X does not hold.
    ([("11", "one")], [("d1", "one", ["11"], "posted"), ("d2", "two", ["99"], "posted")], (),
     "x.recorded_posts_missing_on_x"),
    # A settled outcome whose decision's post is not on X, or says something else.
    ([("11", "one")], [("d1", "one", ["11"], "posted"), ("d2", "two", ["99"], "posted")], ("d2",),
     "arms.settled_outcomes_of_no_live_post"),
    ([("11", "one"), ("12", "other words")], [("d1", "one", ["11"], "posted"), ("d2", "two", ["12"], "posted")],
     ("d2",), "arms.settled_outcomes_of_no_live_post"),
])
def test_each_figure_against_x_counts_what_breaks_it(on_x, decisions, settled, figure):
    held = _held(_measure(on_x, [_decision(*d) for d in decisions], settled))
    assert held[figure] >= 1, held
