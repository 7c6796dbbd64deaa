"""Credentials never leave Secrets Manager except toward the service they authenticate.

A short simulated run of the real handlers on the local backends, then the error
paths (X refusing the credential, OpenAI refusing its key, a secret missing or
malformed), with recognisable values planted in Secrets Manager for each way X
can be authorised. Everything the code emits is captured: stdout and stderr, every
log record and every Powertools log line, the EMF metric blobs, handler results,
exception messages with their tracebacks, every item of every DynamoDB table, every
Redis value, and every request the fake X and the fake OpenAI received. None of it
may contain a secret value, raw, base64-encoded or URL-encoded.

Two places legitimately carry a credential and are left out: the Authorization
header of a request (that is how a credential is presented), and the body of a
request to X's OAuth 2.0 token endpoint (that is how a refresh token is spent).
"""
from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import logging
import secrets
import threading
import traceback
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import utc

# Secret keys that describe a credential rather than being one: the scheme's name and
# the expiry time. Every other string value of every secret is searched for.
NOT_SECRET_KEYS = {"auth", "expires_at", "token_type", "scope"}


def recognisable(name: str) -> str:
    return f"{name}-PLSECRET-{secrets.token_hex(12)}"


def secret_values(value, key: str | None = None):
    """Every string value of a secret, whatever its shape (nested objects and lists too)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from secret_values(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from secret_values(v, key)
    elif isinstance(value, str) and key not in NOT_SECRET_KEYS and value:
        yield value


def forms(value: str) -> set[str]:
    """The value and the encodings it could travel in."""
    raw = value.encode()
    b64 = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {value, quote(value, safe=""), quote_plus(value)} | b64 | {b.rstrip("=") for b in b64}


class Capture:
    """Everything the code let out, as (where, text) pairs."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []
        self.stdout = io.StringIO()    # print(): Powertools' EMF metrics
        self.log_lines = io.StringIO()  # Powertools' JSON log lines
        self.planted: set[str] = set()

    def add(self, where: str, value) -> None:
        text = value if isinstance(value, str) else json.dumps(value, default=repr, sort_keys=True)
        self.items.append((where, text))

    def plant(self, secret: dict) -> dict:
        self.planted.update(secret_values(secret))
        return secret


class RecordAll(logging.Handler):
    """Keeps every record whole: message, arguments, `extra` fields and exception."""

    def __init__(self, capture: Capture):
        super().__init__(logging.DEBUG)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {k: v for k, v in vars(record).items() if k not in ("exc_info",)}
            fields["message"] = record.getMessage()
            if record.exc_info:
                fields["exception"] = "".join(traceback.format_exception(*record.exc_info))
            try:
                text = json.dumps(fields, default=repr, sort_keys=True)
            except (TypeError, ValueError):   # e.g. bytes as dict keys in a library's `args`
                text = repr(fields)
            self.capture.add(f"log record {record.name}", text)
        except Exception:  # a capture must never break the code it watches
            self.capture.add(f"log record {record.name}", repr(vars(record)))


