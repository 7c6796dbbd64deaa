"""`postloop import-history` against the fake X API on 127.0.0.1 and the account's tables on moto:
the account's own posts become settled, `imported` outcomes that learn reads; the X cost is
shown and confirmed before the first request; a second run imports nothing twice."""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest

from postloop.adapters.dynamo_stores import DynamoArmStore, DynamoDecisionStore, DynamoModelRegistry, \
    DynamoOutcomeStore
from postloop.adapters.tables import ALL_TABLES, TableNames, bind_tables
from postloop.core.learn import LearnDeps, learn, settled_samples
from postloop_local import cli, deployed, history_import
from postloop_local.fake_x import FakeXServer, QuietAudience, StoredPost
from postloop_local.score import load_account

REGION = "eu-west-1"
TOKEN = "history-test-token"
NAMES = {key: f"postloop-{key}" for key in ALL_TABLES}
TEXTS = [
    "Caffeine has a half-life of about five hours: a 3 pm coffee still works on you at bedtime.",
    "Why do you wake up groggy after a nap? You woke up in deep sleep. Keep naps under 25 minutes.",
    "What is the one habit that fixed your sleep?",
    "@someone thanks, that study is a good one",
    "RT @other: a repost is not the account's own work",
    "Deep sleep &amp; REM: the body repairs in one, the brain sorts memories in the other.",
]


class Audience(QuietAudience):
    def metrics(self, post_id, now):
        base = int(post_id) % 50
        return {"impression_count": 2000 + 10 * base, "like_count": 20 + base, "retweet_count": 3,
                "reply_count": 2, "quote_count": 1, "bookmark_count": 4}

    def followers(self, now):
        return 1234


@pytest.fixture()
def stack(monkeypatch):
    import boto3
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    for key, var in deployed.TABLE_ENV.items():
        monkeypatch.setenv(var, NAMES[key])
    now = datetime.now(timezone.utc)
    with mock_aws(), FakeXServer(Audience(), lambda: datetime.now(timezone.utc), token=TOKEN) as fake:
        tables = bind_tables(TableNames(**NAMES), REGION)
        for f in fields(tables):
            getattr(tables, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="postloop/x/demo", SecretString=json.dumps({"bearer_token": TOKEN}))
        for i, text in enumerate(TEXTS):
            pid = str(1_900_000_000_000_000_000 + i)
            fake.posts[pid] = StoredPost(pid, text.replace("&amp;", "&"), now - timedelta(days=3 + i, hours=i),
                                         None, fake.user_id)
        young = str(1_900_000_000_000_000_100)
        fake.posts[young] = StoredPost(young, "Posted an hour ago, not settled yet.", now - timedelta(hours=1),
                                       None, fake.user_id)
        yield tables, fake


def _run(args, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            contextlib.ExitStack() as stack:
        stack.enter_context(_stdin(stdin))
        code = cli.main(args)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _stdin(text: str):
    import sys
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def _args(fake, *more) -> list[str]:
    return ["import-history", "--account", "demo", "--days", "20", "--config", "demo",
            "--x-api-base-url", fake.base_url, *more]


def test_posts_become_settled_imported_outcomes_that_learn_reads(stack):
    tables, fake = stack
    code, out, err = _run(_args(fake, "--yes"))
    assert code == 0, err
    assert "at most $" in err and "imported 4 of 7 posts" in out, (out, err)
    assert "1 a reply" in out and "1 a repost" in out and "1 younger than 48 h" in out
    now = datetime.now(timezone.utc)
    decisions = DynamoDecisionStore(tables).posted_between("demo", now - timedelta(days=30), now)
    assert len(decisions) == 4 and {d.policy for d in decisions} == {"imported"}
    config = load_account("demo")
    for d in decisions:
        assert d.hour == d.posted_at.astimezone(config.tz).hour
        assert d.content_type in {c.name for c in config.content_types}
        assert d.features is not None and 0 <= d.features.quality <= 1
    by_text = {d.parts[0]: d for d in decisions}
    assert "Deep sleep & REM: the body repairs in one, the brain sorts memories in the other." in by_text
    assert by_text["What is the one habit that fixed your sleep?"].content_type == "question"
    # learn's own join reads them as settled samples.
    deps = LearnDeps(DynamoDecisionStore(tables), DynamoOutcomeStore(tables), DynamoArmStore(tables),
                     DynamoModelRegistry(tables), None)
    samples = settled_samples("demo", now, config.learning.window_days, deps)
    assert len(samples) == 4 and all(s.er > 0 for s in samples)
    # And learn itself runs on them: the arms count the imported posts.
    result = learn(config, now, deps)
    assert result.samples == 4
    pulls = {a.arm_id: a.pulls for a in DynamoArmStore(tables).load("demo")}
    assert sum(v for k, v in pulls.items() if k.startswith("type#")) > 0

    # The creator reads them like the bot's own posts.
    code, out, err = _run(["posts", "--account", "demo", "--region", REGION, "--json"])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"posted"}

    # A second run reads again but records nothing twice.
    code, out, err = _run(_args(fake, "--yes"))
    assert code == 0 and "imported 0 of 7 posts" in out and "4 already recorded" in out, out
    assert len(DynamoDecisionStore(tables).posted_between("demo", now - timedelta(days=30), now)) == 4


