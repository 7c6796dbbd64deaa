"""The synthesized roles kept on disk between processes (postloop_local.iam_roles).

A synth of the CDK app takes 8-45 s, and every process that enforces IAM needs the roles: the
cache lets a second process read them, while any change to what the synth reads synthesizes
again. The synth itself is stubbed here except where the real roles are the point.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from postloop_local import iam_roles, simulate
from postloop_local.iam_roles import SynthesizedRoles

REPO = Path(__file__).resolve().parents[2]
DEMO = simulate.load_account("demo")
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                  "Principal": {"Service": "lambda.amazonaws.com"}}]}


def _roles(action: str) -> SynthesizedRoles:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action,
                                                   "Resource": {"Fn::GetAtt": ["Outcomes", "Arn"]}}]}
    return SynthesizedRoles({"scrape": [("ScrapePolicy", doc)]}, {"scrape": TRUST},
                            {"Outcomes": {"kind": "table", "key": "outcomes", "type": "AWS::DynamoDB::Table"}})


@pytest.fixture()
def tree(tmp_path) -> Path:
    """A copy of every file the key reads, as a repository of its own."""
    root = tmp_path / "repo"
    for name in (*iam_roles.KEY_INPUTS, iam_roles.CORE_ROOT):
        source, target = REPO / name, root / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return root


@pytest.fixture()
def synth_counted(tree, tmp_path, monkeypatch):
    """`synthesized_roles` pointed at `tree`, its cache in tmp_path/cache, the synth stubbed: each
    synth returns the roles in `synth.gives` and is counted in `synth.calls`."""
    monkeypatch.setattr(iam_roles, "REPO_ROOT", tree)
    monkeypatch.setattr(iam_roles, "INFRA_DIR", tree / "infra")
    monkeypatch.setenv(iam_roles.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(iam_roles, "_synth_cache", {})

    class Synth:
        calls = 0
        gives = _roles("dynamodb:Query")

    def synthesize(accounts):
        Synth.calls += 1
        return Synth.gives

    monkeypatch.setattr(iam_roles, "_synthesize", synthesize)
    return Synth


def _in_a_new_process() -> None:
    iam_roles._synth_cache.clear()   # what a new process starts with


# --- the key --------------------------------------------------------------------------------------


def test_the_key_is_the_same_for_the_same_files_wherever_the_tree_is(tree):
    assert iam_roles.cache_key([DEMO], tree) == iam_roles.cache_key([DEMO], REPO)


CHANGES = {"edit infra": "infra/postloop_infra/functions.py", "new infra file": "infra/postloop_infra/extra.py",
           "edit a core module the app imports": "layers/core/python/postloop/core/account.py",
           "edit one it imports through another": "layers/core/python/postloop/core/x_text.py",
           "edit a package it passes through": "layers/core/python/postloop/adapters/__init__.py",
           "edit handler": "functions/plan/handler.py", "edit cdk.json": "cdk.json", "edit uv.lock": "uv.lock",
           "edit the role reader": "layers/local/python/postloop_local/iam_roles.py"}


def _append(path: Path, text: str = "\n# changed\n") -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def _check_an_edit_changes_the_key(tree: Path, path: str) -> None:
    before = iam_roles.cache_key([DEMO], tree)
    _append(tree / path)
    assert iam_roles.cache_key([DEMO], tree) != before, f"an edit to {path} kept the key"


@pytest.mark.parametrize("change", CHANGES)
def test_the_key_changes_when_anything_the_synth_reads_changes(tree, change):
    _check_an_edit_changes_the_key(tree, CHANGES[change])


def test_guard_off_a_key_without_the_core_modules_misses_an_edit_to_one(tree, monkeypatch):
    monkeypatch.setattr(iam_roles, "_imported_core", lambda root: [])
    with pytest.raises(AssertionError, match="kept the key"):
        _check_an_edit_changes_the_key(tree, CHANGES["edit a core module the app imports"])


def test_a_core_module_the_app_does_not_import_keeps_the_key_until_it_does(tree):
    scrape = tree / iam_roles.CORE_ROOT / "postloop" / "core" / "scrape.py"
    before = iam_roles.cache_key([DEMO], tree)
    _append(scrape)
    assert iam_roles.cache_key([DEMO], tree) == before
    _append(tree / "infra" / "postloop_infra" / "names.py", "\nif False:\n    from postloop.core import scrape\n")
    imported = iam_roles.cache_key([DEMO], tree)
    _append(scrape)
    assert iam_roles.cache_key([DEMO], tree) != imported


def test_relative_imports_inside_the_core_are_followed(tree):
    core = tree / iam_roles.CORE_ROOT / "postloop" / "core"
    (core / "helper_a.py").write_text("from .helper_b import VALUE\n")
    (core / "helper_b.py").write_text("from .. import runtime\nVALUE = 1\n")
    _append(core / "account.py", "\nfrom postloop.core import helper_a\n")
    found = {p.relative_to(core.parent).as_posix() for p in iam_roles._imported_core(tree)}
    assert {"core/helper_a.py", "core/helper_b.py", "runtime/__init__.py"} <= found
    _check_an_edit_changes_the_key(tree, f"{iam_roles.CORE_ROOT}/postloop/core/helper_b.py")


def test_every_project_module_the_app_imports_is_in_the_key():
    # What the import statements say, against what importing the app really loads.
    script = textwrap.dedent("""
        import json, sys
        sys.path.insert(0, "infra")   # as `cdk synth` runs the app
        import postloop_infra.stack
        print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})
    assert proc.returncode == 0, proc.stderr
    core = REPO / iam_roles.CORE_ROOT
    loaded = {Path(f).resolve() for f in json.loads(proc.stdout) if Path(f).resolve().is_relative_to(core)}
    assert len(loaded) > 5, loaded   # the app does import the core (account, records, workflow, ...)
    assert loaded <= {p.resolve() for p in iam_roles._imported_core(REPO)}


