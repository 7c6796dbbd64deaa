"""IAM as deployed, enforced in the tests (postloop_local/iam.py).

Three layers: moto's IAM access control really refuses what a policy does not allow, for
every service the handlers call; the roles are read from the synthesized CDK app and resolved
strictly; and each role, with one permission its code uses taken away, makes the handler's
call fail with AccessDenied, and passes again once the permission is back.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from postloop_local import iam
from postloop_local.invoke import invoke
from tests.conftest import load_event, utc

REGION = "us-east-1"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(actions, resources) -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resources}


def _denied(err: BaseException, action: str, function: str = "fn") -> bool:
    """Whether `err` (or what it wraps) is moto's AccessDenied for `action` by `function`'s role."""
    seen = err
    while seen is not None:
        text = str(seen)
        if f"not authorized to perform: {action}" in text and f"assumed-role/postloop-{function}/" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# --- moto refuses what the policy does not allow -------------------------------------------------


@pytest.fixture()
def moto_aws(monkeypatch):
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        yield


def _enforce(policy: dict) -> iam.Enforcement:
    return iam.Enforcement({"fn": [("p", policy)]}, {"fn": LAMBDA_TRUST}, REGION)


def _table(ddb, name: str) -> str:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"},
                                           {"AttributeName": "g", "AttributeType": "S"}],
                     GlobalSecondaryIndexes=[{"IndexName": "by_g", "Projection": {"ProjectionType": "ALL"},
                                              "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
    return f"arn:aws:dynamodb:{REGION}:{iam.ACCOUNT}:table/{name}"


def test_dynamodb_actions_tables_and_indexes_are_enforced(moto_aws):
    import boto3
    ddb = boto3.client("dynamodb", region_name=REGION)
    t, other = _table(ddb, "t"), _table(ddb, "other")
    policy = _doc(_allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], t))
    key = {"k": {"S": "a"}}
    query = {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "x"}}}
    with _enforce(policy):
        with iam.as_function("fn"):
            ddb.put_item(TableName="t", Item={**key, "g": {"S": "x"}})
            assert ddb.get_item(TableName="t", Key=key)["Item"]["g"] == {"S": "x"}
            ddb.query(TableName="t", KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": {"S": "a"}})
            refused = [
                ("dynamodb:Query", lambda: ddb.query(TableName="t", IndexName="by_g", **query)),  # the index
                ("dynamodb:DeleteItem", lambda: ddb.delete_item(TableName="t", Key=key)),
                ("dynamodb:GetItem", lambda: ddb.get_item(TableName="other", Key=key)),
                ("dynamodb:BatchWriteItem", lambda: ddb.batch_write_item(
                    RequestItems={"t": [{"PutRequest": {"Item": {**key, "g": {"S": "y"}}}}]})),
            ]
            for action, call in refused:
                with pytest.raises(Exception) as err:
                    call()
                assert _denied(err.value, action), (action, err.value)
        # The index granted on its own ARN (by the harness, outside the function): the Query passes.
        boto3.client("iam", region_name=REGION).put_role_policy(
            RoleName="postloop-fn", PolicyName="index",
            PolicyDocument=json.dumps(_doc(_allow("dynamodb:Query", f"{t}/index/by_g"))))
        with iam.as_function("fn"):
            assert ddb.query(TableName="t", IndexName="by_g", **query)["Count"] == 1
            with pytest.raises(Exception) as err:
                ddb.query(TableName="other", IndexName="by_g", **query)
            assert _denied(err.value, "dynamodb:Query") and other.endswith("/other")


def test_a_deny_wins_and_the_harness_may_do_anything(moto_aws):
    import boto3
    ddb = boto3.client("dynamodb", region_name=REGION)
    t = _table(ddb, "t")
    policy = _doc(_allow("dynamodb:*", "*"), {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": t})
    with _enforce(policy) as enforcement:
        with iam.as_function("fn"):
            ddb.put_item(TableName="t", Item={"k": {"S": "a"}, "g": {"S": "x"}})
            with pytest.raises(Exception) as err:
                ddb.delete_item(TableName="t", Key={"k": {"S": "a"}})
            assert _denied(err.value, "dynamodb:DeleteItem")
        ddb.delete_item(TableName="t", Key={"k": {"S": "a"}})   # outside a function: the harness
    assert enforcement.signed[("fn", "dynamodb.DeleteItem")] == 1
    assert enforcement.signed[("harness", "dynamodb.DeleteItem")] == 1


def test_secrets_are_enforced_by_arn_whether_named_or_not(moto_aws):
    import boto3
    sm = boto3.client("secretsmanager", region_name=REGION)
    mine = sm.create_secret(Name="app/x/a", SecretString="{}")["ARN"]
    sm.create_secret(Name="app/x/b", SecretString="{}")
    with _enforce(_doc(_allow("secretsmanager:GetSecretValue", mine))), iam.as_function("fn"):
        assert sm.get_secret_value(SecretId="app/x/a")["SecretString"] == "{}"
        assert sm.get_secret_value(SecretId=mine)["ARN"] == mine
        for action, call in (("secretsmanager:GetSecretValue", lambda: sm.get_secret_value(SecretId="app/x/b")),
                             ("secretsmanager:PutSecretValue",
                              lambda: sm.put_secret_value(SecretId="app/x/a", SecretString="{}"))):
            with pytest.raises(Exception) as err:
                call()
            assert _denied(err.value, action)


def test_task_tokens_are_checked_against_the_state_machine_that_issued_them(moto_aws):
    import boto3
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = json.dumps({"StartAt": "a", "States": {"a": {"Type": "Pass", "End": True}}})
    role = f"arn:aws:iam::{iam.ACCOUNT}:role/machine"
    cycle = sfn.create_state_machine(name="cycle", definition=definition, roleArn=role)["stateMachineArn"]
    other = sfn.create_state_machine(name="other", definition=definition, roleArn=role)["stateMachineArn"]
    with _enforce(_doc(_allow("states:SendTaskSuccess", cycle))) as enforcement, iam.as_function("fn"):
        sfn.send_task_success(taskToken=enforcement.issue_task_token(cycle), output="{}")
        with pytest.raises(Exception) as err:
            sfn.send_task_success(taskToken=enforcement.issue_task_token(other), output="{}")
        assert _denied(err.value, "states:SendTaskSuccess")
        with pytest.raises(Exception) as err:
            sfn.send_task_failure(taskToken=enforcement.issue_task_token(cycle))
        assert _denied(err.value, "states:SendTaskFailure")
        with pytest.raises(iam.IamError, match="task token no local execution issued"):
            sfn.send_task_success(taskToken="made-up", output="{}")


def test_sns_publish_is_enforced_by_topic(moto_aws):
    import boto3
    sns = boto3.client("sns", region_name=REGION)
    mine = sns.create_topic(Name="approvals")["TopicArn"]
    other = sns.create_topic(Name="alarms")["TopicArn"]
    with _enforce(_doc(_allow("sns:Publish", mine))), iam.as_function("fn"):
        sns.publish(TopicArn=mine, Message="hello")
        with pytest.raises(Exception) as err:
            sns.publish(TopicArn=other, Message="hello")
        assert _denied(err.value, "sns:Publish")


def test_without_the_resource_hook_moto_checks_star_and_refuses_even_what_is_granted(moto_aws, monkeypatch):
    """Why iam.py tells moto the resource: on its own, moto asks about "*" for DynamoDB."""
    import boto3
    ddb = boto3.client("dynamodb", region_name=REGION)
    t = _table(ddb, "t")
    policy = _doc(_allow("dynamodb:GetItem", t))
    with _enforce(policy), iam.as_function("fn"):
        ddb.get_item(TableName="t", Key={"k": {"S": "a"}})   # granted, and allowed
    monkeypatch.setattr(iam, "_response_classes", lambda: ())
    with _enforce(policy), iam.as_function("fn"):
        with pytest.raises(Exception) as err:
            ddb.get_item(TableName="t", Key={"k": {"S": "a"}})
        assert _denied(err.value, "dynamodb:GetItem")


def _function(name: str) -> str:
    import io
    import zipfile

    import boto3
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("handler.py", "")
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="handler.lambda_handler",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]


@pytest.fixture()
def moto_lambda(monkeypatch):
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def test_lambda_invoke_is_enforced_by_function_under_iams_action_name(moto_lambda):
    import boto3
    mine, other = _function("mine"), _function("other")
    lam = boto3.client("lambda", region_name=REGION)
    with _enforce(_doc(_allow("lambda:InvokeFunction", mine))), iam.as_function("fn"):
        assert lam.invoke(FunctionName="mine", Payload=b"{}")["StatusCode"] == 200
        assert lam.invoke(FunctionName=mine, Payload=b"{}")["StatusCode"] == 200   # by ARN as well
        with pytest.raises(Exception) as err:
            lam.invoke(FunctionName="other", Payload=b"{}")
        assert _denied(err.value, "lambda:Invoke") and other.endswith(":other")


def test_without_the_action_name_translation_moto_refuses_a_granted_invoke(moto_lambda, monkeypatch):
    """Why iam.py rewrites lambda:InvokeFunction: moto checks the operation's name, lambda:Invoke."""
    import boto3
    mine = _function("mine")
    lam = boto3.client("lambda", region_name=REGION)
    monkeypatch.setattr(iam, "MOTO_ACTION_NAMES", {})
    with _enforce(_doc(_allow("lambda:InvokeFunction", mine))), iam.as_function("fn"):
        with pytest.raises(Exception) as err:
            lam.invoke(FunctionName="mine", Payload=b"{}")
        assert _denied(err.value, "lambda:Invoke")