def test_the_cost_is_confirmed_before_any_x_request(stack):
    tables, fake = stack
    # No terminal and no --yes: refused, X never called.
    code, out, err = _run(_args(fake))
    assert code == 2 and "pass --yes" in err and "at most $" in err, err
    assert fake.requests_log == []
    # Monkeypatched to a terminal that answers no: nothing read either.
    with _tty_stdin("n\n"):
        code = cli.main(_args(fake))
    assert code == 1 and fake.requests_log == []
    with _tty_stdin("y\n"):
        code = cli.main(_args(fake))
    assert code == 0 and fake.requests_log


@contextlib.contextmanager
def _tty_stdin(text: str):
    import sys

    class Tty(io.StringIO):
        def isatty(self):
            return True

    saved, sys.stdin = sys.stdin, Tty(text)
    try:
        yield
    finally:
        sys.stdin = saved


def test_estimate_is_x_prices_times_posts(monkeypatch):
    config = load_account("demo")
    est = history_import.estimate(config, days=10, max_posts=500)
    assert est.posts == min(500, 10 * config.posts_per_day * 2)
    assert est.usd == pytest.approx(est.posts * (0.001 + 0.005) + 0.02)
    assert history_import.estimate(config, days=365, max_posts=100).posts == 100


def test_bad_days_and_missing_config_are_messages(capsys):
    with pytest.raises(SystemExit):
        cli.main(["import-history", "--account", "demo", "--days", "0"])
    assert "--days: 0 is outside 3-365" in capsys.readouterr().err
    assert cli.main(["import-history", "--account", "nobody", "--days", "5", "--yes"]) == 2
    assert "no account file for 'nobody'" in capsys.readouterr().err


def test_guard_off_no_confirmation_reads_x(stack, monkeypatch):
    tables, fake = stack
    monkeypatch.setattr(history_import, "_confirmed", lambda args, stdin, stdout: True)
    code, out, err = _run(_args(fake))
    assert code == 0 and fake.requests_log


def test_guard_off_an_unsettled_post_would_be_learned_from(stack, monkeypatch):
    tables, fake = stack
    monkeypatch.setattr(history_import, "SETTLE", timedelta(0))
    code, out, err = _run(_args(fake, "--yes"))
    assert code == 0 and "imported 5 of 7 posts" in out, out


def test_content_types_by_the_language_model_when_configured(stack, monkeypatch):
    from postloop_local.fake_openai import FakeOpenAI
    tables, fake = stack
    asked: list[str] = []

    def reply(body):
        text = str(body.get("input"))
        asked.append(text)
        # One answer names no type of the account: that post falls back to the rules.
        return {"content_type": "meme" if "Caffeine" in text else "educational_thread"}

    openai_fake = FakeOpenAI(reply=reply)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_fake.start())
    try:
        code, out, err = _run(_args(fake, "--yes"))
    finally:
        openai_fake.stop()
    assert code == 0, err
    assert "content types by the language model" in err
    now = datetime.now(timezone.utc)
    decisions = DynamoDecisionStore(tables).posted_between("demo", now - timedelta(days=30), now)
    by_how = {d.parts[0][:8]: (d.content_type, d.status_reason.rsplit("by ", 1)[1]) for d in decisions}
    assert by_how["Caffeine"] == (history_import.content_type_for(TEXTS[0], load_account("demo")), "rules")
    assert by_how["Why do y"] == ("educational_thread", "the language model")
    assert len(decisions) == 4 and asked
