"""The review page: the `review` function behind a Lambda function URL, and its signing secret.

The approval message links to it (approve function: POSTLOOP_REVIEW_URL and the secret, to sign
the links). The URL's auth type is NONE because the person opening the link has no AWS
credentials; every request must carry a review token signed with the secret, which the function
checks before reading anything else, and spends once with a conditional write in the locks table
(postloop.runtime.review_http). The function is registered with the others (`functions.functions`
and `functions.roles`), so monitoring, the stack's outputs and the local IAM check see it.
"""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb, aws_iam as iam, aws_lambda as lambda_, aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager, aws_stepfunctions as sfn
from constructs import Construct

from postloop_infra import names
from postloop_infra.dependencies_layer import RUNTIME
from postloop_infra.functions import Functions
from postloop_infra.nag import acknowledge

NAME = "review"
ENV_REVIEW_SECRET_ID = "POSTLOOP_REVIEW_SECRET_ID"
ENV_REVIEW_URL = "POSTLOOP_REVIEW_URL"
REVIEW_SECRET_NAME = f"{names.PREFIX}/review-signing"
QUERY = ("dynamodb:Query",)


class ReviewPage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, functions: Functions,
                 tables: dict[str, dynamodb.Table], openai_secret: secretsmanager.ISecret | None,
                 openai_env: dict[str, str], state_machine: sfn.IStateMachine) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self, "SigningSecret", secret_name=REVIEW_SECRET_NAME,
            description="postloop: HMAC key of the review links (any value of 32+ characters)",
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64,
                                                                        exclude_punctuation=True),
            removal_policy=RemovalPolicy.DESTROY)
        acknowledge(self.secret, "AwsSolutions-SMG4",
                    "Rotating the key only voids the review links already sent (they expire in 48 hours "
                    "anyway); a person rotates it by putting a new value when needed.")

        log_group = logs.LogGroup(self, "Logs", log_group_name=f"/aws/lambda/{names.function_name(NAME)}",
                                  retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description="postloop review: only what the review page uses")
        cm, locks = tables["content_metadata"], tables["locks"]
        statements = [
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                resources=[log_group.log_group_arn]),
            # The decision (get, save the answer); recent posts and pending plans for the edit's checks.
            iam.PolicyStatement(actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[cm.table_arn]),
            iam.PolicyStatement(actions=list(QUERY), resources=[f"{cm.table_arn}/index/by_posted_at",
                                                                f"{cm.table_arn}/index/by_planned_at"]),
            # Used tokens: read, and the conditional put that spends one.
            iam.PolicyStatement(actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[locks.table_arn]),
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn]),
        ]
        env = {names.ENV_ACCOUNTS_FILE: names.ACCOUNTS_FILE, ENV_REVIEW_SECRET_ID: self.secret.secret_arn,
               names.TABLE_ENV["content_metadata"]: cm.table_name, names.TABLE_ENV["locks"]: locks.table_name}
        if openai_secret is not None:
            # An account with moderation or a judge rescores an edit with them, as plan does.
            env[names.ENV_OPENAI_SECRET_ID] = names.OPENAI_SECRET_NAME
            env.update(openai_env)
            statements.append(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"],
                                                  resources=[openai_secret.secret_arn]))
        for st in statements:
            role.add_to_principal_policy(st)

        self.function = lambda_.Function(
            self, "Function", function_name=names.function_name(NAME),
            description="The review page of the approval links: shows a draft, rescores an edit, approves or rejects.",
            runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64, handler=names.HANDLER,
            code=lambda_.Code.from_asset(str(names.FUNCTIONS_DIR / NAME), exclude=["__pycache__", "*.pyc"]),
            layers=functions.layers, role=role, memory_size=512, timeout=Duration.seconds(60),
            environment=env, log_group=log_group, tracing=lambda_.Tracing.ACTIVE,
            # A link flood cannot take the account's concurrency from the loop's functions.
            reserved_concurrent_executions=2,
        )
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        acknowledge(self.function, "AwsSolutions-L1",
                    "python3.13 is deliberate: the dependencies layer is resolved and its .pyc compiled for 3.13.")
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions "
                    "(added by active tracing).")
        # Its own policy, not the role's default one: the state machine refers to the approve
        # function, whose environment names this function's URL (see Functions.allow_task_response).
        iam.Policy(self, "TaskResponse", roles=[role], statements=[
            iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=[state_machine.state_machine_arn])])

        # The approve function signs the links it sends.
        approve = functions.functions["approve"]
        approve.add_environment(ENV_REVIEW_URL, self.url.url)
        approve.add_environment(ENV_REVIEW_SECRET_ID, self.secret.secret_arn)
        functions.roles["approve"].add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn]))

        functions.functions[NAME] = self.function
        functions.roles[NAME] = role
        functions.log_groups[NAME] = log_group
