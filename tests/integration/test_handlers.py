"""Each handler, invoked with its sample event, against moto, a real redis-server and the fake X API."""
from __future__ import annotations

from datetime import timedelta

import pytest

from postloop.core.events import EventError
from postloop.core.records import Status
from postloop.core.spend import post_cost
from postloop.runtime.wiring import UnknownAccount
from postloop_local.invoke import invoke
from tests.conftest import load_event, utc


def _count_items(model) -> int:
    return sum(1 for _ in model.scan())


def _plan_and_post(stack, when):
    stack.clock.t = when
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
    assert planned["status"] == "planned", planned
    posted = invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"], "now": when.isoformat()})
    return planned, posted


def test_plan_records_an_approved_decision_with_features_and_propensities(stack):
    event = load_event("plan")
    out = invoke("plan", event)
    d = stack.wiring.decisions.get("demo", out["decision_id"])
    assert d.status is Status.PLANNED
    assert "gate open" in d.status_reason  # no model yet: the gate lets it through and says so
    assert d.content_type in {c["name"] for c in stack.account["content_types"]}
    assert d.hour in stack.account["posting_hours"]
    assert 0 < d.type_propensity <= 1 and 0 < d.hour_propensity <= 1
    assert 0 <= d.features.quality <= 1 and 0 <= d.features.novelty <= 1
    assert d.parts and all(p.strip() for p in d.parts)
    assert d.scheduled_for >= d.planned_at
    assert d.scheduled_for.astimezone(stack.scenario and __import__("zoneinfo").ZoneInfo("America/New_York")).hour == d.hour
    assert len(d.candidates) == stack.account["max_candidates"] - 1


def test_plan_delivered_twice_plans_once(stack):
    event = load_event("plan")
    first = invoke("plan", event)
    second = invoke("plan", event)
    assert first["decision_id"] == second["decision_id"]
    assert _count_items(stack.wiring.tables.content_metadata) == 1


@pytest.mark.parametrize("event", [
    {}, {"account_id": "demo"}, {"account_id": "", "scheduled_time": "2026-01-09T05:00:00Z"},
    {"account_id": "demo", "scheduled_time": "yesterday"}, {"account_id": "demo", "scheduled_time": 5},
    ["not", "an", "object"],
])
def test_plan_rejects_malformed_events_and_writes_nothing(stack, event):
    with pytest.raises(EventError):
        invoke("plan", event)
    assert _count_items(stack.wiring.tables.content_metadata) == 0


def test_unknown_account_is_a_clear_error(stack):
    with pytest.raises(UnknownAccount, match="nobody"):
        invoke("plan", {"account_id": "nobody", "scheduled_time": "2026-01-09T05:00:00Z"})


def test_post_publishes_once_even_when_retried(stack):
    planned, posted = _plan_and_post(stack, utc(2026, 1, 9, 5))
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    assert posted["status"] == "posted" and posted["action"] == "posted"
    assert d.post_ids and len(d.post_ids) == len(d.parts)
    assert [stack.x.posts[i].text for i in d.post_ids] == d.parts
    creates = [r for r in stack.x.requests_log if r[:2] == ("POST", "/2/tweets")]
    assert len(creates) == len(d.parts)
    # Spend: X's price per post created (a thread's parts each) plus the follower read.
    from postloop.core.spend import X_USER_READ_USD, post_cost
    assert d.spend["x_usd"] == pytest.approx(post_cost(d.parts) + X_USER_READ_USD)
    assert posted["spend_usd"] == pytest.approx(d.spend["x_usd"])

    again = invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"],
                            "now": "2026-01-09T05:01:00Z"})
    assert again["action"] == "already_done"
    assert len([r for r in stack.x.requests_log if r[:2] == ("POST", "/2/tweets")]) == len(d.parts)


def test_post_after_a_crash_reconciles_with_x_instead_of_posting_again(stack):
    when = utc(2026, 1, 9, 5)
    stack.clock.t = when
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
    store = stack.wiring.decisions
    d = store.claim_for_posting("demo", planned["decision_id"], when)
    # The earlier invocation got X to accept the post(s), then died before recording them.
    # (Through a client of its own, with the account's OAuth credentials from the secret.)
    from postloop.runtime.wiring import Wiring
    x = Wiring().x_for("demo")
    prev = None
    for part in d.parts:
        prev = x.create_post(part, reply_to=prev)
    before = len([r for r in stack.x.requests_log if r[:2] == ("POST", "/2/tweets")])

    out = invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"],
                          "now": "2026-01-09T05:05:00Z"})
    assert out["action"] == "reconciled" and out["status"] == "posted"
    assert len([r for r in stack.x.requests_log if r[:2] == ("POST", "/2/tweets")]) == before
    assert len(stack.x.live_posts()) == len(d.parts)