def test_a_moto_that_determines_resources_itself_stops_the_run_for_a_review(moto_aws, monkeypatch):
    from moto.dynamodb.responses import DynamoHandler
    monkeypatch.setattr(DynamoHandler, "_determine_resource", lambda self: "*", raising=False)
    with pytest.raises(iam.IamError, match="review"):
        with _enforce(_doc(_allow("dynamodb:GetItem", "*"))):
            pass
    assert iam.active() is None


@pytest.mark.parametrize("element", [{"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                                     {"NotResource": "arn:aws:dynamodb:us-east-1:123456789012:table/t"}])
def test_statements_moto_would_evaluate_wrongly_are_refused(element):
    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", **element}
    if "NotResource" not in element:
        statement["Resource"] = "*"
    roles = iam.SynthesizedRoles({"fn": [("p", _doc(statement))]}, {"fn": LAMBDA_TRUST}, {})
    with pytest.raises(iam.IamError, match=next(iter(element))):
        iam.resolved_policies(roles, iam.LocalResources(REGION, tables={}))


# --- the roles, as synthesized, resolved strictly -----------------------------------------------


@pytest.fixture(scope="module")
def synthesized():
    from postloop_local import simulate
    return iam.synthesized_roles([simulate.load_account("demo")])


def _local() -> iam.LocalResources:
    secret = f"arn:aws:secretsmanager:{REGION}:{iam.ACCOUNT}:secret:postloop/local/x/demo-AbCdEf"
    return iam.LocalResources(
        REGION, tables={k: f"postloop-{k.replace('_', '-')}" for k in
                        ("content_metadata", "outcomes", "bandit_arms", "model_versions", "locks",
                         "follower_readings")},
        x_secrets={"demo": secret}, openai_secret=secret.replace("x/demo", "openai"),
        approval_topic=f"arn:aws:sns:{REGION}:{iam.ACCOUNT}:postloop-approvals",
        state_machines={"cycle": f"arn:aws:states:{REGION}:{iam.ACCOUNT}:stateMachine:postloop-cycle"},
        functions={"cache": "postloop-cache"})


def test_every_reference_in_the_roles_resolves_to_a_local_arn_and_no_wildcard_appears(synthesized):
    policies = iam.resolved_policies(synthesized, _local())
    assert set(policies) == {"plan", "approve", "post", "scrape", "learn", "cache", "review"}
    for function, docs in policies.items():
        for _, doc in docs:
            for st in doc["Statement"]:
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                for r in resources:
                    if r == "*":
                        # Only actions that have no resource scope on AWS.
                        assert all(a.startswith(("xray:", "ec2:")) for a in actions), (function, st)
                    else:
                        assert r.startswith(f"arn:aws:") and f":{iam.ACCOUNT}:" in r, (function, r)
                        assert "*" not in r.removesuffix(":*"), (function, r)   # a log group's ARN ends in :*
    post = [st for _, d in policies["post"] for st in d["Statement"]]
    assert {"Effect": "Allow", "Action": "dynamodb:Query", "Resource":
            f"arn:aws:dynamodb:{REGION}:{iam.ACCOUNT}:table/postloop-content-metadata/index/by_posted_at"} in post
    for function in ("plan", "learn"):
        statements = [st for _, d in policies[function] for st in d["Statement"]]
        assert {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource":
                f"arn:aws:lambda:{REGION}:{iam.ACCOUNT}:function:postloop-cache"} in statements, function


@pytest.mark.parametrize("value, message", [
    ({"Fn::ImportValue": "shared-table-arn"}, "Fn::ImportValue"),
    ({"Ref": "NoSuchResource1234"}, "NoSuchResource1234"),
    ({"Ref": "AWS::StackName"}, "AWS::StackName"),
    ({"Fn::Join": ["", [{"Ref": "AWS::Partition"}, {"Fn::GetAtt": ["Unknown", "Arn"]}]]}, "Unknown"),
])
def test_a_reference_that_cannot_be_resolved_is_an_error_not_a_wildcard(synthesized, value, message):
    with pytest.raises(iam.IamError, match=message):
        iam.resolve(value, synthesized, _local())


def test_an_attribute_other_than_arn_and_a_resource_the_local_run_lacks_are_errors(synthesized):
    table = next(lid for lid, what in synthesized.resources.items() if what["kind"] == "table")
    with pytest.raises(iam.IamError, match="StreamArn"):
        iam.resolve({"Fn::GetAtt": [table, "StreamArn"]}, synthesized, _local())
    lacking = _local()
    lacking.approval_topic = None
    with pytest.raises(iam.IamError, match="approval_topic"):
        iam.resolved_policies(synthesized, lacking)


def test_pseudo_parameters_and_joins_resolve_to_the_local_account(synthesized):
    value = {"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "logs", {"Ref": "AWS::Region"},
                                {"Ref": "AWS::AccountId"}, "log-group", "x"]]}
    assert iam.resolve(value, synthesized, _local()) == f"arn:aws:logs:{REGION}:{iam.ACCOUNT}:log-group:x"
    assert iam.resolve({"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:t"},
                       synthesized, _local()) == f"arn:aws:sns:{REGION}:{iam.ACCOUNT}:t"


# --- one permission taken away: the handler's call is refused; given back: it passes -----------


def _plan(stack, when, **event):
    stack.clock.t = when
    out = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat(), **event})
    return out


