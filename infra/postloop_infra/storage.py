"""The DynamoDB tables, derived from the core's PynamoDB models (the single definition of keys and indexes)."""
from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_dynamodb as dynamodb
from constructs import Construct
from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from postloop.adapters.tables import ALL_TABLES

_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER, "B": dynamodb.AttributeType.BINARY}
_PROJECTIONS = {"ALL": dynamodb.ProjectionType.ALL, "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
                "INCLUDE": dynamodb.ProjectionType.INCLUDE}


def table_construct_id(key: str) -> str:
    """'content_metadata' -> 'ContentMetadata'."""
    return "".join(part.title() for part in key.split("_"))


def _keys(key_schema: list[dict], types: dict[str, str]) -> dict:
    keys = {}
    for k in key_schema:
        attr = dynamodb.Attribute(name=k["AttributeName"], type=_TYPES[types[k["AttributeName"]]])
        keys["partition_key" if k["KeyType"] == "HASH" else "sort_key"] = attr
    return keys


def _projection(p: dict) -> dict:
    out = {"projection_type": _PROJECTIONS[p["ProjectionType"]]}
    if p.get("NonKeyAttributes"):
        out["non_key_attributes"] = list(p["NonKeyAttributes"])
    return out


def ttl_attribute(model: type[Model]) -> str | None:
    """The model's TTL attribute, if it declares one (a model has at most one)."""
    names = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    return names[0] if names else None


class Storage(Construct):
    """One table per model in postloop.adapters.tables.ALL_TABLES.

    With `existing` ({table key: name}), the tables an earlier deployment kept (RETAIN) are
    adopted by name instead of created: the functions get their names and the same grants.
    """

    def __init__(self, scope: Construct, construct_id: str, existing: dict[str, str] | None = None) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.ITable] = {}
        self.global_indexes: dict[str, list[str]] = {}
        for key, model in ALL_TABLES.items():
            if existing:
                schema = model._get_schema()
                self.global_indexes[key] = [gsi["index_name"] for gsi in schema["global_secondary_indexes"]]
                self.tables[key] = dynamodb.Table.from_table_attributes(
                    self, table_construct_id(key), table_name=existing[key],
                    global_indexes=self.global_indexes[key])
            else:
                self.tables[key] = self._table(key, model)

    def _table(self, key: str, model: type[Model]) -> dynamodb.Table:
        # The schema PynamoDB itself would send to CreateTable (the local backends create
        # their tables from it), so the deployed keys cannot drift from the code's.
        schema = model._get_schema()
        types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        table = dynamodb.Table(
            self, table_construct_id(key),
            **_keys(schema["key_schema"], types),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            # The AWS managed key (aws/dynamodb): encrypted at rest with key use visible in
            # CloudTrail, at no key charge; nothing here needs a key of its own.
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Decisions, outcomes and models are the bot's memory: a stack teardown keeps them.
            removal_policy=RemovalPolicy.RETAIN,
            time_to_live_attribute=ttl_attribute(model),
        )
        self.global_indexes[key] = [gsi["index_name"] for gsi in schema["global_secondary_indexes"]]
        for gsi in schema["global_secondary_indexes"]:
            gsi_types = {d["AttributeName"]: d["AttributeType"] for d in gsi["attribute_definitions"]}
            table.add_global_secondary_index(index_name=gsi["index_name"], **_keys(gsi["key_schema"], gsi_types),
                                             **_projection(gsi["projection"]))
        for lsi in schema["local_secondary_indexes"]:
            lsi_types = {d["AttributeName"]: d["AttributeType"] for d in lsi["attribute_definitions"]}
            sort_key = _keys(lsi["key_schema"], lsi_types)["sort_key"]
            table.add_local_secondary_index(index_name=lsi["index_name"], sort_key=sort_key,
                                            **_projection(lsi["projection"]))
        return table
