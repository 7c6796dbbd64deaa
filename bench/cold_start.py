"""Cold start of each Lambda handler next to a bare `import boto3`, in fresh interpreters.

Every sample is a new `python` process laid out like the Lambda runtime: the function's folder
and the core layer's `python/` folder on `sys.path`, `import handler`, then the settings loaded
from a dummy environment (no network anywhere). Three figures per sample:

- `init`: importing the handler module plus the settings, timed inside the process
  (the part of Lambda's INIT phase the code controls);
- `first_call`: what the first invocation adds before its first network call: the use case's
  modules (numpy for plan and learn) and the dependencies that function builds from the wiring,
  their botocore clients included;
- `process`: the whole process from the parent's side (interpreter start-up, init and first call).

The reference is `import boto3` timed the same way in the same rounds. Targets are interleaved
in a shuffled order each round and the medians reported, with each handler's ratio to boto3:
the ratio of the medians, and the paired ratio (the median of each round's own ratio, which a
busy neighbour disturbs less; the target is judged on it). Bytecode is compiled for the running
interpreter first (compileall), as it is in the layer.

    .venv/bin/python bench/cold_start.py                     # 21 rounds, tracing off and on
    .venv/bin/python bench/cold_start.py --repeat 5 --json   # machine-readable

`--tracing off` runs with POWERTOOLS_TRACE_DISABLED=true; `--tracing on` without it (inside
Lambda, which the probe signals with LAMBDA_TASK_ROOT, Powertools then traces).
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER = REPO / "layers" / "core" / "python"
FUNCTIONS = REPO / "functions"
ALL_FUNCTIONS = ("plan", "post", "scrape", "learn", "approve")
TARGET_RATIO = 1.5
TARGET_FUNCTIONS = ("post", "scrape")
# Modules whose presence after init says what a function pays for.
WATCHED = ("numpy", "openai", "aws_xray_sdk", "pynamodb", "botocore", "requests", "redis", "boto3")

# Dependencies each function's first invocation builds (attribute names on the wiring).
FIRST_CALL = {
    "plan": ("decisions", "arms", "outcomes", "registry", "model_cache", "writer"),
    "post": ("decisions",),
    "scrape": ("decisions", "outcomes"),
    "learn": ("decisions", "outcomes", "arms", "registry", "model_cache"),
    "approve": ("decisions", "resumer"),
}
# The use cases the tasks import on their first call (plan and learn load numpy there).
USE_CASES = {"plan": ("postloop.core.plan",), "learn": ("postloop.core.learn",)}
# Building the X client reads its secret (a network call), so for the functions that call X the
# probe stops short of it: it imports the client's modules and creates the Secrets Manager client.
X_MODULES = ("postloop.adapters.x_api", "postloop.adapters.x_auth", "postloop.adapters.credentials")
USES_X = {"post", "scrape"}

BOTO3_PROBE = """
import time, json, sys
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
print(json.dumps({"init_ms": (t1 - t0) * 1e3, "first_call_ms": 0.0,
                  "modules": sorted(m for m in WATCHED if m in sys.modules)}))
"""

HANDLER_PROBE = """
import time, json, sys
t0 = time.perf_counter()
sys.path[:0] = [FUNCTION_DIR, LAYER]
import handler                                   # what Lambda's INIT does with "handler.lambda_handler"
from postloop.runtime import wiring
w = wiring.current()
w.settings                                       # validated settings (dummy environment)
t1 = time.perf_counter()
after_init = sorted(m for m in WATCHED if m in sys.modules)
for name in DEPS:
    if hasattr(type(w), name):
        getattr(w, name)
import importlib
for name in USE_CASES:
    importlib.import_module(name)
if "decisions" in DEPS:
    w.tables.content_metadata._get_connection().connection.client   # the DynamoDB client (no request)
if USES_X:
    import importlib, importlib.util
    for name in X_MODULES:
        if importlib.util.find_spec(name):
            importlib.import_module(name)
    import boto3
    boto3.client("secretsmanager", region_name="us-east-1")   # the client behind the X secret (no request)
t2 = time.perf_counter()
print(json.dumps({"init_ms": (t1 - t0) * 1e3, "first_call_ms": (t2 - t1) * 1e3, "modules": after_init,
                  "modules_after_first_call": sorted(m for m in WATCHED if m in sys.modules)}))
