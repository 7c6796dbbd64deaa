"""End to end: the loop under injected faults, as `postloop faults` runs it, bounded for CI.

One lane of the 1,000-decision run's shape (7 simulated days at 12 plans a day, 84 plan slots)
on the embedded backends: the real handlers, moto, a real redis-server, the fake X and the fake
OpenAI on 127.0.0.1, with every kind of fault injected, the rarer ones at raised rates so that
each occurs in so short a run. The embedded backends cost about 0.3 s of CPU per decision, so
a few hundred decisions would not fit the suite's budget: this takes about 35 s of CPU, 60-90 s
on a busy 2-core machine. The 1,000-decision figures are in docs/reliability.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings

import pytest

from postloop_local import cli, faults

# Rare kinds raised so that an 84-decision run meets each of them (the default rates are the
# 1,000-decision run's).
RATES = dataclasses.replace(faults.FaultRates(), crash_mid_thread=0.25, crash_after_accept=0.08,
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
    assert x["live_posts"] > 84
    assert x["duplicate_posts"] == 0
    # X refused a repeat only where the client retried after a lost answer: the loop itself never tried twice.
    assert x["duplicate_attempts_by_the_loop"] == 0
    assert x["posts_recorded_by_two_decisions"] == 0 and x["recorded_posts_missing_on_x"] == 0


def test_every_decision_ends_with_a_terminal_status(run):
    f = run["figures"]
    assert f["decisions"] >= 80 and f["non_terminal"] == 0, run["non_terminal_ids"]
    assert set(f["statuses"]) <= {"posted", "failed", "rejected", "skipped"}


def test_the_arms_count_each_settled_outcome_once(run):
    arms = run["figures"]["arms"]
    assert arms["distinct_settled_decisions"] > 60
    assert arms["outcomes_counted_twice"] == 0 and arms["arms_differing_from_settled_outcomes"] == 0
    assert arms["type_pulls"] == arms["hour_pulls"] == arms["distinct_settled_decisions"] == arms["learn_samples"]


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
