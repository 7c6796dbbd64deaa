"""IAM as deployed, enforced on the local runs.

Each function's role is read from the CDK app as `cdk synth` builds it (infra/), its
CloudFormation references are resolved to the local resources that stand for the deployed
ones (both in `postloop_local.iam_roles`), and the resolved policies are attached to a role in
moto's IAM. While a function runs
(`as_function`), every AWS request it makes is signed with that role's assumed-role keys and
moto's IAM access control decides it: a call the role does not allow fails with AccessDenied,
as it would on AWS. Outside a function (the harness creating tables, a test reading the
stores) requests are signed by an allow-all harness user.

What moto checks and what this module adds (docs/reliability.md, "IAM enforced in the tests"):
moto authenticates the signature and evaluates the principal's policies (Allow, Deny, Action
and NotAction, wildcards), but for DynamoDB, Secrets Manager, Step Functions and SNS it asks
about the resource "*", which a statement naming a table or secret never matches. The
`_determine_resource` hooks below, moto's own extension point (its SQS and IAM responses
define one), give it the request's real ARN: the table or its index, the secret, the topic,
the state machine that issued a task token, the function invoked. And moto names the action
after the API operation, which for Lambda's Invoke is not IAM's name for it: the policies are
installed with `lambda:InvokeFunction` written as moto asks for it (`MOTO_ACTION_NAMES`), so the
permission a role has or lacks is the one it has or lacks as synthesized. Statements moto would
evaluate wrongly (Condition, NotResource, `?` wildcards) are refused, not guessed.
"""
from __future__ import annotations

import collections
import contextlib
import contextvars
import json
import logging
import os
import secrets as _secrets
import threading
from typing import Any, Iterator, Mapping

# The roles and their resolution (re-exported: callers use postloop_local.iam alone).
from postloop_local.iam_roles import (  # noqa: F401
    ACCOUNT,
    PARTITION,
    IamError,
    LocalResources,
    SynthesizedRoles,
    resolve,
    resolved_policies,
    roles_from_stack,
    synthesized_roles,
)

HARNESS_USER = "postloop-local-harness"
# IAM's action -> the name moto checks (it derives the action from the API operation's name).
MOTO_ACTION_NAMES = {"lambda:InvokeFunction": "lambda:Invoke"}


def moto_policy(doc: dict) -> dict:
    """`doc` with each action moto names differently (MOTO_ACTION_NAMES) written its way."""
    statements = []
    for st in doc["Statement"]:
        for key in ("Action", "NotAction"):
            if key in st:
                actions = st[key] if isinstance(st[key], list) else [st[key]]
                st = {**st, key: [MOTO_ACTION_NAMES.get(a, a) for a in actions]}
        statements.append(st)
    return {**doc, "Statement": statements}


# --- the principals in moto and the request signing -----------------------------------------

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("postloop_iam_function", default=None)


@contextlib.contextmanager
def as_function(function: str) -> Iterator[None]:
    """AWS requests made inside are signed with `function`'s role (when enforcement is on)."""
    token = _current.set(function)
    try:
        yield
    finally:
        _current.reset(token)


