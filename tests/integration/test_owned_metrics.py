"""Metrics from the account's own timeline: the real XApiClient against the fake X on 127.0.0.1, and
scrape's recorded spend against the fake X's ledger of what X would bill."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from postloop.adapters.x_api import XApiClient
from postloop.core import metric_reads
from postloop.core.records import Decision, Status
from postloop.core.scrape import ScrapeDeps, scrape
from postloop.core.spend import X_POST_READ_USD
from postloop_local.fake_x import X_PRICES_USD, FakeXServer, QuietAudience
from postloop_local.memory import MemoryDecisionStore, MemoryOutcomeStore

TOKEN = "local-test-token"
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, t: datetime = T0):
        self.t = t

    def __call__(self) -> datetime:
        return self.t


class Audience(QuietAudience):
    def metrics(self, post_id, now):
        base = int(post_id) % 89
        return {"impression_count": 2000 + base, "like_count": base, "retweet_count": 2, "reply_count": 1,
                "quote_count": 0, "bookmark_count": 3}

    def followers(self, now):
        return 500


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock):
    with FakeXServer(Audience(), clock, token=TOKEN, analytics=False) as fake:
        yield fake


@pytest.fixture
def client(server) -> XApiClient:
    return XApiClient(server.base_url, TOKEN, user_id=server.user_id, backoff=0.0)


def _timeline_requests(server):
    return [q for m, p, q, _ in server.requests_log if m == "GET" and p == f"/2/users/{server.user_id}/tweets"]


def test_a_window_returns_only_the_accounts_original_posts_between_the_ids_with_metrics(client, server, clock):
    ids = []
    for i in range(5):
        clock.t += timedelta(minutes=10)
        ids.append(client.create_thread([f"post {i} & more", f"post {i} part 2"])[0])
    got = client.own_posts_window(str(int(ids[1]) - 1), str(int(ids[3]) + 1), private=True, want=ids[1:4])

    assert [p.post_id for p in got] == [ids[3], ids[2], ids[1]]   # newest first, no thread parts
    assert got[0].text == "post 3 &amp; more"                       # as X sends it: HTML-escaped
    m = got[0].metrics
    assert m.impressions == 2000 + int(ids[3]) % 89 and m.bookmarks == 3
    assert m.private["non_public_metrics"]["impression_count"] == m.impressions
    (query,) = _timeline_requests(server)
    assert query["since_id"] == str(int(ids[1]) - 1) and query["until_id"] == str(int(ids[3]) + 1)
    assert query["exclude"] == "replies,retweets" and query["max_results"] == "100"
    assert "non_public_metrics" in query["tweet.fields"]
    # X bills the three posts returned, and the client counts the same.
    assert server.billed_usd("owned_read") == pytest.approx(3 * X_PRICES_USD["owned_read"])
    assert client.calls["owned_read"] == 3


def test_a_wide_window_pages_and_stops_once_the_wanted_posts_are_in(client, server, clock):
    ids = []
    for i in range(150):
        clock.t += timedelta(seconds=30)
        ids.append(client.create_post(f"post {i}"))
    since, until = str(int(ids[0]) - 1), str(int(ids[-1]) + 1)

    newest_only = client.own_posts_window(since, until, want=[ids[-1]])
    assert len(newest_only) == 100 and len(_timeline_requests(server)) == 1   # no second page: X bills each post

    everything = client.own_posts_window(since, until, want=[ids[0]])
    assert [p.post_id for p in everything] == list(reversed(ids))
    pages = _timeline_requests(server)[1:]
    assert len(pages) == 2 and "pagination_token" in pages[1]
    assert server.billed_usd("owned_read") == pytest.approx(250 * X_PRICES_USD["owned_read"])


def test_without_access_to_non_public_metrics_the_window_is_read_again_with_public_ones(clock):
    with FakeXServer(Audience(), clock, token=TOKEN, private_metrics=False) as fake:
        client = XApiClient(fake.base_url, TOKEN, user_id=fake.user_id)
        pid = client.create_post("hello")
        (got,) = client.own_posts_window(str(int(pid) - 1), str(int(pid) + 1), private=True, want=[pid])
        assert got.metrics.impressions is not None and got.metrics.private is None
        assert client.private_metrics_available is False
        assert fake.billed_usd("owned_read") == pytest.approx(X_PRICES_USD["owned_read"])   # the 403 is not billed


def test_the_client_refuses_a_window_that_is_empty_or_not_made_of_ids(client):
    with pytest.raises(ValueError):
        client.own_posts_window("20", "10")
    with pytest.raises(ValueError):
        client.own_posts_window("1 OR 1", "10")


@pytest.mark.parametrize("query, words", [
    ({"since_id": "20", "until_id": "10"}, "since_id"),
    ({"since_id": "abc"}, "since_id"),
    ({"exclude": "quotes"}, "exclude"),
    ({"max_results": "101"}, "max_results"),
    ({"max_results": "4"}, "max_results"),
    ({"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-01T00:00:00Z"}, "start_time"),
])
def test_the_fake_refuses_what_x_refuses(server, query, words):
    answer = requests.get(f"{server.base_url}/2/users/{server.user_id}/tweets", params=query,
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 400
    assert words in answer.text
    assert server.ledger == []


def test_the_fake_returns_metrics_only_when_asked_and_never_another_accounts_posts(client, server):
    pid = client.create_post("mine")
    url = f"{server.base_url}/2/users/{server.user_id}/tweets"
    plain = requests.get(url, params={"since_id": str(int(pid) - 1)}, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=5).json()
    assert plain["data"] == [{"id": pid, "text": "mine"}]
    other = requests.get(f"{server.base_url}/2/users/42/tweets", headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=5).json()
    assert "data" not in other and other["errors"][0]["resource_type"] == "user"


# --- the spend scrape records against what X would bill ------------------------------------------------------

def _simulated_run(client: XApiClient, server: FakeXServer, clock: Clock, days: int = 4) -> tuple[float, float]:
    """Six posts a day (some threads, a post by hand now and then, one post deleted), scrape every
    hour as the workflow's 24 h and 48 h waits would. Returns (spend scrape recorded, what the
    fake X billed during the scrape runs)."""
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    deps = ScrapeDeps(decisions, outcomes, client)
    recorded = billed = 0.0
    n = 0
    end = T0 + timedelta(days=days + 2)
    clock.t = T0
    while clock.t < end:
        if clock.t < T0 + timedelta(days=days) and clock.t.hour % 4 == 2:
            parts = [f"post {n}", f"post {n}, part 2"] if n % 3 == 0 else [f"post {n}"]
            ids = client.create_thread(parts)
            decisions.put_new(Decision("a", f"d{n:03d}", clock.t - timedelta(hours=1), Status.POSTED,
                                       parts=parts, post_ids=ids, posted_at=clock.t, followers_at_post=480))
            if n == 5:
                client.delete_post(ids[0])   # gone before its 24 h read: the fallback by id finds nothing
            if n % 4 == 1:
                clock.t += timedelta(minutes=20)
                client.create_post(f"by hand {n}")
            n += 1
        before = server.billed_usd()
        result = scrape("a", clock.t, deps)
        billed += server.billed_usd() - before
        recorded += result.spend_usd
        clock.t = clock.t.replace(minute=0) + timedelta(hours=1)
    stored = outcomes.collected_between("a", T0, end + timedelta(days=1))
    assert len(stored) == 2 * n                       # every post, both horizons
    assert sum(o.spend_usd for o in stored) == pytest.approx(recorded)
    assert any(o.problem and "unavailable" in o.problem for o in stored)
    return recorded, billed


def test_scrape_records_what_x_bills_over_a_simulated_run(client, server, clock):
    recorded, billed = _simulated_run(client, server, clock)
    # Spend is rounded to a millionth of a dollar per outcome.
    assert recorded == pytest.approx(billed, abs=1e-6 * 50)
    kinds = {e.kind for e in server.ledger if e.kind not in ("post_create",)}
    # Scrape reads no follower count (post reads it at most once a day): owned reads, by id at most.
    assert kinds == {"owned_read", "post_read"} or kinds == {"owned_read"}
    # Each post is returned about once per horizon: owned reads are a small part of the bill.
    owned = server.billed_usd("owned_read")
    assert owned <= 2 * 24 * X_PRICES_USD["owned_read"] * 1.25


def test_the_ledger_catches_scrape_pricing_its_owned_reads_wrongly(client, server, clock, monkeypatch):
    # The guard: priced as post reads (the old per-id price), the recorded spend parts from the bill.
    monkeypatch.setattr(metric_reads, "X_OWNED_READ_USD", X_POST_READ_USD)
    recorded, billed = _simulated_run(client, server, clock)
    assert recorded != pytest.approx(billed, abs=1e-6 * 50)
    assert recorded > billed + 0.1


def test_when_x_refuses_the_timeline_read_scrape_reads_by_id_and_records_that_price(client, server, clock):
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    for i in range(3):
        clock.t = T0 + timedelta(hours=4 * i)
        (pid,) = client.create_thread([f"post {i}"])
        decisions.put_new(Decision("a", f"d{i}", clock.t - timedelta(hours=1), Status.POSTED, parts=[f"post {i}"],
                                   post_ids=[pid], posted_at=clock.t, followers_at_post=480))
    clock.t = T0 + timedelta(hours=33)
    server.inject("GET", f"/2/users/{server.user_id}/tweets", 400, times=5)
    before = server.billed_usd()
    result = scrape("a", clock.t, ScrapeDeps(decisions, outcomes, client))
    assert result.written == 3 and result.unusable == 0
    assert server.billed_usd("post_read") == pytest.approx(3 * X_PRICES_USD["post_read"])
    assert result.spend_usd == pytest.approx(server.billed_usd() - before, abs=1e-6 * 3)


def test_the_fake_serves_no_further_back_than_x_and_scrape_then_reads_by_id(client, server, clock, monkeypatch):
    import postloop_local.fake_x as fake_x
    monkeypatch.setattr(fake_x, "TIMELINE_REACH_NO_REPLIES", 5)   # X's 800, small enough for a test
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    clock.t = T0
    (old,) = client.create_thread(["the old one"])
    decisions.put_new(Decision("a", "d0", T0 - timedelta(hours=1), Status.POSTED, parts=["the old one"],
                               post_ids=[old], posted_at=T0, followers_at_post=480))
    for i in range(5):
        clock.t += timedelta(minutes=1)
        client.create_post(f"newer {i}")
    assert client.own_posts_window(str(int(old) - 1), str(int(old) + 1)) == []   # beyond the timeline's reach
    clock.t = T0 + timedelta(hours=25)
    result = scrape("a", clock.t, ScrapeDeps(decisions, outcomes, client))
    (o,) = outcomes.for_decision("a", "d0")
    assert o.usable and result.written == 1
    assert o.spend_usd == pytest.approx(X_PRICES_USD["post_read"])