"""


def compile_bytecode() -> None:
    """.pyc for the running interpreter, as the deployed layer ships them."""
    site = Path(sysconfig.get_paths()["purelib"])
    for path in (LAYER, FUNCTIONS, site):
        compileall.compile_dir(str(path), quiet=2, workers=0)


def probe_source(target: str) -> str:
    if target == "boto3":
        return f"WATCHED = {WATCHED!r}\n" + BOTO3_PROBE
    return (f"WATCHED = {WATCHED!r}\nFUNCTION_DIR = {str(FUNCTIONS / target)!r}\nLAYER = {str(LAYER)!r}\n"
            f"DEPS = {FIRST_CALL.get(target, ())!r}\nUSES_X = {target in USES_X!r}\nX_MODULES = {X_MODULES!r}\n"
            f"USE_CASES = {USE_CASES.get(target, ())!r}\n"
            + HANDLER_PROBE)


def dummy_env(target: str, tracing: str, accounts_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "POSTLOOP_", "AWS_"))}
    env.pop("PYTHONPATH", None)
    env.update({
        # What Lambda sets, with dummy values: nothing here is ever contacted.
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": f"postloop-{target}", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS / target) if target != "boto3" else str(REPO),
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_SERVICE_NAME": "postloop", "POWERTOOLS_METRICS_NAMESPACE": "postloop",
        "POSTLOOP_ACCOUNTS_FILE": str(accounts_file),
        "POSTLOOP_X_SECRET_ID": "postloop/bench/x",
        "POSTLOOP_REDIS_URL": "redis://127.0.0.1:1/0",
    })
    if tracing == "off":
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def run_one(target: str, tracing: str, accounts_file: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", probe_source(target)], capture_output=True, text=True,
                          env=dummy_env(target, tracing, accounts_file), cwd=str(REPO))
    wall = (time.perf_counter() - start) * 1e3
    if proc.returncode != 0:
        raise RuntimeError(f"{target} probe failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_ms"] = wall
    return out


def measure(functions: list[str], tracing: str, repeat: int, seed: int = 1, warmup: bool = True) -> dict:
    targets = ["boto3", *functions]
    samples: dict[str, list[dict]] = {t: [] for t in targets}
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="postloop-bench-") as tmp:
        accounts_file = Path(tmp) / "accounts.json"
        accounts_file.write_text("[]")
        for t in targets if warmup else ():   # one warm-up each (disk cache), not recorded
            run_one(t, tracing, accounts_file)
        for _ in range(repeat):
            order = targets[:]
            rng.shuffle(order)            # interleaved, so drifts in machine load hit every target alike
            for t in order:
                samples[t].append(run_one(t, tracing, accounts_file))
    return summarise(samples)


def summarise(samples: dict[str, list[dict]]) -> dict:
    base = samples["boto3"]
    base_init = statistics.median(r["init_ms"] for r in base)
    out = {}
    for t, runs in samples.items():
        row = {"n": len(runs)}
        for key in ("init_ms", "first_call_ms", "process_ms"):
            row[key] = statistics.median(r[key] for r in runs)
        row["init_min_ms"] = min(r["init_ms"] for r in runs)
        row["init_plus_first_call_ms"] = statistics.median(r["init_ms"] + r["first_call_ms"] for r in runs)
        row["init_ratio"] = row["init_ms"] / base_init
        # The same ratio taken within each round (same moment, same machine load), then the median.
        row["init_ratio_paired"] = statistics.median(r["init_ms"] / b["init_ms"] for r, b in zip(runs, base))
        row["init_ratio_min"] = row["init_min_ms"] / min(r["init_ms"] for r in base)
        row["process_ratio"] = row["process_ms"] / statistics.median(r["process_ms"] for r in base)
        row["init_plus_first_call_ratio"] = row["init_plus_first_call_ms"] / base_init
        row["modules_after_init"] = runs[-1]["modules"]
        row["modules_after_first_call"] = runs[-1].get("modules_after_first_call", runs[-1]["modules"])
        out[t] = row
    return out


def table(result: dict, tracing: str) -> str:
    lines = [(f"tracing {tracing}: median over {result['boto3']['n']} rounds (x boto3: ratio of medians; "
              f"paired: median of the per-round ratios; min: ratio of the fastest runs)"),
             (f"{'target':<9} {'init ms':>8} {'x boto3':>8} {'paired':>7} {'min':>6} {'+1st call':>10} {'x boto3':>8} "
              f"{'process ms':>11}  modules after init")]
    for t, r in result.items():
        lines.append(f"{t:<9} {r['init_ms']:>8.1f} {r['init_ratio']:>8.2f} {r['init_ratio_paired']:>7.2f} "
                     f"{r['init_ratio_min']:>6.2f} {r['init_plus_first_call_ms']:>10.1f} "
                     f"{r['init_plus_first_call_ratio']:>8.2f} {r['process_ms']:>11.1f}  "
                     f"{', '.join(r['modules_after_init'])}")
    lines.append("(process ms: the whole subprocess from the parent, interpreter start-up and first call included)")
    return "\n".join(lines)


def verdict(result: dict) -> list[str]:
    # Judged on the paired ratio: each round's ratio is taken at one moment, so a noisy neighbour
    # slows both sides of it; the ratio of two medians moves with the reference's own noise.
    out = []
    for fn in TARGET_FUNCTIONS:
        if fn in result:
            r = result[fn]["init_ratio_paired"]
            out.append(f"{fn}: init {r:.2f}x boto3 (paired; ratio of medians {result[fn]['init_ratio']:.2f}) -> "
                       f"{'meets' if r <= TARGET_RATIO else 'misses'} the {TARGET_RATIO}x target")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=21, help="rounds (each runs every target once)")
    p.add_argument("--functions", default=",".join(ALL_FUNCTIONS),
                   help="comma-separated; functions without a handler.py are skipped")
    p.add_argument("--tracing", choices=("off", "on", "both"), default="both")
    p.add_argument("--no-compile", action="store_true", help="skip compileall (already done)")
    p.add_argument("--no-warmup", action="store_true", help="skip the unrecorded first run of each target")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    functions = [f for f in args.functions.split(",") if f and (FUNCTIONS / f / "handler.py").exists()]
    if not args.no_compile:
        compile_bytecode()
    modes = ("off", "on") if args.tracing == "both" else (args.tracing,)
    results = {m: measure(functions, m, args.repeat, warmup=not args.no_warmup) for m in modes}
    meta = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "repeat": args.repeat,
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        print(f"python {meta['python']}, {meta['cpus']} cpus, {meta['date']}")
        for m in modes:
            print()
            print(table(results[m], m))
            for line in verdict(results[m]):
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