def test_post_of_a_missing_decision_is_a_clear_error(stack):
    from postloop.core.post import DecisionNotFound
    with pytest.raises(DecisionNotFound, match="no decision"):
        invoke("post", load_event("post"))


def test_post_in_dry_run_mode_never_calls_x(stack, monkeypatch):
    from postloop.core.account import parse_account
    w = stack.wiring
    w.accounts["demo"] = parse_account({**stack.account, "mode": "dry_run"})
    planned, posted = _plan_and_post(stack, utc(2026, 1, 9, 5))
    assert posted["action"] == "dry_run" and posted["post_ids"][0].startswith("dry-run-")
    assert not [r for r in stack.x.requests_log if r[:2] == ("POST", "/2/tweets")]


def test_scrape_collects_due_outcomes_once_per_horizon(stack):
    planned, _ = _plan_and_post(stack, utc(2026, 1, 9, 5))
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    fate = stack.world.register(d.post_ids[0], d.content_type)

    early = invoke("scrape", {"account_id": "demo", "now": "2026-01-10T04:00:00Z"})
    assert early["due"] == 0  # not 24 h yet: nothing is read (reads cost money)
    stack.clock.t = utc(2026, 1, 10, 5)
    out = invoke("scrape", {**load_event("scrape"), "decision_id": d.decision_id, "now": "2026-01-10T05:00:00Z"})
    # The head post's metrics, and the follows of every part from X's post analytics.
    assert out["written"] == 1 and out["posts_read"] == 1 + len(d.post_ids)
    # One owned read (the head, from the account's timeline) and analytics priced like a post read
    # per id (unconfirmed); no follower read (at most one a day, by post).
    assert out["spend_usd"] == pytest.approx(0.001 + 0.005 * len(d.post_ids))
    again = invoke("scrape", {"account_id": "demo", "now": "2026-01-10T05:30:00Z"})
    assert again["written"] == 0 and again["due"] == 0

    stack.clock.t = utc(2026, 1, 11, 5)
    invoke("scrape", {"account_id": "demo", "now": "2026-01-11T05:00:00Z"})
    outcomes = {o.horizon_hours: o for o in stack.wiring.outcomes.for_decision("demo", d.decision_id)}
    assert set(outcomes) == {24, 48}
    o48 = outcomes[48]
    assert o48.usable and o48.impressions == round(fate.impressions * (1 - __import__("math").exp(-48 / fate.impressions_tau)))
    assert o48.engagement_rate == pytest.approx((o48.likes + o48.retweets + o48.replies) / o48.impressions)
    assert o48.followers_source == "analytics"
    assert o48.followers_gained == sum(stack.world.follows(p, stack.clock.t) for p in d.post_ids)
    assert o48.private_metrics["non_public_metrics"]["impression_count"] == o48.impressions

    # An account without post analytics: no per-post follows (learn attributes the daily readings).
    stack.x.analytics = False
    planned2, _ = _plan_and_post(stack, utc(2026, 1, 11, 5))
    stack.clock.t = utc(2026, 1, 12, 6)
    invoke("scrape", {"account_id": "demo", "now": "2026-01-12T06:00:00Z"})
    o24 = stack.wiring.outcomes.for_decision("demo", planned2["decision_id"])[0]
    assert o24.followers_source is None and o24.followers_gained is None


def _user_reads(stack) -> int:
    """GET /2/users/me as the fake X served them: X bills each as a user read."""
    return sum(1 for r in stack.x.requests_log if r[:2] == ("GET", "/2/users/me"))


