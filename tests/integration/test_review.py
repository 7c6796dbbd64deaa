"""The review page (functions/review, postloop.runtime.review_http) on moto: tokens forged, expired,
reused or for another decision are refused with nothing written; approve, reject, an edit rescored
by plan's checks; and the page driven in headless chromium through a function URL on 127.0.0.1."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest

from postloop.adapters.dynamo_stores import DynamoDecisionStore
from postloop.adapters.pause_flags import DynamoTokenLedger
from postloop.adapters.tables import ALL_TABLES, TableNames, bind_tables
from postloop.core.account import parse_account
from postloop.core.records import Decision, Features, Status
from postloop.core.review_tokens import TokenSigner
from postloop.runtime import review_http
from postloop.runtime.review_http import ReviewDeps, handle, review_links
from postloop_local.function_url import FunctionUrl, event_of
from postloop_local.score import Checkers

REGION = "eu-west-1"
NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
KEY = b"0123456789abcdef0123456789abcdef"
DEMO = json.loads((Path(__file__).parents[2] / "layers/local/python/postloop_local/accounts/demo.json").read_text())
DRAFT = "A draft about naps, written by the bot, with a number: 20 minutes."
GOOD = ("Caffeine has a half-life of about 5 hours: a 3 pm coffee still leaves half its dose in you at 8 pm, "
        "which is why sleep pressure feels blunted at bedtime.")


class Resumer:
    def __init__(self):
        self.calls = []

    def resume(self, token, output):
        self.calls.append((token, output))


@pytest.fixture()
def env(monkeypatch):
    from moto import mock_aws
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                 "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        t = bind_tables(TableNames(**{k: f"t-{k}" for k in ALL_TABLES}), REGION)
        for f in fields(t):
            getattr(t, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        store = DynamoDecisionStore(t)
        for i in (1, 2):
            store.put_new(Decision("demo", f"d{i}", NOW - timedelta(minutes=5), Status.AWAITING_APPROVAL,
                                   content_type="factual_single", hour=9, scheduled_for=NOW + timedelta(hours=1),
                                   parts=[DRAFT], features=Features(quality=0.61, novelty=0.9, expertise=0.1),
                                   approval={"token": f"task-token-{i}"}))
        clock = {"now": NOW}
        deps = ReviewDeps(signer=TokenSigner(KEY), ledger=DynamoTokenLedger(t.locks), decisions=store,
                          resumer=Resumer(), account=lambda a: parse_account(DEMO), checkers=lambda c: Checkers(),
                          clock=lambda: clock["now"])
        yield t, deps, clock


def _written(t) -> tuple[int, list]:
    """Items in the locks table and the decisions' state: what a refused request must leave alone."""
    return (sum(1 for _ in t.locks.scan()),
            sorted((i.decision_id, i.status, tuple(i.parts or ())) for i in t.content_metadata.scan()))


def _get(deps, query: dict) -> dict:
    return handle(event_of("GET", "/?" + urlencode(query), {}, b"", "127.0.0.1"), deps)


def _post(deps, form: dict) -> dict:
    return handle(event_of("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"},
                           urlencode(form).encode(), "127.0.0.1"), deps)


def _token(deps, decision="d1", now=NOW):
    return deps.signer.issue("demo", decision, now)


def test_the_links_open_the_page_and_approving_resumes_the_workflow_once(env):
    t, deps, _ = env
    links = review_links(deps.signer, "https://x.lambda-url.eu-west-1.on.aws", DynamoDecisionStore(t).get("demo", "d1"), NOW)
    assert set(links) == {"approve", "reject"} and "do=reject" in links["reject"]
    query = dict(p.split("=", 1) for p in links["approve"].split("?", 1)[1].split("&"))
    from urllib.parse import unquote
    query = {k: unquote(v) for k, v in query.items()}
    page = _get(deps, query)
    assert page["statusCode"] == 200 and "20 minutes" in page["body"] and "0.610" in page["body"]
    assert page["headers"]["Referrer-Policy"] == "no-referrer" and "default-src 'none'" in page["headers"]["Content-Security-Policy"]
    assert _written(t)[0] == 0   # showing the page writes nothing
    ok = _post(deps, {**query, "action": "approve", "text": DRAFT})
    assert ok["statusCode"] == 200 and "is planned" in ok["body"]
    assert deps.resumer.calls[0][0] == "task-token-1" and deps.resumer.calls[0][1]["status"] == "planned"
    before = _written(t)
    again = _post(deps, {**query, "action": "approve", "text": DRAFT})
    assert again["statusCode"] == 403 and "already been used" in again["body"]
    assert _get(deps, query)["statusCode"] == 403
    assert _written(t) == before and len(deps.resumer.calls) == 1


