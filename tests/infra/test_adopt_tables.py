"""Adopting the tables an earlier deployment kept (`-c existing_tables=FILE`): nothing new is created,
the functions get the kept tables' names and the same grants on them, and a bad mapping stops the synth."""
from __future__ import annotations

import json

import pytest

from postloop.adapters.tables import ALL_TABLES
from postloop_infra.options import DeployOptions, OptionsError
from synth_helpers import synthesize

NO_BUNDLING = {"aws:cdk:bundling-stacks": []}
KEPT = {key: f"postloop-Storage{key.replace('_', '')}-KEPT{i}" for i, key in enumerate(sorted(ALL_TABLES))}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory, accounts_dir):
    mapping = tmp_path_factory.mktemp("kept") / "tables.json"
    mapping.write_text(json.dumps(KEPT))
    context = {**NO_BUNDLING, "accounts_dir": str(accounts_dir), "existing_tables": str(mapping), "openai": "false"}
    return synthesize(context, tmp_path_factory.mktemp("adopted"))


def test_kept_tables_are_adopted_not_created(adopted, main_synth):
    assert adopted.nag_error is None, adopted.nag_error
    assert adopted.of_type("AWS::DynamoDB::Table") == {}
    # The same deployment without the option creates one table per model.
    assert len(main_synth.of_type("AWS::DynamoDB::Table")) == len(ALL_TABLES)


def test_functions_read_and_are_granted_the_kept_tables(adopted):
    text = json.dumps(adopted.template)
    for name in KEPT.values():
        assert f'"{name}"' in text, name          # the functions' environment names it
        assert f"table/{name}" in text, name       # and a policy grants on its ARN
    # post's reconciliation reads the decisions' index on the kept table too.
    assert f"table/{KEPT['content_metadata']}/index/by_posted_at" in text


@pytest.mark.parametrize("value, message", [
    ({k: v for k, v in KEPT.items() if k != "locks"}, "missing locks"),
    ({**KEPT, "extra": "x-table"}, "unknown 'extra'"),
    ({**KEPT, "locks": "a b"}, "locks: 'a b' is not a DynamoDB table name"),
    ("not json {", "not JSON"),
    ("/nonexistent/tables.json", "cannot be read"),
])
def test_a_bad_mapping_stops_the_synth_naming_what_is_wrong(value, message):
    raw = value if isinstance(value, str) else json.dumps(value)
    if raw.startswith("not json"):
        raw = "{" + raw
    with pytest.raises(OptionsError, match="existing_tables") as err:
        DeployOptions.from_context({"existing_tables": raw}.get)
    assert message in str(err.value)