def test_the_follower_count_is_read_from_x_at_most_once_a_day_and_stored(stack):
    # Four posts and two scrape runs in 30 simulated hours, under the synthesized IAM roles.
    decisions = []
    for when in (utc(2026, 1, 9, 5), utc(2026, 1, 9, 9), utc(2026, 1, 9, 17)):
        planned, posted = _plan_and_post(stack, when)
        assert posted["status"] == "posted", posted
        decisions.append(planned["decision_id"])
    assert _user_reads(stack) == 1
    stack.clock.t = utc(2026, 1, 10, 6)
    invoke("scrape", {"account_id": "demo", "now": "2026-01-10T06:00:00Z"})
    assert _user_reads(stack) == 1                    # scrape reads no follower count
    planned, _ = _plan_and_post(stack, utc(2026, 1, 10, 7))   # 26 h after the first reading: a new one
    decisions.append(planned["decision_id"])
    assert _user_reads(stack) == 2
    readings = stack.wiring.followers.between("demo", utc(2026, 1, 1), utc(2026, 2, 1))
    assert [r.read_at for r in readings] == [utc(2026, 1, 9, 5), utc(2026, 1, 10, 7)]
    got = [stack.wiring.decisions.get("demo", i) for i in decisions]
    assert [d.followers_at_post for d in got] == [readings[0].followers] * 3 + [readings[1].followers]
    # Only the post that read pays for the read.
    assert [round(d.spend["x_usd"] - post_cost(d.parts), 6) for d in got] == [0.010, 0.0, 0.0, 0.010]
    # learn may read the readings (its role's Query on the table).
    out = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-10T08:00:00Z"})
    assert out["follow"]["reason"]


def test_scrape_keeps_posts_without_impressions_out_of_learning(stack):
    planned, _ = _plan_and_post(stack, utc(2026, 1, 9, 5))
    # Not registered with the world: the fake reports a post nobody saw at 1 h... and at 24 h a few.
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    stack.x.inject("GET", "/2/tweets", 200, body={"data": [{
        "id": d.post_ids[0], "text": d.parts[0], "edit_history_tweet_ids": [d.post_ids[0]],
        "public_metrics": {"impression_count": 0, "like_count": 0, "retweet_count": 0, "reply_count": 0,
                           "quote_count": 0, "bookmark_count": 0}}]})
    out = invoke("scrape", {"account_id": "demo", "now": "2026-01-10T05:00:00Z"})
    assert out["written"] == 1 and out["unusable"] == 1
    (o,) = stack.wiring.outcomes.for_decision("demo", d.decision_id)
    assert not o.usable and o.problem == "zero impressions" and o.engagement_rate is None


def test_learn_twice_changes_nothing_and_the_model_survives_a_cache_flush(stack):
    from postloop_local import simulate
    from postloop.adapters.redis_model_cache import latest_key
    from postloop.core.plan import PlanDeps, load_model
    import redis

    simulate.run_in(stack.backends, stack.world, stack.clock, stack.scenario, stack.account, stack.start, 8)
    stack.clock.t = stack.start + timedelta(days=8)
    event = {"account_id": "demo", "scheduled_time": "2026-01-13T06:00:00Z"}
    first = invoke("learn", event)
    arms_first = {a.arm_id: a for a in stack.wiring.arms.load("demo")}
    second = invoke("learn", event)
    arms_second = {a.arm_id: a for a in stack.wiring.arms.load("demo")}

    assert first["samples"] > 10
    assert first["model_version"] == second["model_version"] and not second["model_written"]
    assert {k: (a.pulls, a.successes, a.failures, a.reward_sum) for k, a in arms_first.items()} == \
           {k: (a.pulls, a.successes, a.failures, a.reward_sum) for k, a in arms_second.items()}
    # Each settled post counts once among the type arms and once among the hour arms,
    # weighted by age (the demo account sets a half-life), so at most once.
    type_pulls = sum(a.pulls for k, a in arms_first.items() if k.startswith("type#"))
    hour_pulls = sum(a.pulls for k, a in arms_first.items() if k.startswith("hour#"))
    assert type_pulls == pytest.approx(hour_pulls) and 0.5 * first["samples"] < type_pulls <= first["samples"]
    assert first["engagement"]["r2"] is not None and first["engagement"]["n"] == first["samples"]

    r = redis.Redis.from_url(stack.backends.info.redis_url)
    assert r.get(latest_key("demo")) is not None
    w = stack.wiring
    deps = PlanDeps(w.decisions, w.arms, w.writer, w.registry, w.model_cache)
    assert load_model("demo", deps).source == "cache"
    r.flushall()
    lookup = load_model("demo", deps)
    assert lookup.source == "durable" and lookup.model.version == first["model_version"]


def _orphan(stack, when):
    """A decision whose post X took while every attempt, the reconcile included, was lost: the
    workflow's Catch marked it failed. Returns the decision id and the ids X holds."""
    from postloop.runtime.wiring import Wiring
    stack.clock.t = when
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    stack.clock.t = d.scheduled_for
    x = Wiring().x_for("demo")   # a client of its own: the dead attempt's
    ids, prev = [], None
    for part in d.parts:
        prev = x.create_post(part, reply_to=prev)
        ids.append(prev)
    assert stack.wiring.decisions.fail_unless_terminal("demo", d.decision_id, "post failed: Lambda.Unknown",
                                                       d.scheduled_for)
    return d.decision_id, ids


