"""The Lambda functions, their layers and one least-privilege role each.

Without a NAT (the default) only the cache function runs in the VPC; plan and learn run outside
it and invoke the cache function for the model cache. With a NAT (`-c nat=gateway|instance`)
plan and learn run in the VPC and use the cache directly, and there is no cache function.

What each function may touch is written out below, read from the code it runs
(functions/<name>/handler.py -> postloop.runtime.tasks -> the core use case and
the stores in postloop.adapters). PynamoDB maps calls to API actions one to one:
get -> GetItem, save -> PutItem, update -> UpdateItem, delete -> DeleteItem,
query -> Query, batch_write -> BatchWriteItem; it never calls DescribeTable
(the models carry the schema).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2, aws_iam as iam, aws_lambda as lambda_, aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs, aws_secretsmanager as secretsmanager, aws_sns as sns, aws_sqs as sqs
from aws_cdk import aws_dynamodb as dynamodb, aws_stepfunctions as sfn
from constructs import Construct

from postloop_infra import names
from postloop_infra.dependencies_layer import RUNTIME, core_code, dependencies_code
from postloop_infra.network import Network
from postloop_infra.nag import acknowledge

QUERY = ("dynamodb:Query",)
X_SECRET_ACTIONS = ("secretsmanager:GetSecretValue",
                    # OAuth 2.0 refresh tokens rotate: the new pair is written back.
                    "secretsmanager:PutSecretValue")
# What Lambda needs to attach a function to the VPC (the same actions as the AWS managed
# AWSLambdaVPCAccessExecutionRole, written here so the role has no managed policy).
ENI_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
               "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")


@dataclass(frozen=True)
class TableAccess:
    table: str                                       # a key of postloop.adapters.tables.ALL_TABLES
    actions: tuple[str, ...] = ()                    # on the table itself
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)   # index name -> actions


@dataclass(frozen=True)
class FunctionSpec:
    description: str
    memory_mb: int
    timeout_seconds: int
    tables: tuple[TableAccess, ...]
    x_secret: bool = False         # reads (and writes back) each account's X secret
    openai_secret: bool = False
    uses_cache: bool = False       # reads or writes the model cache (in the VPC with a NAT, else via the cache function)
    cache_door: bool = False       # the cache function: in the VPC without a NAT, serving the cache to the others
    scheduler_invoked: bool = False  # invoked asynchronously: failures go to the dead-letter queue


SPECS: dict[str, FunctionSpec] = {
    "plan": FunctionSpec(
        "Chooses, writes, scores and gates one post for a scheduled slot.",
        # Up to 3 drafts x 3 OpenAI attempts x 20 s timeout, plus the stores.
        memory_mb=512, timeout_seconds=240,
        tables=(
            # The decision (get, conditional put); recent posts for duplicates; pending plans for UCB.
            TableAccess("content_metadata", ("dynamodb:GetItem", "dynamodb:PutItem"),
                        {"by_posted_at": QUERY, "by_planned_at": QUERY}),
            TableAccess("outcomes", indexes={"by_collected_at": QUERY}),   # the month's spend, for budgets
            TableAccess("bandit_arms", QUERY),
            TableAccess("model_versions", QUERY),                          # the latest model on a cache miss
            TableAccess("locks", ("dynamodb:GetItem",)),                   # the account's pause flag
        ),
        openai_secret=True, uses_cache=True,
    ),
    "approve": FunctionSpec(
        "Records a person's yes or no on a planned post and resumes the waiting workflow.",
        memory_mb=256, timeout_seconds=30,
        tables=(TableAccess("content_metadata", ("dynamodb:GetItem", "dynamodb:PutItem")),),
    ),
    "post": FunctionSpec(
        "Publishes a planned decision to X, exactly once.",
        # X's calls run in a budget of the time Lambda leaves the invocation (runtime/wiring.py
        # x_budget): creates end 20 s before this timeout, reconciling reads 10 s before it, however
        # slow X is (tests/infra/test_functions.py measures it). Without it, a three-part thread on
        # an X answering each create at its last retry takes 230 s. Shorter than the claim lease
        # (core/post.py CLAIM_LEASE, 3 min), so no live invocation's claim is taken over.
        memory_mb=256, timeout_seconds=120,
        tables=(
            # The decision (get, claim, save); its recent posts on X, by posted_at, when post reconciles
            # a claim or a crash (postloop.core.post via decisions.posted_between).
            TableAccess("content_metadata", ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"),
                        {"by_posted_at": QUERY}),
            TableAccess("locks", ("dynamodb:PutItem", "dynamodb:DeleteItem")),   # the OAuth 2.0 refresh lease
            # The latest follower reading, and a new one at most once a day (postloop.core.followers).
            TableAccess("follower_readings", ("dynamodb:Query", "dynamodb:PutItem")),
        ),
        x_secret=True,
    ),
    "scrape": FunctionSpec(
        "Reads the metrics of posts past their 24 h or 48 h mark and stores the outcomes.",
        memory_mb=256, timeout_seconds=120,
        tables=(
            TableAccess("content_metadata", indexes={"by_posted_at": QUERY}),
            TableAccess("outcomes", ("dynamodb:PutItem",), {"by_collected_at": QUERY}),
            TableAccess("locks", ("dynamodb:PutItem", "dynamodb:DeleteItem")),
        ),
        x_secret=True,
    ),
    "learn": FunctionSpec(
        "Adopts live posts no decision records, then rebuilds the bandit arms and refits the models.",
        memory_mb=512, timeout_seconds=120,
        tables=(
            # Settled posts (by posted_at); the sweep's failed decisions (by planned_at) and its
            # conditional save of an adopted one (postloop.core.sweep via decisions.save_if_unchanged).
            TableAccess("content_metadata", ("dynamodb:PutItem",), {"by_posted_at": QUERY, "by_planned_at": QUERY}),
            TableAccess("outcomes", indexes={"by_collected_at": QUERY}),
            TableAccess("bandit_arms", ("dynamodb:Query", "dynamodb:BatchWriteItem")),
            TableAccess("model_versions", ("dynamodb:Query", "dynamodb:PutItem")),
            TableAccess("follower_readings", QUERY),   # the daily readings the follow model is fitted to
            TableAccess("locks", ("dynamodb:PutItem", "dynamodb:DeleteItem")),   # the sweep's OAuth 2.0 refresh lease
        ),
        x_secret=True,   # the sweep reads the account's own posts
        uses_cache=True, scheduler_invoked=True,
    ),
    "cache": FunctionSpec(
        "Reads and writes the latest model in the cache for plan and learn, from inside the VPC.",
        # A GET or a MULTI/EXEC of a few kilobytes; redis-py's timeouts are 1 s (runtime/wiring.py).
        memory_mb=128, timeout_seconds=10, tables=(), cache_door=True,
    ),
}
CACHE_FUNCTION = "cache"
# Which functions each network layout puts in the VPC: the cache function alone without a NAT
# (it calls no AWS API and reaches only the cache); plan and learn with one.
NO_NAT_VPC_FUNCTIONS = (CACHE_FUNCTION,)
NAT_VPC_FUNCTIONS = tuple(name for name, spec in SPECS.items() if spec.uses_cache)


def vpc_functions(nat: str) -> tuple[str, ...]:
    return NO_NAT_VPC_FUNCTIONS if nat == "none" else NAT_VPC_FUNCTIONS


class Functions(Construct):
    """The functions, by name in `self.functions`; their roles in `self.roles`."""

    def __init__(self, scope: Construct, construct_id: str, *, tables: dict[str, dynamodb.Table],
                 network: Network, x_secrets: dict[str, secretsmanager.ISecret],
                 openai_secret: secretsmanager.ISecret | None, accounts_layer_dir: Path, build_dir: Path,
                 approval_topic: sns.ITopic, openai_env: dict[str, str] | None = None,
                 post_concurrency: int = 1, dashboard_metrics: bool = False) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters, "AwsSolutions-SQS3",
            "This queue is itself the dead-letter destination of the scheduled invocations and of "
            "learn's asynchronous failures; nothing consumes it automatically.")

        self.layers = [
            lambda_.LayerVersion(self, "CoreLayer", code=core_code(), compatible_runtimes=[RUNTIME],
                                 compatible_architectures=[lambda_.Architecture.ARM_64],
                                 description="postloop core (layers/core/python)"),
            lambda_.LayerVersion(self, "DependenciesLayer", code=dependencies_code(build_dir / "dependencies"),
                                 compatible_runtimes=[RUNTIME],
                                 compatible_architectures=[lambda_.Architecture.ARM_64],
                                 description="postloop runtime dependencies (pyproject.toml), arm64 wheels"),
            lambda_.LayerVersion(self, "AccountsLayer", code=lambda_.Code.from_asset(str(accounts_layer_dir)),
                                 description=f"postloop account configuration ({names.ACCOUNTS_FILE})"),
        ]
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        # The cache function first (plan's and learn's roles name it); none when they are in the VPC.
        self.cache_door = network.nat == "none"
        # The metrics only the dashboard reads are sent only when it is deployed (runtime/observability.py).
        self.dashboard_metrics = dashboard_metrics
        order = [CACHE_FUNCTION] if self.cache_door else []
        order += [n for n in SPECS if n != CACHE_FUNCTION]
        for name in order:
            spec = SPECS[name]
            self._function(name, spec, tables=tables, network=network, x_secrets=x_secrets,
                           openai_secret=openai_secret, approval_topic=approval_topic, openai_env=openai_env or {},
                           post_concurrency=post_concurrency)

    def _function(self, name: str, spec: FunctionSpec, *, tables, network: Network, x_secrets, openai_secret,
                  approval_topic: sns.ITopic, openai_env: dict[str, str], post_concurrency: int) -> None:
        title = name.title()
        function_name = names.function_name(name)
        log_group = logs.LogGroup(self, f"{title}Logs", log_group_name=f"/aws/lambda/{function_name}",
                                  retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
        role = iam.Role(self, f"{title}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"postloop {name}: only what {name} uses")
        statements = [iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                          resources=[log_group.log_group_arn])]
        env = {names.ENV_ACCOUNTS_FILE: names.ACCOUNTS_FILE}
        if self.dashboard_metrics and not spec.cache_door:
            env[names.ENV_DASHBOARD_METRICS] = "true"

        for access in spec.tables:
            table = tables[access.table]
            env[names.TABLE_ENV[access.table]] = table.table_name
            if access.actions:
                statements.append(iam.PolicyStatement(actions=list(access.actions), resources=[table.table_arn]))
            for index, actions in access.indexes.items():
                statements.append(iam.PolicyStatement(actions=list(actions),
                                                      resources=[f"{table.table_arn}/index/{index}"]))
        if spec.x_secret and x_secrets:
            env[names.ENV_X_SECRET_ID] = names.X_SECRET_TEMPLATE
            statements.append(iam.PolicyStatement(actions=list(X_SECRET_ACTIONS),
                                                  resources=[s.secret_arn for s in x_secrets.values()]))
        if spec.openai_secret and openai_secret is not None:
            env[names.ENV_OPENAI_SECRET_ID] = names.OPENAI_SECRET_NAME
            statements.append(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"],
                                                  resources=[openai_secret.secret_arn]))
            env.update(openai_env)   # the LLM's API, base URL and models, when the deployment sets them
        if name == "approve":
            env[names.ENV_APPROVAL_TOPIC_ARN] = approval_topic.topic_arn
            statements.append(iam.PolicyStatement(actions=["sns:Publish"], resources=[approval_topic.topic_arn]))
        vpc_props = {}
        if spec.uses_cache and self.cache_door:
            door = self.functions[CACHE_FUNCTION]
            env[names.ENV_MODEL_CACHE_FUNCTION] = door.function_name
            statements.append(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[door.function_arn]))
        in_vpc = spec.cache_door or (spec.uses_cache and not self.cache_door)
        if in_vpc:
            env[names.ENV_REDIS_URL] = network.redis_url
            statements.append(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
            vpc_props = {"vpc": network.vpc, "vpc_subnets": ec2.SubnetSelection(subnets=network.function_subnets),
                         "security_groups": [network.function_security_groups[name]]}
        for statement in statements:
            role.add_to_principal_policy(statement)

        async_props = {}
        if spec.scheduler_invoked:
            # Retried twice by Lambda (the task is idempotent), then kept with its error for a person.
            async_props = {"on_failure": destinations.SqsDestination(self.dead_letters), "retry_attempts": 2,
                           "max_event_age": Duration.hours(2)}
        reserved = {}
        if name == "post" and post_concurrency > 0:
            # Posts of several accounts due at the same minute are taken one at a time: X's
            # per-user write limits and the OAuth refresh lease see no stampede, and a
            # post that would race another for the same decision waits instead (the
            # conditional claim already makes it harmless). The workflow retries a throttled
            # invocation (Lambda.TooManyRequestsException) with backoff.
            reserved = {"reserved_concurrent_executions": post_concurrency}

        fn = lambda_.Function(
            self, title,
            function_name=function_name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=names.HANDLER,
            code=lambda_.Code.from_asset(str(names.FUNCTIONS_DIR / name), exclude=["__pycache__", "*.pyc"]),
            layers=self.layers,
            role=role,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment=env,
            log_group=log_group,
            # The handlers trace with Powertools Tracer; active tracing gives it a segment to attach to.
            # Not the cache function: without a NAT nothing in the VPC could send X-Ray its traces,
            # and its callers' traces time each call to it.
            tracing=lambda_.Tracing.DISABLED if spec.cache_door else lambda_.Tracing.ACTIVE,
            **vpc_props, **async_props, **reserved,
        )
        acknowledge(
            fn, "AwsSolutions-L1",
            "python3.13 is deliberate: the dependencies layer is resolved and its .pyc compiled for 3.13, "
            "and the tests run on 3.13. Moving to a newer runtime changes all three together.")
        reasons = []
        if not spec.cache_door:
            reasons.append("X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions "
                           "(added by active tracing).")
        if in_vpc:
            reasons.append("The EC2 network-interface actions Lambda uses to attach the function to the VPC "
                           "act on interfaces that do not exist yet, and Describe* has no resource scope.")
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", " ".join(reasons))
        self.functions[name] = fn
        self.roles[name] = role
        self.log_groups[name] = log_group

    def allow_task_response(self, state_machine: sfn.IStateMachine) -> iam.Policy:
        """Let approve resume the post cycle waiting for it: SendTaskSuccess on that state machine.

        Only SendTaskSuccess: the code resumes a rejection with a successful "rejected"
        output too (postloop.adapters.workflow_resumer). A policy of its own, not the
        role's default one: the state machine refers to the function and the function
        depends on its role, so a statement inside the role naming the state machine
        would close a dependency cycle that CloudFormation refuses.
        """
        return iam.Policy(self, "ApproveTaskResponse", roles=[self.roles["approve"]], statements=[
            iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=[state_machine.state_machine_arn]),
        ])
