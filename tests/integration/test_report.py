"""`postloop posts`, `postloop report` and `simulate --report`: a simulated run and a deployed
account's tables (moto, created from the same PynamoDB models, found through the stack's outputs
and read with a read-only IAM policy) give the same posts and the same report."""
from __future__ import annotations

import contextlib
import html.parser
import io
import json
from dataclasses import asdict, fields
from datetime import timedelta

import pytest

from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoModelRegistry, DynamoOutcomeStore
from postloop.adapters.tables import ALL_TABLES, TableNames, bind_tables
from postloop_local import charts, cli, deployed, posts, report, simulate
from postloop_local.activity import PostView
from postloop_local.scenario import load_scenario
from postloop_local.world import World
from tests.conftest import utc

REGION = "eu-west-1"
START = utc(2026, 1, 5)
DAYS = 8
# CloudFormation's generated names, as a deployed stack has them.
PHYSICAL = {key: f"postloop-Storage{key.title().replace('_', '')}A1B2C3-XYZ{i}" for i, key in enumerate(ALL_TABLES)}


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sim():
    """An 8-day run on the in-memory backend: its result and the stores it filled."""
    from postloop.runtime.observability import logger
    logger.setLevel("WARNING")
    scenario = load_scenario("stationary")
    account = simulate.load_account(scenario.account)
    clock = simulate.SimClock(START)
    with contextlib.redirect_stdout(io.StringIO()):
        result, mw = simulate.run_memory(World(scenario, 3, START), clock, scenario, account, START, DAYS, 3)
    return result, mw, account


@pytest.fixture()
def aws(monkeypatch, tmp_path):
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for var in deployed.TABLE_ENV.values():
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        yield


def _deploy(sim, hostile: str | None = None):
    """The stack's tables (from the PynamoDB models), its outputs, and the run's records in them."""
    import boto3
    result, mw, account = sim
    tables = bind_tables(TableNames(**PHYSICAL), REGION)
    for f in fields(tables):
        getattr(tables, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {deployed.STACK_OUTPUTS[k]: {"Value": v} for k, v in PHYSICAL.items()}}
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="postloop",
                                                                    TemplateBody=json.dumps(template))
    end = START + timedelta(days=DAYS)
    decisions = mw.decisions.planned_between("demo", START, end)
    store = DynamoDecisionStore(tables)
    for d in decisions:
        store.save(d)
    for o in mw.outcomes.collected_between("demo", START, end + timedelta(days=3)):
        DynamoOutcomeStore(tables).put_if_absent(o)
    for m in mw.registry._versions["demo"].values():
        DynamoModelRegistry(tables).put(m)
    if hostile is not None:
        best = max((d for d in decisions if d.status.value == "posted"), key=lambda d: d.planned_at)
        best.parts = [hostile, "\x1b[2J\x1b[31mred\x1b[0m and \u202egnp.exe"]
        store.save(best)
    return tables, end


def _read_only_user(monkeypatch, actions=deployed.READ_ONLY_ACTIONS) -> None:
    """Sign every later call as an IAM user allowed only `actions`."""
    import boto3
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


def _enforced(fn, *args):
    from moto.core import set_initial_no_auth_action_count
    return set_initial_no_auth_action_count(0)(fn)(*args)


def _scan_all(tables) -> dict:
    import boto3
    ddb = boto3.client("dynamodb", region_name=REGION)
    return {name: sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=name)["Items"])
            for name in PHYSICAL.values()}


# --- a deployed account, read only ------------------------------------------------------------------