def test_the_key_changes_with_the_accounts_and_the_packages(tree, monkeypatch):
    before = iam_roles.cache_key([DEMO], tree)
    assert iam_roles.cache_key([{**DEMO, "posts_per_day": 9}], tree) != before
    monkeypatch.setattr(iam_roles, "KEY_PACKAGES", (*iam_roles.KEY_PACKAGES, "no-such-package-here"))
    assert iam_roles.cache_key([DEMO], tree) != before


def test_the_key_ignores_bytecode_and_files_the_synth_does_not_read(tree):
    before = iam_roles.cache_key([DEMO], tree)
    (tree / "infra" / "postloop_infra" / "__pycache__").mkdir()
    (tree / "infra" / "postloop_infra" / "__pycache__" / "stack.cpython-313.pyc").write_bytes(b"\0")
    (tree / "layers" / "local" / "python" / "postloop_local" / "memory.py").write_text("# not read by the synth\n")
    (tree / "README.md").write_text("changed\n")
    assert iam_roles.cache_key([DEMO], tree) == before


# --- a second process, a change, a damaged file ----------------------------------------------------


def test_a_second_process_reads_the_roles_without_synthesizing(synth_counted, tmp_path):
    first = iam_roles.synthesized_roles([DEMO])
    assert synth_counted.calls == 1 and len(list((tmp_path / "cache").glob("*.json"))) == 1
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == first
    assert synth_counted.calls == 1


def _check_an_infra_change_synthesizes_again(synth_counted, tree) -> None:
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query")
    # The app changes: the role now grants Scan; the roles kept for the old tree must not be used.
    _append(tree / "infra" / "postloop_infra" / "functions.py", "\n# scrape reads with Scan now\n")
    synth_counted.gives = _roles("dynamodb:Scan")
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Scan"), "roles of the old tree were used"
    assert synth_counted.calls == 2


def test_a_change_to_infra_synthesizes_again(synth_counted, tree):
    _check_an_infra_change_synthesizes_again(synth_counted, tree)


def test_guard_off_a_key_that_does_not_follow_the_files_serves_stale_roles(synth_counted, tree, monkeypatch):
    monkeypatch.setattr(iam_roles, "cache_key", lambda accounts, root=None: "0" * 64)
    with pytest.raises(AssertionError, match="roles of the old tree were used"):
        _check_an_infra_change_synthesizes_again(synth_counted, tree)


def test_guard_off_an_entry_read_whatever_key_it_was_written_under_serves_stale_roles(synth_counted, tree,
                                                                                      monkeypatch, tmp_path):
    # The file name is the key; the key inside is checked too (a file copied or renamed by hand).
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query")
    old = next((tmp_path / "cache").glob("*.json"))
    _append(tree / "infra" / "postloop_infra" / "functions.py")
    renamed = old.with_name(f"{iam_roles.cache_key([DEMO])}.json")
    shutil.copy(old, renamed)
    synth_counted.gives = _roles("dynamodb:Scan")
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Scan")
    monkeypatch.setattr(iam_roles, "_intact", lambda entry, key: True)
    shutil.copy(old, renamed)
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query")   # stale, without the check