def _orphans(stack) -> int:
    """Posts live on X that no decision records as posted (the fake X's own store is the truth)."""
    t = stack.clock.t
    recorded = {pid for d in stack.wiring.decisions.planned_between("demo", t - timedelta(days=30), t)
                if d.status is Status.POSTED for pid in d.post_ids}
    return sum(1 for p in stack.x.live_posts() if p.post_id not in recorded)


def test_learn_sweeps_an_orphan_into_its_decision_so_it_is_scraped_learned_and_paid_for(stack):
    from postloop.core.spend import X_OWNED_READ_USD, post_cost
    decision_id, ids = _orphan(stack, utc(2026, 1, 9, 5))
    assert _orphans(stack) == len(ids)
    d = stack.wiring.decisions.get("demo", decision_id)
    stack.clock.t = d.scheduled_for + timedelta(hours=6)
    out = invoke("learn", {"account_id": "demo", "scheduled_time": stack.clock.t.isoformat()})
    assert out["sweep"]["adopted"] == [decision_id] and out["sweep"]["unmatched"] == 0
    d = stack.wiring.decisions.get("demo", decision_id)
    assert d.status is Status.POSTED and d.post_ids == ids and _orphans(stack) == 0
    assert d.posted_at == stack.x.posts[ids[0]].created_at == d.scheduled_for
    assert d.spend["x_usd"] == pytest.approx(post_cost(d.parts) + len(ids) * X_OWNED_READ_USD)
    # The next scrape of any cycle reads it at its 24 h mark.
    stack.clock.t = d.posted_at + timedelta(hours=24)
    scraped = invoke("scrape", {"account_id": "demo", "now": stack.clock.t.isoformat()})
    assert scraped["written"] == 1 and stack.wiring.outcomes.for_decision("demo", decision_id)


def test_without_the_sweep_the_orphan_stays(stack, monkeypatch):
    from postloop.runtime import tasks
    decision_id, ids = _orphan(stack, utc(2026, 1, 9, 5))
    monkeypatch.setattr(tasks, "_sweep", lambda config, now, w: {"skipped": "sweep switched off"})
    stack.clock.t = stack.wiring.decisions.get("demo", decision_id).scheduled_for + timedelta(hours=6)
    invoke("learn", {"account_id": "demo", "scheduled_time": stack.clock.t.isoformat()})
    assert stack.wiring.decisions.get("demo", decision_id).status is Status.FAILED
    assert _orphans(stack) == len(ids) > 0


def test_a_sweep_that_cannot_read_x_is_reported_and_learn_goes_on(stack):
    decision_id, _ = _orphan(stack, utc(2026, 1, 9, 5))
    stack.clock.t = stack.wiring.decisions.get("demo", decision_id).scheduled_for + timedelta(hours=6)
    stack.x.inject("GET", "/2/users/", 429, times=5)   # X's rate limit on reading the timeline
    out = invoke("learn", {"account_id": "demo", "scheduled_time": stack.clock.t.isoformat()})
    assert out["sweep"] == {"error": "XRateLimited (429)"} and out["model_version"] is not None
    assert stack.wiring.decisions.get("demo", decision_id).status is Status.FAILED   # the next learn tries again


def test_post_skips_a_decision_delivered_past_the_accounts_lateness_window(stack):
    from postloop.core.account import parse_account
    stack.wiring.accounts["demo"] = parse_account({**stack.account, "max_post_delay_minutes": 30})
    outs = []
    for when, minutes_late in ((utc(2026, 1, 9, 5), 29), (utc(2026, 1, 9, 9), 30)):
        stack.clock.t = when
        planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
        d = stack.wiring.decisions.get("demo", planned["decision_id"])
        # An approval answered late: the post step starts past the planned time.
        stack.clock.t = d.scheduled_for + timedelta(minutes=minutes_late)
        outs.append((d, invoke("post", {"account_id": "demo", "decision_id": d.decision_id,
                                        "now": stack.clock.t.isoformat()})))
    (inside, posted), (outside, late) = outs
    assert posted["status"] == "posted" and late["status"] == "skipped" and late["action"] == "late"
    assert late["reason"].startswith("late: 30 min after its planned time")
    # Only the decision inside the window is on X.
    assert sorted(p.text for p in stack.x.live_posts()) == sorted(inside.parts)