def _posted(stack, when):
    planned = _plan(stack, when)
    assert planned["status"] == "planned", planned
    posted = invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"], "now": when.isoformat()})
    assert posted["status"] == "posted", posted
    return planned


def _post_reconciles(stack):
    """post finds its claim taken and the post already on X: it reconciles through by_posted_at."""
    from postloop.runtime.wiring import Wiring
    when = utc(2026, 1, 9, 5)
    planned = _plan(stack, when)
    d = stack.wiring.decisions.claim_for_posting("demo", planned["decision_id"], when)
    x = Wiring().x_for("demo")
    prev = None
    for part in d.parts:
        prev = x.create_post(part, reply_to=prev)
    attempts = iter(range(10))

    def call():
        # The workflow's next attempt comes after the refused one's claim lease (CLAIM_LEASE) ran out.
        stack.clock.t = when + timedelta(minutes=5 + 4 * next(attempts))
        out = invoke("post", {"account_id": "demo", "decision_id": planned["decision_id"],
                              "now": stack.clock.t.isoformat()})
        assert out["status"] == "posted" and out["action"] == "reconciled", out
    return call


def _post_reads_followers(stack):
    """Each call plans and posts a new decision, a day after the last: post reads the follower count
    (a day since the last reading) and stores the reading."""
    days = iter(range(10))

    def call():
        _posted(stack, utc(2026, 1, 9, 5) + timedelta(days=next(days)))
    return call


