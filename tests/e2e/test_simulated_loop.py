"""End to end: the simulated loop and local invocation, exactly as the README runs them."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import timedelta

import pytest

from postloop_local import cli, simulate
from postloop_local.backends import LocalBackends
from postloop_local.invoke import invoke
from postloop_local.scenario import load_scenario
from postloop_local.world import World
from tests.conftest import EVENTS, utc


def test_a_week_of_the_loop_posts_collects_learns_and_learn_is_idempotent(redis_binary):
    scenario = load_scenario("stationary")
    account = simulate.load_account("demo")
    start = utc(2026, 1, 5, 5)
    clock = simulate.SimClock(start)
    world = World(scenario, 3, start)
    with contextlib.redirect_stdout(io.StringIO()), LocalBackends([account], world, clock.now) as backends:
        from postloop.runtime import wiring
        result = simulate.run_in(backends, world, clock, scenario, account, start, 7)
        assert backends.info.redis_kind.startswith("redis-server")
        # IAM enforced: each handler's AWS calls were signed with its own role as synthesized, and allowed.
        assert {fn for fn, _ in backends.iam.signed} == {"harness", "plan", "post", "scrape", "learn"}
        # X access tokens expired every two simulated hours and were refreshed through the secret.
        auth = backends.x_server.auth
        assert auth.refreshes >= 7 * 24 // 2 // 2 and not auth.revoked

        # Posts were made and their outcomes collected at 24 h and 48 h.
        assert result.decisions == 7 * account["posts_per_day"]
        assert len(result.posts) >= result.decisions - 4
        settled = [p for p in result.posts if p.realised_rate is not None]
        assert len(settled) >= len(result.posts) - 3 * account["posts_per_day"]
        assert result.handler_calls["scrape"] >= 2 * len(settled)

        # Arms were rebuilt and both models fitted, from real data.
        last = result.learn_runs[-1]
        assert last["samples"] > 10
        type_pulls = sum(v["pulls"] for k, v in last["arms"].items() if k.startswith("type#"))
        hour_pulls = sum(v["pulls"] for k, v in last["arms"].items() if k.startswith("hour#"))
        # Age-weighted (the demo account sets a half-life): each settled post at most once per family.
        assert type_pulls == pytest.approx(hour_pulls) and 0.5 * last["samples"] < type_pulls <= last["samples"]
        assert last["engagement"]["n"] == last["samples"] and last["engagement"]["r2"] is not None
        assert last["follow"]["n"] == last["samples"]
        assert any(v != 0 for v in last["coefficients"]["engagement"].values())

        # Learn again at the same moment, twice: nothing changes.
        when = (start + timedelta(days=7)).isoformat()
        clock.t = start + timedelta(days=7)
        a = invoke("learn", {"account_id": "demo", "scheduled_time": when})
        b = invoke("learn", {"account_id": "demo", "scheduled_time": when})
        assert a["arms"] == b["arms"] and a["model_version"] == b["model_version"]
        assert not b["model_written"]
        assert wiring.current().registry.latest("demo").version == a["model_version"]


@pytest.mark.parametrize("function", ["plan", "approve", "post", "scrape", "learn"])
def test_each_function_runs_locally_with_its_sample_event(function, redis_binary, capsys):
    code = cli.main(["invoke", function, "--event", str(EVENTS / f"{function}.json"), "--history-days", "3"])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads(out)   # stdout holds the result alone (logs and metrics go to stderr)
    assert result["account_id"] == "demo"
    expected = {"plan": "decision_id", "approve": "resumed", "post": "post_ids", "scrape": "written",
                "learn": "model_version"}[function]
    assert expected in result
    if function == "approve":
        # The sample answers yes: the decision it names moves from awaiting_approval to planned.
        assert result["status"] == "planned" and result["action"] == "answered"
    if function == "post":
        assert result["status"] == "posted" and result["post_ids"]
    if function == "scrape":
        assert result["due"] >= 1 and result["written"] == result["due"]
    if function == "learn":
        assert result["samples"] > 0


def test_simulate_cli_reports_what_was_learned(redis_binary, capsys):
    code = cli.main(["simulate", "--days", "5", "--seed", "4"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Content type shares among posts" in out and "Posting hour shares" in out
    assert "Latest model" in out and "random:" in out
    # The headline, right under the title, is the per-slot score against the oracle under the same rules.
    assert out.splitlines()[1].startswith("PER PLANNED SLOT: ")


def test_simulate_json_output(redis_binary, capsys):
    code = cli.main(["simulate", "--days", "4", "--seed", "5", "--json", "--no-baseline"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["policy"] == "postloop" and data["days"] == 4 and data["posted"] > 0
    assert data["decisions"] == 4 * 6
    assert 0 < data["per_slot"] == pytest.approx(data["slot_expected"] / data["slot_oracle_expected"])
    assert data["slots"] + sum(t["after_end"] for t in data["trace"]) == 4 * 6
    assert data["expected_engagements"] > 0 and data["oracle_expected_engagements"] > 0


def test_simulate_rejects_an_unknown_scenario(capsys):
    assert cli.main(["simulate", "--scenario", "no-such-world", "--days", "1"]) == 2
    assert "not found" in capsys.readouterr().err


def test_simulate_without_redis_server_uses_the_stand_in_and_says_so(capsys):
    code = cli.main(["simulate", "--days", "4", "--seed", "6", "--json", "--no-baseline", "--in-process-redis"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["redis"].startswith("in-process stand-in (fakeredis)")
    assert data["latest_model"]["cache_written"] is True   # learn wrote the model through the stand-in


def test_an_account_in_approval_mode_walks_the_approval_step_and_posts_what_was_approved():
    scenario = load_scenario("stationary")
    account = {**simulate.load_account("demo"), "mode": "approval"}
    start = utc(2026, 1, 5, 5)
    clock = simulate.SimClock(start)
    world = World(scenario, 2, start)
    result, mw = simulate.run_memory(world, clock, scenario, account, start, 3, seed=2)
    assert result.statuses["awaiting_approval"] == result.decisions > 0
    # Each cycle asked for an answer and got it (the simulation answers yes at once).
    assert result.handler_calls["approve"] == 2 * result.decisions
    posted = [mw.decisions.get(account["account_id"], i) for i in result.plan_ids]
    approved = [d for d in posted if d.approval.get("answer") == "approved"]
    assert len(approved) == result.decisions
    assert {d.approval["reviewer"] for d in approved} == {"simulation"}
    assert len(result.posts) >= result.decisions - account["posts_per_day"]
