"""`postloop import-history`: a warm start from the account's own recent posts on X.

Reads the account's posts of the last N days from its timeline and their public metrics (the
project's XApiClient, with the account's secret as the functions read it), gives each a content
type of the account's configuration and its local hour in the account's time zone, scores it
with plan's own text features, and stores it as a posted decision (policy and generator
`imported`) with a settled 48 h outcome, so learn fits its first models on the creator's history.

What an imported post is not: a decision of the policy (its propensities are unknown, so
off-policy evaluation has nothing to divide by: it is recorded with none), nor a 48 h reading
(X gives its metrics as of now, so an older post's counts are its lifetime counts), nor a
follow measurement (unknown, recorded as none). Posts younger than 48 h are left for later,
replies to others and reposts are skipped, and a post already recorded (by an earlier import or
by the loop itself) is not imported again.

The content type comes from the language model the functions use when OPENAI_API_KEY is set
(the same settings: OPENAI_BASE_URL, POSTLOOP_OPENAI_API, POSTLOOP_OPENAI_JUDGE_MODEL; README,
'Using another LLM'), asked to pick one of the account's types, and from rules on the text (below)
otherwise, or where the model's answer is unusable; each decision records which.

The X reads cost money (core/spend.py's prices): the estimate is shown and confirmed (a prompt,
or --yes) before the first request.
"""
from __future__ import annotations

import html
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from postloop.core.spend import X_OWNED_READ_USD, X_POST_READ_USD, X_USER_READ_USD

POLICY = "imported"
MAX_DAYS = 365
MAX_POSTS = 3200          # X's timeline endpoint serves at most the latest 3,200 posts
SETTLE = timedelta(hours=48)
_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset("a an and are as at be by for from how in is it its of on one or that the this to what with "
                  "why your you".split())


class HistoryError(Exception):
    """The import cannot run; the message says why."""


@dataclass(frozen=True)
class Estimate:
    posts: int          # at most this many posts read
    usd: float

    def text(self, days: int) -> str:
        return (f"up to {self.posts} posts of the last {days} days: at most ${self.usd:.2f} of X reads "
                f"(timeline ${X_OWNED_READ_USD:.3f} and metrics ${X_POST_READ_USD:.3f} a post, "
                f"${X_USER_READ_USD:.3f} for the account)")


def estimate(config, days: int, max_posts: int) -> Estimate:
    """The X reads' cost, before any: the account's planned rate over the days (a creator posting
    by hand may post more), capped by max_posts, priced at X's per-read rates."""
    posts = min(max_posts, max(1, round(days * config.posts_per_day * 2)))
    return Estimate(posts, round(posts * (X_OWNED_READ_USD + X_POST_READ_USD) + 2 * X_USER_READ_USD, 4))


def content_type_for(text: str, config) -> str:
    """A content type of the account by rules: words its name and prompt share with the text; a
    type named after questions only for a post ending in a question mark; single posts never get a thread type when
    another exists. Ties go to the type listed first."""
    words = set(_WORD.findall(text.lower())) - _STOP
    singles = [c for c in config.content_types if not c.thread] or list(config.content_types)

    def score(ct) -> float:
        vocabulary = set(_WORD.findall((ct.name.replace("_", " ") + " " + ct.prompt).lower())) - _STOP
        s = len(words & vocabulary)
        if "question" in ct.name.lower():
            s += 3 if text.rstrip().endswith("?") else -3   # a type named after questions asks one
        return s

    return max(singles, key=lambda ct: (score(ct), -singles.index(ct))).name


class LLMClassifier:
    """The account's content type for a post, chosen by an OpenAI-compatible model (structured answer)."""

    def __init__(self, config, env=None):
        import os

        from openai import OpenAI

        from postloop.adapters.openai_structured import StructuredClient
        from postloop.runtime.settings import load_settings
        env = dict(os.environ if env is None else env)
        s = load_settings({**env, "AWS_REGION": env.get("AWS_REGION") or "us-east-1",
                           "POSTLOOP_ACCOUNTS_FILE": env.get("POSTLOOP_ACCOUNTS_FILE") or "-"})
        client = OpenAI(api_key=env["OPENAI_API_KEY"], base_url=s.openai_base_url, timeout=s.openai_timeout,
                        max_retries=s.openai_max_retries)
        self._ask = StructuredClient(client, api=s.openai_api, max_output_tokens=s.openai_max_output_tokens,
                                     malformed_retries=s.openai_malformed_retries,
                                     model_setting="POSTLOOP_OPENAI_JUDGE_MODEL")
        self.model = s.judge_model
        self.config = config
        self.names = [c.name for c in config.content_types]

    def __call__(self, text: str) -> str | None:
        from pydantic import BaseModel, ConfigDict, Field

        from postloop.adapters.openai_structured import StructuredError

        class ContentTypeAnswer(BaseModel):
            model_config = ConfigDict(extra="forbid", strict=True, title="content_type_choice")
            content_type: str = Field(description="exactly one of: " + ", ".join(self.names))

        def known(answer) -> None:
            if answer.content_type not in self.names:
                raise ValueError(f"{answer.content_type!r} is not one of {', '.join(self.names)}")

        briefs = "\n".join(f"- {c.name}: {c.prompt}" for c in self.config.content_types)
        try:
            answer = self._ask.ask(model=self.model, name="content_type_choice", shape=ContentTypeAnswer,
                                   instructions=("Which of these content types of an X account is the post? "
                                                 f"Answer with its name.\n{briefs}"), prompt=text, check=known)
        except StructuredError:
            return None
        return answer.value.content_type


