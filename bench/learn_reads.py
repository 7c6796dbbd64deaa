"""DynamoDB read units of one learn run: they follow the window it reads, not the table's history.

The real learn task (`postloop.runtime.tasks.learn_task`, the body of the learn handler) runs
against moto with the PynamoDB stores. The tables hold a fixed stretch of recent posts (8 a day
over the last 56 days, each with its 24 h and 48 h outcomes) plus a growing history of older
posts outside the window. Items are copies of what a simulated run wrote (the stores' own
mapping, so their sizes are real), shifted in time.

Read units are computed from the responses, as DynamoDB bills them: per request, the sizes of
the items read (attribute names plus values, by AWS's item-size rules) summed, rounded up to
4 KB, at least one unit; eventually consistent reads (every query on a global secondary index,
and base-table reads without ConsistentRead) cost half. moto's own ConsumedCapacity is a
constant per call, so it is not used. Writes are counted as requests only.

    .venv/bin/python bench/learn_reads.py                          # history 1k/10k/50k, windows 14/28/56
    .venv/bin/python bench/learn_reads.py --history 200,2000 --windows 28 --json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers" / "core" / "python"), str(REPO / "layers" / "local" / "python")]

NOW = datetime(2026, 6, 1, 6, tzinfo=timezone.utc)
POSTS_PER_DAY = 8
RECENT_DAYS = 56            # the default window; recent posts cover it whatever window is measured
ACCOUNT = "demo"


# --------------------------------------------------------------------------- item sizes

def _number_size(text: str) -> int:
    """AWS: about one byte per two significant digits, plus one (at most 21)."""
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") if "e" not in text.lower() else text
    return min(21, math.ceil(max(len(digits), 1) / 2) + 1)


def value_size(v: dict) -> int:
    (kind, x), = v.items()
    if kind == "S":
        return len(x.encode("utf-8"))
    if kind == "N":
        return _number_size(x)
    if kind == "B":
        return len(x)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(e) + 1 for e in x)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(e) + 1 for k, e in x.items())
    if kind == "SS":
        return sum(len(e.encode("utf-8")) for e in x)
    if kind == "NS":
        return sum(_number_size(e) for e in x)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict) -> int:
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


class ReadMeter:
    """Read units of every DynamoDB read the client makes, from botocore's events."""

    READS = ("Query", "Scan", "GetItem", "BatchGetItem")

    def __init__(self):
        self.pending: list[dict] = []
        self.reset()

    def reset(self) -> None:
        self.rows: list[dict] = []
        self.writes: Counter = Counter()

    def attach(self, client) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, params, model, **_):
        self.pending.append({"op": model.name, "table": params.get("TableName"), "index": params.get("IndexName"),
                             "consistent": bool(params.get("ConsistentRead"))})

    def _after(self, parsed, model, **_):
        req = self.pending.pop()
        if model.name not in self.READS:
            self.writes[(model.name, req["table"])] += 1
            return
        items = parsed.get("Items") or ([parsed["Item"]] if parsed.get("Item") else [])
        size = sum(item_size(i) for i in items)
        units = max(1, math.ceil(size / 4096))
        eventually = req["index"] is not None or not req["consistent"]
        self.rows.append({**req, "items": len(items), "bytes": size,
                          "rcu": units * (0.5 if eventually else 1.0), "eventually_consistent": eventually})

    def summary(self) -> dict:
        by_target: dict[str, dict] = defaultdict(lambda: {"requests": 0, "items": 0, "bytes": 0, "rcu": 0.0})
        for r in self.rows:
            key = f"{r['op']} {r['table']}" + (f" / {r['index']}" if r["index"] else "")
            t = by_target[key]
            t["requests"] += 1
            t["items"] += r["items"]
            t["bytes"] += r["bytes"]
            t["rcu"] += r["rcu"]
        return {"rcu": sum(r["rcu"] for r in self.rows), "read_requests": len(self.rows),
                "items_read": sum(r["items"] for r in self.rows), "by_target": dict(by_target),
                "write_requests": sum(self.writes.values())}


# --------------------------------------------------------------------------- data

def template_posts(days: int = 12, seed: int = 1):
    """Posted decisions with their outcomes, as a simulated run (in memory) leaves them."""
    from postloop_local import simulate
    from postloop_local.scenario import load_scenario
    from postloop_local.world import World

    scenario = load_scenario("stationary")
    account = simulate.load_account(scenario.account)
    start = simulate.parse_time(simulate.DEFAULT_START, "start")
    clock = simulate.SimClock(start)
    _, mw = simulate.run_memory(World(scenario, seed, start), clock, scenario, account, start, days, seed)
    posts = []
    for d in mw.decisions._items.values():
        if d.posted_at is None:
            continue
        outs = mw.outcomes.for_decision(d.account_id, d.decision_id)
        if any(o.horizon_hours == 48 for o in outs):
            posts.append((d, outs))
    return account, posts


def clone(decision, outcomes, posted_at: datetime, i: int):
    shift = posted_at - decision.posted_at
    did = f"{posted_at.strftime('%Y%m%dT%H%M%SZ')}-{i:08x}"
    moved = {f: getattr(decision, f) + shift for f in ("planned_at", "scheduled_for", "posted_at", "updated_at")
             if getattr(decision, f) is not None}
    d = dataclasses.replace(decision, decision_id=did, **moved)
    outs = [dataclasses.replace(o, decision_id=did, collected_at=o.collected_at + shift, posted_at=posted_at)
            for o in outcomes]
    return d, outs


