"""The dependencies layer comes from uv.lock: its pins, its asset hash, and a stale lock refused.

Fast: uv reads copies of the repository's pyproject.toml and uv.lock (offline) and a one-layer
stack is synthesized with bundling skipped; nothing is downloaded or built.
"""
from __future__ import annotations

import shutil

import pytest
from aws_cdk import App, Stack, aws_lambda as lambda_
from synth_helpers import NO_BUNDLING, REPO

from postloop_infra import dependencies_layer as dl

# A dev-only package, a runtime one, and a runtime one whose marker excludes Lambda's python3.13
# (redis asks for async-timeout below Python 3.11.3 only).
DEV_ONLY, RUNTIME, OTHER_PYTHONS = "pytest", "pyphen", "async-timeout"


def lock_entry(lock: str, name: str) -> tuple[str, str]:
    """The [[package]] block of `name` in a uv.lock text, and its version."""
    for block in lock.split("\n[[package]]\n"):
        if block.startswith(f'name = "{name}"\n'):
            return block, block.split('version = "', 1)[1].split('"', 1)[0]
    raise AssertionError(f"{name} is not in uv.lock")


def lock_versions(lock: str, name: str) -> list[str]:
    """Every version uv.lock holds of `name` (more than one when the resolution forks by Python version)."""
    return [block.split('version = "', 1)[1].split('"', 1)[0] for block in lock.split("\n[[package]]\n")
            if block.startswith(f'name = "{name}"\n')]


def with_version(project, name: str, version: str) -> None:
    """Rewrite one package's locked version (its file names too), as a relock to that version would."""
    path = project / "uv.lock"
    lock = path.read_text(encoding="utf-8")
    block, old = lock_entry(lock, name)
    path.write_text(lock.replace(block, block.replace(old, version)), encoding="utf-8")


@pytest.fixture()
def project(tmp_path):
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def synthesized_asset_key(tmp_path, pins) -> str:
    """The S3 key CDK gives the dependencies layer's asset (its asset hash), bundling skipped."""
    app = App(context=NO_BUNDLING, outdir=str(tmp_path / "cdk.out"))
    stack = Stack(app, "LayerOnly")
    lambda_.LayerVersion(stack, "Dependencies", code=dl.dependencies_code(tmp_path / "work", pins))
    template = app.synth().get_stack_by_name("LayerOnly").template
    (layer,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    return layer["Properties"]["Content"]["S3Key"]


def test_the_repository_lock_matches_pyproject_and_pins_the_whole_runtime_set():
    pins = {pin.name: pin for pin in dl.locked_runtime()}
    lock = (REPO / "uv.lock").read_text(encoding="utf-8")
    for name in ("numpy", "openai", "pynamodb", "aws-lambda-powertools", "aws-xray-sdk", "redis", "textstat"):
        assert pins[name].version in lock_versions(lock, name)
        assert pins[name].hashes and all(h.startswith("sha256:") for h in pins[name].hashes)
    assert "pytest" not in pins and "moto" not in pins and "postloop" not in pins


def test_asset_hash_moves_with_the_locked_runtime_set_only(project, tmp_path):
    base = dl.locked_runtime(project)
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    keys = {"base": synthesized_asset_key(tmp_path / "a", base)}

    with_version(project, DEV_ONLY, lock_entry(lock, DEV_ONLY)[1] + ".post9")
    dev_bumped = dl.locked_runtime(project)
    assert dev_bumped == base
    keys["dev"] = synthesized_asset_key(tmp_path / "b", dev_bumped)

    with_version(project, OTHER_PYTHONS, lock_entry(lock, OTHER_PYTHONS)[1] + ".post9")
    assert dl.locked_runtime(project) == base   # its marker leaves it out of Lambda's set

    with_version(project, RUNTIME, lock_entry(lock, RUNTIME)[1] + ".post9")
    runtime_bumped = dl.locked_runtime(project)
    assert {p.name: p.version for p in runtime_bumped}[RUNTIME].endswith(".post9")
    keys["runtime"] = synthesized_asset_key(tmp_path / "c", runtime_bumped)

    assert keys["dev"] == keys["base"], "a dev-only bump must not rebuild the layer"
    assert keys["runtime"] != keys["base"], "a runtime bump must rebuild the layer"
    assert dl.layer_fingerprint(runtime_bumped) != dl.layer_fingerprint(base)


def test_the_asset_hash_is_the_fingerprint_of_the_pins(tmp_path, monkeypatch):
    pins = dl.locked_runtime()
    bumped = tuple(dl.Pin(p.name, p.version + ".post9", p.hashes) if p.name == RUNTIME else p for p in pins)
    assert synthesized_asset_key(tmp_path / "a", pins) != synthesized_asset_key(tmp_path / "b", bumped)
    assert dl.layer_fingerprint(pins) == dl.layer_fingerprint(list(reversed(pins)))   # order-free
    # Guard off: a hash that does not follow the pins (as the source-folder hash of the requirement
    # ranges did before the lock) keeps the stale layer after a runtime bump.
    monkeypatch.setattr(dl, "layer_fingerprint", lambda pins, platform=dl.LAMBDA: "0" * 64)
    assert synthesized_asset_key(tmp_path / "c", pins) == synthesized_asset_key(tmp_path / "d", bumped)


def test_build_settings_are_part_of_the_asset_hash(monkeypatch):
    pins = dl.locked_runtime()
    before = dl.layer_fingerprint(pins)
    monkeypatch.setattr(dl, "WORD_LIST_LANGUAGES", ("en", "de"))
    assert dl.layer_fingerprint(pins) != before


def test_a_lock_that_no_longer_matches_pyproject_is_refused(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "dependencies = [\n", 'dependencies = [\n    "six>=1.16",\n', 1), encoding="utf-8")
    with pytest.raises(dl.LockError) as refused:
        dl.locked_runtime(project)
    assert "bash .ci/update-deps" in str(refused.value) and "needs to be updated" in str(refused.value)