def _skip(text: str) -> str | None:
    if text.startswith("RT @"):
        return "a repost"
    if text.startswith("@"):
        return "a reply"
    return None


def build(config, own_posts, metrics, followers: int, now: datetime, known_post_ids: set[str], classify=None):
    """(decisions, outcomes, skipped reasons) for the posts worth learning from, oldest first."""
    from postloop.core import features as feat
    from postloop.core.quality import QualityContext, score_quality
    from postloop.core.records import Decision, Features, Outcome, Status

    decisions, outcomes, skipped = [], [], {}
    earlier: list[str] = []
    context = QualityContext.of(config)
    per_post_usd = X_OWNED_READ_USD + X_POST_READ_USD
    for post in sorted(own_posts, key=lambda p: (p.created_at or now, p.post_id)):
        reason = _skip(post.text)
        if reason:
            pass
        elif post.post_id in known_post_ids:
            reason = "already recorded"
        elif post.created_at is None:
            reason = "no creation time"
        elif now - post.created_at < SETTLE:
            reason = "younger than 48 h (not settled)"
        elif post.post_id not in metrics.metrics:
            reason = "no metrics from X"
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        m = metrics.metrics[post.post_id]
        text = html.unescape(post.text)   # X's v2 answers carry &amp;, &lt;, &gt;
        ct = classify(text) if classify is not None else None
        how = "the language model" if ct else "rules"
        ct = ct or content_type_for(text, config)
        created = post.created_at
        quality = score_quality([text], banned_phrases=config.banned_phrases, context=context)
        f = Features(quality=quality.score, novelty=feat.novelty(text, earlier[-50:]),
                     expertise=feat.expertise(text, config.domain_terms), viral=feat.viral_indicators(text),
                     quality_components=dict(quality.components))
        decision_id = f"{created.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-imported-{post.post_id}"
        decisions.append(Decision(
            account_id=config.account_id, decision_id=decision_id, planned_at=created, status=Status.POSTED,
            content_type=ct, hour=created.astimezone(config.tz).hour, scheduled_for=created, parts=[text],
            features=f, policy=POLICY, generator=POLICY, posted_at=created, post_ids=[post.post_id],
            followers_at_post=followers, updated_at=now,
            status_reason=f"imported from X on {now:%Y-%m-%d}: content type by {how}"))
        outcomes.append(Outcome(
            account_id=config.account_id, decision_id=decision_id, horizon_hours=48, collected_at=now,
            posted_at=created, impressions=m.impressions, likes=m.likes, retweets=m.retweets, replies=m.replies,
            quotes=m.quotes, bookmarks=m.bookmarks, followers_gained=None, followers_source=None,
            spend_usd=per_post_usd))
        earlier.append(text)
    return decisions, outcomes, skipped


def run(args, stdin=None, stdout=None, stderr=None) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr

    def say(line: str) -> None:
        print(line, file=stderr)

    try:
        return _run(args, stdin, stdout, say)
    except HistoryError as err:
        say(f"postloop import-history: {err}")
        return 2


def _config(args):
    from postloop.core.account import ConfigError, parse_account
    from postloop_local import deployed
    if args.config:
        from postloop_local.account_file import AccountFileError, load_one
        try:
            _, data = load_one(args.config)
        except AccountFileError as err:
            raise HistoryError("--config: " + "; ".join(err.problems)) from None
    else:
        data = deployed.account_config(args.account)
        if len(data) == 1:
            raise HistoryError(f"no account file for {args.account!r} in infra/accounts/: pass --config FILE "
                               "(its content types and time zone are needed)")
    try:
        config = parse_account(data)
    except ConfigError as err:
        raise HistoryError(str(err)) from None
    if config.account_id != args.account:
        raise HistoryError(f"--config holds account {config.account_id!r}, not {args.account!r}")
    return config