class Enforcement:
    """moto principals for the five roles and the harness; installed for the life of the context."""

    def __init__(self, policies: Mapping[str, list[tuple[str, dict]]], trust: Mapping[str, dict], region: str):
        self.policies = dict(policies)
        self.trust = dict(trust)
        self.region = region
        self.credentials: dict[str, Any] = {}
        self.harness = None
        self.role_arns: dict[str, str] = {}
        self.task_tokens: dict[str, str] = {}     # token -> the state machine that issued it
        self.local: LocalResources | None = None  # what the policies were resolved against
        self.roles: SynthesizedRoles | None = None   # the roles as synthesized, unresolved
        # (function or "harness", "service.Operation") -> requests signed, so checked by moto
        self.signed: collections.Counter = collections.Counter()
        self._signed_lock = threading.Lock()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "Enforcement":
        global _active
        if _active is not None:
            raise IamError("IAM enforcement is already on in this process")
        import boto3
        from botocore.credentials import Credentials
        from moto.core import enable_iam_authentication

        iam = boto3.client("iam", region_name=self.region)
        sts = boto3.client("sts", region_name=self.region)
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):   # enforced before in this mock
            iam.create_user(UserName=HARNESS_USER)
        iam.put_user_policy(UserName=HARNESS_USER, PolicyName="everything", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=HARNESS_USER)["AccessKey"]
        self.harness = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        for function, docs in self.policies.items():
            role = f"postloop-{function}"
            try:
                arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(self.trust[function]),
                                      Description=f"{function}'s role as synthesized")["Role"]["Arn"]
            except iam.exceptions.EntityAlreadyExistsException:
                arn = iam.get_role(RoleName=role)["Role"]["Arn"]
                for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=role, PolicyName=name)
            for name, doc in docs:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(moto_policy(doc)))
            c = sts.assume_role(RoleArn=arn, RoleSessionName=f"{function}-local")["Credentials"]
            self.credentials[function] = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
            self.role_arns[function] = arn
        try:
            # moto's access control logs every request it checks, bodies (secret values) included,
            # at DEBUG: the harness's log, never the deployed code's, kept quiet like botocore's.
            moto_log = logging.getLogger("moto.iam.access_control")
            self._stack.callback(moto_log.setLevel, moto_log.level)
            moto_log.setLevel(logging.WARNING)
            _patch_moto_resources(self._stack)
            self._stack.enter_context(enable_iam_authentication())
            _active = self
            self._stack.callback(_deactivate)
            _renew_default_sessions()
        except BaseException:
            self._stack.close()   # no half-installed enforcement: the patches and the switch come off
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def apply(self, roles: SynthesizedRoles) -> None:
        """Give the functions' moto roles these policies instead (resolved like the first ones)."""
        import boto3
        if self.local is None:
            raise IamError("apply() needs the local resources the first policies were resolved against")
        iam = boto3.client("iam", region_name=self.region)
        policies = resolved_policies(roles, self.local)
        for function, docs in policies.items():
            role = f"postloop-{function}"
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=name)
            for name, doc in docs:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(moto_policy(doc)))
        self.policies = policies

    def credentials_for(self, function: str | None):
        if function is None:
            return self.harness
        try:
            return self.credentials[function]
        except KeyError:
            raise IamError(f"no role for function {function!r}; roles: {', '.join(self.credentials)}") from None

    def issue_task_token(self, state_machine_arn: str) -> str:
        """A task token as a waiting execution of `state_machine_arn` would hand out."""
        token = "local-" + _secrets.token_urlsafe(24)
        self.task_tokens[token] = state_machine_arn
        return token


_active: Enforcement | None = None
_on_by_default = True


def enforced_by_default() -> bool:
    """Whether a LocalBackends that is not told otherwise enforces IAM (on, unless `--no-iam`)."""
    return _on_by_default


@contextlib.contextmanager
def enforcing_by_default(on: bool) -> Iterator[None]:
    global _on_by_default
    before, _on_by_default = _on_by_default, on
    try:
        yield
    finally:
        _on_by_default = before


def active() -> Enforcement | None:
    return _active


def _deactivate() -> None:
    global _active
    _active = None


def _renew_default_sessions() -> None:
    """Clients built from sessions made before this module was imported would lack the signing hook."""
    import boto3
    from aws_lambda_powertools.utilities import parameters
    boto3.setup_default_session()
    parameters.clear_caches()


def _sign_as_current_function(request=None, event_name: str = "", **kwargs) -> None:
    """botocore `before-sign` hook: sign with the running function's keys, or the harness's."""
    enforcement = _active
    if enforcement is None or request is None:
        return
    function = _current.get()
    signing = dict(request.context.get("signing") or {})
    signing["request_credentials"] = enforcement.credentials_for(function)
    request.context["signing"] = signing
    with enforcement._signed_lock:
        enforcement.signed[(function or "harness", event_name.removeprefix("before-sign."))] += 1


