"""The Lambda functions: runtime, layers, settings, least-privilege roles, logs, concurrency, failures."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from synth_helpers import LLM_CONTEXT, REPO, render, write_accounts

from postloop.core.account import ConfigError, load_accounts
from postloop.runtime.settings import load_settings
from postloop_infra import names
from postloop_infra.options import OPENAI_CONTEXT

FUNCTIONS = ("plan", "approve", "post", "scrape", "learn")
LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
ENI = {"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
       "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
X_SECRET = {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}
CM = "table:content_metadata"


def pairs(actions: set[str], *resources: str) -> set[tuple[str, str]]:
    return {(a, r) for a in actions for r in resources}


def expected_permissions(accounts: list[str], openai: bool, nat: str = "none") -> dict[str, set[tuple[str, str]]]:
    """What each function may do, read from the code it runs (see infra/postloop_infra/functions.py)."""
    x_secrets = [f"secret:x/{a}" for a in accounts]
    base = {name: pairs(LOGS, f"logs:{name}") | pairs(XRAY, "*") for name in FUNCTIONS}
    # The model cache: through the cache function without a NAT, from inside the VPC with one.
    cache = pairs({"lambda:InvokeFunction"}, "function:cache") if nat == "none" else pairs(ENI, "*")
    return {
        # Lambda's own: its logs and attaching it to the VPC. It calls no AWS API, and is not traced.
        "cache": pairs(LOGS, "logs:cache") | pairs(ENI, "*"),
        "plan": base["plan"]
        | pairs({"dynamodb:GetItem", "dynamodb:PutItem"}, CM)
        | pairs({"dynamodb:Query"}, f"{CM}/index/by_posted_at", f"{CM}/index/by_planned_at",
                "table:outcomes/index/by_collected_at", "table:bandit_arms", "table:model_versions")
        | pairs({"dynamodb:GetItem"}, "table:locks")   # the account's pause flag
        | (pairs({"secretsmanager:GetSecretValue"}, "secret:openai") if openai else set())
        | cache,
        "approve": base["approve"]
        | pairs({"dynamodb:GetItem", "dynamodb:PutItem"}, CM)
        | pairs({"sns:Publish"}, "topic:approvals")
        | pairs({"secretsmanager:GetSecretValue"}, "secret:review-signing")   # signs the review links
        | pairs({"states:SendTaskSuccess"}, "state-machine:cycle"),
        "post": base["post"]
        | pairs({"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"}, CM)
        | pairs({"dynamodb:Query"}, f"{CM}/index/by_posted_at")   # reconciling a claim with X's recent posts
        | pairs({"dynamodb:PutItem", "dynamodb:DeleteItem"}, "table:locks")
        | pairs({"dynamodb:Query", "dynamodb:PutItem"}, "table:follower_readings")   # the count read once a day
        | pairs(X_SECRET, *x_secrets),
        "scrape": base["scrape"]
        | pairs({"dynamodb:Query"}, f"{CM}/index/by_posted_at", "table:outcomes/index/by_collected_at")
        | pairs({"dynamodb:PutItem"}, "table:outcomes")
        | pairs({"dynamodb:PutItem", "dynamodb:DeleteItem"}, "table:locks")
        | pairs(X_SECRET, *x_secrets),
        "learn": base["learn"]
        | pairs({"dynamodb:Query"}, f"{CM}/index/by_posted_at", f"{CM}/index/by_planned_at",
                "table:outcomes/index/by_collected_at")
        | pairs({"dynamodb:PutItem"}, CM)   # the sweep's conditional save of an adopted decision
        | pairs({"dynamodb:PutItem", "dynamodb:DeleteItem"}, "table:locks")
        | pairs(X_SECRET, *x_secrets)
        | pairs({"dynamodb:Query", "dynamodb:BatchWriteItem"}, "table:bandit_arms")
        | pairs({"dynamodb:Query", "dynamodb:PutItem"}, "table:model_versions")
        | pairs({"dynamodb:Query"}, "table:follower_readings")   # the follow model's daily readings
        | cache
        # The asynchronous failure destination (Lambda's grant for the SQS destination).
        | pairs({"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}, "queue:dead-letters"),
    }


def role_permissions(synth, function: str) -> set[tuple[str, str]]:
    """Every (action, resource) the function's role allows, from all policies attached to it."""
    role = synth.resource(synth.stack.functions.roles[function])
    role_id = synth.logical_id(synth.stack.functions.roles[function])
    assert "ManagedPolicyArns" not in role["Properties"], "no managed policies: every permission is written out"
    documents = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            documents.append(policy["Properties"]["PolicyDocument"])
    names_ = synth.readable_names()
    found = set()
    for doc in documents:
        for st in doc["Statement"]:
            assert st["Effect"] == "Allow" and "Condition" not in st and "NotAction" not in st, st
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            found |= {(a, render(r, names_)) for a in actions for r in resources}
    return found


