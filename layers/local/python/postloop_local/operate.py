"""Steering a deployed account from the user's machine: `postloop status`, `pause`, `resume`,
`approve` and `reject`.

The tables are found as `postloop posts --account` finds them (postloop_local/deployed.py: the
stack's outputs, or the functions' environment variables). `status` only reads; `pause` and
`resume` write one item (the pause flag, adapters/pause_flags.py); `approve` and `reject` go
through the approve function's own path (core/approval.py), resuming the waiting workflow with
its task token, and an edited text is rescored by plan's checks first (core/review.py).
"""
from __future__ import annotations

import getpass
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from postloop_local import deployed
from postloop_local.deployed import DeployedError

RECENT_DAYS = 7
LAST_POSTS = 5


@dataclass
class Target:
    account_id: str
    region: str
    tables: Any
    names: Any
    config: Any   # AccountConfig, or None when this checkout has no file for the account


def target(account_id: str, stack: str, region: str | None) -> Target:
    from postloop.adapters.tables import bind_tables
    from postloop.core.account import ConfigError, parse_account
    region = deployed.region_or_error(region)
    names = deployed.table_names(stack, region)
    data = deployed.account_config(account_id)
    config = None
    if len(data) > 1:
        try:
            config = parse_account(data)
        except ConfigError as err:
            raise DeployedError(f"account {account_id!r} in infra/accounts: {err}") from None
    return Target(account_id, region, bind_tables(names, region), names, config)


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if t else None


