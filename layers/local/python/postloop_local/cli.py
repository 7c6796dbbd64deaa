"""`postloop simulate` (the main local job), `postloop invoke` (one handler, one event),
`postloop evaluate` (off-policy evaluation on a simulated log), `postloop faults` (the loop
under injected faults), `postloop score` (drafts scored by hand with plan's checks), `postloop posts`
(the bot's decisions as text) and `postloop report` (the static HTML report)."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

LOG_DIR = Path(".postloop")


@contextlib.contextmanager
def _quiet_handlers(log_path: Path):
    """Send the handlers' metrics output and their logs (kept at WARNING) to a file.

    The Powertools logger writes to the stdout it saw when it was built, so redirecting stdout
    alone would leave its warnings in the command's own output (`--json | jq` would break).
    """
    import logging

    from postloop.runtime.observability import logger
    logger.setLevel("WARNING")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as out:
        handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
        saved = [h.stream for h in handlers]
        for h in handlers:
            h.setStream(out)
        try:
            with contextlib.redirect_stdout(out):
                yield
        finally:
            for h, stream in zip(handlers, saved):
                h.setStream(stream)


# Limits of the numeric flags. A run keeps every decision, post and trace row in memory: measured
# with `/usr/bin/time -f %M postloop simulate --backend memory --no-baseline --days N`, 184 MB peak
# at 30 days and 267 MB at 120 (about 0.9 MB a day, 1.2 s a day), so 730 days stay under 1 GB and
# 100,000 would need some 90 GB.
MAX_SIM_DAYS = 730
MAX_HISTORY_DAYS = 60
MAX_SEED = 2**32 - 1   # numpy's seeds
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def int_in(lo: int, hi: int, why: str = ""):
    """An argparse type: a whole number in [lo, hi], or a usage error saying so."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is outside {lo}-{hi}{why}")
        return value
    parse.__name__ = "whole number"
    return parse