def _plan_stores(stack):
    def call():
        assert invoke("plan", load_event("plan"))["status"] == "planned"
    return call


def _learn(stack):
    _posted(stack, utc(2026, 1, 9, 5))

    def call():
        out = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-11T06:00:00Z"})
        assert out["arms"] and out["model_version"], out
    return call


def _scrape(stack, *, own_container: bool = False):
    planned = _posted(stack, utc(2026, 1, 9, 5))
    stack.clock.t = utc(2026, 1, 10, 5)
    if own_container:
        # scrape's own container: it reads the X secret itself instead of using post's client.
        from postloop.runtime import wiring
        fresh = wiring.Wiring()
        fresh.clock = stack.clock.now
        wiring.reset(fresh)

    def call():
        out = invoke("scrape", {"account_id": "demo", "decision_id": planned["decision_id"],
                                "now": "2026-01-10T05:00:00Z"})
        assert out["written"] == 1, out
    return call


def _approval(stack, *, answer: bool):
    from postloop.core.account import parse_account
    stack.wiring.accounts["demo"] = parse_account({**stack.account, "mode": "approval"})
    planned = _plan(stack, utc(2026, 1, 9, 5))
    assert planned["status"] == "awaiting_approval", planned
    enforcement = stack.backends.iam
    token = enforcement.issue_task_token(enforcement.local.state_machines["cycle"])
    ids = {"account_id": "demo", "decision_id": planned["decision_id"]}
    request = {"action": "request", **ids, "task_token": token, "now": "2026-01-09T05:00:00Z"}
    if not answer:
        def ask():
            assert invoke("approve", request)["action"] == "waiting"
        return ask
    invoke("approve", request)

    def call():
        out = invoke("approve", {"action": "answer", **ids, "approve": True, "reviewer": "a test",
                                 "now": "2026-01-09T05:01:00Z"})
        assert out["resumed"] is True and out["status"] == "planned", out
    return call


