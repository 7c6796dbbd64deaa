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
    .venv/bin/python bench/cold_start.py --layer             # against the deployed dependencies layer

`--layer` runs the handlers against the dependencies layer the deployment builds, instead of the
venv: `build_dependencies_layer` of infra/postloop_infra/dependencies_layer.py makes it from
uv.lock's runtime set, trimmed and compiled exactly as for Lambda, but with this machine's wheels
(arm64 extension modules cannot load here); the packages Lambda's runtime provides (boto3,
botocore, s3transfer, jmespath) sit in a folder of their own, as in the runtime. Each probe then
runs with `-S -B` (no site-packages, no .pyc written: /opt is read-only) and, after the timed part,
reaches what later calls import (the OpenAI adapters against a local fake of the API over both
APIs, the quality score's text libraries, the cluster client, OAuth 1.0a), and lists every module
of the layer it imported without a .pyc (`without_pyc`: compiled in memory at each cold start).

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
from dataclasses import dataclass, replace
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
sys.path[:0] = SITE
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
print(json.dumps({"init_ms": (t1 - t0) * 1e3, "first_call_ms": 0.0,
                  "modules": sorted(m for m in WATCHED if m in sys.modules)}))
"""

HANDLER_PROBE = """
import time, json, sys
sys.path[:0] = SITE                              # the layers (/opt/python) and the runtime's own packages
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
out = {"init_ms": (t1 - t0) * 1e3, "first_call_ms": (t2 - t1) * 1e3, "modules": after_init,
       "modules_after_first_call": sorted(m for m in WATCHED if m in sys.modules)}
if REACH:
    exec(REACH_SOURCE)
    import os
    roots = tuple(p + os.sep for p in SITE)
    out["without_pyc"] = sorted(
        name for name, m in list(sys.modules.items())
        if (getattr(m, "__file__", None) or "").endswith(".py") and m.__file__.startswith(roots)
        and not os.path.exists(getattr(m, "__cached__", None) or ""))
    from_layer = [name for name, m in list(sys.modules.items())
                  if (getattr(m, "__file__", None) or "").startswith(roots)]
    out["layer_modules"] = len(from_layer)
    out["layer_packages"] = sorted({name.split(".")[0] for name in from_layer})
print(json.dumps(out))
"""

# Untimed, after the first call: what the rest of an invocation imports. The OpenAI calls go to
# the local fake of the API (OPENAI_URL), over both APIs the code speaks; nothing else is contacted.
REACH_SOURCE = """
import importlib, os
for name in REACH_MODULES:
    importlib.import_module(name)
if OPENAI_URL and "plan" in FUNCTION_DIR:
    from postloop.adapters.openai_embeddings import OpenAIEmbedder
    from postloop.adapters.openai_judge import OpenAIJudge
    from postloop.adapters.openai_moderation import OpenAIModerator
    from postloop.adapters.openai_writer import OpenAIWriter
    from postloop.core.ports import WriteRequest
    request = WriteRequest(content_type="factual_single", prompt="One fact.", persona="A researcher",
                           niche="sleep science", topics=("naps",), thread=False, seed=1)
    for api in ("responses", "chat"):
        OpenAIWriter("bench", "gpt-5.4-nano", base_url=OPENAI_URL, api=api, max_retries=0).write(request)
    OpenAIModerator("bench", base_url=OPENAI_URL, max_retries=0).moderate(["A nap restores alertness."])
    OpenAIEmbedder("bench", base_url=OPENAI_URL, max_retries=0).embed(["naps", "deep sleep"])
if os.path.basename(FUNCTION_DIR) in ("plan", "review"):               # review rescores an edited draft
    from postloop.core.quality import score_quality
    score_quality(["A 20-minute nap restores alertness because it ends before deep sleep starts."])
if "plan" in FUNCTION_DIR or "learn" in FUNCTION_DIR:
    from postloop.runtime.wiring import redis_client
    redis_client("redis://127.0.0.1:1/0")                      # a client; it connects on first use
    from redis.cluster import RedisCluster                    # the rediss:// (ElastiCache) client
"""
# Modules each function imports later in an invocation, beyond the first call above.
REACH = {
    "plan": ("postloop.adapters.redis_model_cache", "postloop.adapters.openai_structured"),
    "learn": ("postloop.adapters.redis_model_cache", "postloop.core.sweep"),
    "post": ("requests_oauthlib", "postloop.adapters.x_auth"),
    "scrape": ("requests_oauthlib", "postloop.adapters.x_auth"),
    "approve": ("postloop.adapters.workflow_resumer",),
    "review": ("postloop.runtime.review_http", "postloop.core.review", "postloop.adapters.pause_flags",
               "aws_lambda_powertools.utilities.parameters"),
}


def compile_bytecode(*, venv: bool = True) -> None:
    """.pyc for the running interpreter, as the deployed layer ships them (the venv's too, unless not used)."""
    paths = [LAYER, FUNCTIONS, *([Path(sysconfig.get_paths()["purelib"])] if venv else [])]
    for path in paths:
        compileall.compile_dir(str(path), quiet=2, workers=0)


@dataclass(frozen=True)
class Site:
    """Where the probes import third-party packages from: the venv (paths empty) or a built layer."""

    paths: tuple[str, ...] = ()
    reach: bool = False
    openai_url: str = ""

    @property
    def python(self) -> list[str]:
        # A layer run sees no site-packages and, like Lambda's read-only /opt, writes no .pyc.
        return [sys.executable, "-S", "-B"] if self.paths else [sys.executable]


VENV = Site()


def build_layer_site(out: Path) -> Site:
    """The deployed dependencies layer, built from uv.lock for this machine, as a probe site."""
    sys.path.insert(0, str(REPO / "infra"))
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from postloop_infra import dependencies_layer as dl

    platform = dl.TWIN if os.uname().machine == "x86_64" else dl.LAMBDA
    dl.build_dependencies_layer(out / "dependencies", platform=platform, runtime_dir=out / "runtime")
    return Site(paths=(str(out / "dependencies" / "python"), str(out / "runtime")), reach=True)


def probe_source(target: str, site: Site = VENV) -> str:
    head = f"WATCHED = {WATCHED!r}\nSITE = {list(site.paths)!r}\n"
    if target == "boto3":
        return head + BOTO3_PROBE
    return (head + f"FUNCTION_DIR = {str(FUNCTIONS / target)!r}\nLAYER = {str(LAYER)!r}\n"
            f"DEPS = {FIRST_CALL.get(target, ())!r}\nUSES_X = {target in USES_X!r}\nX_MODULES = {X_MODULES!r}\n"
            f"USE_CASES = {USE_CASES.get(target, ())!r}\nREACH = {site.reach!r}\n"
            f"REACH_MODULES = {REACH.get(target, ())!r}\nOPENAI_URL = {site.openai_url!r}\n"
            f"REACH_SOURCE = {REACH_SOURCE!r}\n"
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


def run_one(target: str, tracing: str, accounts_file: Path, site: Site = VENV) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([*site.python, "-c", probe_source(target, site)], capture_output=True, text=True,
                          env=dummy_env(target, tracing, accounts_file), cwd=str(REPO))
    wall = (time.perf_counter() - start) * 1e3
    if proc.returncode != 0:
        raise RuntimeError(f"{target} probe failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_ms"] = wall
    return out


def measure(functions: list[str], tracing: str, repeat: int, seed: int = 1, warmup: bool = True,
            site: Site = VENV) -> dict:
    targets = ["boto3", *functions]
    samples: dict[str, list[dict]] = {t: [] for t in targets}
    rng = random.Random(seed)
    timed = replace(site, reach=False)
    with tempfile.TemporaryDirectory(prefix="postloop-bench-") as tmp:
        accounts_file = Path(tmp) / "accounts.json"
        accounts_file.write_text("[]")
        for t in targets if warmup else ():   # one warm-up each (disk cache), not recorded
            run_one(t, tracing, accounts_file, timed)
        for _ in range(repeat):
            order = targets[:]
            rng.shuffle(order)            # interleaved, so drifts in machine load hit every target alike
            for t in order:
                samples[t].append(run_one(t, tracing, accounts_file, timed))
        reached = {t: run_one(t, tracing, accounts_file, site) for t in functions} if site.reach else {}
    result = summarise(samples)
    for t, run in reached.items():
        result[t]["without_pyc"] = run["without_pyc"]
        result[t]["layer_modules"] = run["layer_modules"]
        result[t]["layer_packages"] = run["layer_packages"]
    return result


def fake_openai():
    """The local fake of the OpenAI API (postloop_local), answering every draft request with one good post."""
    from postloop_local.fake_openai import FakeOpenAI

    server = FakeOpenAI(lambda body: {"topic": "naps", "parts": [
        "A 20-minute nap restores alertness because it ends before deep sleep starts."]})
    return server, server.start()


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
    p.add_argument("--layer", action="store_true",
                   help="run against the deployed dependencies layer (built from uv.lock for this machine)")
    p.add_argument("--layer-dir", type=Path, help="with --layer: build it here and keep it (default: a temporary folder)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    functions = [f for f in args.functions.split(",") if f and (FUNCTIONS / f / "handler.py").exists()]
    if not args.no_compile:
        compile_bytecode(venv=not args.layer)
    modes = ("off", "on") if args.tracing == "both" else (args.tracing,)
    with tempfile.TemporaryDirectory(prefix="postloop-layer-") as tmp:
        site, server = VENV, None
        if args.layer:
            site = build_layer_site(args.layer_dir or Path(tmp))
            server, url = fake_openai()
            site = replace(site, openai_url=url)
        try:
            results = {m: measure(functions, m, args.repeat, warmup=not args.no_warmup, site=site) for m in modes}
        finally:
            if server is not None:
                server.stop()
    meta = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "repeat": args.repeat,
            "site": "the dependencies layer (uv.lock, this machine's wheels)" if args.layer else "the venv",
            "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        print(f"python {meta['python']}, {meta['cpus']} cpus, {meta['date']}, packages from {meta['site']}")
        for m in modes:
            print()
            print(table(results[m], m))
            for line in verdict(results[m]):
                print("  " + line)
            for fn, row in results[m].items():
                if "without_pyc" in row:
                    missing = ", ".join(row["without_pyc"]) or "none"
                    print(f"  {fn}: {row['layer_modules']} modules from the layer, without .pyc: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