def _use_account(args, scenario, command: str) -> dict | None:
    """Check the account the run will use (--account, else the scenario's) and point the scenario at it;
    every problem of the file is printed, each naming the file and field. The account's JSON, or None."""
    from postloop_local.account_file import AccountFileError, load_one
    chosen = getattr(args, "account", None) or scenario.account
    try:
        path, data = load_one(chosen)
    except AccountFileError as err:
        where = "--account" if getattr(args, "account", None) else f"scenario {scenario.name}: account"
        print(f"postloop {command}: {where} {chosen}: cannot be used:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    scenario.base["account"] = str(path)
    return data


def cmd_simulate(args) -> int:
    from postloop_local import simulate
    from postloop_local.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as err:
        print(f"postloop simulate: {err}", file=sys.stderr)
        return 2
    if _use_account(args, scenario, "simulate") is None:
        return 2
    if args.novelty == "local":
        from postloop_local.local_embeddings import LocalModelUnavailable, shared
        try:
            shared()   # loaded once here, so a missing model is said before anything runs
        except LocalModelUnavailable as err:
            print(f"postloop simulate: --novelty local: {err}", file=sys.stderr)
            return 2
    if args.report is not None and Path(args.report).exists() and not Path(args.report).is_dir():
        print(f"postloop simulate: --report {args.report}: exists and is not a folder", file=sys.stderr)
        return 2
    log_path = LOG_DIR / "simulate.log"

    last_progress: dict[str, str] = {}

    def progress(line: str) -> None:
        last_progress[label] = line
        if not args.json:
            end = "\r" if sys.stderr.isatty() else "\n"
            print(f"  [{label}] {line}", file=sys.stderr, end=end, flush=True)

    runs = [("postloop", args.policy)]
    if args.policy in (None, "postloop") and not args.no_baseline:
        runs.append(("random", "random"))
    results = {}
    log_size = log_path.stat().st_size if log_path.exists() else 0
    for label, policy in runs:
        try:
            with _quiet_handlers(log_path):
                results[label] = simulate.run(scenario, days=args.days, seed=args.seed, policy=policy,
                                              progress=progress, use_redis_server=not args.in_process_redis,
                                              backend=args.backend, novelty=args.novelty)
        except KeyboardInterrupt:
            # Ctrl-C: what ran so far, in a few lines, and the shell's code for an interrupt.
            print(file=sys.stderr)
            print(f"postloop simulate: interrupted during the {label} run of {args.days} days", file=sys.stderr)
            for done in runs:
                name = done[0]
                if name in results:
                    r = results[name]
                    print(f"  {name}: finished: {r.decisions} decisions, {len(r.posts)} posted, "
                          f"per planned slot {r.per_slot:.3f}", file=sys.stderr)
                elif name in last_progress:
                    print(f"  {name}: stopped at {last_progress[name]}", file=sys.stderr)
                else:
                    print(f"  {name}: not started", file=sys.stderr)
            return 130
        if not args.json and sys.stderr.isatty():
            print(file=sys.stderr)
    main, baseline = results[runs[0][0]], results.get("random")
    if args.json:
        print(json.dumps(_as_json(main, baseline, scenario), indent=2))
    else:
        print(simulate.summary(main, baseline, scenario))
        if log_path.exists() and log_path.stat().st_size > log_size:   # the memory backend writes none
            print(f"\n(handler logs and metrics: {log_path})")
    if args.report is not None:
        from postloop_local import report
        page = report.write(simulate.activity(main, simulate.load_account(scenario.account)), Path(args.report))
        print(f"postloop simulate: report written to {page}", file=sys.stderr)
    if simulate.made_no_decision(main):
        # A run that could not decide anything must not look like a success (a wrong model or URL, say).
        reasons = simulate.failure_reasons(main, limit=1)
        print("postloop simulate: no decision could be made"
              + (f" ({reasons[0][1]})" if reasons else ""), file=sys.stderr)
        return 1
    return 0


def _as_json(main, baseline, scenario) -> dict:
    from dataclasses import asdict

    from postloop_local.activity import skills_from_learn_runs
    from postloop_local.simulate import best_arms, failure_reasons, load_account, made_no_decision, shares_by_period

    account = load_account(scenario.account)
    best_type, best_hours = best_arms(scenario, account, main.days - 1)

    def one(r):
        return {
            "policy": r.policy, "scenario": r.scenario, "seed": r.seed, "days": r.days,
            "decisions": r.decisions, "posted": len(r.posts), "statuses": dict(r.statuses),
            "failed_by_reason": [{"count": n, "reason": reason} for n, reason in failure_reasons(r)],
            "made_no_decision": made_no_decision(r),
            "expected_engagement": r.expected_engagement,
            "oracle_expected_engagement": r.oracle_expected_engagement,
            "captured": r.captured,   # the old ratio: posted and failed decisions only
            "per_slot": r.per_slot,   # the headline: every planned slot, 0 where nothing was posted
            "slots": len(r.counted_slots), "slots_lost": r.slots_lost,
            "slot_expected": r.slot_expected, "slot_oracle_expected": r.slot_oracle_expected,
            "expected_engagements": r.expected_engagements, "expected_follows": r.expected_follows,
            "oracle_expected_engagements": r.oracle_expected_engagements,
            "oracle_expected_follows": r.oracle_expected_follows,
            "quality_vs_appeal": r.quality_vs_appeal,
            # The follow model against the world's truth (the independent check; SimResult.follow_truth).
            "follow_truth": r.follow_truth,
            "mean_expected_engagement_rate": r.mean_expected_rate,
            "mean_realised_engagement_rate": r.mean_realised_rate,
            "handler_calls": dict(r.handler_calls), "redis": r.backend,
            "latest_model": r.learn_runs[-1] if r.learn_runs else None,
            "shares": {
                "content_type": [{"period": p, "shares": sh} for p, sh in shares_by_period(r.posts, "content_type", r.days)],
                "hour": [{"period": p, "shares": {str(h): v for h, v in sh.items()}}
                         for p, sh in shares_by_period(r.posts, "hour", r.days)],
            },
            "scenario_best": {"content_type": best_type, "hours": best_hours},
            "trace": r.trace,
            # With the trace's post rows, what `postloop posts/report --from-run` read back.
            "account": {"account_id": account["account_id"], "timezone": account.get("timezone"),
                        "content_types": [c["name"] for c in account["content_types"]],
                        "posting_hours": account["posting_hours"]},
            "models": [asdict(m) for m in skills_from_learn_runs(r.learn_runs)],
            # Per learn run: the change detector's verdict (docs/accounts.md, "Detecting change").
            "changes": [{"day": run.get("day"), **{k: (run.get("change") or {}).get(k)
                                                    for k in ("detected", "group", "at", "p")}}
                        for run in r.learn_runs],
        }
    out = one(main)
    if baseline is not None:
        out["random_baseline"] = one(baseline)
    return out


def cmd_invoke(args) -> int:
    from postloop.core.events import EventError, parse_time
    from postloop_local.invoke import FUNCTIONS
    from postloop_local.scenario import ScenarioError, load_scenario

    if args.function not in FUNCTIONS:
        print(f"postloop invoke: unknown function {args.function!r}; one of {', '.join(FUNCTIONS)}", file=sys.stderr)
        return 2
    try:
        event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"postloop invoke: event file not found: {args.event}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as err:
        print(f"postloop invoke: {args.event} is not valid JSON ({err.msg} at line {err.lineno})", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError, RecursionError) as err:
        print(f"postloop invoke: {args.event}: cannot be read as JSON ({type(err).__name__})", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as err:
        print(f"postloop invoke: {err}", file=sys.stderr)
        return 2
    # The event is checked before the simulator is imported and any backend starts (they take
    # seconds), in the words the handler would use.
    problem = _event_problem(args.function, event)
    account = _use_account(args, scenario, "invoke") if problem is None else None
    if problem is None and account is None:
        return 2
    problem = problem or _event_problem(args.function, event, account["account_id"])
    if problem:
        print(f"postloop invoke: {args.event}: {problem}", file=sys.stderr)
        return 2
    from postloop_local import simulate
    from postloop_local.backends import LocalBackends
    from postloop_local.invoke import invoke
    from postloop_local.world import World

    # The moment the event happens: its schedule time or its `now`.
    when_raw = event.get("scheduled_time") or event.get("now") if isinstance(event, dict) else None
    try:
        when = parse_time(when_raw, "scheduled_time/now") if when_raw else None
    except EventError as err:
        print(f"postloop invoke: {err}", file=sys.stderr)
        return 2

    history_days = args.history_days if when else 0
    start = (when - timedelta(days=history_days)) if when else None
    account = simulate.load_account(scenario.account)
    if args.function == "approve":
        # Only an account in approval mode has decisions waiting for an answer.
        account["mode"] = "approval"
    clock = simulate.SimClock(start or parse_time(simulate.DEFAULT_START))
    world = World(scenario, args.seed, clock.now())
    log_path = LOG_DIR / "invoke-history.log"
    import warnings
    # Powertools warns when a handler raised before adding a metric; the error is reported below.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    result_out = sys.stdout
    # Only the result goes to stdout (`| jq` works); logs and EMF metrics go to stderr.
    with contextlib.redirect_stdout(sys.stderr), _logs_to_stderr(), \
            LocalBackends([account], world, clock.now) as backends:
        print(f"local backends: Redis {backends.info.redis_kind}; X fake at {backends.info.x_base_url}",
              file=sys.stderr)
        if history_days:
            with _quiet_handlers(log_path):
                # Before a scrape, leave scraping out so the event finds a backlog to collect.
                skip = frozenset({"scrape"}) if args.function == "scrape" else frozenset()
                history = simulate.run_in(backends, world, clock, scenario, account, start, history_days,
                                          skip=skip)
            print(f"prepared {history_days} simulated days before the event: {history.decisions} decisions, "
                  f"{len(history.posts)} posts" + (" (not scraped)" if skip else ""), file=sys.stderr)
        if args.function in ("post", "approve") and isinstance(event, dict):
            _plan_for_post_event(event, clock, invoke)
        if when:
            clock.t = when
        from postloop.runtime.observability import logger
        logger.setLevel(args.log_level)
        try:
            result = invoke(args.function, event)
        except Exception as err:
            print(json.dumps({"errorType": type(err).__name__, "errorMessage": str(err)}, indent=2), file=result_out)
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


@contextlib.contextmanager
def _logs_to_stderr():
    """The handlers' Powertools logger writes to the stdout it saw when built; point it at stderr."""
    from postloop.runtime.observability import logger
    handlers = [h for h in logger.handlers if isinstance(h, __import__("logging").StreamHandler)]
    saved = [h.stream for h in handlers]
    # Assigned, not setStream(): that flushes the old stream, which may be a closed capture by now.
    for h in handlers:
        h.stream = sys.stderr
    try:
        yield
    finally:
        for h, stream in zip(handlers, saved):
            h.stream = stream


def _event_problem(function: str, event, account_id: str | None = None) -> str | None:
    """What the function's own event parser refuses in `event` (core/events.py), or an account the local
    run does not hold; None when the event is fit to run."""
    from postloop.core import events
    parsers = {"plan": lambda e: events.parse_scheduled(e, "plan"), "learn": lambda e: events.parse_scheduled(e, "learn"),
               "post": events.parse_post, "scrape": events.parse_scrape, "approve": events.parse_approval,
               "cache": lambda e: events.parse_cache(e)}
    try:
        parsed = parsers[function](event)
    except events.EventError as err:
        return str(err)
    if account_id is not None and parsed.account_id != account_id:
        return (f"account_id {parsed.account_id!r} is not the account of this run ({account_id!r}); "
                "use that id or pass --account FILE")
    return None


def _plan_for_post_event(event: dict, clock, invoke) -> None:
    """A post or approve event names a decision; plan it first if the local store does not hold it yet."""
    from postloop.runtime import wiring

    account_id, decision_id = event.get("account_id"), event.get("decision_id")
    if not isinstance(account_id, str) or not isinstance(decision_id, str):
        return
    if wiring.current().decisions.get(account_id, decision_id) is not None:
        return
    try:
        planned = datetime.strptime(decision_id.split("-")[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return  # not an id postloop made; the handler will say it does not exist
    clock.t = planned
    out = invoke("plan", {"account_id": account_id, "scheduled_time": planned.isoformat()})
    print(f"planned {out['decision_id']} first (status {out['status']})", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from postloop_local import evaluate
    from postloop_local.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as err:
        print(f"postloop evaluate: {err}", file=sys.stderr)
        return 2
    if args.days < 3:
        print("postloop evaluate: --days must be at least 3 (outcomes settle after 48 h)", file=sys.stderr)
        return 2
    candidates = args.candidate or list(evaluate.DEFAULT_CANDIDATES)

    def progress(line: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"  [logging run] {line}", file=sys.stderr, end="\r", flush=True)

    try:
        report = evaluate.run_evaluation(scenario, days=args.days, seed=args.seed, candidates=candidates,
                                         ridge_alpha=args.ridge_alpha, progress=progress)
    except ValueError as err:
        print(f"postloop evaluate: {err}", file=sys.stderr)
        return 2
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(evaluate.format_report(report))
    return 0


def cmd_faults(args) -> int:
    from postloop_local import faults

    if args.decisions < 1 or args.posts_per_day < 1 or args.posts_per_day > 48 or args.lane_days < 3:
        print("postloop faults: --decisions ≥ 1, --posts-per-day in 1-48, --lane-days ≥ 3 "
              "(outcomes settle after 48 h)", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        if not args.json:
            end = "\r" if sys.stderr.isatty() else "\n"
            print(f"  {line}", file=sys.stderr, end=end, flush=True)

    import warnings
    # A handler that raises before adding a metric makes Powertools warn on every such failure.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with _quiet_handlers(LOG_DIR / "faults.log"):
        summary = faults.run_faults(decisions=args.decisions, seed=args.seed, posts_per_day=args.posts_per_day,
                                    lane_days=args.lane_days, progress=progress,
                                    x_duplicate_refusal=args.x_duplicate_refusal)
    if not args.json and sys.stderr.isatty():
        print(file=sys.stderr)
    broken = faults.broken_invariants(summary)
    summary["broken_invariants"] = broken
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(faults.format_report(summary))
    # A fault run that breaks one of the held figures fails, so CI can run it.
    return 1 if broken else 0


def cmd_posts(args) -> int:
    from postloop_local import posts
    return posts.run(args)


def cmd_report(args) -> int:
    from postloop_local import posts, report
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"postloop report: --out {args.out}: exists and is not a folder", file=sys.stderr)
        return 2
    try:
        activity = posts.load(args)
    except posts.SourceError as err:
        print(f"postloop report: {err}", file=sys.stderr)
        return 2
    print(f"postloop report: {activity.source}: {len(activity.posts)} decisions, {len(activity.models)} model "
          f"versions; written to {report.write(activity, out)}", file=sys.stderr)
    return 0


def _add_activity_source(parser: argparse.ArgumentParser) -> None:
    """The sources `posts` and `report` read (postloop_local/posts.py)."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--from-run", metavar="FILE",
                     help="a run saved with `postloop simulate --json > FILE` (- for standard input)")
    src.add_argument("--account", metavar="ID",
                     help="the id of a deployed account (not a file): its DynamoDB tables, read only, with "
                          "your AWS credentials")
    parser.add_argument("--stack", default="postloop", help="with --account: the CloudFormation stack (default postloop)")
    parser.add_argument("--region", default=None, help="with --account: the stack's region (default: AWS_REGION)")
    parser.add_argument("--days", type=int, default=None,
                        help="with --account: the last N days (default 30); otherwise the days to simulate "
                             "(default 20, in-memory backend)")
    parser.add_argument("--scenario", default="stationary", help="without --from-run/--account: the scenario to simulate")
    parser.add_argument("--seed", type=int, default=1, help="without --from-run/--account: the simulation's seed")


def cmd_score(args) -> int:
    from postloop_local import score
    return score.run(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="postloop", description="postloop's local tools.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="run the loop on a simulated audience (the main local job)")
    s.add_argument("--scenario", default="stationary", help="a shipped scenario name or a YAML/JSON file")
    s.add_argument("--days", type=int_in(1, MAX_SIM_DAYS, " (a longer run does not fit in memory)"), default=45,
                   help=f"simulated days, 1-{MAX_SIM_DAYS} (default 45)")
    s.add_argument("--seed", type=int_in(0, MAX_SEED), default=1)
    s.add_argument("--account", metavar="NAME|FILE", default=None,
                   help="the account to run: a shipped name (demo) or your account JSON file "
                        "(default: the scenario's; docs/accounts.md, docs/account.schema.json)")
    s.add_argument("--policy", choices=("postloop", "oracle", "random", "fixed", "seed-naive", "postloop-bandits",
                                        "postloop-winsorised"),
                   default=None,
                   help="override the account's policy (default: as configured, postloop)")
    s.add_argument("--backend", choices=("embedded", "memory"), default="embedded",
                   help="embedded: the real handlers on moto, Redis and the fake X API (default); "
                        "memory: the same tasks on in-memory adapters, for benchmarks")
    s.add_argument("--novelty", choices=("ngrams", "local"), default="ngrams",
                   help="near-duplicate check: the account's character n-grams (default), or the local "
                        "sentence-embedding model (the semantic extra; docs/novelty.md)")
    s.add_argument("--no-baseline", action="store_true", help="skip the uniformly random comparison run")
    s.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    s.add_argument("--report", metavar="DIR", default=None,
                   help="also write the static HTML report of the run to DIR/index.html (postloop report)")
    s.add_argument("--in-process-redis", action="store_true", help="use the stand-in even if redis-server exists")
    s.set_defaults(func=cmd_simulate)

    i = sub.add_parser("invoke", help="run one handler in-process with a sample event")
    from postloop_local.invoke import FUNCTIONS
    i.add_argument("function", choices=FUNCTIONS, metavar="FUNCTION", help=", ".join(FUNCTIONS))
    i.add_argument("--event", required=True, help="a JSON event file, e.g. events/plan.json")
    i.add_argument("--scenario", default="stationary", help="the simulated audience behind the fake X API")
    i.add_argument("--history-days", type=int_in(0, MAX_HISTORY_DAYS), default=4,
                   help=f"simulated days run before the event so the stores hold data (0: none; at most "
                        f"{MAX_HISTORY_DAYS})")
    i.add_argument("--seed", type=int_in(0, MAX_SEED), default=1)
    i.add_argument("--account", metavar="NAME|FILE", default=None,
                   help="the account behind the event: a shipped name (demo) or your account JSON file "
                        "(default: the scenario's)")
    i.add_argument("--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS,
                   help="the handlers' log level, on stderr (default INFO)")
    i.set_defaults(func=cmd_invoke)

    e = sub.add_parser("evaluate", help="score candidate policies on the bot's logged decisions (off-policy) "
                                        "and compare with the simulator's truth")
    e.add_argument("--scenario", default="stationary", help="a shipped scenario name or a YAML/JSON file")
    e.add_argument("--days", type=int, default=90)
    e.add_argument("--seed", type=int, default=1)
    e.add_argument("--candidate", action="append", metavar="SPEC",
                   help="uniform, fixed, greedy or pair:<type>@<hour>; repeat for several "
                        "(default: uniform, fixed, greedy)")
    e.add_argument("--ridge-alpha", type=float, default=0.1, help="penalty of the DR reward model (ridge)")
    e.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    e.set_defaults(func=cmd_evaluate)

    f = sub.add_parser("faults", help="run the loop with X, OpenAI, Redis, DynamoDB, crash and scheduler faults "
                                      "injected, and check it stays exactly-once and consistent")
    f.add_argument("--decisions", type=int, default=1000, help="at least this many decisions (default 1000)")
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--posts-per-day", type=int, default=12,
                   help="plans a day (default 12: twice the demo's, so more decisions share an hour)")
    f.add_argument("--lane-days", type=int, default=7,
                   help="simulated days per lane; the run is as many lanes, each on fresh backends, as needed")
    f.add_argument("--x-duplicate-refusal", action="store_true",
                   help="let the fake X refuse a text the account already holds (off by default: X does not "
                        "promise it, so the loop must not post twice without it)")
    f.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    f.set_defaults(func=cmd_faults)
    sc = sub.add_parser("score", help="score drafts by hand with the checks plan runs; one JSON line per draft")
    sc.add_argument("file", metavar="FILE", help="JSON lines ({\"parts\": [...], \"content_type\": ...} per line) "
                                                 "or plain text (drafts separated by blank lines); - for stdin")
    sc.add_argument("--account", default="demo", metavar="NAME|FILE",
                    help="a shipped account name or an account JSON file (default: demo)")
    sc.add_argument("--content-type", default=None,
                    help="for drafts that name none (default: the account's first content type)")
    sc.add_argument("--format", choices=("auto", "jsonl", "text"), default="auto",
                    help="auto (default): JSON lines when the input starts with '{', else plain text")
    sc.add_argument("--novelty", choices=("ngrams", "local"), default="ngrams",
                    help="near-duplicate check: the account's own method (default), or the local "
                         "sentence-embedding model, as simulate --novelty local (docs/novelty.md)")
    sc.set_defaults(func=cmd_score)
    from postloop.core.records import Status
    po = sub.add_parser("posts", help="list the bot's decisions: status, text, scores, predictions and outcomes "
                                      "(a simulated run or a deployed account)")
    _add_activity_source(po)
    po.add_argument("--status", action="append", metavar="STATUS",
                    help="only these statuses (comma-separated or repeated): " + ", ".join(st.value for st in Status))
    po.add_argument("--sort", choices=("time", "engagement"), default="time",
                    help="time (planned order, default) or engagement (best outcome first)")
    po.add_argument("--limit", type=int, default=None, help="at most N (the latest, or the best with --sort engagement)")
    po.add_argument("--full", action="store_true", help="every part of each post, its scores, outcome and reason")
    po.add_argument("--json", action="store_true", help="one JSON object per decision (JSON lines)")
    po.set_defaults(func=cmd_posts)
    rp = sub.add_parser("report", help="write the static HTML report (arm shares, hour x type, predicted vs "
                                       "actual, model skill, followers, spend, best and worst posts)")
    _add_activity_source(rp)
    rp.add_argument("--out", default="postloop-report", metavar="DIR",
                    help="the folder to write index.html to (default postloop-report)")
    rp.set_defaults(func=cmd_report)
    from postloop_local import operate
    operate.add_parsers(sub)   # status, pause, resume, approve, reject: a deployed account
    from postloop_local import account_memory
    account_memory.add_parsers(sub)   # export, import: a deployed account's memory as JSON lines
    from postloop_local import history_import
    history_import.add_parser(sub)    # import-history: a warm start from the account's posts on X
    for runs_handlers in (s, i, f):
        runs_handlers.add_argument("--no-iam", action="store_true",
                                   help="do not check each function's AWS calls against its role as synthesized "
                                        "from infra/ (checked by default; docs/reliability.md)")
    return p


def _terminated(signum, frame):
    # SIGTERM unwinds like an exception, so every temporary folder and local server is removed.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import signal
    signal.signal(signal.SIGTERM, _terminated)
    if not getattr(args, "no_iam", False):
        return args.func(args)   # IAM is enforced by default; postloop_local.iam (botocore) loads when used
    from postloop_local.iam import enforcing_by_default
    with enforcing_by_default(False):
        return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