def _install_signing_hook() -> None:
    # Every botocore session made from now on registers it (as moto registers its own stub);
    # it does nothing while no Enforcement is active.
    from botocore.handlers import BUILTIN_HANDLERS
    if not any(h is _sign_as_current_function for _, h, *_ in BUILTIN_HANDLERS):
        BUILTIN_HANDLERS.append(("before-sign", _sign_as_current_function))


_install_signing_hook()


# --- telling moto what resource a request is on ---------------------------------------------

# DynamoDB requests that touch several tables or items under other actions' names: moto
# evaluates one action on one resource, so these could not be checked as AWS checks them.
DYNAMODB_UNCHECKABLE = frozenset({"TransactWriteItems", "TransactGetItems", "ExecuteStatement",
                                  "BatchExecuteStatement", "ExecuteTransaction"})


def _dynamodb_resource(self) -> str:
    body = self.body if isinstance(self.body, dict) else {}
    action = self._get_action()
    if action in DYNAMODB_UNCHECKABLE:
        raise IamError(f"dynamodb:{action} cannot be checked against the roles locally")
    if action in ("BatchWriteItem", "BatchGetItem"):
        tables = list(body.get("RequestItems") or {})
        if len(tables) != 1:
            raise IamError(f"dynamodb:{action} on {len(tables)} tables cannot be checked against the roles locally")
        name = tables[0]
    else:
        name = body.get("TableName")
    if not name:
        return "*"
    arn = name if name.startswith("arn:") else \
        f"arn:{PARTITION}:dynamodb:{self.region}:{self.current_account}:table/{name}"
    if body.get("IndexName"):
        arn += f"/index/{body['IndexName']}"
    return arn


def _secretsmanager_resource(self) -> str:
    from moto.secretsmanager.models import secretsmanager_backends
    secret_id = self._get_param("SecretId") or self._get_param("Name")
    if not secret_id:
        return "*"
    found = secretsmanager_backends[self.current_account][self.region].secrets.get(secret_id)
    if found is not None:
        return found.arn
    return secret_id if secret_id.startswith("arn:") else \
        f"arn:{PARTITION}:secretsmanager:{self.region}:{self.current_account}:secret:{secret_id}"


def _stepfunctions_resource(self) -> str:
    action = self._get_action()
    if action in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        token = self._get_param("taskToken")
        return _task_token_issuer(self.stepfunction_backend, token)
    for param in ("stateMachineArn", "executionArn", "activityArn"):
        value = self._get_param(param)
        if value:
            return value
    return "*"


def _task_token_issuer(backend, token: str) -> str:
    enforcement = _active
    if enforcement is not None and token in enforcement.task_tokens:
        return enforcement.task_tokens[token]
    # A token from an execution moto is running (mock_aws with execute_state_machine).
    for machine in getattr(backend, "state_machines", []):
        for execution in getattr(machine, "executions", []):
            pool = getattr(getattr(getattr(execution, "exec_worker", None), "env", None),
                           "callback_pool_manager", None)
            if pool is not None and pool.get(token) is not None:
                return machine.arn
    raise IamError("a task token no local execution issued: the state machine it resumes, and so the "
                   "resource IAM would check, is unknown")


def _sns_resource(self) -> str:
    return self._get_param("TopicArn") or self._get_param("TargetArn") or "*"


def _lambda_resource(self) -> str:
    """The function an Invoke names (its path: /2015-03-31/functions/<name or ARN>/invocations)."""
    from urllib.parse import unquote, urlparse
    parts = urlparse(self.uri).path.split("/")
    if "functions" not in parts or parts.index("functions") + 1 >= len(parts):
        return "*"
    name = unquote(parts[parts.index("functions") + 1])
    arn = name if name.startswith("arn:") else \
        f"arn:{PARTITION}:lambda:{self.region}:{self.current_account}:function:{name}"
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    return f"{arn}:{qualifier}" if qualifier and not name.startswith("arn:") else arn