def _damaged(entry_text: str) -> dict[str, str]:
    entry = json.loads(entry_text)
    tampered = json.loads(entry_text)
    tampered["roles"]["policies"]["scrape"][0][1]["Statement"][0]["Action"] = "dynamodb:*"
    missing = {**entry, "roles": {k: v for k, v in entry["roles"].items() if k != "trust"}}
    missing["sha256"] = iam_roles.hashlib.sha256(iam_roles._canonical(missing["roles"])).hexdigest()
    return {"truncated": entry_text[: len(entry_text) // 2], "empty": "", "binary": "\x00\xff garbage",
            "not an object": "[1, 2]", "other format": json.dumps({**entry, "format": 0}),
            "edited without its checksum": json.dumps(tampered), "a part missing": json.dumps(missing)}


@pytest.mark.parametrize("damage", ["truncated", "empty", "binary", "not an object", "other format",
                                    "edited without its checksum", "a part missing"])
def test_a_damaged_entry_is_ignored_and_written_again(synth_counted, tmp_path, damage):
    iam_roles.synthesized_roles([DEMO])
    path = next((tmp_path / "cache").glob("*.json"))
    path.write_text(_damaged(path.read_text())[damage], encoding="utf-8", errors="surrogateescape")
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query")
    assert synth_counted.calls == 2
    assert iam_roles.read_cached_roles(path, path.stem) == _roles("dynamodb:Query")   # written again, whole


def test_guard_off_an_entry_edited_without_its_checksum_is_believed(synth_counted, tmp_path, monkeypatch):
    iam_roles.synthesized_roles([DEMO])
    path = next((tmp_path / "cache").glob("*.json"))
    path.write_text(_damaged(path.read_text())["edited without its checksum"])
    assert iam_roles.read_cached_roles(path, path.stem) is None
    monkeypatch.setattr(iam_roles, "_intact", lambda entry, key: True)
    widened = iam_roles.read_cached_roles(path, path.stem)
    assert widened is not None and widened.policies["scrape"][0][1]["Statement"][0]["Action"] == "dynamodb:*"


def test_a_cache_that_cannot_be_written_leaves_the_run_as_it_was(synth_counted, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(iam_roles.CACHE_ENV, str(blocker / "cache"))
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query")
    _in_a_new_process()
    assert iam_roles.synthesized_roles([DEMO]) == _roles("dynamodb:Query") and synth_counted.calls == 2


def test_the_cache_can_be_turned_off(synth_counted, tmp_path, monkeypatch):
    monkeypatch.setenv(iam_roles.CACHE_ENV, "off")
    iam_roles.synthesized_roles([DEMO])
    _in_a_new_process()
    iam_roles.synthesized_roles([DEMO])
    assert synth_counted.calls == 2 and not (tmp_path / "cache").exists()


def test_old_entries_are_removed_when_one_is_written(tmp_path):
    for i in range(12):
        iam_roles.write_cached_roles(tmp_path / f"{i:064x}.json", f"{i:064x}", _roles("dynamodb:Query"))
        os.utime(tmp_path / f"{i:064x}.json", (1_000_000 + i, 1_000_000 + i))
    kept = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert kept == [f"{i:064x}" for i in range(12 - iam_roles._KEEP_ENTRIES, 12)]
    assert not list(tmp_path.glob(".writing-*"))


# --- the real roles -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_roles() -> SynthesizedRoles:
    return iam_roles.synthesized_roles([DEMO])


def test_the_synthesized_roles_come_back_from_the_cache_exactly(real_roles, tmp_path):
    path = tmp_path / "roles.json"
    iam_roles.write_cached_roles(path, "k", real_roles)
    assert iam_roles.read_cached_roles(path, "k") == real_roles
    assert set(real_roles.policies) == {"plan", "approve", "post", "scrape", "learn", "cache", "review"}


def test_a_new_process_gets_the_roles_from_the_cache_without_synthesizing(real_roles, tmp_path):
    # A real second interpreter: the key must not depend on anything of one process (hash seeds, order).
    cache = tmp_path / "cache"
    key = iam_roles.cache_key([DEMO])
    iam_roles.write_cached_roles(cache / f"{key}.json", key, real_roles)
    script = textwrap.dedent("""
        import json, sys
        from postloop_local import iam_roles, simulate
        def refuse(accounts):
            raise SystemExit("synthesized instead of reading the cache")
        iam_roles._synthesize = refuse
        roles = iam_roles.synthesized_roles([simulate.load_account("demo")])
        print(json.dumps(sorted(roles.policies)))
    """)
    env = {**os.environ, iam_roles.CACHE_ENV: str(cache), "PYTHONHASHSEED": "random"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == sorted(real_roles.policies)