# (function, action taken away, a piece of the statement's resource as synthesized, the call)
PERMISSIONS = {
    "post may query its posts by posted_at": ("post", "dynamodb:Query", "by_posted_at", _post_reconciles),
    "post may store the follower reading": ("post", "dynamodb:PutItem", "StorageFollowerReadings",
                                            _post_reads_followers),
    "post may read the latest follower reading": ("post", "dynamodb:Query", "StorageFollowerReadings",
                                                  _post_reads_followers),
    "learn may read the follower readings": ("learn", "dynamodb:Query", "StorageFollowerReadings", _learn),
    "plan may store its decision": ("plan", "dynamodb:PutItem", "StorageContentMetadata", _plan_stores),
    "plan may read the pause flag": ("plan", "dynamodb:GetItem", "StorageLocks", _plan_stores),
    "learn may write the arms": ("learn", "dynamodb:BatchWriteItem", "StorageBanditArms", _learn),
    "learn may store the model": ("learn", "dynamodb:PutItem", "StorageModelVersions", _learn),
    "scrape may store an outcome": ("scrape", "dynamodb:PutItem", "StorageOutcomes", _scrape),
    "scrape may read the X secret": ("scrape", "secretsmanager:GetSecretValue", "SecretsX",
                                     lambda s: _scrape(s, own_container=True)),
    "approve may resume the cycle": ("approve", "states:SendTaskSuccess", "WorkflowCycle",
                                     lambda s: _approval(s, answer=True)),
    "approve may ask a person": ("approve", "sns:Publish", "NotificationsApprovals",
                                 lambda s: _approval(s, answer=False)),
}


