"""`postloop status`, `pause`, `resume`, `approve` and `reject` on a deployed account (moto: the
tables from the PynamoDB models, found through the stack's outputs)."""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoOutcomeStore
from postloop.adapters.pause_flags import DynamoPauseFlags
from postloop.adapters.tables import ALL_TABLES, TableNames, bind_tables
from postloop.core.account import parse_account
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import PlanDeps, plan
from postloop.core.records import Decision, Status
from postloop_local import cli, deployed, operate
from postloop_local.memory import MemoryArmStore, MemoryModelRegistry

REGION = "eu-west-1"
PHYSICAL = {key: f"postloop-Storage{key.title().replace('_', '')}-XYZ{i}" for i, key in enumerate(ALL_TABLES)}
DEMO = json.loads((Path(__file__).parents[2] / "layers/local/python/postloop_local/accounts/demo.json").read_text())
GOOD = ("Caffeine has a half-life of about 5 hours: a 3 pm coffee still leaves half its dose in you at 8 pm, "
        "which is why sleep pressure feels blunted at bedtime.")


def _run(args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def tables(monkeypatch, tmp_path):
    import boto3
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    for var in ("AWS_SESSION_TOKEN", "AWS_PROFILE", *deployed.TABLE_ENV.values()):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "demo.json").write_text(json.dumps({**DEMO, "mode": "approval",
                                                    "budgets": {"x_usd_per_month": 5}}))
    monkeypatch.setattr(deployed, "ACCOUNTS_DIR", tmp_path)
    with mock_aws():
        t = bind_tables(TableNames(**PHYSICAL), REGION)
        for f in fields(t):
            getattr(t, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                    "Outputs": {deployed.STACK_OUTPUTS[k]: {"Value": v} for k, v in PHYSICAL.items()}}
        boto3.client("cloudformation", region_name=REGION).create_stack(StackName="postloop",
                                                                        TemplateBody=json.dumps(template))
        yield t


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def _waiting(t, decision_id="d1", token=None):
    now = _now()
    d = Decision("demo", decision_id, now - timedelta(minutes=5), Status.AWAITING_APPROVAL,
                 content_type="factual_single", hour=9, scheduled_for=now + timedelta(hours=1),
                 parts=["A draft about naps, written by the bot."], approval={"token": token} if token else {})
    DynamoDecisionStore(t).put_new(d)
    return d


def test_pause_then_plan_skips_then_resume_plans(tables):
    code, out, err = _run(["pause", "--account", "demo", "--by", "ana", "--reason", "on holiday"])
    assert code == 0 and "paused" in out, err
    code, out, _ = _run(["status", "--account", "demo", "--json"])
    s = json.loads(out)
    assert s["paused"]["by"] == "ana" and s["paused"]["reason"] == "on holiday" and s["mode"] == "approval"
    deps = PlanDeps(DynamoDecisionStore(tables), MemoryArmStore(), OfflineWriter(), MemoryModelRegistry(), None,
                    outcomes=DynamoOutcomeStore(tables), pause=DynamoPauseFlags(tables.locks))
    config = parse_account(DEMO)
    slot = _now().replace(minute=0, second=0)
    d = plan(config, slot, deps)
    stored = DynamoDecisionStore(tables).get("demo", d.decision_id)
    assert stored.status is Status.SKIPPED and stored.status_reason.startswith("paused by ana") and not stored.parts
    code, out, _ = _run(["resume", "--account", "demo"])
    assert code == 0 and "resumed" in out
    assert _run(["resume", "--account", "demo"])[1].startswith("account demo was not paused")
    assert plan(config, slot + timedelta(hours=4), deps).status is not Status.SKIPPED


def test_status_lists_drafts_awaiting_approval_and_spend(tables):
    _waiting(tables)
    code, out, err = _run(["status", "--account", "demo"])
    assert code == 0, err
    assert "mode        approval" in out and "paused      no" in out and "awaiting approval: 1" in out
    assert "d1" in out and "of $5.00" in out and "model       none fitted yet" in out


def test_reject_with_a_reason_and_clear_errors(tables):
    _waiting(tables)
    code, out, err = _run(["reject", "d1", "--account", "demo", "--reviewer", "ana", "--reason", "off topic"])
    assert code == 0, err
    assert json.loads(out)["status"] == "rejected"
    assert DynamoDecisionStore(tables).get("demo", "d1").status_reason == "rejected by ana: off topic"
    code, _, err = _run(["approve", "d1", "--account", "demo"])
    assert code == 2 and err.count("\n") == 1 and "already rejected" in err
    code, _, err = _run(["approve", "nope", "--account", "demo"])
    assert code == 2 and "no decision 'nope'" in err and err.count("\n") == 1
    code, _, err = _run(["status", "--account", "demo", "--stack", "other"])
    assert code == 2 and "ValidationError" in err and err.count("\n") == 1 and "Traceback" not in err


def test_approve_with_an_edit_is_rescored(tables, tmp_path):
    _waiting(tables)
    bad = tmp_path / "bad.txt"
    bad.write_text(GOOD + " A guaranteed cure.")
    code, _, err = _run(["approve", "d1", "--account", "demo", "--edit", str(bad)])
    assert code == 2 and "banned phrase" in err
    assert DynamoDecisionStore(tables).get("demo", "d1").status is Status.AWAITING_APPROVAL   # nothing written
    good = tmp_path / "good.txt"
    good.write_text(GOOD + "\n")
    code, out, err = _run(["approve", "d1", "--account", "demo", "--edit", str(good), "--reviewer", "ana"])
    assert code == 0, err
    res = json.loads(out)
    assert res["status"] == "planned" and res["scores"]["verdict"] == "approve" and res["resumed"] is False
    saved = DynamoDecisionStore(tables).get("demo", "d1")
    assert saved.parts == [GOOD] and saved.approval["edited_by"] == "ana"
    code, _, err = _run(["approve", "d1", "--account", "demo", "--edit", str(tmp_path / "missing.txt")])
    assert code == 2 and "missing.txt" in err


def test_approve_resumes_the_waiting_workflow_with_its_token(tables):
    _waiting(tables, token="task-token-1")
    calls = []

    class Resumer:
        def resume(self, token, output):
            calls.append((token, output))

    t = operate.target("demo", "postloop", REGION)
    out = operate.answer(t, "d1", True, "ana", _now(), resumer=Resumer())
    assert out["resumed"] and calls == [("task-token-1", {**{k: out[k] for k in calls[0][1]}})]
    assert calls[0][1]["status"] == "planned"