def test_posts_for_a_deployed_account_with_a_read_only_policy(sim, aws, monkeypatch):
    tables, end = _deploy(sim)
    before = _scan_all(tables)
    _read_only_user(monkeypatch)
    monkeypatch.setattr(deployed, "datetime", _FixedNow(end))
    code, out, err = _enforced(_run, ["posts", "--account", "demo", "--region", REGION, "--json"])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    result = sim[0]
    assert [r["decision_id"] for r in rows] == result.plan_ids
    by_id = {r["decision_id"]: r for r in result.trace}
    for row in rows:
        assert row["parts"] == by_id[row["decision_id"]]["parts"]
        assert row["status"] == by_id[row["decision_id"]]["status"]
    posted = [r for r in rows if r["status"] == "posted"]
    assert posted and all(r["parts"] and r["quality"] is not None for r in posted)
    assert any(r["outcome_hours"] == 48 and r["engagement_rate"] is not None for r in posted)
    assert "deployed account demo: stack postloop in eu-west-1" in err

    # Filter by status; the readable table.
    code, out, _ = _enforced(_run, ["posts", "--account", "demo", "--region", REGION, "--status", "planned"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("PLANNED (UTC)") and len(lines) == 1 + sum(r["status"] == "planned" for r in rows)
    assert all(" planned " in line for line in lines[1:])
    # Nothing was written.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert _scan_all(tables) == before


def test_guard_off_a_policy_without_query_is_refused_with_a_message_not_a_traceback(sim, aws, monkeypatch):
    _deploy(sim)
    _read_only_user(monkeypatch, actions=["cloudformation:DescribeStacks"])
    code, out, err = _enforced(_run, ["posts", "--account", "demo", "--region", REGION])
    assert code == 2 and out == ""
    assert "AccessDenied" in err and "dynamodb:Query" in err and "Traceback" not in err
    assert PHYSICAL["content_metadata"] in err


def test_table_names_from_the_environment_need_no_stack(sim, aws, monkeypatch):
    _deploy(sim)
    for key, var in deployed.TABLE_ENV.items():
        monkeypatch.setenv(var, PHYSICAL[key])
    _read_only_user(monkeypatch, actions=["dynamodb:Query"])
    code, out, err = _enforced(_run, ["posts", "--account", "demo", "--region", REGION, "--days", "3650", "--json"])
    assert code == 0, err
    assert len(out.splitlines()) == len(sim[0].plan_ids)


@pytest.mark.parametrize("setup, message", [
    ("no stack", "reading the outputs of stack 'postloop' in eu-west-1: ValidationError"),
    ("not postloop's stack", "has no output ContentMetadataTableName: is it postloop's stack?"),
    ("no region", "no AWS region: pass --region or set AWS_REGION"),
])
def test_a_deployed_account_that_cannot_be_read_says_why(aws, monkeypatch, setup, message):
    import boto3
    if setup == "not postloop's stack":
        boto3.client("cloudformation", region_name=REGION).create_stack(StackName="postloop", TemplateBody=json.dumps(
            {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Other": {"Value": "x"}}}))
    args = ["report", "--account", "demo"]
    if setup == "no region":
        for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(var)
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    else:
        args += ["--region", REGION]
    code, out, err = _run(args)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_the_stack_outputs_are_the_ones_the_cdk_app_declares():
    from postloop_infra import names
    from postloop_infra.storage import table_construct_id
    assert set(deployed.STACK_OUTPUTS) == set(ALL_TABLES)
    # infra/postloop_infra/stack.py: CfnOutput(f"{table_construct_id-style key}TableName") per table.
    assert deployed.STACK_OUTPUTS == {k: f"{table_construct_id(k)}TableName" for k in ALL_TABLES}
    assert deployed.TABLE_ENV == names.TABLE_ENV
    assert deployed.DEFAULT_STACK == names.STACK_NAME


# --- the same report from a simulated run and from the tables -----------------------------------------


def test_simulated_run_and_deployed_tables_give_the_same_posts_models_and_report(sim, aws, monkeypatch, tmp_path):
    result, _, account = sim
    _, end = _deploy(sim)
    accounts = tmp_path / "accounts"
    accounts.mkdir()
    (accounts / "demo.json").write_text(json.dumps(account))
    monkeypatch.setattr(deployed, "ACCOUNTS_DIR", accounts)
    from_tables = deployed.read_activity("demo", region=REGION, days=30, now=end)
    from_run = simulate.activity(result, account)
    assert [asdict(p) for p in from_tables.posts] == [asdict(p) for p in from_run.posts]
    assert [asdict(m) for m in from_tables.models] == [asdict(m) for m in from_run.models]
    assert len(from_run.models) >= DAYS   # learn fitted new versions through the run
    assert (from_tables.content_types, from_tables.posting_hours, from_tables.timezone) == \
           (from_run.content_types, from_run.posting_hours, from_run.timezone)
    at = utc(2026, 2, 1)
    page_tables = report.render(from_tables, at).replace(charts.esc(from_tables.source), "SOURCE")
    page_run = report.render(from_run, at).replace(charts.esc(from_run.source), "SOURCE")
    assert page_tables == page_run

    # The CLI writes that page for the deployed account.
    monkeypatch.setattr(deployed, "datetime", _FixedNow(end))
    code, _, err = _run(["report", "--account", "demo", "--region", REGION, "--out", str(tmp_path / "r")])
    assert code == 0, err
    page = (tmp_path / "r" / "index.html").read_text()
    assert page.count('<svg class="figure"') == 7
    best = from_tables.ranked()[0]
    assert charts.esc(best.parts[0]) in page


class _FixedNow:
    """Stands in for `datetime` in deployed.py so `now` is the end of the simulated run."""

    def __init__(self, now):
        self._now = now

    def now(self, tz=None):
        return self._now

    def __getattr__(self, name):
        from datetime import datetime
        return getattr(datetime, name)


# --- escaping ------------------------------------------------------------------------------------------


HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>"><svg onload=alert(3)>'


class _Markup(html.parser.HTMLParser):
    """What a browser would build from the page: its elements and their attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [(tag, name) for name, _ in attrs if name.startswith("on")]


def _markup(page: str) -> _Markup:
    m = _Markup()
    m.feed(page)
    return m


def _hostile_activity(sim):
    result, _, account = sim
    act = simulate.activity(result, {**account, "content_types": [
        *account["content_types"], {"name": 'type"><script>alert(4)</script>'}]})
    best = act.ranked()[0]
    best.parts = [HOSTILE, "and <b>more</b>"]
    best.content_type = 'type"><script>alert(4)</script>'
    best.reason = HOSTILE
    return act


def test_post_text_and_names_are_escaped_everywhere(sim):
    page = report.render(_hostile_activity(sim))
    m = _markup(page)
    assert "script" not in m.tags and m.handlers == []
    assert m.tags.count("img") == 0 and m.tags.count("svg") == 7
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert report.CSP in page and "script-src" not in report.CSP   # default-src 'none' forbids scripts


def test_guard_off_without_escaping_the_post_becomes_markup(sim, monkeypatch):
    monkeypatch.setattr(charts, "esc", lambda text: str(text))
    m = _markup(report.render(_hostile_activity(sim)))
    assert "script" in m.tags and ("img", "onerror") in m.handlers


def test_posts_in_the_terminal_cannot_drive_it(sim, aws, monkeypatch):
    tables, end = _deploy(sim, hostile="plain")
    monkeypatch.setattr(deployed, "datetime", _FixedNow(end))
    code, out, err = _run(["posts", "--account", "demo", "--region", REGION, "--full", "--limit", "200"])
    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out
    assert "?[2J?[31mred?[0m and ?gnp.exe" in out


# --- simulate: the summary, the --json trace, --report, and posts --from-run ----------------------------


def test_simulate_shows_posts_writes_the_report_and_its_json_feeds_posts(tmp_path):
    code, out, err = _run(["simulate", "--backend", "memory", "--days", "6", "--no-baseline", "--no-iam",
                           "--report", str(tmp_path / "report")])
    assert code == 0, err
    summary = out[out.index("Posts: the best and worst"):]
    for label in ("best", "worst", "latest"):
        assert f"\n  {label:<7} 2026-01-" in summary
    assert "quality 0." in summary and "predicted" in summary and "actual " in summary
    page = (tmp_path / "report" / "index.html").read_text()
    assert page.count('<svg class="figure"') == 7 and "report written to" in err

    code, out, err = _run(["simulate", "--backend", "memory", "--days", "6", "--no-baseline", "--no-iam", "--json"])
    assert code == 0, err
    run = json.loads(out)
    posted = [r for r in run["trace"] if r["status"] == "posted"]
    assert posted and all(r["parts"] and all(isinstance(p, str) and p for p in r["parts"]) for r in posted)
    assert all(k in posted[0] for k in ("quality", "novelty", "predicted", "engagement_rate", "expected", "oracle"))
    # The first posted text is the summary's kind of text: the bot's own draft.
    assert run["account"]["content_types"][0] == "factual_single" and run["models"]
    saved = tmp_path / "run.json"
    saved.write_text(out)
    code, lines, err = _run(["posts", "--from-run", str(saved), "--json", "--status", "posted"])
    assert code == 0, err
    rows = [json.loads(line) for line in lines.splitlines()]
    assert [r["parts"] for r in rows] == [r["parts"] for r in posted]
    code, _, err = _run(["report", "--from-run", str(saved), "--out", str(tmp_path / "again")])
    assert code == 0, err and (tmp_path / "again" / "index.html").exists()


def test_posts_simulates_when_given_no_source():
    code, out, err = _run(["posts", "--days", "4", "--status", "posted", "--sort", "engagement", "--limit", "3"])
    assert code == 0, err
    assert len(out.splitlines()) == 4 and "simulated run: scenario stationary, 4 days" in err
    code, out, err = _run(["posts", "--days", "4", "--sort", "engagement", "--limit", "3", "--json"])
    rates = [json.loads(line)["engagement_rate"] for line in out.splitlines()]
    assert len(rates) == 3 and None not in rates and rates == sorted(rates, reverse=True)


@pytest.mark.parametrize("args, message", [
    (["posts", "--status", "posted,published"], "--status: unknown status published; one of planned"),
    (["posts", "--limit", "0"], "--limit must be at least 1"),
    (["posts", "--days", "0"], "--days must be between 1 and 3650"),
    (["posts", "--scenario", "nope"], "nope"),
    (["posts", "--from-run", "/nonexistent.json"], "--from-run: no such file: /nonexistent.json"),
    (["report", "--from-run", "README.md"], "--from-run: README.md is not JSON"),
    (["posts", "--from-run", "pyproject.toml"], "is not JSON"),
])
def test_bad_arguments_are_named(args, message):
    code, out, err = _run(args)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_from_run_rejects_json_that_is_not_a_run(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"trace": [{"time": "2026-01-05T00:00:00Z"}]}))
    code, _, err = _run(["posts", "--from-run", str(f)])
    assert code == 2 and "lacks decision_id, status" in err
    f.write_text("[1, 2]")
    code, _, err = _run(["posts", "--from-run", str(f)])
    assert code == 2 and "is not the output of `postloop simulate --json`" in err


def test_a_post_view_round_trips_through_json():
    p = PostView("d1", "2026-01-05T00:00:00Z", "posted", parts=["a", "b"], outcome_hours=48, engagement_rate=0.05)
    assert PostView.from_dict(json.loads(json.dumps(p.as_dict()))) == p and p.settled
    assert posts.printable("a\x1b[0m\tb\nc\u202e") == "a?[0m\tb\nc?"


def test_a_run_saved_without_its_account_takes_types_and_hours_from_the_posts(tmp_path):
    rows = [PostView(f"d{i}", f"2026-01-0{5 + i}T10:00:00Z", "posted", content_type=t, hour=h, parts=[f"post {i}"],
                     posted_at=f"2026-01-0{5 + i}T15:00:00Z", outcome_hours=48, engagement_rate=0.01 * (i + 1),
                     impressions=100, likes=i, retweets=0, replies=0).as_dict()
            for i, (t, h) in enumerate([("question", 9), ("hot_take", 19), ("question", 19)])]
    f = tmp_path / "old.json"
    f.write_text(json.dumps({"scenario": "x", "days": 3, "seed": 1, "policy": "postloop", "trace": rows}))
    act = posts.read_run(str(f))
    assert act.content_types == ["hot_take", "question"] and act.posting_hours == [9, 19]
    page = report.render(act)
    assert "09:00" in page and "2 · 2.0%" not in page and "1 · 3.0%" in page
