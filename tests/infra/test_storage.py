"""The DynamoDB tables against the core's PynamoDB models, the single definition of keys and indexes."""
from __future__ import annotations

import pytest
from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import GlobalSecondaryIndex, LocalSecondaryIndex

from postloop.adapters.tables import ALL_TABLES
from postloop.runtime.settings import load_settings
from postloop_infra import names


def model_keys(cls) -> dict[str, tuple[str, str]]:
    """{'HASH'|'RANGE': (attribute name, DynamoDB type)} read from a model's or an index's attributes."""
    keys = {}
    for attr in vars(cls).values():
        if isinstance(attr, Attribute) and (attr.is_hash_key or attr.is_range_key):
            keys["HASH" if attr.is_hash_key else "RANGE"] = (attr.attr_name, attr.attr_type)
    return keys


def model_indexes(model) -> dict[str, dict]:
    """Each index of a model: kind, keys and projection, from the public index classes."""
    out = {}
    for value in vars(model).values():
        if isinstance(value, (GlobalSecondaryIndex, LocalSecondaryIndex)):
            projection = value.Meta.projection
            out[value.Meta.index_name] = {
                "global": isinstance(value, GlobalSecondaryIndex),
                "keys": model_keys(type(value)),
                "projection": projection.projection_type,
                "non_key": sorted(getattr(projection, "non_key_attributes", None) or []),
            }
    return out


def template_keys(key_schema: list[dict], types: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {k["KeyType"]: (k["AttributeName"], types[k["AttributeName"]]) for k in key_schema}


@pytest.mark.parametrize("key", sorted(ALL_TABLES))
def test_table_keys_and_indexes_match_the_pynamodb_model(main_synth, key):
    model = ALL_TABLES[key]
    props = main_synth.resource(main_synth.stack.storage.tables[key])["Properties"]
    types = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}

    assert template_keys(props["KeySchema"], types) == model_keys(model)

    deployed = {}
    for kind, entries in (("global", props.get("GlobalSecondaryIndexes", [])),
                          ("local", props.get("LocalSecondaryIndexes", []))):
        for index in entries:
            deployed[index["IndexName"]] = {
                "global": kind == "global",
                "keys": template_keys(index["KeySchema"], types),
                "projection": index["Projection"]["ProjectionType"],
                "non_key": sorted(index["Projection"].get("NonKeyAttributes", [])),
            }
    assert deployed == model_indexes(model)

    # Every key attribute is defined, with the model's type, and nothing else is.
    expected_types = dict(model_keys(model).values())
    for index in model_indexes(model).values():
        expected_types.update(index["keys"].values())
    assert types == expected_types


def test_one_table_per_model(main_synth):
    assert len(main_synth.of_type("AWS::DynamoDB::Table")) == len(ALL_TABLES)
    assert set(main_synth.stack.storage.tables) == set(ALL_TABLES)


@pytest.mark.parametrize("key", sorted(ALL_TABLES))
def test_table_is_on_demand_recoverable_encrypted_and_retained(main_synth, key):
    table = main_synth.resource(main_synth.stack.storage.tables[key])
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert "TableName" not in props, "a fixed name would block the next deploy after a teardown (tables are kept)"


@pytest.mark.parametrize("key", sorted(ALL_TABLES))
def test_ttl_only_where_the_model_declares_one(main_synth, key):
    model = ALL_TABLES[key]
    declared = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    props = main_synth.resource(main_synth.stack.storage.tables[key])["Properties"]
    if declared:
        assert props["TimeToLiveSpecification"] == {"AttributeName": declared[0], "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_every_table_has_the_environment_variable_settings_reads():
    assert set(names.TABLE_ENV) == set(ALL_TABLES)
    env = {"AWS_REGION": "us-east-1", names.ENV_ACCOUNTS_FILE: "/opt/accounts/accounts.json"}
    env.update({var: f"deployed-{key}" for key, var in names.TABLE_ENV.items()})
    settings = load_settings(env)
    for key in ALL_TABLES:
        assert getattr(settings.tables, key) == f"deployed-{key}"


def test_functions_get_the_generated_table_names(main_synth):
    # Each function's table variables point at the deployed tables (never the code's defaults).
    table_ids = {main_synth.logical_id(t): key for key, t in main_synth.stack.storage.tables.items()}
    for name, fn in main_synth.stack.functions.functions.items():
        env = main_synth.resource(fn)["Properties"]["Environment"]["Variables"]
        for key, var in names.TABLE_ENV.items():
            if var in env:
                assert env[var] == {"Ref": main_synth.logical_id(main_synth.stack.storage.tables[key])}, (name, var)
        for var, value in env.items():
            if isinstance(value, dict) and value.get("Ref") in table_ids:
                assert var == names.TABLE_ENV[table_ids[value["Ref"]]], (name, var)