def fn_props(synth, name: str) -> dict:
    return synth.resource(synth.stack.functions.functions[name])["Properties"]


@pytest.mark.parametrize("name", FUNCTIONS + ("cache",))
def test_role_allows_exactly_what_the_function_uses(main_synth, name):
    assert role_permissions(main_synth, name) == expected_permissions(["berlin", "demo"], openai=True)[name]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_role_without_accounts_or_openai_has_no_secret_access(variant_synth, name):
    # A NAT instance, so plan and learn are in the VPC and there is no cache function.
    assert "cache" not in variant_synth.stack.functions.functions
    assert role_permissions(variant_synth, name) == expected_permissions([], openai=False, nat="instance")[name]


def test_each_function_has_its_own_role(main_synth):
    roles = [fn_props(main_synth, n)["Role"] for n in FUNCTIONS]
    assert len({json.dumps(r) for r in roles}) == len(FUNCTIONS)
    for name in FUNCTIONS:
        assert fn_props(main_synth, name)["Role"] == {
            "Fn::GetAtt": [main_synth.logical_id(main_synth.stack.functions.roles[name]), "Arn"]}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_runtime_architecture_handler_and_layers(main_synth, name):
    props = fn_props(main_synth, name)
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "handler.lambda_handler"
    assert props["FunctionName"] == f"postloop-{name}"
    assert props["TracingConfig"] == {"Mode": "Active"}
    layer_ids = [main_synth.logical_id(layer) for layer in main_synth.stack.functions.layers]
    assert props["Layers"] == [{"Ref": i} for i in layer_ids]
    assert (REPO / "functions" / name / "handler.py").is_file()


