"""`postloop posts`: the bot's decisions as a person reads them, and where they come from.

Three sources, one data model (postloop_local.activity): a run saved with `simulate --json`
(`--from-run FILE`), a deployed account's tables (`--account ID`, read only), or, with neither,
a quick simulation on the in-memory backend (`--scenario`, `--days`, `--seed`). `postloop report`
takes the same sources.
"""
from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

from postloop.core.records import Status
from postloop_local.activity import Activity, ModelSkill, PostView, from_run

STATUSES = tuple(s.value for s in Status)
# Control characters (ANSI escapes, carriage returns, ...) in a post must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class SourceError(Exception):
    """The source of the posts cannot be read; the message names it and what is wrong."""


def printable(text: str) -> str:
    """`text` with control and bidirectional-override characters shown as '?' (newlines and tabs kept)."""
    return _CONTROL.sub("?", text)


def pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v * 100:.{digits}f} %"


def num(v: float | None, digits: int = 2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def when(p: PostView) -> str:
    """'2026-01-12 19:00 local' for a post (its UTC date, the audience's local hour), else its plan time."""
    if p.posted_at and p.hour is not None:
        return f"{p.posted_at[:10]} {p.hour:02d}:00 local"
    return f"{p.time[:10]} {p.time[11:16]} UTC (planned)"


def outcome(p: PostView) -> str:
    if p.outcome_hours is None:
        return "no outcome yet"
    if p.engagement_rate is None:
        return f"no usable outcome at {p.outcome_hours} h"
    engaged = sum(v or 0 for v in (p.likes, p.retweets, p.replies))
    return (f"actual {pct(p.engagement_rate, 2)} at {p.outcome_hours} h "
            f"({p.impressions:,} impressions, {engaged:,} engagements)")


def scores(p: PostView) -> str:
    return (f"quality {num(p.quality)} · novelty {num(p.novelty)} · expertise {num(p.expertise)} · "
            f"predicted {pct(p.predicted, 2)}")


def _wrapped(text: str, indent: str, width: int, first: str | None = None) -> list[str]:
    """`text` wrapped to `width`, its lines indented by `indent` (the very first by `first`)."""
    out = []
    for para in printable(text).splitlines() or [""]:
        lead = indent if out or first is None else first
        out += textwrap.wrap(para, width=max(30, width), initial_indent=lead,
                             subsequent_indent=indent) or [lead.rstrip()]
    return out


def highlights(activity: Activity, n: int = 2, width: int = 100) -> list[str]:
    """The summary's posts: the best and worst by outcome (settled where any are), and the latest."""
    best, worst = activity.best_and_worst(n)
    recent = activity.most_recent(n)
    basis = "at 48 h" if any(p.settled for p in best) else "so far (none settled at 48 h yet)"
    lines = [f"Posts: the best and worst by engagement {basis}, and the most recent "
             f"(every decision: postloop posts)"]
    if not (best or recent):
        return lines + ["  none posted yet"]
    for label, group in (("best", best), ("worst", worst), ("latest", recent)):
        for p in group:
            lines.append(f"  {label:<7} {when(p)} · {p.content_type} · {outcome(p)}")
            lines.append(" " * 10 + scores(p))
            first = p.parts[0] if p.parts else "(no text)"
            lines += _wrapped(first, " " * 10, width)
            if len(p.parts) > 1:
                lines.append(" " * 10 + f"(thread: {len(p.parts) - 1} more part{'s' * (len(p.parts) > 2)})")
    return lines


# HOUR is the audience's local posting hour; ACTUAL the latest outcome's engagement rate and horizon.
COLUMNS = (("PLANNED (UTC)", 16), ("STATUS", 9), ("TYPE", 18), ("HOUR", 4), ("QUAL", 4), ("PRED", 6),
           ("ACTUAL", 10))


def table(posts: list[PostView], full: bool = False, width: int | None = None) -> list[str]:
    """One line per decision (the text cut to the terminal's width), or with `full` every part."""
    if width is None:
        width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
    fixed = sum(w + 2 for _, w in COLUMNS)
    text_width = max(40, width - fixed)
    lines = ["  ".join(name.ljust(w) for name, w in COLUMNS) + "  TEXT"]
    for p in posts:
        actual = "–" if p.engagement_rate is None else f"{pct(p.engagement_rate)} {p.outcome_hours}h".replace(" %", "%")
        cells = (f"{p.time[:10]} {p.time[11:16]}", p.status, p.content_type or "–",
                 "–" if p.hour is None else f"{p.hour:02d}", num(p.quality),
                 pct(p.predicted).replace(" %", "%"), actual)
        text = " / ".join(p.parts) if p.parts else f"({p.reason or 'no text'})"
        text = printable(text).replace("\n", " ")
        if len(text) > text_width:
            text = text[:text_width - 1] + "…"
        lines.append("  ".join(str(c)[:w].ljust(w) for c, (_, w) in zip(cells, COLUMNS)) + "  " + text)
        if full:
            lines.append(f"    {p.decision_id} · {scores(p)} · {outcome(p)}")
            if p.reason:
                lines += _wrapped(f"reason: {p.reason}", "      ", width, first="    ")
            for part in p.parts:
                lines += _wrapped(part, "      ", width, first="    - " if len(p.parts) > 1 else "      ")
            lines.append("")
    return lines


def parse_statuses(values: list[str] | None) -> set[str] | None:
    """`--status posted,rejected --status failed` as a set; an unknown status is an error naming the known ones."""
    if not values:
        return None
    wanted = {v.strip() for value in values for v in value.split(",") if v.strip()}
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        raise SourceError(f"--status: unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}")
    return wanted


# --- where the activity comes from -----------------------------------------------------------------


def read_run(path: str) -> Activity:
    """The activity of a run saved with `postloop simulate --json > FILE` ('-': standard input)."""
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(f"--from-run: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"--from-run: cannot read {path}: {err}") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise SourceError(f"--from-run: {path} is not JSON ({err.msg} at line {err.lineno}); "
                          f"save a run with `postloop simulate --json > FILE`") from None
    if not isinstance(data, dict) or not isinstance(data.get("trace"), list):
        raise SourceError(f"--from-run: {path} is not the output of `postloop simulate --json` (no trace)")
    account = data.get("account") if isinstance(data.get("account"), dict) else {}
    account.setdefault("account_id", "simulated")
    try:
        models = [ModelSkill(**m) for m in data.get("models") or []]
        source = (f"simulated run from {path}: scenario {data.get('scenario')}, {data.get('days')} days, "
                  f"seed {data.get('seed')}, policy {data.get('policy')}")
        return from_run(account, source, data["trace"], models)
    except (TypeError, ValueError, KeyError) as err:
        raise SourceError(f"--from-run: {path}: a row does not have the shape `simulate --json` writes ({err})") \
            from None


def simulated(scenario_name: str, days: int, seed: int) -> Activity:
    """A fresh run on the in-memory backend (seconds for a few weeks)."""
    from postloop_local import simulate
    from postloop_local.scenario import ScenarioError, load_scenario
    try:
        scenario = load_scenario(scenario_name)
    except ScenarioError as err:
        raise SourceError(str(err)) from None
    if not 1 <= days <= 3650:
        raise SourceError(f"--days must be between 1 and 3650, not {days}")
    from postloop.runtime.observability import logger
    logger.setLevel("WARNING")
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):   # the tasks' metrics lines
        result = simulate.run(scenario, days=days, seed=seed, backend="memory")
    return simulate.activity(result, simulate.load_account(scenario.account))


