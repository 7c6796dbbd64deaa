"""IAM as deployed, enforced on the local runs.

Each function's role is read from the CDK app as `cdk synth` builds it (infra/), its
CloudFormation references are resolved to the local resources that stand for the deployed
ones, and the resolved policies are attached to a role in moto's IAM. While a function runs
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
the state machine that issued a task token. Statements moto would evaluate wrongly
(Condition, NotResource, `?` wildcards) are refused, not guessed.
"""
from __future__ import annotations

import collections
import contextlib
import contextvars
import json
import logging
import os
import secrets as _secrets
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

ACCOUNT = "123456789012"   # moto's default account: the local resources live there
PARTITION = "aws"
HARNESS_USER = "postloop-local-harness"
REPO_ROOT = Path(__file__).resolve().parents[4]
INFRA_DIR = REPO_ROOT / "infra"
# CloudFormation pseudo parameters, as they resolve in the local (moto) account.
PSEUDO = {"AWS::Partition": PARTITION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


class IamError(RuntimeError):
    """The synthesized roles cannot be checked as asked (an unknown reference, a statement moto
    would evaluate wrongly, a request whose resource cannot be told)."""


# --- the roles, from the synthesized app ------------------------------------------------------


@dataclass(frozen=True)
class SynthesizedRoles:
    """Each function's role as the template has it, references unresolved (JSON-safe).

    policies: function -> [(policy name, policy document)]; trust: function -> the role's
    trust policy; resources: logical id -> what it is, e.g. {"kind": "table", "key": "outcomes"}.
    """

    policies: dict[str, list[tuple[str, dict]]]
    trust: dict[str, dict]
    resources: dict[str, dict]

    def without(self, function: str, action: str, resource_contains: str = "") -> "SynthesizedRoles":
        """The same roles with `action` taken out of `function`'s statements (on the resources whose
        unresolved form contains `resource_contains`): what a role that lost one permission looks like."""
        found = False
        policies = {}
        for fn, docs in self.policies.items():
            out = []
            for name, doc in docs:
                statements = []
                for st in doc["Statement"]:
                    actions = st.get("Action", [])
                    actions = actions if isinstance(actions, list) else [actions]
                    if fn == function and action in actions and resource_contains in json.dumps(st.get("Resource")):
                        found = True
                        actions = [a for a in actions if a != action]
                        if not actions:
                            continue
                        st = {**st, "Action": actions}
                    statements.append(st)
                if statements:   # a policy left with no statement is dropped (IAM refuses an empty one)
                    out.append((name, {**doc, "Statement": statements}))
            policies[fn] = out
        if not found:
            raise IamError(f"{function}'s role has no {action} on a resource matching {resource_contains!r}")
        return SynthesizedRoles(policies, self.trust, self.resources)


def roles_from_stack(stack, template: dict) -> SynthesizedRoles:
    """Read the five function roles out of a synthesized PostloopStack and its template."""
    from aws_cdk import aws_stepfunctions as sfn

    def logical(construct) -> str:
        cfn = getattr(construct.node, "default_child", None) or construct
        return stack.resolve(stack.get_logical_id(cfn))

    known: dict[str, dict] = {}
    for key, table in stack.storage.tables.items():
        known[logical(table)] = {"kind": "table", "key": key}
    for account_id, secret in stack.credentials.x.items():
        known[logical(secret)] = {"kind": "x_secret", "account_id": account_id}
    if stack.credentials.openai is not None:
        known[logical(stack.credentials.openai)] = {"kind": "openai_secret"}
    known[logical(stack.notifications.approvals)] = {"kind": "approval_topic"}
    machines = [m for m in stack.workflow.node.find_all() if isinstance(m, sfn.StateMachine)]
    for machine in machines:
        which = "cycle" if machine is stack.workflow.cycle_state_machine else machine.node.id.lower()
        known[logical(machine)] = {"kind": "state_machine", "which": which}

    resources = template["Resources"]
    policies: dict[str, list[tuple[str, dict]]] = {}
    trust: dict[str, dict] = {}
    referenced: set[str] = set()
    for function, role in stack.functions.roles.items():
        role_id = logical(role)
        props = resources[role_id]["Properties"]
        for unsupported in ("ManagedPolicyArns", "PermissionsBoundary"):
            if props.get(unsupported):
                raise IamError(f"{function}'s role has {unsupported}, whose policies the local check cannot read")
        docs = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies", [])]
        for policy_id, r in sorted(resources.items()):
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                    {"Ref": role_id} in r["Properties"].get("Roles", []):
                docs.append((r["Properties"].get("PolicyName", policy_id), r["Properties"]["PolicyDocument"]))
        if not docs:
            raise IamError(f"{function}'s role ({role_id}) has no policy in the template")
        policies[function] = docs
        trust[function] = props["AssumeRolePolicyDocument"]
        for _, doc in docs:
            referenced |= _references(doc)

    described: dict[str, dict] = {}
    for lid in sorted(referenced):
        if lid not in resources:
            raise IamError(f"a function role refers to {lid}, which is not in the template")
        kind = resources[lid]["Type"]
        if lid in known:
            described[lid] = {**known[lid], "type": kind}
        elif kind == "AWS::Logs::LogGroup":
            name = resources[lid]["Properties"].get("LogGroupName")
            if not isinstance(name, str):
                raise IamError(f"log group {lid} has no literal LogGroupName")
            described[lid] = {"kind": "log_group", "name": name, "type": kind}
        elif kind == "AWS::SQS::Queue":
            # The dead-letter queue Lambda itself writes to; no handler code sends to it.
            described[lid] = {"kind": "queue", "name": lid, "type": kind}
        else:
            raise IamError(f"a function role refers to {lid} ({kind}), which the local check does not model")
    return SynthesizedRoles(policies, trust, described)


def _references(value: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(value, list):
        for v in value:
            out |= _references(v)
    elif isinstance(value, dict):
        if set(value) == {"Ref"} and not value["Ref"].startswith("AWS::"):
            out.add(value["Ref"])
        elif set(value) == {"Fn::GetAtt"}:
            out.add(value["Fn::GetAtt"][0])
        else:
            for v in value.values():
                out |= _references(v)
    return out


_synth_cache: dict[tuple, SynthesizedRoles] = {}
_synth_lock = threading.Lock()


def synthesized_roles(accounts: Sequence[dict]) -> SynthesizedRoles:
    """The function roles of the CDK app synthesized for these accounts (without asset bundling).

    A synth takes several seconds, so it is done once per process and set of account ids.
    """
    ids = tuple(sorted(str(a.get("account_id")) for a in accounts))
    with _synth_lock:
        if ids not in _synth_cache:
            _synth_cache[ids] = _synthesize(accounts)
        return _synth_cache[ids]


def _synthesize(accounts: Sequence[dict]) -> SynthesizedRoles:
    if not (INFRA_DIR / "postloop_infra").is_dir():
        raise IamError(f"IAM enforcement reads the roles from the CDK app, which is not at {INFRA_DIR}; "
                       "pass --no-iam (or enforce_iam=False) to run without it")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    if str(INFRA_DIR) not in sys.path:
        sys.path.insert(0, str(INFRA_DIR))
    try:
        from postloop_infra.stack import build_app
    except Exception as err:   # ImportError without the dev extra; jsii's own error without Node.js
        raise IamError(f"IAM enforcement synthesizes the CDK app, which needs the dev extra and Node.js "
                       f"({err}); install them (bash .ci/setup) or pass --no-iam") from None
    with tempfile.TemporaryDirectory(prefix="postloop-iam-") as tmp:
        accounts_dir = Path(tmp) / "accounts"
        accounts_dir.mkdir()
        for i, account in enumerate(accounts):
            (accounts_dir / f"{i}.json").write_text(json.dumps(account))
        context = {"aws:cdk:bundling-stacks": [], "accounts_dir": str(accounts_dir)}
        app, stack = build_app(context, outdir=str(Path(tmp) / "out"), nag=False)
        template = app.synth().get_stack_by_name(stack.stack_name).template
        return roles_from_stack(stack, template)


# --- resolution to the local resources ------------------------------------------------------


@dataclass
class LocalResources:
    """The local resources that stand for the deployed ones, by what they are."""

    region: str
    tables: dict[str, str]                        # table key -> local table name
    x_secrets: dict[str, str] = field(default_factory=dict)   # account id -> secret ARN
    openai_secret: str | None = None              # secret ARN
    approval_topic: str | None = None             # topic ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # "cycle" -> state machine ARN

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{ACCOUNT}:{resource}"

    def ref_and_arn(self, lid: str, what: dict) -> tuple[str, str]:
        kind = what["kind"]
        if kind == "table":
            name = self.tables.get(what["key"])
            if name:
                return name, self.arn("dynamodb", f"table/{name}")
        elif kind in ("x_secret", "openai_secret"):
            arn = self.x_secrets.get(what["account_id"]) if kind == "x_secret" else self.openai_secret
            if arn:
                return arn, arn
        elif kind == "approval_topic" and self.approval_topic:
            return self.approval_topic, self.approval_topic
        elif kind == "state_machine" and what["which"] in self.state_machines:
            arn = self.state_machines[what["which"]]
            return arn, arn
        elif kind == "log_group":
            # Not modelled locally: Lambda's own log delivery. An ARN of nothing that exists here.
            return what["name"], self.arn("logs", f"log-group:{what['name']}:*")
        elif kind == "queue":
            return what["name"], self.arn("sqs", what["name"])
        raise IamError(f"a function role refers to {lid} ({what}), and the local run has nothing standing for it")


def resolve(value: Any, roles: SynthesizedRoles, local: LocalResources) -> Any:
    """A template value with every CloudFormation reference resolved; anything unknown is an error."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [resolve(v, roles, local) for v in value]
    if not isinstance(value, dict):
        raise IamError(f"unexpected template value {value!r}")
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return _ref(arg, roles, local)
        if key == "Fn::GetAtt":
            lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if attribute != "Arn":
                raise IamError(f"cannot resolve {lid}.{attribute} (only Arn is modelled)")
            return _described(lid, roles, local)[1]
        if key == "Fn::Join":
            sep, parts = arg
            return sep.join(_text(resolve(p, roles, local)) for p in parts)
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, roles, local)[int(index)]
        if key == "Fn::Split":
            sep, text = arg
            return _text(resolve(text, roles, local)).split(sep)
        if key == "Fn::Sub":
            return _sub(arg, roles, local)
        if key.startswith("Fn::"):
            raise IamError(f"cannot resolve {key} {arg!r}")
    return {k: resolve(v, roles, local) for k, v in value.items()}


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise IamError(f"expected text, got {v!r}")
    return v


def _ref(name: str, roles: SynthesizedRoles, local: LocalResources) -> str:
    if name == "AWS::Region":
        return local.region
    if name in PSEUDO:
        return PSEUDO[name]
    if name.startswith("AWS::"):
        raise IamError(f"cannot resolve the pseudo parameter {name}")
    return _described(name, roles, local)[0]


def _described(lid: str, roles: SynthesizedRoles, local: LocalResources) -> tuple[str, str]:
    what = roles.resources.get(lid)
    if what is None:
        raise IamError(f"cannot resolve a reference to {lid}: it is not a resource the roles were read with")
    return local.ref_and_arn(lid, what)


def _sub(arg: Any, roles: SynthesizedRoles, local: LocalResources) -> str:
    import re
    template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

    def one(m) -> str:
        name = m.group(1)
        if name in variables:
            return _text(resolve(variables[name], roles, local))
        if "." in name:
            return _text(resolve({"Fn::GetAtt": name.split(".", 1)}, roles, local))
        return _ref(name, roles, local)

    return re.sub(r"\$\{([^}!]+)\}", one, template)


def resolved_policies(roles: SynthesizedRoles, local: LocalResources) -> dict[str, list[tuple[str, dict]]]:
    """Each function's policies with the local ARNs in them, checked for what moto can evaluate."""
    out = {}
    for function, docs in roles.policies.items():
        out[function] = []
        for name, doc in docs:
            resolved = resolve(doc, roles, local)
            for st in resolved["Statement"]:
                _check_evaluable(function, st)
            out[function].append((name, resolved))
    return out


def _check_evaluable(function: str, st: dict) -> None:
    for element in ("Condition", "NotResource", "Principal", "NotPrincipal"):
        if element in st:
            raise IamError(f"{function}'s role has a statement with {element}, which moto's IAM check does not "
                           f"evaluate as AWS does: {st}")
    resources = st.get("Resource")
    for r in resources if isinstance(resources, list) else [resources]:
        if not isinstance(r, str) or "?" in r or "${" in r:
            raise IamError(f"{function}'s role names a resource moto cannot match: {r!r}")


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
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))
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
        for function, docs in resolved_policies(roles, self.local).items():
            role = f"postloop-{function}"
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role, PolicyName=name)
            for name, doc in docs:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))
        self.policies = resolved_policies(roles, self.local)

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


def _response_classes():
    from moto.dynamodb.responses import DynamoHandler
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.sns.responses import SNSResponse
    from moto.stepfunctions.responses import StepFunctionResponse
    return ((DynamoHandler, _dynamodb_resource), (SecretsManagerResponse, _secretsmanager_resource),
            (StepFunctionResponse, _stepfunctions_resource), (SNSResponse, _sns_resource))


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
                                            "locks")},
                           x_secrets=x_secrets, openai_secret=openai_arn, approval_topic=topic,
                           state_machines={"cycle": machine})
    roles = backends.iam_roles or synthesized_roles(backends.accounts)
    enforcement = Enforcement(resolved_policies(roles, local), roles.trust, region)
    enforcement.local, enforcement.roles = local, roles
    return backends._stack.enter_context(enforcement)