def posts_between(template, first: datetime, count: int, offset: int):
    """`count` posts, 8 a day going back from `first` (newest first), cycling through the template."""
    step = timedelta(hours=24 / POSTS_PER_DAY)
    for k in range(count):
        d, outs = template[(offset + k) % len(template)]
        yield clone(d, outs, first - k * step, offset + k)


def write_items(tables, posts) -> int:
    """Batch-write decisions and outcomes through the stores' own item mapping."""
    from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoOutcomeStore

    collected: dict[str, list] = {"content_metadata": [], "outcomes": []}

    def collector(model, key):
        return type(model.__name__, (model,), {"save": lambda self, **kw: collected[key].append(self),
                                               "__module__": model.__module__})

    capture = dataclasses.replace(tables, content_metadata=collector(tables.content_metadata, "content_metadata"),
                                  outcomes=collector(tables.outcomes, "outcomes"))
    decisions, outcomes = DynamoDecisionStore(capture), DynamoOutcomeStore(capture)
    n = 0
    for d, outs in posts:
        decisions.put_new(d)
        for o in outs:
            outcomes.put_if_absent(o)
        n += 1
    for key, model in (("content_metadata", tables.content_metadata), ("outcomes", tables.outcomes)):
        with model.batch_write() as batch:
            for item in collected[key]:
                batch.save(item)
    return n


# --------------------------------------------------------------------------- runs

def run(history_sizes: list[int], windows: list[int], progress=print) -> dict:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
                       "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                       "POWERTOOLS_TRACE_DISABLED": "true"})
    from moto import mock_aws

    from postloop.runtime.settings import load_settings
    from postloop.runtime.tasks import learn_task
    from postloop.runtime.wiring import Wiring

    account, template = template_posts()
    results = {"history": [], "window": [], "template_posts": len(template)}
    with mock_aws():
        import tempfile
        tmp = Path(tempfile.mkdtemp(prefix="postloop-reads-"))
        accounts_file = tmp / "accounts.json"
        settings = load_settings({**os.environ, "POSTLOOP_ACCOUNTS_FILE": str(accounts_file)})
        w = Wiring(settings)
        for model in dataclasses.astuple(w.tables):
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=False)
        meter = ReadMeter()
        clients = {id(c): c for c in (m._get_connection().connection.client for m in dataclasses.astuple(w.tables))}
        for client in clients.values():         # each PynamoDB model keeps its own client
            meter.attach(client)

        def learn_once(window_days: int) -> dict:
            accounts_file.write_text(json.dumps([{**account, "learning": {**account.get("learning", {}),
                                                                          "window_days": window_days}}]))
            w.__dict__.pop("accounts", None)
            meter.reset()
            t0 = time.perf_counter()
            out = learn_task({"account_id": ACCOUNT, "scheduled_time": NOW.isoformat()}, w)
            return {**meter.summary(), "samples": out["samples"], "seconds": round(time.perf_counter() - t0, 2)}

        recent = RECENT_DAYS * POSTS_PER_DAY
        write_items(w.tables, posts_between(template, NOW - timedelta(hours=49), recent, 0))
        # History starts well before the longest window (and its 48 h margin) and goes back from there.
        history_start = NOW - timedelta(days=RECENT_DAYS + 7)
        written = 0
        learn_once(RECENT_DAYS)                                 # warm-up: arms exist from here on
        for size in sorted(history_sizes):
            progress(f"history {size}: writing {size - written} older posts and their outcomes")
            write_items(w.tables, posts_between(template, history_start - timedelta(hours=3) * written,
                                                size - written, recent + written))
            written = size
            row = learn_once(RECENT_DAYS)
            row.update({"history_posts": size, "window_days": RECENT_DAYS,
                        "table_items": {"content_metadata": recent + size, "outcomes": 2 * (recent + size)}})
            results["history"].append(row)
            progress(f"  {row['rcu']:.1f} RCU, {row['items_read']} items read, {row['samples']} samples")
        for days in sorted(windows):
            row = learn_once(days)
            row.update({"history_posts": written, "window_days": days})
            results["window"].append(row)
            progress(f"window {days} d: {row['rcu']:.1f} RCU, {row['items_read']} items read, {row['samples']} samples")
        arm_sizes = [item_size(i) for i in w.tables.bandit_arms._get_connection().connection.client.scan(
            TableName=settings.tables.bandit_arms)["Items"]]
        results["arm_items_bytes_total"] = sum(arm_sizes)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--history", default="1000,10000,50000", help="older posts outside the window (cumulative)")
    p.add_argument("--windows", default="14,28,56", help="window_days values, at the largest history")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.history.split(",") if x]
    windows = [int(x) for x in args.windows.split(",") if x]
    res = run(sizes, windows, progress=(lambda *_: None) if args.json else
              (lambda line: print(line, file=sys.stderr, flush=True)))
    if args.json:
        print(json.dumps(res, indent=2, default=str))
        return 0
    print(f"one learn run, {POSTS_PER_DAY} posts a day; read units computed from item sizes "
          f"(4 KB, eventually consistent = half)")
    print(f"{'history posts':>14} {'window d':>9} {'samples':>8} {'read req':>9} {'items read':>11} {'RCU':>8}")
    for row in results_rows(res):
        print(f"{row['history_posts']:>14} {row['window_days']:>9} {row['samples']:>8} {row['read_requests']:>9} "
              f"{row['items_read']:>11} {row['rcu']:>8.1f}")
    return 0


def results_rows(res: dict) -> list[dict]:
    return res["history"] + res["window"]


if __name__ == "__main__":
    sys.exit(main())