class OpenAIRefusingTheKey:
    """Answers everything with OpenAI's 401, which (like the real one) shows the key masked."""

    def __init__(self, key: str):
        masked = f"{key[:8]}{'*' * 20}{key[-4:]}"
        self.body = json.dumps({"error": {
            "message": f"Incorrect API key provided: {masked}. You can find your API key at "
                       "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}).encode()
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append({"path": self.path, "body": body.decode("utf-8", "replace")})
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _draft_reply():
    """The fake OpenAI writes what the offline writer would, so drafts vary like real ones."""
    import re

    from postloop.core.offline_writer import OfflineWriter
    from postloop.core.ports import WriteRequest
    counter = itertools.count(1)

    def reply(body: dict) -> dict:
        prompt = str(body.get("input", ""))
        found = re.search(r"Content type: ([\w-]+)", prompt)
        topics = re.search(r"Pick one topic from: (.*)\.", prompt)
        draft = OfflineWriter().write(WriteRequest(
            content_type=found.group(1) if found else "factual_single", prompt="", persona="", niche="sleep science",
            topics=tuple(t.strip() for t in topics.group(1).split(",")) if topics else ("sleep",),
            thread="thread of" in str(body.get("instructions", "")), seed=next(counter)))
        return {"topic": draft.topic, "parts": list(draft.parts)}
    return reply


def _leak_on_every_channel(monkeypatch, cap: Capture) -> None:
    """The canary: post leaks the bearer token into a log line, stdout (base64) and the decision
    record (URL-encoded). The scan must find all three, or it proves nothing."""
    from postloop.runtime import tasks
    real_post = tasks.post

    def leaky_post(account_id, decision_id, now, deps):
        token = cap.canary
        logging.getLogger("postloop").warning("canary %s", token)
        print(base64.b64encode(token.encode()).decode())
        result = real_post(account_id, decision_id, now, deps)
        result.decision.status_reason = f"canary {quote(token + '/')}"
        deps.decisions.save(result.decision)
        return result
    monkeypatch.setattr(tasks, "post", leaky_post)


@pytest.fixture()
def scanned_run(request, redis_binary, monkeypatch, capfd):
    """A simulated run plus the error paths, for one way of authorising with X; yields the capture.

    The parameter is "oauth2", "oauth1" or "bearer"; "canary" is "bearer" with a deliberate leak;
    "oauth1, root logger at DEBUG" is what AWS_LAMBDA_LOG_LEVEL=DEBUG does to every library's logger.
    """
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from postloop.runtime import wiring
    from postloop.runtime.observability import logger
    from postloop_local import simulate
    from postloop_local.backends import OPENAI_SECRET_ID, X_SECRET_ID, LocalBackends
    from postloop_local.fake_openai import FakeOpenAI
    from postloop_local.fake_x_auth import BearerCheck, OAuth1Check, OAuth2Check
    from postloop_local.iam import as_function
    from postloop_local.invoke import LambdaContext, load_handler
    from postloop_local.scenario import load_scenario
    from postloop_local.world import World

    canary = request.param == "canary"
    root_debug = request.param.endswith("root logger at DEBUG")
    x_auth = "bearer" if canary else request.param.split(",")[0]
    cap = Capture()
    openai_key = recognisable("sk-proj")
    cap.plant({"api_key": openai_key})
    fake_openai = FakeOpenAI(_draft_reply())
    monkeypatch.setenv("OPENAI_API_KEY", openai_key)
    openai_url = fake_openai.start()
    monkeypatch.setenv("OPENAI_BASE_URL", openai_url)

    scenario = load_scenario("stationary")
    start = utc(2026, 1, 5, 5)
    clock = simulate.SimClock(start)
    world = World(scenario, 11, start)
    account = simulate.load_account("demo")
    x_secret_id = X_SECRET_ID.replace("{account_id}", "demo")

    # Everything the code logs, at the most verbose level a deployment could set for it.
    recorder = RecordAll(cap)
    service_logger = logging.getLogger(logger.name)
    saved_streams = [(h, h.stream) for h in service_logger.handlers if isinstance(h, logging.StreamHandler)]
    for h, _ in saved_streams:
        h.stream = cap.log_lines   # not setStream: it flushes the old stream, which pytest may have closed
    service_logger.addHandler(recorder)
    logging.getLogger().addHandler(recorder)
    saved_level, saved_root_level = service_logger.level, logging.getLogger().level
    if root_debug:
        logging.getLogger().setLevel(logging.DEBUG)
    logger.setLevel("DEBUG")

    def reset_wiring(backends):
        """A cold start: settings, secrets and clients are read again."""
        wiring.reset()
        parameters.clear_caches()
        wiring.current().clock = clock.now

    def call(function: str, event: dict):
        """Invoke a real handler; its result and any exception (with traceback) are captured."""
        with contextlib.redirect_stdout(cap.stdout):
            try:
                with as_function(function):   # with the function's own role (postloop_local/iam.py)
                    out = load_handler(function)(event, LambdaContext(function_name=function))
            except Exception as err:
                cap.add(f"{function} exception", "".join(traceback.format_exception(err)))
                cap.add(f"{function} exception attributes", {k: repr(v) for k, v in vars(err).items()})
                raise
        cap.add(f"{function} result", out)
        return out

    def try_call(function: str, event: dict):
        try:
            return call(function, event)
        except Exception as err:
            return err

    try:
        with contextlib.redirect_stdout(cap.stdout), \
                LocalBackends([account], world, clock.now, x_auth=x_auth, log_level="DEBUG") as backends:
            sm = boto3.client("secretsmanager", region_name="us-east-1")
            fake_x = backends.x_server

            # Recognisable X credentials, and the fake X checking exactly those.
            if x_auth == "oauth1":
                creds = {k: recognisable(k) for k in
                         ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}
                fake_x.auth = OAuth1Check(**creds)
                secret = {"auth": "oauth1", **creds}
            elif x_auth == "oauth2":
                check = OAuth2Check(clock.now, client_id=recognisable("client_id"),
                                    client_secret=recognisable("client_secret"))
                pair = check.issue()
                fake_x.auth = check
                secret = {"auth": "oauth2", "client_id": check.client_id, "client_secret": check.client_secret,
                          "access_token": pair["access_token"], "refresh_token": pair["refresh_token"],
                          "expires_at": (clock.now() + timedelta(seconds=pair["expires_in"])).isoformat()}
            else:
                token = recognisable("bearer_token")
                fake_x.auth = BearerCheck(token)
                secret = {"auth": "bearer", "bearer_token": token}
                if canary:
                    cap.canary = token
                    _leak_on_every_channel(monkeypatch, cap)
            sm.put_secret_value(SecretId=x_secret_id, SecretString=json.dumps(cap.plant(secret)))
            reset_wiring(backends)

            # Every header the fake X saw except Authorization (the request log keeps the rest).
            seen_headers: list[dict] = []
            real_answer = fake_x.answer

            def answer(method, raw_path, headers, raw_body):
                seen_headers.append({k: v for k, v in headers.items() if k.lower() != "authorization"})
                return real_answer(method, raw_path, headers, raw_body)
            fake_x.answer = answer

            # 1. A short run of the whole loop (two simulated days: posts get scraped and learnt
            #    from, and OAuth 2.0 access tokens, which live two hours, are refreshed). The
            #    canary and the DEBUG run need less to show what they show.
            days = 1 if canary or root_debug else 2
            simulate.run_in(backends, world, clock, scenario, account, start, days, call=call)
            cap.refreshes = getattr(fake_x.auth, "refreshes", 0)
            t = start + timedelta(days=days, hours=1)
            clock.t = t

            def plan_and_post(when):
                clock.t = when
                planned = try_call("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
                if isinstance(planned, dict) and planned.get("status") == "planned":
                    try_call("post", {"account_id": "demo", "decision_id": planned["decision_id"],
                                      "now": when.isoformat()})

            # 2. X answers 401 to a post.
            fake_x.inject("POST", "/2/tweets", 401, times=3)
            plan_and_post(t)

            # 3. The stored credential is wrong: X refuses it for real (for OAuth 2.0 the refresh
            #    is refused too).
            wrong = {k: (recognisable("wrong_" + k) if k not in NOT_SECRET_KEYS else v) for k, v in secret.items()}
            if x_auth == "oauth2":
                wrong["expires_at"] = (clock.now() + timedelta(minutes=1)).isoformat()  # forces a refresh
            sm.put_secret_value(SecretId=x_secret_id, SecretString=json.dumps(cap.plant(wrong)))
            reset_wiring(backends)
            plan_and_post(t + timedelta(hours=1))
            try_call("scrape", {"account_id": "demo", "now": (t + timedelta(days=1)).isoformat()})

            # 4. A malformed X secret: a credential under a key nobody expects, the needed ones missing.
            malformed = {"auth": x_auth, "token": recognisable("misplaced"), "notes": [recognisable("listed")]}
            sm.put_secret_value(SecretId=x_secret_id, SecretString=json.dumps(cap.plant(malformed)))
            reset_wiring(backends)
            plan_and_post(t + timedelta(hours=2))

            # 5. OpenAI refuses the key.
            refusing = OpenAIRefusingTheKey(openai_key)
            monkeypatch.setenv("OPENAI_BASE_URL", refusing.url)
            reset_wiring(backends)
            try_call("plan", {"account_id": "demo", "scheduled_time": (t + timedelta(hours=3)).isoformat()})
            refusing.stop()
            cap.add("requests to the refusing OpenAI", refusing.requests)

            # Harvest every version of every secret now (the code rotates OAuth 2.0 tokens), then
            # take the secrets away: 6. missing secrets.
            for s in sm.list_secrets()["SecretList"]:
                versions = sm.list_secret_version_ids(SecretId=s["Name"], IncludeDeprecated=True)["Versions"]
                for v in versions:
                    raw = sm.get_secret_value(SecretId=s["Name"], VersionId=v["VersionId"])["SecretString"]
                    cap.plant(json.loads(raw))
            if x_auth == "oauth2":
                cap.planted.update(fake_x.auth._access)           # every token the fake X ever issued
                cap.planted.update(fake_x.auth._refresh_live | fake_x.auth._refresh_used)
            sm.delete_secret(SecretId=x_secret_id, ForceDeleteWithoutRecovery=True)
            sm.delete_secret(SecretId=OPENAI_SECRET_ID, ForceDeleteWithoutRecovery=True)
            monkeypatch.setenv("OPENAI_BASE_URL", openai_url)
            reset_wiring(backends)
            plan_and_post(t + timedelta(hours=4))
            try_call("scrape", {"account_id": "demo", "now": (t + timedelta(days=1, hours=1)).isoformat()})

            # What the stores and the fakes hold at the end.
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            for name in ddb.list_tables()["TableNames"]:
                kwargs = {"TableName": name}
                while True:
                    page = ddb.scan(**kwargs)
                    cap.add(f"dynamodb {name}", page["Items"])
                    if "LastEvaluatedKey" not in page:
                        break
                    kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            import redis
            r = redis.Redis.from_url(backends.info.redis_url)
            # Read by type: DUMP may compress a value, which would hide a secret from the search.
            readers = {"string": r.get, "hash": r.hgetall, "list": lambda k: r.lrange(k, 0, -1),
                       "set": r.smembers, "zset": lambda k: r.zrange(k, 0, -1, withscores=True)}
            for key in r.keys("*"):
                value = readers.get(r.type(key).decode(), r.dump)(key)
                cap.add(f"redis {key!r}", repr(key) + repr(value))
            from postloop_local.fake_x_auth import TOKEN_PATH
            cap.add("fake X requests", [entry for entry in fake_x.requests_log if entry[1] != TOKEN_PATH])
            cap.add("fake X token requests (path and query)",
                    [entry[:3] for entry in fake_x.requests_log if entry[1] == TOKEN_PATH])
            cap.add("fake X request headers", seen_headers)
            cap.add("fake OpenAI requests", [{k: v for k, v in req.items() if k != "auth"}
                                             for req in fake_openai.requests])
            cap.x_requests = len(fake_x.requests_log)
            cap.openai_requests = len(fake_openai.requests)
    finally:
        fake_openai.stop()
        service_logger.removeHandler(recorder)
        logging.getLogger().removeHandler(recorder)
        for h, stream in saved_streams:
            h.stream = stream
        service_logger.setLevel(saved_level)
        logging.getLogger().setLevel(saved_root_level)

    out, err = capfd.readouterr()
    cap.add("stdout (fd 1)", out)
    cap.add("stderr (fd 2)", err)
    cap.add("stdout (print)", cap.stdout.getvalue())
    cap.add("Powertools log lines", cap.log_lines.getvalue())
    cap.x_auth = x_auth
    yield cap


def find_leaks(cap: Capture) -> list[tuple[str, str]]:
    """(where, excerpt) for every planted value found in any captured text."""
    leaks = []
    # The local backends' own first secret is harvested too; a value under 8 characters
    # (none is a credential) would match by chance.
    for value in sorted(v for v in cap.planted if len(v) >= 8):
        for form in forms(value):
            for where, text in cap.items:
                if form in text:
                    at = text.index(form)
                    leaks.append((where, text[max(0, at - 80):at + len(form) + 40]))
    return leaks


@pytest.mark.parametrize("scanned_run", ["oauth2", "oauth1", "bearer"], indirect=True)
def test_no_secret_value_appears_anywhere(scanned_run):
    cap = scanned_run
    # The scan looked at real traffic, not an empty run.
    assert cap.x_requests > 20 and cap.openai_requests > 5, (cap.x_requests, cap.openai_requests)
    assert any(w == "Powertools log lines" and '"level"' in t for w, t in cap.items), "no log line was captured"
    assert any(w == "stdout (print)" and "_aws" in t for w, t in cap.items), "no EMF metric blob was captured"
    assert any(w.endswith("exception") for w, _ in cap.items), "no error path raised"
    if cap.x_auth == "oauth2":
        assert cap.refreshes > 0, "the run never refreshed the OAuth 2.0 token"
    expected = {"oauth1": 4 + 4 + 2, "oauth2": 4 + 4 + 2, "bearer": 1 + 1 + 2}[cap.x_auth] + 1
    assert len(cap.planted) >= expected, cap.planted

    leaks = find_leaks(cap)
    assert not leaks, "secret values found:\n" + "\n".join(f"{w}: …{t}…" for w, t in leaks[:20])


@pytest.mark.parametrize("scanned_run", ["canary"], indirect=True)
def test_the_scan_finds_a_deliberate_leak_on_each_channel(scanned_run):
    where = {w for w, _ in find_leaks(scanned_run)}
    assert any(w.startswith("log record") for w in where), where
    assert "Powertools log lines" in where and "stdout (print)" in where, where
    assert any(w.startswith("dynamodb") for w in where), where


def test_the_scan_would_see_a_leak():
    # The search itself: a secret, its base64 and URL-encoded forms are all found.
    value = recognisable("probe")
    for text in (f"x {value} y", base64.b64encode(value.encode()).decode(), quote(value, safe="")):
        assert any(form in text for form in forms(value))
    assert list(secret_values({"auth": "oauth2", "a": value, "b": [{"c": value}], "expires_at": "t"})) == [value,
                                                                                                            value]


@pytest.mark.parametrize("scanned_run", ["oauth1, root logger at DEBUG"], indirect=True)
def test_no_secret_in_library_debug_logs_when_the_root_logger_is_at_debug(scanned_run):
    # In Lambda, AWS_LAMBDA_LOG_LEVEL=DEBUG sets the root logger to DEBUG; every library logger
    # without a level of its own then emits its DEBUG records into CloudWatch.
    leaks = find_leaks(scanned_run)
    assert not leaks, "secret values found:\n" + "\n".join(f"{w}: …{t}…" for w, t in leaks[:20])