def test_without_locked_the_stale_lock_would_be_exported_silently(project, monkeypatch):
    """The guard above is uv's --locked: without it the same stale lock goes through."""
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "dependencies = [\n", 'dependencies = [\n    "six>=1.16",\n', 1), encoding="utf-8")
    monkeypatch.setattr(dl, "EXPORT_FLAGS", tuple(f for f in dl.EXPORT_FLAGS if f != "--locked") + ("--frozen",))
    assert dl.locked_runtime(project)


def test_a_missing_lock_is_named(tmp_path):
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with pytest.raises(dl.LockError, match="uv.lock is missing"):
        dl.locked_runtime(tmp_path)


EXPORT = """\
annotated-types==0.8.0 \\
    --hash=sha256:aa \\
    --hash=sha256:bb
colorama==0.4.6 ; sys_platform == 'win32' \\
    --hash=sha256:cc
numpy==2.4.6 ; python_full_version < '3.12' \\
    --hash=sha256:dd
numpy==2.5.5 ; python_full_version >= '3.12' \\
    --hash=sha256:ff \\
    --hash=sha256:ee
jiter==0.19.0 ; platform_machine == 'aarch64' \\
    --hash=sha256:11
"""


def test_markers_are_evaluated_for_lambdas_platform():
    pins = {p.name: p for p in dl.pins_for(EXPORT)}
    assert set(pins) == {"annotated-types", "numpy", "jiter"}
    assert pins["numpy"] == dl.Pin("numpy", "2.5.5", ("sha256:ee", "sha256:ff"))
    assert "jiter" not in {p.name for p in dl.pins_for(EXPORT, dl.TWIN)}
    assert dl.requirements_text(pins.values()).startswith("annotated-types==0.8.0 \\\n    --hash=sha256:aa")


@pytest.mark.parametrize("line, says", [
    ("requests>=2.32 \\\n    --hash=sha256:aa", "not one exact version"),
    ("requests==2.32.0", "not one exact version"),
    ("requests==2.32.0 --hash=sha256:aa\nrequests==2.33.0 --hash=sha256:bb", "two locked versions of requests"),
    ("requests==2.32.0 ; python_version >> '3' --hash=sha256:aa", "cannot read"),
])
def test_an_export_the_layer_cannot_install_exactly_is_refused(line, says):
    with pytest.raises(dl.DependencyBuildError, match=says):
        dl.pins_for(line + "\n")


def test_the_install_is_exact_and_hash_checked(tmp_path):
    cmd = dl.install_command(tmp_path / "python", tmp_path / "requirements.txt")
    assert {"--no-deps", "--require-hashes", "--only-binary"} <= set(cmd)
    assert cmd[cmd.index("--python-platform") + 1] == "aarch64-manylinux_2_28"
    assert "--no-deps --require-hashes" in dl.pip_flags()