def load(args) -> Activity:
    """The activity the command line names (see the module's docstring)."""
    if args.from_run:
        return read_run(args.from_run)
    if args.account:
        from postloop_local import deployed
        days = args.days if args.days is not None else 30
        if days < 1:
            raise SourceError(f"--days must be at least 1, not {days}")
        try:
            return deployed.read_activity(args.account, stack=args.stack, region=args.region, days=days)
        except deployed.DeployedError as err:
            raise SourceError(str(err)) from None
    return simulated(args.scenario, args.days if args.days is not None else 20, args.seed)


def run(args) -> int:
    """`postloop posts`."""
    try:
        statuses = parse_statuses(args.status)
        if args.limit is not None and args.limit < 1:
            raise SourceError(f"--limit must be at least 1, not {args.limit}")
        activity = load(args)
    except SourceError as err:
        print(f"postloop posts: {err}", file=sys.stderr)
        return 2
    posts = [p for p in activity.posts if statuses is None or p.status in statuses]
    if args.sort == "engagement":
        posts.sort(key=lambda p: (p.engagement_rate is None, -(p.engagement_rate or 0.0), p.time))
    if args.limit is not None:
        posts = posts[:args.limit] if args.sort == "engagement" else posts[-args.limit:]
    print(f"{activity.source}: {len(posts)} of {len(activity.posts)} decisions", file=sys.stderr)
    if args.json:
        for p in posts:
            print(json.dumps(p.as_dict(), ensure_ascii=False))
    else:
        print("\n".join(table(posts, full=args.full)))
    return 0