@pytest.mark.parametrize("case", list(PERMISSIONS))
def test_a_role_without_a_permission_its_code_uses_is_refused_and_passes_with_it(stack, case):
    function, action, resource, scenario = PERMISSIONS[case]
    enforcement = stack.backends.iam
    assert enforcement is not None, "the stack fixture runs with IAM enforced"
    call = scenario(stack)

    enforcement.apply(enforcement.roles.without(function, action, resource))
    with pytest.raises(Exception) as err:
        call()
    assert _denied(err.value, action, function), f"{case}: expected AccessDenied, got {err.value!r}"

    enforcement.apply(enforcement.roles)
    call()   # the same call, the permission back: it passes
    prefix, operation = action.split(":")
    service = {"secretsmanager": "secrets-manager", "states": "sfn"}.get(prefix, prefix)
    assert enforcement.signed[(function, f"{service}.{operation}")] >= 2   # signed as the function, both times


def test_taking_away_a_permission_no_role_has_is_an_error(synthesized):
    with pytest.raises(iam.IamError, match="no dynamodb:DeleteTable"):
        synthesized.without("plan", "dynamodb:DeleteTable")


@pytest.mark.parametrize("argv, enforced", [(["invoke", "plan", "--event", "e.json"], True),
                                            (["invoke", "plan", "--event", "e.json", "--no-iam"], False),
                                            (["simulate", "--no-iam"], False), (["faults", "--no-iam"], False)])
def test_the_local_commands_enforce_iam_unless_told_not_to(monkeypatch, argv, enforced):
    from postloop_local import cli
    from postloop_local.backends import LocalBackends
    seen = []
    for command in ("cmd_invoke", "cmd_simulate", "cmd_faults"):
        monkeypatch.setattr(cli, command, lambda args: seen.append(LocalBackends([], None, None).enforce_iam) or 0)
    assert cli.main(argv) == 0 and seen == [enforced]
    assert iam.enforced_by_default()   # back to on after the command


def test_plan_and_learn_reach_the_cache_only_with_invoke_on_the_cache_function(stack):
    """Without a NAT, plan and learn use the cache through the cache function: lambda:InvokeFunction
    on it is the permission, checked by moto with the caller's role (postloop_local/local_lambda.py)."""
    enforcement = stack.backends.iam
    _posted(stack, utc(2026, 1, 9, 5))
    assert type(stack.wiring.model_cache).__name__ == "LambdaModelCache"
    cache = stack.backends.redis.client()

    enforcement.apply(enforcement.roles.without("learn", "lambda:InvokeFunction", "FunctionsCache"))
    out = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-11T06:00:00Z"})
    assert out["model_written"] and out["cache_write_failed"], out
    assert "cache write failed: ClientError" in out["notes"] and not cache.keys("*")
    learned = stack.wiring.registry.latest("demo")
    with iam.as_function("learn"), pytest.raises(Exception) as err:
        stack.wiring.model_cache.put_latest(learned)
    assert _denied(err.value, "lambda:Invoke", "learn")

    enforcement.apply(enforcement.roles)
    out = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-11T12:00:00Z"})
    assert out["cache_written"] and cache.keys("*"), out
    assert enforcement.signed[("learn", "lambda.Invoke")] >= 3

    # plan: with the durable copy gone, only the cache (through the function) has the model.
    for item in stack.wiring.tables.model_versions.scan():
        item.delete()
    enforcement.apply(enforcement.roles.without("plan", "lambda:InvokeFunction", "FunctionsCache"))
    first = stack.wiring.decisions.get("demo", _plan(stack, utc(2026, 1, 11, 13))["decision_id"])
    assert first.prediction is None or first.prediction.model_version is None, first.prediction
    enforcement.apply(enforcement.roles)
    second = stack.wiring.decisions.get("demo", _plan(stack, utc(2026, 1, 11, 17))["decision_id"])
    assert second.prediction.model_version == out["model_version"]
    assert enforcement.signed[("plan", "lambda.Invoke")] >= 2
