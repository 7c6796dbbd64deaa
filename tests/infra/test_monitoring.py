"""The dashboard reads metrics the handlers really emit; the alarms cover what must wake a person,
and nothing else: each alarm metric is billed."""
from __future__ import annotations

import ast
import json

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from synth_helpers import ALARM_EMAIL, REPO, render

from postloop.runtime import observability

FUNCTIONS = ("plan", "approve", "post", "scrape", "learn")


def metric_calls(source: str) -> list[tuple[str, str]]:
    """(receiver, name or f-string prefix) of each add_metric(name=...) with a literal name in `source`:
    receiver `metrics` always sends, `dashboard_metrics` only where the dashboard is deployed."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
            name = next(k.value for k in node.keywords if k.arg == "name")
            receiver = getattr(node.func.value, "id", "?")
            if isinstance(name, ast.Constant):
                calls.append((receiver, name.value))
            elif isinstance(name, ast.JoinedStr) and isinstance(name.values[0], ast.Constant):
                calls.append((receiver, name.values[0].value))
    return calls


# What the alarms read: sent whether or not the dashboard is deployed.
ALARM_METRICS = ("MonthSpendUSD", "Post_", "ModelCacheWriteFailed")


def alarm_metrics_behind_the_dashboard(sources: list[str]) -> list[str]:
    """The alarms' metrics that no handler sends through `metrics` (always) but only behind the dashboard's
    switch. post sends Post_posted and Post_dry_run always and its other actions only with the dashboard."""
    calls = [c for source in sources for c in metric_calls(source)]
    always = {name for receiver, name in calls if receiver == "metrics"}
    return sorted({name for receiver, name in calls if name in ALARM_METRICS and name not in always})


def test_the_alarms_metrics_are_sent_without_the_dashboard(main_synth, variant_synth):
    sources = [h.read_text() for h in (REPO / "functions").glob("*/handler.py")]
    assert alarm_metrics_behind_the_dashboard(sources) == []
    sent = {name for s in sources for _, name in metric_calls(s)}
    assert set(ALARM_METRICS) <= sent
    # The check sees an alarm's metric moved behind the dashboard's switch.
    moved = [s.replace('metrics.add_metric(name="MonthSpendUSD"', 'dashboard_metrics.add_metric(name="MonthSpendUSD"')
             for s in sources]
    assert "MonthSpendUSD" in alarm_metrics_behind_the_dashboard(moved)
    # The switch follows the option: on with the dashboard, absent without.
    for name in ("plan", "post", "scrape", "learn", "approve"):
        on = main_synth.resource(main_synth.stack.functions.functions[name])["Properties"]["Environment"]
        off = variant_synth.resource(variant_synth.stack.functions.functions[name])["Properties"]["Environment"]
        assert on["Variables"]["POSTLOOP_DASHBOARD_METRICS"] == "true"
        assert "POSTLOOP_DASHBOARD_METRICS" not in off["Variables"]


def test_dashboard_metrics_are_sent_only_when_switched_on(monkeypatch):
    from postloop.runtime.observability import DashboardMetrics
    added = []
    monkeypatch.setattr(observability.metrics, "add_metric", lambda **kw: added.append(kw["name"]))
    DashboardMetrics({}).add_metric(name="Decision_planned", unit="Count", value=1)
    DashboardMetrics({"POSTLOOP_DASHBOARD_METRICS": "false"}).add_metric(name="Decision_planned", unit="Count", value=1)
    assert added == []
    DashboardMetrics({"POSTLOOP_DASHBOARD_METRICS": "true"}).add_metric(name="Decision_planned", unit="Count",
                                                                         value=1)
    assert added == ["Decision_planned"]


def emitted_metric_names() -> tuple[set[str], set[str]]:
    """(exact names, f-string prefixes) of every add_metric(name=...) in functions/*/handler.py."""
    exact, prefixes = set(), set()
    for handler in (REPO / "functions").glob("*/handler.py"):
        for node in ast.walk(ast.parse(handler.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                name = next(k.value for k in node.keywords if k.arg == "name")
                if isinstance(name, ast.Constant):
                    exact.add(name.value)
                elif isinstance(name, ast.JoinedStr) and isinstance(name.values[0], ast.Constant):
                    prefixes.add(name.values[0].value)
                elif isinstance(name, ast.Name):
                    # A loop over literal pairs (learn's held-out metrics): take every string
                    # literal of the handler that could be that name.
                    exact |= {c.value for c in ast.walk(ast.parse(handler.read_text()))
                              if isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value[:1].isupper()}
    return exact, prefixes


def dashboard(synth) -> dict:
    (board,) = synth.of_type("AWS::CloudWatch::Dashboard").values()
    names = synth.readable_names()
    return json.loads(render(board["Properties"]["DashboardBody"], names))


def app_metrics(body: dict) -> list[list]:
    """Every metric array of the handlers' namespace in the dashboard's graphs."""
    out = []
    for widget in body["widgets"]:
        for m in widget.get("properties", {}).get("metrics", []):
            if m and m[0] == observability.metrics.namespace:
                out.append(m)
    return out


def test_dashboard_metrics_are_the_ones_the_handlers_emit(main_synth):
    exact, prefixes = emitted_metric_names()
    used = app_metrics(dashboard(main_synth))
    assert used, "the dashboard shows no handler metric"
    for m in used:
        name = m[1]
        assert name in exact or any(name.startswith(p) for p in prefixes), f"{name} is not emitted by any handler"


def test_dashboard_dimensions_are_the_ones_powertools_writes(main_synth):
    # Emit one metric the way the handlers do and read back what CloudWatch will index.
    metrics = Metrics(namespace=observability.metrics.namespace, service=observability.metrics.service)
    metrics.add_dimension("account", "demo")
    metrics.add_metric(name="MonthSpendUSD", unit=MetricUnit.NoUnit, value=0.1)
    record = metrics.serialize_metric_set()
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    metrics.clear_metrics()
    (dimension_set,) = directive["Dimensions"]
    for m in app_metrics(dashboard(main_synth)):
        assert m[0] == directive["Namespace"]
        # [namespace, name, dim1, value1, dim2, value2, {options}]
        dims = dict(zip(m[2:-1:2], m[3:-1:2], strict=True))
        assert set(dims) == set(dimension_set)
        assert dims["service"] == record["service"]
        assert dims["account"] in ("demo", "berlin")


@pytest.mark.parametrize("topic", ["Posts per day", "engagement rate", "Arm shares: content type",
                                   "Arm shares: posting hour", "held-out skill", "gate rejections", "Spend",
                                   "X and OpenAI errors", "Lambda errors", "Lambda duration", "Post cycles",
                                   "Alarms"])
def test_dashboard_has_a_widget_for(main_synth, topic):
    titles = [w["properties"].get("title", "") for w in dashboard(main_synth)["widgets"]]
    assert any(topic in t for t in titles), titles


def test_dashboard_sets_actual_engagement_next_to_the_prediction(main_synth):
    widget = next(w for w in dashboard(main_synth)["widgets"]
                  if "engagement rate" in w["properties"].get("title", ""))
    text = json.dumps(widget)
    assert "PredictedEngagementRate" in text and "ActualEngagementRate" in text


def test_the_dashboard_is_opt_in_and_stays_within_50_metrics_for_one_account(main_synth, variant_synth):
    assert not variant_synth.of_type("AWS::CloudWatch::Dashboard")   # $3 a month: `-c dashboard=true`
    assert "DashboardName" not in variant_synth.template.get("Outputs", {})
    metrics = [m for w in dashboard(main_synth)["widgets"] for m in w.get("properties", {}).get("metrics", [])]
    per_account = [m for m in metrics if "account" in m]
    accounts = len(main_synth.stack.accounts)
    # CloudWatch's free allowance is three dashboards of up to 50 metrics; one account stays inside it.
    assert len(metrics) - len(per_account) + len(per_account) // accounts <= 50, len(metrics)


def test_dashboard_plots_every_function_and_both_state_machines(main_synth):
    text = json.dumps(dashboard(main_synth))
    for name in FUNCTIONS:
        assert f'"FunctionName", "function:{name}"' in text
    for machine in ("start", "cycle"):
        assert f'"StateMachineArn", "state-machine:{machine}"' in text


def test_arm_share_queries_read_the_plan_log_group(main_synth):
    queries = [w["properties"] for w in dashboard(main_synth)["widgets"] if w["type"] == "log"
               and "Arm shares" in w["properties"]["title"]]
    assert len(queries) == 2
    for q in queries:
        assert "SOURCE 'logs:plan'" in q["query"]
        assert 'filter message = "planned"' in q["query"]


# --- alarms -----------------------------------------------------------------------------------------

def alarms(synth) -> dict[str, dict]:
    return {a["Properties"]["AlarmName"]: a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()}


def metric_names(alarm: dict) -> list[str]:
    if "MetricName" in alarm:
        return [alarm["MetricName"]]
    return [m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m]


def test_every_alarm_notifies_the_alarm_topic(main_synth):
    topic = main_synth.logical_id(main_synth.stack.notifications.alarms)
    for name, alarm in alarms(main_synth).items():
        assert alarm["AlarmActions"] == [{"Ref": topic}], name


def test_alarm_and_approval_topics_mail_the_configured_address(main_synth):
    subs = {s["Properties"]["TopicArn"]["Ref"]: s["Properties"] for s in
            main_synth.of_type("AWS::SNS::Subscription").values()}
    for topic in (main_synth.stack.notifications.alarms, main_synth.stack.notifications.approvals):
        sub = subs[main_synth.logical_id(topic)]
        assert (sub["Protocol"], sub["Endpoint"]) == ("email", ALARM_EMAIL)


def alarm_metric_count(alarm: dict) -> int:
    """What CloudWatch bills an alarm for: each metric it reads (a math expression's inputs)."""
    return 1 if "MetricName" in alarm else sum("MetricStat" in m for m in alarm["Metrics"])


def test_the_alarms_are_the_ones_a_creator_acts_on_and_no_more(main_synth, variant_synth):
    per_account = {"no-post", "spend", "model-cache-write-failed"}
    names = set(alarms(main_synth))
    assert names == {"postloop-errors", "postloop-post-cycle-failed"} | {
        f"postloop-{a}-{aid}" for a in per_account for aid in ("demo", "berlin")} - {"postloop-spend-demo"}
    # Billed metrics: every function's errors and the queue, each state machine's failures, and
    # one metric per account alarm.
    functions, machines = len(main_synth.stack.functions.functions), 2
    expected = (functions + 1) + machines + (len(names) - 2)
    assert sum(alarm_metric_count(a) for a in alarms(main_synth).values()) == expected
    assert set(alarms(variant_synth)) == {"postloop-errors", "postloop-post-cycle-failed"}   # no account


def test_errors_alarm_covers_every_function_and_the_dead_letter_queue(main_synth):
    alarm = alarms(main_synth)["postloop-errors"]
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    errors = {s["Metric"]["Dimensions"][0]["Value"]["Ref"] for s in stats if s["Metric"]["MetricName"] == "Errors"}
    assert errors == {main_synth.logical_id(f) for f in main_synth.stack.functions.functions.values()}
    assert all(s["Metric"]["Namespace"] == "AWS/Lambda" for s in stats if s["Metric"]["MetricName"] == "Errors")
    (queue,) = [s for s in stats if s["Metric"]["Namespace"] == "AWS/SQS"]
    # Messages sent, not visible: a message kept for 14 days must not hold the alarm in ALARM.
    assert queue["Metric"]["MetricName"] == "NumberOfMessagesSent"
    queue_id = main_synth.logical_id(main_synth.stack.functions.dead_letters)
    assert queue["Metric"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert all((s["Stat"], s["Period"]) == ("Sum", 900) for s in stats)
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert expression.startswith("SUM([") and expression.count(",") == len(stats) - 1
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_failed_executions_alarm_watches_every_state_machine(main_synth):
    alarm = alarms(main_synth)["postloop-post-cycle-failed"]
    watched = {}
    for m in alarm["Metrics"]:
        if "MetricStat" in m:
            metric = m["MetricStat"]["Metric"]
            (dim,) = metric["Dimensions"]
            watched.setdefault(dim["Value"]["Ref"], set()).add(metric["MetricName"])
    machines = [k for k in main_synth.of_type("AWS::StepFunctions::StateMachine")]
    assert set(watched) == set(machines) and len(machines) >= 1
    # Failed only: a machine without TimeoutSeconds cannot time out, and only a person aborts one.
    assert all(v == {"ExecutionsFailed"} for v in watched.values())
    for machine in main_synth.of_type("AWS::StepFunctions::StateMachine").values():
        assert '"TimeoutSeconds"' not in json.dumps(machine["Properties"]["DefinitionString"]).split('"States"')[0]


@pytest.mark.parametrize("account_id, metric", [("demo", "Post_posted"), ("berlin", "Post_posted"),
                                                ("dry", "Post_dry_run")])
def test_no_post_in_24_hours_alarm_reads_what_post_emits_for_the_accounts_mode(main_synth, account_id, metric):
    from postloop.core.account import parse_account
    from postloop_infra.monitoring import posted_metric_name
    if account_id == "dry":
        demo = next(a for a in main_synth.stack.accounts if a.account_id == "demo")
        assert posted_metric_name(parse_account({**json.loads((REPO / "layers" / "local" / "python" /
                                                              "postloop_local" / "accounts" / "demo.json")
                                                             .read_text()), "mode": "dry_run"})) == metric
        assert demo.mode != "dry_run"
        return
    alarm = alarms(main_synth)[f"postloop-no-post-{account_id}"]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "breaching"
    (stat,) = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]   # one metric, labelled
    assert (stat["Metric"]["MetricName"], stat["Period"], stat["Stat"]) == (metric, 86400, "Sum")
    assert {"Name": "account", "Value": account_id} in stat["Metric"]["Dimensions"]
    exact, prefixes = emitted_metric_names()
    assert "Post_" in prefixes   # post emits Post_<action>, the action being posted or dry_run


def test_spend_alarm_only_for_accounts_with_a_cap(main_synth):
    names = alarms(main_synth)
    assert "postloop-spend-demo" not in names   # the demo account sets no budget
    alarm = names["postloop-spend-berlin"]
    (stat,) = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m] if "Metrics" in alarm else [
        {"Metric": {"MetricName": alarm["MetricName"]}, "Period": alarm["Period"]}]
    from postloop.core.workflow import LEARN_EVERY_HOURS
    # learn's month-to-date spend, the largest of two runs' time, against 80 % of the $15 cap (X $10 + OpenAI $5).
    assert stat["Metric"]["MetricName"] == "MonthSpendUSD" and stat["Period"] == 2 * LEARN_EVERY_HOURS * 3600
    assert stat.get("Stat", alarm.get("Statistic")) == "Maximum"
    assert alarm["Threshold"] == pytest.approx(0.8 * 15, abs=1e-4)
    exact, _ = emitted_metric_names()
    assert "MonthSpendUSD" in exact and "SpendUSD" not in exact


@pytest.mark.parametrize("account_id", ["demo", "berlin"])
def test_failed_model_cache_writes_alarm(main_synth, account_id):
    from postloop.core.workflow import LEARN_EVERY_HOURS
    alarm = alarms(main_synth)[f"postloop-model-cache-write-failed-{account_id}"]
    exact, _ = emitted_metric_names()
    (stat,) = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    metric = stat["Metric"]
    # The learn handler emits it, with the dimensions Powertools writes for every handler metric.
    assert metric["MetricName"] == "ModelCacheWriteFailed" and "ModelCacheWriteFailed" in exact
    assert metric["Namespace"] == observability.metrics.namespace
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {"service": observability.metrics.service,
                                                                     "account": account_id}
    assert (stat["Stat"], stat["Period"]) == ("Sum", 2 * LEARN_EVERY_HOURS * 3600)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (2, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