def test_layers_are_arm64_python313(main_synth):
    layers = main_synth.of_type("AWS::Lambda::LayerVersion")
    assert len(layers) == 3
    for layer_id in [main_synth.logical_id(x) for x in main_synth.stack.functions.layers[:2]]:
        props = layers[layer_id]["Properties"]
        assert props["CompatibleRuntimes"] == ["python3.13"]
        assert props["CompatibleArchitectures"] == ["arm64"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_log_group_with_retention(main_synth, name):
    group = main_synth.stack.functions.log_groups[name]
    resource = main_synth.resource(group)
    assert resource["Properties"] == {"LogGroupName": f"/aws/lambda/postloop-{name}", "RetentionInDays": 30}
    assert fn_props(main_synth, name)["LoggingConfig"] == {"LogGroup": {"Ref": main_synth.logical_id(group)}}


def test_post_has_reserved_concurrency_and_no_other_function_does(main_synth, variant_synth):
    for name in FUNCTIONS:
        expected = 1 if name == "post" else None
        assert fn_props(main_synth, name).get("ReservedConcurrentExecutions") == expected, name
        # post_concurrency=0: nothing reserved (accounts whose Lambda quota is 10 cannot reserve any).
        assert "ReservedConcurrentExecutions" not in fn_props(variant_synth, name)


def test_scheduler_invoked_learn_sends_failures_to_an_encrypted_tls_only_queue(main_synth):
    configs = main_synth.of_type("AWS::Lambda::EventInvokeConfig")
    queue_id = main_synth.logical_id(main_synth.stack.functions.dead_letters)
    learn_id = main_synth.logical_id(main_synth.stack.functions.functions["learn"])
    assert len(configs) == 1, "only learn is invoked asynchronously (by EventBridge Scheduler)"
    (config,) = configs.values()
    assert config["Properties"]["FunctionName"] == {"Ref": learn_id}
    assert config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    assert config["Properties"]["MaximumRetryAttempts"] == 2

    queue = main_synth.template["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    (policy,) = [p for p in main_synth.of_type("AWS::SQS::QueuePolicy").values()
                 if {"Ref": queue_id} in p["Properties"]["Queues"]]
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert denies and denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- settings: what each function reads at cold start -----------------------------------------------

def resolved_env(synth, name: str) -> dict[str, str]:
    """The function's environment with references replaced by readable strings."""
    names_ = synth.readable_names()
    names_[synth.logical_id(synth.stack.network.cache)] = "cache"
    env = fn_props(synth, name)["Environment"]["Variables"]
    return {k: v if isinstance(v, str) else render(v, names_) for k, v in env.items()}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_environment_passes_the_settings_the_function_requires(main_synth, name):
    env = resolved_env(main_synth, name)
    assert env[names.ENV_ACCOUNTS_FILE] == "/opt/accounts/accounts.json"
    settings = load_settings({"AWS_REGION": "us-east-1", **env})  # raises SettingsError naming a missing variable
    if name in ("plan", "learn"):
        settings.require("model_cache_function")
        assert env[names.ENV_MODEL_CACHE_FUNCTION] == "function:cache"
    if name in ("post", "scrape"):
        settings.require("x_secret_id")
    llm_env = {env_name: value for key, env_name in OPENAI_CONTEXT.items()
               if (value := LLM_CONTEXT.get(key)) is not None}
    if name == "plan":
        assert env[names.ENV_OPENAI_SECRET_ID] == "postloop/openai"
        # The LLM options reach plan as the settings it reads, and only those that were given.
        assert {k: v for k, v in env.items() if k in OPENAI_CONTEXT.values()} == llm_env
        assert (settings.openai_api, settings.openai_model, settings.judge_model) == (
            "chat", "openai.gpt-oss-20b-1:0", "openai.gpt-oss-120b-1:0")
        assert settings.openai_base_url == LLM_CONTEXT["openai_base_url"]
    else:
        assert not set(env) & set(OPENAI_CONTEXT.values())
    if name == "approve":
        assert env[names.ENV_APPROVAL_TOPIC_ARN] == "topic:approvals"
        # The review page's links: its URL and the key that signs them (infra/postloop_infra/review.py).
        assert env["POSTLOOP_REVIEW_URL"] == "url:review.FunctionUrl"
        assert env["POSTLOOP_REVIEW_SECRET_ID"] == "secret:review-signing"
    # The main synth deploys the dashboard, so every function sends the metrics it reads.
    assert env[names.ENV_DASHBOARD_METRICS] == "true"
    allowed = {names.ENV_ACCOUNTS_FILE, names.ENV_MODEL_CACHE_FUNCTION, names.ENV_X_SECRET_ID,
               names.ENV_OPENAI_SECRET_ID, names.ENV_APPROVAL_TOPIC_ARN, names.ENV_DASHBOARD_METRICS,
               *names.TABLE_ENV.values(), *OPENAI_CONTEXT.values()}
    if name == "approve":
        allowed |= {"POSTLOOP_REVIEW_URL", "POSTLOOP_REVIEW_SECRET_ID"}
    assert set(env) <= allowed


def test_the_cache_function_is_small_untraced_and_knows_only_the_cache(main_synth, variant_synth):
    from postloop.runtime.wiring import CACHE_FUNCTION_READ_SECONDS
    props = fn_props(main_synth, "cache")
    assert (props["Runtime"], props["Architectures"], props["Handler"], props["FunctionName"]) == (
        "python3.13", ["arm64"], "handler.lambda_handler", "postloop-cache")
    assert "TracingConfig" not in props, "X-Ray could not be reached from inside the VPC without a NAT"
    assert (props["MemorySize"], props["Timeout"]) == (128, 10)
    assert CACHE_FUNCTION_READ_SECONDS > props["Timeout"], "plan and learn wait for the function's answer"
    env = resolved_env(main_synth, "cache")
    assert set(env) == {names.ENV_ACCOUNTS_FILE, names.ENV_REDIS_URL}
    assert env[names.ENV_REDIS_URL] == "rediss://cache.Endpoint.Address:cache.Endpoint.Port"
    load_settings({"AWS_REGION": "us-east-1", **env}).require("redis_url")
    assert (REPO / "functions" / "cache" / "handler.py").is_file()
    # With a NAT there is no cache function: plan and learn are told the cache's URL.
    for name in ("plan", "learn"):
        env = resolved_env(variant_synth, name)
        assert env[names.ENV_REDIS_URL] == "rediss://cache.Endpoint.Address:cache.Endpoint.Port"
        assert names.ENV_MODEL_CACHE_FUNCTION not in env


def test_without_openai_plan_uses_the_offline_writer(variant_synth):
    env = resolved_env(variant_synth, "plan")
    assert names.ENV_OPENAI_SECRET_ID not in env
    assert not set(env) & set(OPENAI_CONTEXT.values())   # no key, no LLM: its options are dropped too


# --- the accounts packaged with the functions -----------------------------------------------------

def test_accounts_layer_holds_every_account_in_the_format_the_functions_load(main_synth, accounts_dir):
    layer = main_synth.resource(main_synth.stack.functions.layers[2])
    staged = main_synth.staged_asset(layer["Properties"]["Content"]["S3Key"])
    packaged = load_accounts(staged / names.ACCOUNTS_LAYER_FILE)   # the functions' own loader
    expected = {}
    for path in sorted(accounts_dir.glob("*.json")):
        expected.update(load_accounts(path))
    assert packaged == expected
    assert sorted(packaged) == ["berlin", "demo"]


def test_a_bad_account_file_stops_the_synth_naming_the_field(tmp_path):
    from postloop_infra.stack import build_app

    bad = write_accounts(tmp_path / "accounts")
    account = json.loads((bad / "demo.json").read_text())
    del account["timezone"]
    (bad / "demo.json").write_text(json.dumps(account))
    with pytest.raises(ConfigError, match=r"demo\.json: 'timezone' is missing"):
        build_app({"aws:cdk:bundling-stacks": [], "accounts_dir": str(bad)}, outdir=str(tmp_path / "out"))


@pytest.mark.parametrize("account_id", ["dé", "a/b", "x" * 65])
def test_an_account_id_secrets_manager_or_step_functions_would_refuse_stops_the_synth(tmp_path, account_id):
    """Refused by the accounts loader the stack runs first, naming the file and the field, before any
    resource exists: "dé" used to synthesize into a secret name Secrets Manager refuses at deploy time."""
    from postloop_infra.stack import build_app

    bad = write_accounts(tmp_path / "accounts")
    account = json.loads((bad / "demo.json").read_text())
    (bad / "demo.json").write_text(json.dumps({**account, "account_id": account_id}))
    with pytest.raises(ConfigError, match=r"demo\.json\.account_id: .* is not a usable id"):
        build_app({"aws:cdk:bundling-stacks": [], "accounts_dir": str(bad)}, outdir=str(tmp_path / "out"))


def test_without_the_id_check_the_synth_would_name_a_secret_secrets_manager_refuses(tmp_path, monkeypatch):
    import re

    import postloop.core.account as account_module
    from postloop_infra.accounts import load_account_dir

    monkeypatch.setattr(account_module, "ACCOUNT_ID", re.compile(r".+", re.DOTALL))   # the guard off
    bad = write_accounts(tmp_path / "accounts")
    (bad / "demo.json").write_text(json.dumps({**json.loads((bad / "demo.json").read_text()), "account_id": "dé"}))
    secret_names = [names.x_secret_name(a.config.account_id) for a in load_account_dir(bad)]
    # Secrets Manager's rule for a secret name: ASCII letters, digits and /_+=.@-.
    assert [n for n in secret_names if not re.fullmatch(r"[A-Za-z0-9/_+=.@-]{1,512}", n)] == ["postloop/x/dé"]


def test_the_same_account_in_two_files_stops_the_synth(tmp_path):
    from postloop_infra.stack import build_app

    twice = write_accounts(tmp_path / "accounts")
    (twice / "copy.json").write_text((twice / "demo.json").read_text())
    with pytest.raises(ConfigError, match="'demo' is also defined in"):
        build_app({"aws:cdk:bundling-stacks": [], "accounts_dir": str(twice)}, outdir=str(tmp_path / "out"))


def test_cdk_app_entry_point_reports_a_bad_account_in_one_line(tmp_path):
    bad = write_accounts(tmp_path / "accounts")
    (bad / "demo.json").write_text('{"account_id": "demo"')
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"accounts_dir": str(bad)}), "CDK_OUTDIR": str(tmp_path)}
    result = subprocess.run([sys.executable, str(REPO / "infra" / "app.py")], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "postloop: cannot synthesize:" in result.stderr and "demo.json: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr


# --- post's time budget: its worst case against its timeout and the claim lease ------------------

class _VirtualX:
    """The X client's transport on a virtual clock: every request to the fake X takes its whole
    timeout (the slowest X that still answers), and the ones `fails` picks then time out without
    reaching X. Backoff sleeps advance the same clock, so `t` is the time X costs an invocation."""

    def __init__(self, fails):
        import requests
        self.t = 0.0
        self.fails = fails
        self.count: dict[tuple[str, str], int] = {}
        self.session = requests.Session()

    def sleep(self, seconds: float) -> None:
        self.t += seconds

    def request(self, method, url, timeout=None, **kwargs):
        import requests
        from urllib.parse import urlsplit
        path = urlsplit(url).path
        key = (method, "/2/users/*/tweets" if path.startswith("/2/users/") and path.endswith("/tweets") else path)
        n = self.count[key] = self.count.get(key, 0) + 1
        self.t += timeout
        if self.fails(key, n):
            raise requests.ReadTimeout(f"{method} {path}: no answer in {timeout} s")
        return self.session.request(method, url, timeout=5, **kwargs)


def _retries() -> int:
    import inspect

    from postloop.adapters.x_api import XApiClient
    return inspect.signature(XApiClient).parameters["max_retries"].default


# Ways X can be slow. Creates that time out until their last retry are the costliest: the client
# asks X before each retry (a read of up to the timeout too).
SLOW_X = {
    "every answer at its timeout": lambda key, n: False,
    "creates answered on their last retry": lambda key, n: key == ("POST", "/2/tweets") and n % (_retries() + 1) != 0,
    "every call answered on its last retry": lambda key, n: n % (_retries() + 1) != 0,
}


def _post_on_slow_x(fails, *, parts: int, crashed_claim: bool, timeout_s: float, budget_s: float | None,
                    read_grace_s: float = 0.0):
    """Run post's use case with the real X client over `_VirtualX`, as the post function wires it
    (Wiring._build_x: DeadlineSession, the deadline's sleep, the settings' X timeout), inside a
    budget of `budget_s` (None: none) with `read_grace_s` more for reads. Returns (seconds X
    took, the decision afterwards, the fake X)."""
    from datetime import datetime, timedelta, timezone

    from postloop.adapters.deadline import Deadline, DeadlineSession
    from postloop.adapters.x_api import XApiClient
    from postloop.core.post import CLAIM_LEASE, PostDeps, RetryLater, post
    from postloop.core.records import Decision, Status
    from postloop_local.fake_x import FakeXServer, QuietAudience
    from postloop_local.memory import MemoryDecisionStore

    x = _VirtualX(fails)
    start = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    at = lambda: start + timedelta(seconds=x.t)   # noqa: E731
    decisions = MemoryDecisionStore()
    status = Status.POSTING if crashed_claim else Status.PLANNED
    decisions.put_new(Decision("demo", "d1", start - timedelta(hours=1), status, content_type="thread", hour=9,
                               scheduled_for=start, parts=[f"part {i} of a slow thread" for i in range(parts)],
                               updated_at=start - CLAIM_LEASE - timedelta(minutes=1)))
    deadline = Deadline(monotonic=lambda: x.t, sleep=x.sleep)
    with FakeXServer(QuietAudience(), at, token="t") as fake:
        client = XApiClient(fake.base_url, "t", timeout=timeout_s, session=DeadlineSession(deadline, x),
                            sleep=deadline.sleep)
        with deadline.budget(budget_s, read_grace=read_grace_s):
            try:
                post("demo", "d1", start, PostDeps(decisions, client, clock=at))
            except RetryLater:
                pass
        return x.t, decisions.get("demo", "d1"), fake


def _post_limits(main_synth) -> tuple[float, float]:
    """The post function's timeout as synthesized, and the X timeout its settings give."""
    timeout = float(fn_props(main_synth, "post")["Timeout"])
    settings = load_settings({"AWS_REGION": "us-east-1", **resolved_env(main_synth, "post")})
    return timeout, settings.x_timeout


def test_post_ends_before_its_claim_lease_and_keeps_a_reserve_for_its_last_write(main_synth):
    from postloop.core.post import CLAIM_LEASE
    from postloop.runtime.wiring import X_BUDGET_RESERVE_SECONDS, X_READ_GRACE_SECONDS

    timeout, x_timeout = _post_limits(main_synth)
    # A live invocation's claim is never taken over: Lambda stops it before its lease runs out.
    assert timeout < CLAIM_LEASE.total_seconds()
    # One reconciling read fits in the grace after the creates' end, and time is left after it.
    assert x_timeout <= X_READ_GRACE_SECONDS < X_BUDGET_RESERVE_SECONDS < timeout


@pytest.mark.parametrize("crashed_claim", [False, True], ids=["planned", "crashed claim taken over"])
@pytest.mark.parametrize("slow", list(SLOW_X))
def test_on_the_slowest_x_post_ends_within_its_budget_and_leaves_no_claim(main_synth, slow, crashed_claim):
    """However slow X is, X's calls end before the function's timeout with time to spare (the
    budget the handler sets from its remaining time), and the decision is recorded or its claim
    released: never left `posting` for a take-over three minutes later."""
    from postloop.core.records import Status
    from postloop.runtime.wiring import X_BUDGET_RESERVE_SECONDS, X_READ_GRACE_SECONDS

    timeout, x_timeout = _post_limits(main_synth)
    budget = timeout - X_BUDGET_RESERVE_SECONDS
    took, d, fake = _post_on_slow_x(SLOW_X[slow], parts=5, crashed_claim=crashed_claim, timeout_s=x_timeout,
                                    budget_s=budget, read_grace_s=X_READ_GRACE_SECONDS)
    limit = budget + X_READ_GRACE_SECONDS
    assert took <= limit < timeout, f"X took {took:.1f} s; reads must end by {limit:.0f} s, the function at {timeout:.0f}"
    assert d.status in (Status.POSTED, Status.PLANNED), (d.status, d.status_reason)
    assert len({p.text for p in fake.live_posts()}) == len(fake.live_posts())   # nothing posted twice


def test_without_the_budget_a_slow_x_outlasts_the_post_function(main_synth):
    """The guard can fail: the same client without a budget, on X answering creates at their last
    retry, runs past the function's timeout with a three-part thread (Lambda would stop it mid-thread
    and its claim would wait out the lease)."""
    timeout, x_timeout = _post_limits(main_synth)
    took, d, _ = _post_on_slow_x(SLOW_X["creates answered on their last retry"], parts=3, crashed_claim=False,
                                 timeout_s=x_timeout, budget_s=None)
    assert took > timeout, f"X took {took:.1f} s; the function may run {timeout:.0f} s"
