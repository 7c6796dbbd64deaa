"""`postloop export` and `postloop import` on moto: a deployed account's memory (decisions, outcomes,
bandit arms, model versions) written out, loaded into fresh tables (a redeploy's), and read back the
same; bad files refused with nothing written; a second import changes nothing."""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import fields
from datetime import timedelta

import pytest

from postloop.adapters.dynamo_stores import DynamoArmStore, DynamoDecisionStore, DynamoModelRegistry, \
    DynamoOutcomeStore
from postloop.adapters.tables import ALL_TABLES, TableNames, bind_tables
from postloop_local import account_memory, cli, deployed, simulate
from postloop_local.scenario import load_scenario
from postloop_local.world import World
from tests.conftest import utc

REGION = "eu-west-1"
START = utc(2026, 1, 5)
DAYS = 6
OLD = {key: f"postloop-old-{key}" for key in ALL_TABLES}
NEW = {key: f"postloop-new-{key}" for key in ALL_TABLES}


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sim():
    from postloop.runtime.observability import logger
    logger.setLevel("WARNING")
    scenario = load_scenario("stationary")
    account = simulate.load_account(scenario.account)
    with contextlib.redirect_stdout(io.StringIO()):
        _, mw = simulate.run_memory(World(scenario, 2, START), simulate.SimClock(START), scenario, account,
                                    START, DAYS, 2)
    return mw


@pytest.fixture()
def aws(monkeypatch):
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _use(monkeypatch, names: dict) -> None:
    """Point the commands at these tables, as POSTLOOP_*_TABLE does for a user (deployed.py)."""
    for key, var in deployed.TABLE_ENV.items():
        monkeypatch.setenv(var, names[key])


def _create(names: dict):
    tables = bind_tables(TableNames(**names), REGION)
    for f in fields(tables):
        getattr(tables, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    return tables


def _fill(tables, mw) -> None:
    end = START + timedelta(days=DAYS + 3)
    for d in mw.decisions.planned_between("demo", START, end):
        DynamoDecisionStore(tables).save(d)
    for o in mw.outcomes.collected_between("demo", START, end):
        DynamoOutcomeStore(tables).put_if_absent(o)
    DynamoArmStore(tables).replace_all("demo", mw.arms.load("demo"))
    for m in mw.registry._versions["demo"].values():
        DynamoModelRegistry(tables).put(m)


def _dump(tables) -> dict:
    return {name: sorted(json.dumps(i.serialize(), sort_keys=True) for i in getattr(tables, name).query("demo"))
            for name in account_memory.TABLES}


def test_export_fresh_tables_import_gives_the_same_records(aws, sim, monkeypatch, tmp_path):
    old = _create(OLD)
    _fill(old, sim)
    before = _dump(old)
    assert all(before[name] for name in account_memory.TABLES), {k: len(v) for k, v in before.items()}
    path = tmp_path / "demo.jsonl"
    _use(monkeypatch, OLD)
    code, out, err = _run(["export", "--account", "demo", str(path)])
    assert code == 0, err
    header = json.loads(path.read_text().splitlines()[0])
    assert header["format"] == "postloop-memory" and header["version"] == 1
    assert header["counts"] == {k: len(v) for k, v in before.items()}

    new = _create(NEW)
    _use(monkeypatch, NEW)
    code, out, err = _run(["import", "--account", "demo", str(path)])
    assert code == 0, err
    assert f"content_metadata: {len(before['content_metadata'])} written, 0 already there" in out
    assert _dump(new) == before
    # The stores read them back as the functions would.
    assert DynamoModelRegistry(new).latest("demo") == DynamoModelRegistry(old).latest("demo")
    assert DynamoArmStore(new).load("demo") == DynamoArmStore(old).load("demo")

    # Idempotent: a second import writes nothing and says so.
    code, out, err = _run(["import", "--account", "demo", str(path)])
    assert code == 0 and f"content_metadata: 0 written, {len(before['content_metadata'])} already there" in out
    assert _dump(new) == before


def test_a_newer_record_in_the_table_is_kept_and_counted(aws, sim, monkeypatch, tmp_path):
    old = _create(OLD)
    _fill(old, sim)
    path = tmp_path / "demo.jsonl"
    with path.open("w") as out:
        account_memory.export(old, "demo", out)
    new = _create(NEW)
    _use(monkeypatch, NEW)
    decision = old.content_metadata.query("demo").next()
    decision.status_reason = "changed after the export"
    new.content_metadata.from_raw_data(decision.serialize()).save()
    code, out, err = _run(["import", "--account", "demo", str(path)])
    assert code == 0, err
    assert "1 already there and different (the table's kept)" in out
    assert new.content_metadata.get("demo", decision.decision_id).status_reason == "changed after the export"


def _bad_variants(path):
    lines = path.read_text().splitlines()
    item = json.loads(lines[1])
    other = json.loads(lines[1])
    other["item"]["account_id"] = {"S": "someone"}
    wrong_type = json.loads(lines[1])
    key = next(k for k, v in wrong_type["item"].items() if "N" in v)
    wrong_type["item"][key] = {"N": "not a number"}
    return {
        "another account's item": [lines[0], json.dumps(other), *lines[2:]],
        "unknown table": [lines[0], json.dumps({**item, "table": "secrets"}), *lines[2:]],
        "a bad number": [lines[0], json.dumps(wrong_type), *lines[2:]],
        "a line cut off": [*lines[:-1], lines[-1][: len(lines[-1]) // 2]],
        "truncated file": lines[:-3],
        "binary junk": [lines[0], "\x00\x01garbage", *lines[1:]],
        "newer version": [json.dumps({**json.loads(lines[0]), "version": 99}), *lines[1:]],
        "another account": [json.dumps({**json.loads(lines[0]), "account_id": "other"}), *lines[1:]],
    }


def test_any_bad_line_writes_nothing(aws, sim, monkeypatch, tmp_path):
    old = _create(OLD)
    _fill(old, sim)
    path = tmp_path / "demo.jsonl"
    with path.open("w") as out:
        account_memory.export(old, "demo", out)
    new = _create(NEW)
    _use(monkeypatch, NEW)
    for what, lines in _bad_variants(path).items():
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(lines) + "\n")
        code, out, err = _run(["import", "--account", "demo", str(bad)])
        assert code == 2 and err.startswith("postloop import: nothing written"), (what, err)
        assert f"{bad}:" in err, (what, err)
        assert all(not v for v in _dump(new).values()), what
    for content, message in ((b"\xff\xfe", "not UTF-8"), (b"", "empty"), (b'{"a": 1}\n', "not a postloop export")):
        bad = tmp_path / "bad.jsonl"
        bad.write_bytes(content)
        code, out, err = _run(["import", "--account", "demo", str(bad)])
        assert code == 2 and message in err, err
    code, out, err = _run(["import", "--account", "demo", str(tmp_path / "missing.jsonl")])
    assert code == 2 and "file not found" in err


def test_guard_off_a_bad_line_would_be_written(aws, sim, monkeypatch, tmp_path):
    # Without the item check, another account's record goes into this account's tables.
    old = _create(OLD)
    _fill(old, sim)
    path = tmp_path / "demo.jsonl"
    with path.open("w") as out:
        account_memory.export(old, "demo", out)
    new = _create(NEW)
    _use(monkeypatch, NEW)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(_bad_variants(path)["another account's item"]) + "\n")
    monkeypatch.setattr(account_memory, "_item_problem", lambda model, item, account_id: None)
    code, out, err = _run(["import", "--account", "demo", str(bad)])
    assert code == 0
    assert list(new.content_metadata.query("someone"))