def next_slot(config, now: datetime) -> datetime:
    """The next plan time: posts_per_day slots evenly spaced from local midnight
    (infra/postloop_infra/schedules.py plan_slots)."""
    tz = config.tz
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in (0, 1):
        for k in range(config.posts_per_day):
            t = midnight + timedelta(days=day, minutes=k * 24 * 60 // config.posts_per_day)
            if t > local:
                return t.astimezone(timezone.utc)
    return (midnight + timedelta(days=1)).astimezone(timezone.utc)


def status(t: Target, now: datetime) -> dict:
    from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoModelRegistry, DynamoOutcomeStore
    from postloop.adapters.pause_flags import DynamoPauseFlags
    from postloop.core.records import Status
    from postloop.core.spend import month_spend
    from postloop_local.activity import ModelSkill

    decisions = DynamoDecisionStore(t.tables)
    try:
        pause = DynamoPauseFlags(t.tables.locks).paused(t.account_id)
        recent = decisions.planned_between(t.account_id, now - timedelta(days=RECENT_DAYS), now + timedelta(days=2))
        model = DynamoModelRegistry(t.tables).latest(t.account_id)
        spent = month_spend(t.account_id, now, decisions, DynamoOutcomeStore(t.tables))
    except Exception as err:
        raise deployed._aws_error(err, f"reading account {t.account_id!r} in {t.region}") from None
    c = t.config
    skill = ModelSkill.from_model(model) if model else None
    posted = sorted((d for d in recent if d.status is Status.POSTED), key=lambda d: d.posted_at, reverse=True)
    waiting = [d for d in recent if d.status is Status.AWAITING_APPROVAL]
    return {
        "account_id": t.account_id,
        "mode": c.mode if c else None,
        "paused": ({"since": _iso(pause.since), "by": pause.by, "reason": pause.reason} if pause else None),
        "next_slot": _iso(next_slot(c, now)) if c else None,
        "last_posts": [{"decision_id": d.decision_id, "posted_at": _iso(d.posted_at), "content_type": d.content_type,
                        "text": " / ".join(d.parts)} for d in posted[:LAST_POSTS]],
        "model": ({"version": skill.version, "samples": skill.samples, "r2": skill.r2, "mae": skill.mae,
                   "baseline_mae": skill.baseline_mae, "engagement_trusted": skill.engagement_trusted,
                   "auc": skill.auc, "follow_trusted": skill.follow_trusted} if skill else None),
        "spend": {"month": now.strftime("%Y-%m"), "x_usd": round(spent.x_usd, 4),
                  "x_cap_usd": c.budget_x_usd if c else None, "openai_usd": round(spent.openai_usd, 4),
                  "openai_cap_usd": c.budget_openai_usd if c else None},
        "awaiting_approval": [{"decision_id": d.decision_id, "scheduled_for": _iso(d.scheduled_for),
                               "content_type": d.content_type, "text": " / ".join(d.parts)} for d in waiting],
    }


def _money(v: float, cap: float | None) -> str:
    return f"${v:.2f}" + (f" of ${cap:.2f}" if cap is not None else " (no cap)")


def status_text(s: dict) -> str:
    from postloop_local.posts import printable as clean
    lines = [f"account     {s['account_id']}",
             f"mode        {s['mode'] or 'unknown (no file for it in infra/accounts)'}"]
    p = s["paused"]
    lines.append("paused      " + (f"yes, since {p['since']} by {clean(p['by'])}"
                                   + (f": {clean(p['reason'])}" if p["reason"] else "") if p else "no"))
    lines.append(f"next slot   {s['next_slot'] or 'unknown'}" + (" (plan will skip it: paused)" if p else ""))
    m = s["model"]
    if m:
        r2 = "n/a" if m["r2"] is None else f"{m['r2']:.3f}"
        lines.append(f"model       {m['version']}: {m['samples']} samples, engagement R² {r2} "
                     f"({'trusted' if m['engagement_trusted'] else 'not trusted yet'}), follows "
                     f"{'trusted' if m['follow_trusted'] else 'not trusted yet'}")
    else:
        lines.append("model       none fitted yet (bandits only)")
    sp = s["spend"]
    lines.append(f"spend {sp['month']}  X {_money(sp['x_usd'], sp['x_cap_usd'])}, "
                 f"OpenAI {_money(sp['openai_usd'], sp['openai_cap_usd'])}")
    lines.append(f"awaiting approval: {len(s['awaiting_approval'])}")
    for d in s["awaiting_approval"]:
        lines.append(f"  {d['decision_id']}  {d['content_type']}  for {d['scheduled_for']}  {clean(d['text'])[:100]}")
    lines.append(f"last posts: {len(s['last_posts'])}")
    for d in s["last_posts"]:
        lines.append(f"  {d['posted_at']}  {d['content_type']}  {clean(d['text'])[:100]}")
    return "\n".join(lines)


def reviewer_name(given: str | None) -> str:
    if given:
        return given
    try:
        return "cli:" + getpass.getuser()
    except Exception:
        return "cli"


def set_pause(t: Target, paused: bool, by: str, reason: str | None, now: datetime) -> str:
    from postloop.adapters.pause_flags import DynamoPauseFlags
    from postloop.core.pause import Pause
    flags = DynamoPauseFlags(t.tables.locks)
    try:
        if paused:
            flags.pause(t.account_id, Pause(since=now, by=by, reason=reason))
            return f"account {t.account_id} paused: plan records each slot as skipped until `postloop resume`"
        was = flags.resume(t.account_id)
    except Exception as err:
        raise deployed._aws_error(err, f"writing the pause flag of {t.account_id!r} in {t.names.locks}") from None
    return (f"account {t.account_id} resumed: the next slot plans as usual" if was
            else f"account {t.account_id} was not paused; nothing changed")


class AnswerError(ValueError):
    """The answer cannot be given (unknown decision, not awaiting approval, a rejected edit)."""


def answer(t: Target, decision_id: str, approve: bool, reviewer: str, now: datetime, *,
           reason: str | None = None, edit_text: str | None = None, resumer=None, checkers=None) -> dict:
    """Approve or reject through core/approval.py, as the approve function does."""
    from postloop.adapters.dynamo_stores import DynamoDecisionStore
    from postloop.core.approval import ApprovalDeps, ApprovalError, answer_approval, cycle_output
    from postloop.core.records import Status
    from postloop.core.review import EditRejected, apply_edit, rescore, split_parts

    store = DynamoDecisionStore(t.tables)
    try:
        d = store.get(t.account_id, decision_id)
    except Exception as err:
        raise deployed._aws_error(err, f"reading decision {decision_id!r} in {t.names.content_metadata}") from None
    if d is None:
        raise AnswerError(f"no decision {decision_id!r} for account {t.account_id!r} "
                          "(`postloop status` lists those awaiting approval)")
    if d.status is not Status.AWAITING_APPROVAL and not d.approval.get("answer"):
        raise AnswerError(f"decision {decision_id} is {d.status.value}, not awaiting approval")
    edit, scores = None, None
    if edit_text is not None:
        if not approve:
            raise AnswerError("--edit goes with approve: a rejected draft is not posted")
        if t.config is None:
            raise AnswerError(f"--edit needs the account's file in infra/accounts to rescore the text "
                              f"(none holds account_id {t.account_id!r})")
        if checkers is None:
            from postloop_local.score import ScoreInputError, checkers_for
            try:
                checkers = checkers_for(t.config)
            except ScoreInputError as err:
                raise AnswerError(str(err)) from None
        try:
            r = rescore(t.config, d, split_parts(edit_text), store, checkers)
            scores = r.as_dict()
            edit = apply_edit(t.config, r, reviewer)
        except EditRejected as err:
            raise AnswerError(f"{err} — not approved; edit the text and try again") from None
    if resumer is None:
        import boto3
        from postloop.adapters.workflow_resumer import StepFunctionsResumer
        resumer = StepFunctionsResumer(boto3.session.Session(region_name=t.region).client("stepfunctions"))
    try:
        res = answer_approval(t.account_id, decision_id, approve, reviewer, now,
                              ApprovalDeps(store, resumer), reason=reason, edit=edit)
    except ApprovalError as err:
        raise AnswerError(str(err)) from None
    except Exception as err:
        raise deployed._aws_error(err, f"answering decision {decision_id!r}") from None
    out = {**cycle_output(res.decision), "action": res.action, "resumed": res.resumed}
    if scores:
        out["scores"] = scores
    return out


def run(args, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    cmd = args.command
    now = datetime.now(timezone.utc)
    try:
        t = target(args.account, args.stack, args.region)
        if cmd == "status":
            s = status(t, now)
            print(json.dumps(s, ensure_ascii=False) if args.json else status_text(s), file=stdout)
        elif cmd in ("pause", "resume"):
            print(set_pause(t, cmd == "pause", reviewer_name(args.by), getattr(args, "reason", None), now),
                  file=stdout)
        else:
            edit_text = None
            if getattr(args, "edit", None):
                try:
                    edit_text = Path(args.edit).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as err:
                    raise AnswerError(f"--edit {args.edit}: cannot read it as UTF-8 text "
                                      f"({type(err).__name__}: {getattr(err, 'strerror', None) or err})") from None
            out = answer(t, args.decision, cmd == "approve", reviewer_name(args.reviewer), now,
                         reason=args.reason, edit_text=edit_text)
            print(json.dumps(out, ensure_ascii=False), file=stdout)
    except (DeployedError, AnswerError) as err:
        print(f"postloop {cmd}: {err}", file=stderr)
        return 2
    return 0


def add_parsers(sub) -> None:
    def common(p):
        p.add_argument("--account", required=True, metavar="ID", help="the deployed account's id")
        p.add_argument("--stack", default=deployed.DEFAULT_STACK, help="the CloudFormation stack (default postloop)")
        p.add_argument("--region", default=None, help="the stack's region (default: AWS_REGION)")
        p.set_defaults(func=run)

    st = sub.add_parser("status", help="a deployed account: mode, pause, next slot, last posts, model skill, "
                                       "the month's spend against its caps, drafts awaiting approval")
    common(st)
    st.add_argument("--json", action="store_true", help="one JSON object")
    for name, what in (("pause", "stop planning (each slot is recorded as skipped: paused) until resume"),
                       ("resume", "plan again from the next slot")):
        p = sub.add_parser(name, help=f"a deployed account: {what}")
        common(p)
        p.add_argument("--by", default=None, help="who (default cli:<your user name>)")
        if name == "pause":
            p.add_argument("--reason", default=None, help="why, kept with the flag and shown by status")
    for name, what in (("approve", "approve a draft awaiting approval (optionally with your edit of its text)"),
                       ("reject", "reject a draft awaiting approval")):
        p = sub.add_parser(name, help=f"a deployed account: {what}; resumes the waiting workflow")
        p.add_argument("decision", metavar="DECISION", help="the decision id (postloop status lists them)")
        common(p)
        p.add_argument("--reviewer", default=None, help="your name (default cli:<your user name>)")
        p.add_argument("--reason", default=None, help="why (kept with the answer)")
        if name == "approve":
            p.add_argument("--edit", metavar="FILE", default=None,
                           help="your text instead of the draft's (a line holding only --- separates thread "
                                "parts); rescored by plan's checks and refused if any fails")
