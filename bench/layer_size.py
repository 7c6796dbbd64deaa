"""Unzipped size of the two Lambda layers, built exactly as the deployment builds them.

The dependencies layer comes from the CDK app's own builder
(`infra/postloop_infra/dependencies_layer.py`: `build_dependencies_layer`, uv.lock's runtime set
installed with `--no-deps --require-hashes` for manylinux aarch64 / CPython 3.13, trimmed, .pyc
compiled by a python3.13); the core layer from the same module's local bundling of `layers/core`
(sources copied without caches, .pyc compiled). Every function gets these two layers (and the
accounts file, a few KB), so their sum is each function's figure. Sizes are the sum of the files'
sizes (what Lambda's 250 MB limit counts), broken down by top-level package with the locked
version that installed it; the zipped size is shown for reference. Needs a python3.13, uv and
PyPI (or uv's cache).

    .venv/bin/python bench/layer_size.py                  # builds into a temporary folder
    .venv/bin/python bench/layer_size.py --keep /tmp/layers --json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MB = 100
LAMBDA_LIMIT_MB = 250
# In the python3.13 runtime already (its boto3 and what boto3 needs); a layer copy shadows them.
IN_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
MB = 1_000_000


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def zipped_size(path: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "layer.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(path.rglob("*")):
                if p.is_file():
                    z.write(p, p.relative_to(path))
        return archive.stat().st_size


def package_of(entry: str) -> str:
    """The top-level package a folder belongs to: numpy.libs -> numpy, x.dist-info -> metadata."""
    if entry.endswith((".dist-info", ".egg-info")):
        return "(package metadata: *.dist-info)"
    if entry.endswith(".libs"):
        return entry[: -len(".libs")]
    return entry.removesuffix(".py")


def breakdown(python_dir: Path) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for entry in python_dir.iterdir():
        size = entry.stat().st_size if entry.is_file() else tree_size(entry)
        sizes[package_of(entry.name)] += size
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))


def owners(python_dir: Path) -> dict[str, str]:
    """Top-level entry of the layer -> "name version" of the package that installed it (from RECORD)."""
    out: dict[str, str] = {}
    for info in python_dir.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        record = info / "RECORD"
        if not record.is_file():
            continue
        for line in record.read_text(encoding="utf-8").splitlines():
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and not top.endswith(".dist-info") and top != "..":
                out.setdefault(package_of(top), f"{name} {version}")
    return out


def build(out: Path) -> dict:
    sys.path.insert(0, str(REPO / "infra"))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from postloop_infra import dependencies_layer as dl

    deps, core = out / "dependencies", out / "core"
    for d in (deps, core):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    pins = dl.build_dependencies_layer(deps)
    t1 = time.perf_counter()
    # The core layer's local bundling, as CDK calls it.
    dl._LocalCore(dl.CORE_LAYER_DIR).try_bundle(str(core), image=None)
    t2 = time.perf_counter()
    return {"dependencies_dir": str(deps), "core_dir": str(core),
            "build_seconds": {"dependencies": round(t1 - t0, 1), "core": round(t2 - t1, 1)},
            "uv_lock_sha256": hashlib.sha256((REPO / "uv.lock").read_bytes()).hexdigest(),
            "layer_asset_hash": dl.layer_fingerprint(pins),
            "locked": {pin.name: pin.version for pin in pins},
            "left_to_the_runtime": list(dl.RUNTIME_PROVIDED)}


def measure(out: Path, built: dict) -> dict:
    deps, core = out / "dependencies", out / "core"
    dep_total, core_total = tree_size(deps), tree_size(core)
    packages = breakdown(deps / "python")
    in_runtime = {k: v for k, v in packages.items() if k in IN_RUNTIME}
    pyc = sum(p.stat().st_size for p in deps.rglob("*.pyc"))
    return {**built, "dependencies_bytes": dep_total, "core_bytes": core_total, "total_bytes": dep_total + core_total,
            "dependencies_zipped_bytes": zipped_size(deps), "core_zipped_bytes": zipped_size(core),
            "pyc_bytes_in_dependencies": pyc, "packages": packages, "installed_by": owners(deps / "python"),
            "already_in_runtime": in_runtime, "target_mb": TARGET_MB,
            "meets_target": (dep_total + core_total) / MB <= TARGET_MB,
            "margin_mb": round(TARGET_MB - (dep_total + core_total) / MB, 1),
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--keep", type=Path, help="build here and keep the layers (default: a temporary folder)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--top", type=int, default=15)
    args = p.parse_args(argv)
    tmp = None
    out = args.keep
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="postloop-layers-")
        out = Path(tmp.name)
    try:
        res = measure(out, build(out))
    finally:
        if tmp is not None:
            tmp.cleanup()
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    total = res["total_bytes"] / MB
    print(f"dependencies layer {res['dependencies_bytes'] / MB:.1f} MB unzipped "
          f"({res['dependencies_zipped_bytes'] / MB:.1f} MB zipped, .pyc {res['pyc_bytes_in_dependencies'] / MB:.1f} MB)")
    print(f"core layer         {res['core_bytes'] / MB:.1f} MB unzipped ({res['core_zipped_bytes'] / MB:.2f} MB zipped)")
    print(f"total              {total:.1f} MB (target <= {TARGET_MB} MB: {'met' if res['meets_target'] else 'missed'}, "
          f"margin {res['margin_mb']:.1f} MB; Lambda's limit {LAMBDA_LIMIT_MB} MB)")
    print(f"from uv.lock sha256 {res['uv_lock_sha256'][:16]}, {len(res['locked'])} locked runtime packages "
          f"({', '.join(res['left_to_the_runtime'])} left to the Lambda runtime); layer asset hash "
          f"{res['layer_asset_hash'][:16]}")
    print("largest packages in the dependencies layer:")
    for name, size in list(res["packages"].items())[: args.top]:
        mark = "  (in the Lambda runtime already)" if name in IN_RUNTIME else ""
        print(f"  {name:<36} {size / MB:7.1f} MB  {res['installed_by'].get(name, ''):<28}{mark}")
    shadow = sum(res["already_in_runtime"].values()) / MB
    print(f"packages the python3.13 runtime already has: {shadow:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
