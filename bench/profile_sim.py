"""Time and profile the full local loop: `postloop simulate --backend embedded`, 90 days at 8 posts a day.

The run is the real CLI command (the four handlers on moto, a real redis-server and the fake X
API on loopback) with the stationary scenario pointed at a copy of the demo account whose
posts_per_day is 8 (a scenario file can name an account file). It runs in this process under
cProfile, which on Python 3.12+ sees every thread (it runs on sys.monitoring): the fake X API's
request threads are in the same profile, and so is its idle polling, kept apart below as
"waiting". redis-server is a separate process and is not profiled.

Reported: wall and CPU time, handler calls, self time grouped by package (moto, botocore,
pynamodb, postloop.core, ...), and the top functions by cumulative and by self time.

    .venv/bin/python bench/profile_sim.py                        # 90 days, ~10+ minutes
    .venv/bin/python bench/profile_sim.py --no-profile           # the same run, timed without the profiler
    .venv/bin/python bench/profile_sim.py --days 3 --json        # a quick look
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "core" / "python"), str(REPO / "layers" / "local" / "python")]

LOCAL = REPO / "layers" / "local" / "python" / "postloop_local"
# (group, marker in the code's file path), first match wins.
GROUPS = (
    ("moto", "/moto/"), ("botocore", "/botocore/"), ("boto3", "/boto3/"), ("pynamodb", "/pynamodb/"),
    ("werkzeug/responses (moto's HTTP layer)", "/werkzeug/"), ("werkzeug/responses (moto's HTTP layer)", "/responses/"),
    ("postloop.core", "/postloop/core/"), ("postloop.adapters", "/postloop/adapters/"),
    ("postloop.runtime", "/postloop/runtime/"), ("functions (handlers)", "/functions/"),
    ("postloop_local (simulator, fake X)", "/postloop_local/"),
    ("powertools", "/aws_lambda_powertools/"), ("numpy", "/numpy/"), ("redis client", "/redis/"),
    ("http (requests, urllib3, http.*, socket)", "/requests/"), ("http (requests, urllib3, http.*, socket)", "/urllib3/"),
    ("http (requests, urllib3, http.*, socket)", "/http/"), ("http (requests, urllib3, http.*, socket)", "/socket.py"),
    ("http (requests, urllib3, http.*, socket)", "/socketserver.py"), ("http (requests, urllib3, http.*, socket)", "/ssl.py"),
    ("yaml/json", "/yaml/"), ("yaml/json", "/json/"), ("dateutil", "/dateutil/"),
    ("python stdlib", "/lib/python3"),
)
SOCKET_BUILTINS = ("socket", "recv", "send", "connect", "accept", "ssl")
WAITS = ("select.poll", "select.select", "lock' objects>", "acquire", "sleep")


def group_of(filename: str, funcname: str) -> str:
    if filename == "~":      # a built-in (C) function: file unknown
        name = funcname.lower()
        if any(w in funcname for w in WAITS):
            return "waiting (poll, locks, sleep: idle threads included)"
        if any(s in name for s in SOCKET_BUILTINS):
            return "http (requests, urllib3, http.*, socket)"
        return "builtins (C: dict, str, re, hashlib, ...)"
    path = filename.replace("\\", "/")
    for group, marker in GROUPS:
        if marker in path:
            return group
    return "other"


def short(func) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/layers/core/python/", "/layers/local/python/", "/lib/python3.13/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})"


def scenario_file(tmp: Path, posts_per_day: int, scenario: str) -> Path:
    """The shipped scenario, pointed at a copy of its account with another posts_per_day."""
    import yaml
    src = yaml.safe_load((LOCAL / "scenarios" / f"{scenario}.yaml").read_text())
    account = json.loads((LOCAL / "accounts" / f"{src['account']}.json").read_text())
    account["posts_per_day"] = posts_per_day
    (tmp / "account.json").write_text(json.dumps(account))
    src["account"] = str(tmp / "account.json")
    src["name"] = f"{src['name']}-{posts_per_day}-a-day"
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(src))
    return path


def by_group(st: pstats.Stats) -> dict[str, float]:
    groups: dict[str, float] = defaultdict(float)
    for (filename, _, name), (_, _, tottime, _, _) in st.stats.items():
        groups[group_of(filename, name)] += tottime
    return dict(sorted(groups.items(), key=lambda kv: -kv[1]))


# Thread plumbing whose cumulative time is mostly a server thread blocked on its next request.
PLUMBING = ("threading.py", "socketserver.py", "http/server.py", "readline", "recv_into", "poll")


def top(st: pstats.Stats, key: int, n: int, skip_plumbing: bool = False) -> list[dict]:
    rows = sorted(st.stats.items(), key=lambda kv: -kv[1][key])
    if skip_plumbing:
        rows = [r for r in rows if not any(m in short(r[0]) for m in PLUMBING)]
    rows = rows[:n]
    return [{"function": short(func), "group": group_of(func[0], func[2]), "calls": nc,
             "self_s": round(tt, 2), "cumulative_s": round(ct, 2)} for func, (_, nc, tt, ct, _) in rows]


def run(days: int, posts_per_day: int, scenario: str, seed: int, top_n: int, profile: bool = True,
        save_stats: Path | None = None) -> dict:
    from postloop_local import cli
    with tempfile.TemporaryDirectory(prefix="postloop-profile-") as tmp:
        path = scenario_file(Path(tmp), posts_per_day, scenario)
        argv = ["simulate", "--scenario", str(path), "--days", str(days), "--seed", str(seed),
                "--backend", "embedded", "--no-baseline"]
        out = io.StringIO()
        prof = cProfile.Profile()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            if profile:
                prof.enable()
            rc = cli.main(argv)
            prof.disable()
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    report = out.getvalue()
    if not profile:
        return {"command": "postloop " + " ".join(argv[:2]) + f" <{scenario} with posts_per_day {posts_per_day}> "
                + " ".join(argv[3:]), "profiled": False, "exit_code": rc, "days": days,
                "posts_per_day": posts_per_day, "wall_s": round(wall, 1), "process_cpu_s": round(cpu, 1),
                "report_head": report.splitlines()[:6], "cpus": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d %H:%M %Z")}
    if save_stats:
        prof.dump_stats(str(save_stats))
    main = pstats.Stats(prof, stream=io.StringIO())
    return {
        "command": "postloop " + " ".join(argv[:2]) + f" <{scenario} with posts_per_day {posts_per_day}> "
                   + " ".join(argv[3:]),
        "profiled": True, "exit_code": rc, "days": days, "posts_per_day": posts_per_day, "wall_s": round(wall, 1),
        "process_cpu_s": round(cpu, 1), "profiled_s_all_threads": round(main.total_tt, 1),
        "groups_self_s": {k: round(v, 1) for k, v in by_group(main).items()},
        "top_cumulative": top(main, 3, top_n, skip_plumbing=True), "top_self": top(main, 2, top_n),
        "report_head": report.splitlines()[:6], "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--posts-per-day", type=int, default=8)
    p.add_argument("--scenario", default="stationary")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--no-profile", action="store_true", help="time the run only (no profiler overhead)")
    p.add_argument("--save-stats", type=Path, help="also write the raw cProfile stats here (pstats format)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    res = run(args.days, args.posts_per_day, args.scenario, args.seed, args.top, profile=not args.no_profile,
              save_stats=args.save_stats)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    if not res["profiled"]:
        print(f"{res['command']}\n  wall {res['wall_s']} s, process CPU {res['process_cpu_s']} s (not profiled)")
        for line in res["report_head"]:
            print("  | " + line)
        return 0
    print(f"{res['command']}\n  wall {res['wall_s']} s, process CPU {res['process_cpu_s']} s "
          f"(profile total over all threads {res['profiled_s_all_threads']} s)")
    for line in res["report_head"]:
        print("  | " + line)
    print("self time by package (all threads):")
    for k, v in res["groups_self_s"].items():
        print(f"  {k:<45} {v:8.1f} s")
    for title, rows in (("top by cumulative time (thread plumbing left out)", res["top_cumulative"]),
                        ("top by self time", res["top_self"])):
        print(title + ":  cumulative s, self s, calls")
        for r in rows:
            print(f"  {r['cumulative_s']:8.1f} {r['self_s']:8.1f} {r['calls']:>9}  {r['function']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
