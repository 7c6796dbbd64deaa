"""The dashboard reads metrics the handlers really emit; the alarms cover what must wake a person."""
from __future__ import annotations

import ast
import json

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from synth_helpers import ALARM_EMAIL, REPO, render

from postloop.runtime import observability

FUNCTIONS = ("plan", "approve", "post", "scrape", "learn")


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
    metrics.add_metric(name="SpendUSD", unit=MetricUnit.NoUnit, value=0.1)
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


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_error_alarm(main_synth, name):
    alarm = alarms(main_synth)[f"postloop-{name}-errors"]
    assert alarm["MetricName"] == "Errors" and alarm["Namespace"] == "AWS/Lambda"
    fn = main_synth.logical_id(main_synth.stack.functions.functions[name])
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
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
    assert all(v == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} for v in watched.values())


def test_throttle_alarm_per_table_covers_its_indexes(main_synth):
    for key, table in main_synth.stack.storage.tables.items():
        alarm = alarms(main_synth)[f"postloop-{key.replace('_', '-')}-throttled"]
        indexes = set()
        for m in alarm["Metrics"]:
            if "MetricStat" in m:
                dims = {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}
                assert dims["TableName"] == {"Ref": main_synth.logical_id(table)}
                indexes.add(dims.get("GlobalSecondaryIndexName"))
        assert indexes == {None, *main_synth.stack.storage.global_indexes[key]}
        assert set(metric_names(alarm)) == {"ReadThrottleEvents", "WriteThrottleEvents"}


@pytest.mark.parametrize("account_id", ["demo", "berlin"])
def test_no_post_in_24_hours_alarm(main_synth, account_id):
    alarm = alarms(main_synth)[f"postloop-no-post-{account_id}"]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "breaching"
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {s["Metric"]["MetricName"] for s in stats} == {"Post_posted", "Post_reconciled", "Post_dry_run"}
    assert all(s["Period"] == 86400 for s in stats)
    assert all({"Name": "account", "Value": account_id} in s["Metric"]["Dimensions"] for s in stats)


def test_spend_alarm_only_for_accounts_with_a_cap(main_synth):
    names = alarms(main_synth)
    assert "postloop-spend-demo" not in names   # the demo account sets no budget
    alarm = names["postloop-spend-berlin"]
    (stat,) = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m] if "Metrics" in alarm else [
        {"Metric": {"MetricName": alarm["MetricName"]}, "Period": alarm["Period"]}]
    assert stat["Metric"]["MetricName"] == "SpendUSD" and stat["Period"] == 7 * 86400
    # 80 % of the month's $15 cap (X $10 + OpenAI $5) at a 7-day pace.
    assert alarm["Threshold"] == pytest.approx(0.8 * 15 * 7 / 30.44, abs=1e-4)


def test_dead_letter_alarm(main_synth):
    alarm = alarms(main_synth)["postloop-dead-letters"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    queue = main_synth.logical_id(main_synth.stack.functions.dead_letters)
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]


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