@pytest.mark.parametrize("case", ["forged", "another key", "expired", "another decision", "missing", "tampered"])
def test_bad_tokens_are_refused_with_nothing_written(env, case):
    t, deps, clock = env
    tok = _token(deps)
    form = {"a": "demo", "d": "d1", "t": tok, "action": "approve", "text": DRAFT}
    if case == "forged":
        form["t"] = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    elif case == "another key":
        form["t"] = TokenSigner(b"z" * 32).issue("demo", "d1", NOW)
    elif case == "expired":
        clock["now"] = NOW + timedelta(hours=49)
    elif case == "another decision":
        form["d"] = "d2"
    elif case == "missing":
        del form["t"]
    elif case == "tampered":
        form["a"] = "other"
    before = _written(t)
    for r in (_post(deps, form), _get(deps, form)):
        assert r["statusCode"] == 403 and "cannot be used" in r["body"]
    assert _written(t) == before and deps.resumer.calls == []


class StaleFirstRead:
    """The decision store as a request racing another sees it: its first read is from before the
    other request answered (both passed the status check), its later reads are current."""

    def __init__(self, inner, stale):
        self._inner, self._stale, self.armed = inner, stale, False

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def get(self, account_id, decision_id):
        if self.armed:
            self.armed = False
            return self._stale
        return self._inner.get(account_id, decision_id)


@pytest.mark.parametrize("guard", [True, False])
def test_two_racing_requests_with_one_link_answer_once(env, monkeypatch, guard):
    """Two requests with the same link both pass the status check; the conditional write lets one
    through. Without it (guard off) the workflow is resumed twice."""
    t, deps, _ = env
    store = StaleFirstRead(deps.decisions, deps.decisions.get("demo", "d1"))
    deps.decisions = store
    if not guard:
        monkeypatch.setattr(DynamoTokenLedger, "spend", lambda self, nonce, expires_at: True)
        monkeypatch.setattr(DynamoTokenLedger, "spent", lambda self, nonce: False)
    form = {"a": "demo", "d": "d1", "t": _token(deps), "action": "approve", "text": DRAFT}
    assert _post(deps, form)["statusCode"] == 200
    monkeypatch.setattr(DynamoTokenLedger, "spent", lambda self, nonce: False)   # the racer read before the write
    store.armed = True
    second = _post(deps, form)
    if guard:
        assert second["statusCode"] == 403 and "already been used" in second["body"]
        assert len(deps.resumer.calls) == 1
    else:
        assert len(deps.resumer.calls) == 2


def test_an_edit_is_rescored_and_a_failing_one_cannot_be_approved(env):
    t, deps, _ = env
    form = {"a": "demo", "d": "d1", "t": _token(deps)}
    before = _written(t)
    bad = _post(deps, {**form, "action": "approve", "text": GOOD + " A guaranteed cure."})
    assert bad["statusCode"] == 422 and "banned phrase" in bad["body"] and _written(t) == before
    check = _post(deps, {**form, "action": "check", "text": GOOD})
    assert check["statusCode"] == 200 and "passes plan" in check["body"] and _written(t) == before
    ok = _post(deps, {**form, "action": "approve", "text": GOOD})
    assert ok["statusCode"] == 200 and "with your edit" in ok["body"]
    saved = DynamoDecisionStore(t).get("demo", "d1")
    assert saved.parts == [GOOD] and saved.approval["original"] == DRAFT and saved.status is Status.PLANNED