def _confirmed(args, stdin, stdout) -> bool:
    """--yes, or a yes typed at the prompt; HistoryError when there is no terminal to ask on."""
    if args.yes:
        return True
    if not stdin.isatty():
        raise HistoryError("not confirmed: pass --yes to accept the cost (no terminal to ask on)")
    stdout.write("Go ahead? [y/N] ")
    stdout.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def _run(args, stdin, stdout, say) -> int:
    from postloop_local import deployed

    config = _config(args)
    now = datetime.now(timezone.utc)
    est = estimate(config, args.days, args.max_posts)
    say(f"postloop import-history: {config.account_id}: {est.text(args.days)}")
    if not _confirmed(args, stdin, stdout):
        say("postloop import-history: nothing read")
        return 1
    try:
        import boto3

        from postloop.adapters.credentials import DynamoLease, SecretsManagerCredentials
        from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoOutcomeStore
        from postloop.adapters.tables import bind_tables
        from postloop.adapters.x_api import XApiClient
        from postloop.adapters.x_auth import TOKEN_PATH, CredentialError, auth_from_secret
        from postloop.core.ports import AlreadyExists

        region = deployed.region_or_error(args.region)
        tables = bind_tables(deployed.table_names(args.stack, region), region)
        secret_id = args.secret_id.replace("{account_id}", config.account_id)
        store = SecretsManagerCredentials(boto3.client("secretsmanager", region_name=region), secret_id)
        clock = lambda: datetime.now(timezone.utc)  # noqa: E731
        try:
            auth = auth_from_secret(store.read(), where=f"secret {secret_id}", store=store,
                                    token_url=args.x_api_base_url.rstrip("/") + TOKEN_PATH,
                                    lease=DynamoLease(tables.locks, clock), lease_name=f"x-oauth2:{secret_id}",
                                    clock=clock)
        except CredentialError as err:
            raise HistoryError(str(err)) from None
        x = XApiClient(args.x_api_base_url, auth)
        decision_store, outcome_store = DynamoDecisionStore(tables), DynamoOutcomeStore(tables)
        since = now - timedelta(days=args.days)
        known = {pid for d in decision_store.posted_between(config.account_id, since - SETTLE, now + SETTLE)
                 for pid in d.post_ids}
        own = x.recent_own_posts(since)[: args.max_posts]
        fresh = [p for p in own if p.post_id not in known and _skip(p.text) is None]
        metrics = x.get_metrics([p.post_id for p in fresh])
        followers = x.get_followers_count()
        classify = None
        if os.environ.get("OPENAI_API_KEY"):
            classify = LLMClassifier(config)
            say(f"postloop import-history: content types by the language model ({classify.model}), rules "
                "where its answer is unusable")
        decisions, outcomes, skipped = build(config, own, metrics, followers, now, known, classify)
        written = 0
        for d, o in zip(decisions, outcomes):
            try:
                decision_store.put_new(d)
            except AlreadyExists:
                skipped["already recorded"] = skipped.get("already recorded", 0) + 1
                continue
            outcome_store.put_if_absent(o)
            written += 1
    except HistoryError:
        raise
    except Exception as err:
        raise HistoryError(str(deployed._aws_error(err, f"importing {config.account_id!r}'s history"))) from None
    spent = len(own) * X_OWNED_READ_USD + len(fresh) * X_POST_READ_USD + 2 * X_USER_READ_USD
    types: dict[str, int] = {}
    for d in decisions:
        types[d.content_type] = types.get(d.content_type, 0) + 1
    print(f"imported {written} of {len(own)} posts as settled outcomes (policy {POLICY})"
          + (": " + ", ".join(f"{n} {t}" for t, n in sorted(types.items())) if types else ""), file=stdout)
    if skipped:
        print("skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())), file=stdout)
    print(f"X reads: about ${spent:.3f}", file=stdout)
    return 0


def add_parser(sub) -> None:
    from postloop_local import deployed
    from postloop_local.cli import int_in
    p = sub.add_parser("import-history", help="a deployed account's warm start: its own recent posts on X and "
                                              "their public metrics, stored as settled outcomes for learn")
    p.add_argument("--account", required=True, metavar="ID", help="the deployed account's id (not a file)")
    p.add_argument("--days", type=int_in(3, MAX_DAYS), default=30,
                   help=f"how far back, 3-{MAX_DAYS} days (default 30; posts younger than 48 h wait)")
    p.add_argument("--max-posts", type=int_in(1, MAX_POSTS), default=500,
                   help=f"read at most this many posts (default 500, at most {MAX_POSTS})")
    p.add_argument("--yes", action="store_true", help="accept the X read cost without asking")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="the account's JSON file (default: the one in infra/accounts/ with this id)")
    p.add_argument("--secret-id", default="postloop/x/{account_id}",
                   help="the account's X secret in Secrets Manager (default postloop/x/{account_id})")
    p.add_argument("--x-api-base-url", default="https://api.x.com", help="X's API (default https://api.x.com)")
    p.add_argument("--stack", default=deployed.DEFAULT_STACK, help="the CloudFormation stack (default postloop)")
    p.add_argument("--region", default=None, help="the stack's region (default: AWS_REGION)")
    p.set_defaults(func=run)
