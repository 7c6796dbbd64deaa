"""A deployed account's records, read from its DynamoDB tables on the user's machine.

Read only, with the user's own AWS credentials and region: the tables are found from the stack's
outputs (the CDK app names them `<Key>TableName`; their physical names are CloudFormation's),
or from the same environment variables the functions read, and read through the PynamoDB
models and stores the functions use. Nothing here writes: the calls made are the ones in
`READ_ONLY_ACTIONS`, and a read-only IAM policy of just those is enough.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from postloop_local.activity import Activity, ModelSkill, build

DEFAULT_STACK = "postloop"
# The stack outputs infra/postloop_infra/stack.py declares for the tables (tests check the names).
STACK_OUTPUTS = {
    "content_metadata": "ContentMetadataTableName",
    "outcomes": "OutcomesTableName",
    "bandit_arms": "BanditArmsTableName",
    "model_versions": "ModelVersionsTableName",
    "locks": "LocksTableName",
    "follower_readings": "FollowerReadingsTableName",
}
# The variables the functions read (postloop.runtime.settings); set, they win over the stack.
TABLE_ENV = {
    "content_metadata": "POSTLOOP_CONTENT_TABLE",
    "outcomes": "POSTLOOP_OUTCOMES_TABLE",
    "bandit_arms": "POSTLOOP_ARMS_TABLE",
    "model_versions": "POSTLOOP_MODELS_TABLE",
    "locks": "POSTLOOP_LOCKS_TABLE",
    "follower_readings": "POSTLOOP_FOLLOWERS_TABLE",
}
# Everything reading an account needs (README, "Reading a deployed account").
READ_ONLY_ACTIONS = ("cloudformation:DescribeStacks", "dynamodb:Query")
ACCOUNTS_DIR = Path(__file__).resolve().parents[4] / "infra" / "accounts"


class DeployedError(Exception):
    """The deployed account cannot be read; the message says why and what to do."""


def region_or_error(region: str | None) -> str:
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        import boto3
        region = boto3.session.Session().region_name
    if not region:
        raise DeployedError("no AWS region: pass --region or set AWS_REGION (the stack's region)")
    return region


def _aws_error(err: Exception, what: str) -> DeployedError:
    """An AWS error as one line naming what was being done; never a credential."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError
    if isinstance(err, NoCredentialsError):
        return DeployedError(f"{what}: no AWS credentials found (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)")
    if isinstance(err, NoRegionError):
        return DeployedError(f"{what}: no AWS region: pass --region or set AWS_REGION")
    if isinstance(err, ClientError):
        e = err.response.get("Error", {})
        return DeployedError(f"{what}: {e.get('Code', 'error')}: {e.get('Message', '').strip()}")
    cause = getattr(err, "cause", None) or err.__cause__
    if cause is not None and cause is not err:
        return _aws_error(cause, what) if isinstance(cause, Exception) else DeployedError(f"{what}: {cause}")
    return DeployedError(f"{what}: {type(err).__name__}: {err}")


def table_names(stack: str, region: str):
    """The table names: environment variables where set, the rest from the stack's outputs."""
    from postloop.adapters.tables import TableNames
    names = {key: os.environ[var] for key, var in TABLE_ENV.items() if os.environ.get(var)}
    missing = [k for k in STACK_OUTPUTS if k not in names]
    if missing:
        import boto3
        try:
            cfn = boto3.session.Session(region_name=region).client("cloudformation")
            stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
        except Exception as err:
            raise _aws_error(err, f"reading the outputs of stack {stack!r} in {region}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
        for key in missing:
            if STACK_OUTPUTS[key] not in outputs:
                raise DeployedError(f"stack {stack!r} in {region} has no output {STACK_OUTPUTS[key]}: is it "
                                    f"postloop's stack? (or set {TABLE_ENV[key]})")
            names[key] = outputs[STACK_OUTPUTS[key]]
    return TableNames(**names)


def account_config(account_id: str, accounts_dir: Path | None = None) -> dict:
    """The account's file from infra/accounts/ when this checkout holds it (for the order of its
    content types and its hours); otherwise just its id, and the data names the types."""
    accounts_dir = accounts_dir or ACCOUNTS_DIR
    if accounts_dir.is_dir():
        for path in sorted(accounts_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("account_id") == account_id:
                return data
    return {"account_id": account_id}


def read_activity(account_id: str, *, stack: str = DEFAULT_STACK, region: str | None = None,
                  days: int = 30, now: datetime | None = None) -> Activity:
    """The account's decisions planned in the last `days` days, their outcomes and the model
    versions fitted in that time, read from the deployed tables."""
    from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoOutcomeStore
    from postloop.adapters.tables import bind_tables

    region = region_or_error(region)
    names = table_names(stack, region)
    tables = bind_tables(names, region)
    now = now or datetime.now(timezone.utc)
    start = now - timedelta(days=days)
    try:
        decisions = DynamoDecisionStore(tables).planned_between(account_id, start, now + timedelta(seconds=1))
        # Outcomes are collected up to two days after the post they measure.
        outcomes = DynamoOutcomeStore(tables).collected_between(account_id, start, now + timedelta(days=3))
        models = [ModelSkill.from_payload(r.version, r.fitted_at, r.payload)
                  for r in tables.model_versions.query(account_id, tables.model_versions.version >= _version_floor(start))]
    except Exception as err:
        raise _aws_error(err, f"reading account {account_id!r} from {names.content_metadata}, "
                              f"{names.outcomes} and {names.model_versions} in {region}") from None
    wanted = {d.decision_id for d in decisions}
    source = (f"deployed account {account_id}: stack {stack} in {region}, decisions planned "
              f"{start:%Y-%m-%d %H:%M} – {now:%Y-%m-%d %H:%M} UTC (last {days} days)")
    return build(account_config(account_id), source, decisions,
                 [o for o in outcomes if o.decision_id in wanted], models)


def _version_floor(start: datetime) -> str:
    """Version ids sort by fit time ('%Y%m%dT%H%M%SZ-<digest>'): the least id fitted at `start`."""
    return start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