def _response_classes():
    from moto.awslambda.responses import LambdaResponse
    from moto.dynamodb.responses import DynamoHandler
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.sns.responses import SNSResponse
    from moto.stepfunctions.responses import StepFunctionResponse
    return ((DynamoHandler, _dynamodb_resource), (SecretsManagerResponse, _secretsmanager_resource),
            (StepFunctionResponse, _stepfunctions_resource), (SNSResponse, _sns_resource),
            (LambdaResponse, _lambda_resource))


def _patch_moto_resources(stack: contextlib.ExitStack) -> None:
    for cls, determine in _response_classes():
        if "_determine_resource" in vars(cls):
            raise IamError(f"moto's {cls.__name__} now determines resources itself; review postloop_local.iam "
                           "before trusting either")
        cls._determine_resource = determine
        stack.callback(delattr, cls, "_determine_resource")


# --- the local run -------------------------------------------------------------------------

LOCAL_CYCLE_MACHINE = "postloop-cycle"
LOCAL_APPROVAL_TOPIC = "postloop-approvals"
# What the deployment puts in a new secret until a person sets it (infra/postloop_infra/credentials.py).
PLACEHOLDER_SECRET = json.dumps({"placeholder": "put the real value: see docs/deploy.md"})


def enforce(backends) -> Enforcement:
    """Turn enforcement on for a started `LocalBackends` (inside its mock), until it closes.

    The local run gets what the roles name and it lacked: the OpenAI secret (with the
    deployment's placeholder when no key was given), the approval topic (approve then
    publishes to it, as deployed) and a cycle state machine that issues task tokens.
    """
    import boto3

    from postloop.runtime.settings import load_settings
    from postloop_local.backends import OPENAI_SECRET_ID, X_SECRET_ID

    region = os.environ["AWS_REGION"]
    settings = load_settings({**os.environ, "POSTLOOP_ACCOUNTS_FILE": "unused"})
    sm = boto3.client("secretsmanager", region_name=region)
    x_secrets = {str(a.get("account_id")): sm.describe_secret(
        SecretId=X_SECRET_ID.replace("{account_id}", str(a.get("account_id"))))["ARN"] for a in backends.accounts}
    try:
        openai_arn = sm.describe_secret(SecretId=OPENAI_SECRET_ID)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        openai_arn = sm.create_secret(Name=OPENAI_SECRET_ID, SecretString=PLACEHOLDER_SECRET)["ARN"]
    topic = boto3.client("sns", region_name=region).create_topic(Name=LOCAL_APPROVAL_TOPIC)["TopicArn"]
    backends._setenv(POSTLOOP_APPROVAL_TOPIC_ARN=topic)
    machine = boto3.client("stepfunctions", region_name=region).create_state_machine(
        name=LOCAL_CYCLE_MACHINE, roleArn=f"arn:{PARTITION}:iam::{ACCOUNT}:role/{LOCAL_CYCLE_MACHINE}",
        # Never executed here: it stands for the deployed cycle machine, whose tokens approve resumes.
        definition=json.dumps({"StartAt": "wait", "States": {"wait": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    local = LocalResources(region, tables={f: getattr(settings.tables, f) for f in
                                           ("content_metadata", "outcomes", "bandit_arms", "model_versions",
                                            "locks", "follower_readings")},
                           x_secrets=x_secrets, openai_secret=openai_arn, approval_topic=topic,
                           state_machines={"cycle": machine}, functions=dict(backends.local_functions))
    roles = backends.iam_roles or synthesized_roles(backends.accounts)
    enforcement = Enforcement(resolved_policies(roles, local), roles.trust, region)
    enforcement.local, enforcement.roles = local, roles
    return backends._stack.enter_context(enforcement)
