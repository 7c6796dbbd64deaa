"""The one synth that bundles the layers for real (no Docker, no AWS), and the CDK CLI's synth from the repo root.

Slow: the first run downloads the arm64 wheels from PyPI (about a minute); pip's
cache makes later runs faster. The CLI synth reuses the assets staged here.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from synth_helpers import REPO

from postloop_infra.dependencies_layer import NEVER_IMPORTED, RUNTIME_PROVIDED, locked_runtime

pytestmark = pytest.mark.slow

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024   # function code plus all its layers
AARCH64 = 183                                # ELF e_machine of arm64
PYC_UNCHECKED_HASH = 0b01                    # PEP 552 flags: hash-based, source not checked


def tree_size(path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def pyc_flags(pyc) -> int:
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory, accounts_dir):
    from postloop_infra.stack import build_app

    outdir = tmp_path_factory.mktemp("bundled")
    # No "aws:cdk:bundling-stacks" in the context: every asset is bundled, as on deploy.
    app, stack = build_app({"accounts_dir": str(accounts_dir)}, outdir=str(outdir), nag=False)
    template = app.synth().get_stack_by_name(stack.stack_name).template

    def staged(construct):
        key = template["Resources"][stack.resolve(stack.get_logical_id(construct.node.default_child))][
            "Properties"]["Content"]["S3Key"]
        return outdir / f"asset.{key.removesuffix('.zip')}"

    core, dependencies, accounts = (staged(layer) for layer in stack.functions.layers)
    return {"outdir": outdir, "core": core, "dependencies": dependencies, "accounts": accounts}


def test_dependencies_layer_holds_the_locked_runtime_set_for_arm64_python313(bundled):
    site = bundled["dependencies"] / "python"
    installed = {}
    for info in site.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[name.lower().replace("_", "-").replace(".", "-")] = version
    expected = {pin.name: pin.version for pin in locked_runtime()
                if pin.name not in RUNTIME_PROVIDED and pin.name.replace("-", "_") not in NEVER_IMPORTED}
    # Exactly uv.lock's versions, and nothing it does not pin; Lambda's runtime provides the AWS SDK.
    assert installed == expected
    for name in RUNTIME_PROVIDED:
        assert not (site / name).exists(), f"{name} should be left to the runtime"
    assert not list(site.glob("numpy/**/tests")), "numpy's test suite is trimmed"
    assert "aws-xray-sdk" in installed, "the [tracer] extra of Powertools"
    assert "moto" not in installed and "pytest" not in installed, "local and dev tools stay out"

    extensions = list(site.rglob("*.cpython-313-aarch64-linux-gnu.so"))
    assert any("numpy" in str(p) for p in extensions)
    for so in extensions[:20]:
        header = so.read_bytes()[:20]
        assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == AARCH64, so
    assert not list(site.rglob("*x86_64*.so")), "no x86_64 extension modules"


def test_layers_carry_python313_pyc_that_lambda_can_use_as_is(bundled):
    for layer, module in (("dependencies", "pynamodb/__init__"), ("dependencies", "numpy/__init__"),
                          ("core", "postloop/core/plan")):
        source = bundled[layer] / "python" / f"{module}.py"
        pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
        assert pyc.is_file(), pyc
        # Hash-based and unchecked: valid although CDK zips assets with fixed file dates.
        assert pyc_flags(pyc) == PYC_UNCHECKED_HASH
    assert not list((bundled["dependencies"] / "python").glob("bin")), "console scripts are dropped"


def test_everything_fits_lambdas_unzipped_limit(bundled):
    functions = max(tree_size(REPO / "functions" / name) for name in ("plan", "approve", "post", "scrape", "learn"))
    total = functions + sum(tree_size(bundled[layer]) for layer in ("core", "dependencies", "accounts"))
    print(f"unzipped: dependencies {tree_size(bundled['dependencies']) / 2**20:.0f} MB, "
          f"total {total / 2**20:.0f} MB of {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MB")
    assert total < LAMBDA_UNZIPPED_LIMIT


def cdk_cli() -> str | None:
    local = REPO / "node_modules" / ".bin" / "cdk"
    return str(local) if local.exists() else shutil.which("cdk")


def test_cdk_cli_synthesizes_offline_from_the_repository_root(bundled):
    cli = cdk_cli()
    if cli is None:
        pytest.skip("the CDK CLI is not installed: run `npm ci` at the repository root (.ci/run does)")
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    # No AWS credentials or region: the stack is environment-agnostic.
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(key, None)
    # The same cloud assembly directory: the layers staged above are reused, not bundled again.
    outdir = bundled["outdir"]
    result = subprocess.run([cli, "synth", "--no-notices", "-q", "--output", str(outdir)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (outdir / "postloop.template.json").is_file()