def test_reject_with_a_reason_and_nothing_else_is_reachable(env):
    t, deps, _ = env
    r = _post(deps, {"a": "demo", "d": "d2", "t": _token(deps, "d2"), "action": "reject", "reason": "off topic"})
    assert r["statusCode"] == 200 and "is rejected" in r["body"]
    assert DynamoDecisionStore(t).get("demo", "d2").status_reason == "rejected by review link: off topic"
    assert deps.resumer.calls[0][1]["status"] == "rejected"
    for method, target in (("GET", "/admin"), ("PUT", "/"), ("GET", "/"), ("POST", "/")):
        out = handle(event_of(method, target, {}, b"", "127.0.0.1"), deps)
        assert out["statusCode"] in (403, 404)


def test_the_page_in_headless_chromium_load_edit_approve(env):
    from tests.browser import Chromium, chromium_binary
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    t, deps, _ = env
    server = FunctionUrl(lambda event: handle(event, deps))
    with server as base, Chromium(binary) as browser:
        d = DynamoDecisionStore(t).get("demo", "d1")
        page = browser.open(review_links(deps.signer, base, d, NOW)["approve"])
        assert page.problems == []
        assert page.evaluate("document.getElementById('text').value") == DRAFT
        assert "0.610" in page.evaluate("document.getElementById('scores').innerText")
        page._loaded = False
        page.evaluate(f"document.getElementById('text').value = {json.dumps(GOOD)}; "
                      "document.getElementById('approve').click(); true")
        page.wait_load()
        assert "with your edit" in page.evaluate("document.getElementById('done').innerText")
        assert page.problems == [], page.problems
        assert all("t=" not in str(e.get("headers")) for e in server.requests)
        # The same link again, from the browser: refused.
        again = browser.open(review_links(deps.signer, base, d, NOW)["approve"].split("&t=")[0] + "&t=x.y")
        assert "cannot be used" in again.evaluate("document.body.innerText")
    saved = DynamoDecisionStore(t).get("demo", "d1")
    assert saved.parts == [GOOD] and saved.status is Status.PLANNED
    assert deps.resumer.calls and deps.resumer.calls[0][0] == "task-token-1"


# --- hostile requests (the review function's part of the hostile-input suite) ----------------------

def _encoded(form: dict) -> str:
    # Lone surrogates cannot be UTF-8; sent as the bytes a careless client would put on the wire.
    return urlencode(form, encoding="utf-8", errors="surrogatepass")


def _hostile_requests():
    from hypothesis import strategies as st

    from tests.hostile import json_values, nasty_text

    key = st.sampled_from(["t", "a", "d", "action", "text", "reason"])
    form = st.dictionaries(key, nasty_text, max_size=6)
    url_event = st.builds(
        lambda method, path, query, body, ctype: event_of(
            method, path + "?" + _encoded(query), {"Content-Type": ctype}, body, "127.0.0.1"),
        st.sampled_from(["GET", "POST", "PUT", "DELETE", "get", ""]),
        st.sampled_from(["/", "/admin", "//", "/?", "/../x"]),
        form,
        st.one_of(st.binary(max_size=200), form.map(lambda f: _encoded(f).encode())),
        st.sampled_from(["application/x-www-form-urlencoded", "text/plain", "", "multipart/form-data"]),
    )
    return st.one_of(json_values.filter(lambda v: isinstance(v, dict)), url_event)


def test_hostile_requests_are_answered_4xx_with_nothing_written(env):
    """Anything at all sent to the function URL, without a valid token: a 4xx page, never an exception
    or a 5xx, and nothing written (no token spent, no decision changed, the workflow not resumed)."""
    from hypothesis import HealthCheck, given, settings

    t, deps, _ = env
    before = _written(t)

    @settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(event=_hostile_requests())
    def check(event):
        out = handle(event, deps)
        assert 400 <= out["statusCode"] < 500, (event, out["statusCode"])
        assert _written(t) == before and deps.resumer.calls == []

    check()
