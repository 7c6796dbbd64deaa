"""Account files read by the local tools (postloop_local/account_file.py): every problem at once,
each naming the file and field; the shipped JSON Schema generated from the same model; the
deployed functions' path free of pydantic."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from postloop.core.account import parse_account
from postloop_local import account_file
from postloop_local.account_file import AccountFileError, AccountModel, check, json_schema, load_one

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "docs" / "account.schema.json"
EXAMPLES = [REPO / "docs" / "examples" / "account.json", account_file.ACCOUNTS_DIR / "demo.json"]


def minimal() -> dict:
    return {"account_id": "a1", "handle": "a1", "persona": "p", "niche": "n", "topics": ["t"], "timezone": "UTC",
            "content_types": [{"name": "tip", "prompt": "a tip"}], "posting_hours": [9, 18]}


def write(tmp_path: Path, data, name: str = "mine.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_shipped_schema_is_generated_from_the_model():
    # Regenerate with: python -m postloop_local.account_file > docs/account.schema.json
    assert json.loads(SCHEMA.read_text()) == json_schema()


def test_schema_is_valid_and_agrees_with_the_model_on_the_examples_and_a_bad_file(tmp_path):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in EXAMPLES:
        assert list(validator.iter_errors(json.loads(path.read_text()))) == [], path
        check(path)
    bad = {**minimal(), "posts_per_day": 100, "colour": "red"}
    assert list(validator.iter_errors(bad))
    with pytest.raises(AccountFileError):
        check(write(tmp_path, bad))


def test_every_field_of_the_model_is_one_the_functions_parser_takes_with_its_default():
    # The model and core/account.py's parser must not drift apart: each top-level field, at the
    # model's default, is accepted by the parser the deployed functions use.
    for name, info in AccountModel.model_fields.items():
        if info.is_required():
            continue
        default = info.default
        value = default.model_dump() if hasattr(default, "model_dump") else default
        parse_account({**minimal(), name: value}, where=f"with {name}")


def test_all_problems_at_once_each_naming_file_and_field(tmp_path):
    bad = {**minimal(), "account_id": "a b", "handle": 3, "posting_hours": [25, True], "posts_per_day": 100,
           "content_types": [{"name": "", "prompt": "p", "extra": 1}],
           "learning": {"success": 2, "decider": "x"}, "colour": "red"}
    del bad["topics"]
    path = write(tmp_path, bad)
    with pytest.raises(AccountFileError) as err:
        check(path)
    problems = err.value.problems
    assert all(p.startswith(f"{path}: ") for p in problems), problems
    named = [p.split(": ")[1] for p in problems]
    for field in ("account_id", "handle", "topics", "posting_hours[0]", "posting_hours[1]", "posts_per_day",
                  "content_types[0].name", "content_types[0].extra", "learning.success", "learning.decider",
                  "colour"):
        assert field in named, (field, problems)
    assert any("colour: unknown field" in p for p in problems)
    assert any("topics: is missing" in p for p in problems)
    # A union (learning.success) is one line, not one per branch.
    assert named.count("learning.success") == 1


def test_rules_across_fields_come_from_the_functions_parser_named_with_the_file(tmp_path):
    path = write(tmp_path, {**minimal(), "fixed_hour": 7})
    with pytest.raises(AccountFileError) as err:
        check(path)
    assert err.value.problems == [f"{path}.fixed_hour: must be one of posting_hours, got 7"]


def test_a_list_of_accounts_names_the_item_and_duplicate_ids(tmp_path):
    path = write(tmp_path, [minimal(), {**minimal(), "mode": "loud"}])
    with pytest.raises(AccountFileError) as err:
        check(path)
    assert any(p.startswith(f"{path}[1]: mode:") for p in err.value.problems), err.value.problems
    with pytest.raises(AccountFileError) as err:
        check(write(tmp_path, [minimal(), minimal()]))
    assert "appears twice" in str(err.value)
    with pytest.raises(AccountFileError, match="holds 2 accounts"):
        load_one(str(write(tmp_path, [minimal(), {**minimal(), "account_id": "b2"}], "two.json")))


@pytest.mark.parametrize("content, expected", [
    (b'{"account_id": "a",,}', "not valid JSON: Expecting property name enclosed in double quotes at line 1"),
    (bytes(range(256)), "not a UTF-8 text file"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"[]", "an empty list"),
])
def test_unreadable_files_are_one_sentence(tmp_path, content, expected):
    path = tmp_path / "mine.json"
    path.write_bytes(content)
    with pytest.raises(AccountFileError) as err:
        check(path)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith(f"{path}: ")
    assert expected in err.value.problems[0]


def test_missing_file_folder_and_unknown_name(tmp_path):
    with pytest.raises(AccountFileError, match="account file not found"):
        load_one(str(tmp_path / "nope.json"))
    with pytest.raises(AccountFileError, match="is a folder"):
        check(tmp_path)
    with pytest.raises(AccountFileError, match=r"no shipped account 'nope' \(shipped: demo\)"):
        load_one("nope")
    assert load_one("demo")[1]["account_id"] == "demo"


def test_the_functions_cold_start_path_does_not_import_pydantic():
    # Account parsing runs at every Lambda cold start; pydantic's import would cost it
    # (docs/performance.md). The shape check lives in the local tools only.
    code = ("import sys; import postloop.core.account, postloop.runtime.settings; "
            "print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO, env={"PYTHONPATH": str(REPO / "layers" / "core" / "python")})
    assert out.stdout.strip() == "False"
    # The check can see it: the local module does import it.
    code = "import sys; import postloop_local.account_file; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={"PYTHONPATH": f"{REPO / 'layers' / 'core' / 'python'}:{REPO / 'layers' / 'local' / 'python'}"})
    assert out.stdout.strip() == "True"
