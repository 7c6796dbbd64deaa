"""The real XApiClient against the local fake of X API v2 on 127.0.0.1."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from postloop.adapters.x_api import XApiClient
from postloop.core.ports import PostMetrics
from postloop.core.x_errors import (
    ThreadPartiallyPublished,
    XAuthError,
    XBadRequest,
    XDuplicateContent,
    XForbidden,
    XRateLimited,
    XServerError,
)
from postloop_local.fake_x import FakeXServer, QuietAudience, weighted_length

TOKEN = "local-test-token"
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class SteppingClock:
    """A clock that moves one minute every time it is read, so posts get distinct times."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(minutes=1)):
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current


class ScriptedAudience(QuietAudience):
    """Engagement that depends on the post id, so metrics can be told apart."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.after_post = lambda: None

    def on_post(self, post_id, text, created_at, reply_to):
        self.seen.append((post_id, text, reply_to))
        self.after_post()

    def metrics(self, post_id, now):
        base = int(post_id) % 97
        return {
            "impression_count": 1000 + base,
            "like_count": base,
            "retweet_count": 3,
            "reply_count": 2,
            "quote_count": 1,
            "bookmark_count": 4,
        }

    def followers(self, now):
        return 4321


@pytest.fixture
def audience() -> ScriptedAudience:
    return ScriptedAudience()


@pytest.fixture
def server(audience):
    with FakeXServer(audience, SteppingClock(), token=TOKEN) as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(server, sleeps) -> XApiClient:
    return XApiClient(server.base_url, TOKEN, sleep=sleeps.append)


def _requests_to(server: FakeXServer, method: str, path: str) -> list:
    return [entry for entry in server.requests_log if entry[0] == method and entry[1] == path]


def _publish(client: XApiClient, count: int, prefix: str = "post") -> list[str]:
    return [client.create_post(f"{prefix} number {n}") for n in range(count)]


# --- posting ---------------------------------------------------------------------------------


def test_create_post_returns_the_new_id_and_sends_only_text(client, server, audience):
    post_id = client.create_post("hello from the loop")

    assert post_id.isdigit() and server.posts[post_id].text == "hello from the loop"
    assert _requests_to(server, "POST", "/2/tweets")[0][3] == {"text": "hello from the loop"}
    assert audience.seen == [(post_id, "hello from the loop", None)]
    assert client.calls["post_create"] == 1


def test_ids_increase_like_snowflakes(client):
    ids = _publish(client, 5)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == 5


def test_reply_names_the_parent(client, server):
    parent = client.create_post("parent")
    child = client.create_post("child", reply_to=parent)

    assert _requests_to(server, "POST", "/2/tweets")[1][3] == {
        "text": "child",
        "reply": {"in_reply_to_tweet_id": parent},
    }
    assert server.posts[child].reply_to == parent


def test_thread_is_a_chain_of_replies(client, server):
    ids = client.create_thread(["one", "two", "three"])

    assert len(ids) == 3
    assert [server.posts[i].reply_to for i in ids] == [None, ids[0], ids[1]]


def test_thread_second_part_forbidden_raises_partially_published(client, server, audience, sleeps):
    # Arm the refusal from inside X the moment the first part goes live.
    audience.after_post = lambda: server.inject("POST", "/2/tweets", 403) if len(audience.seen) == 1 else None

    with pytest.raises(ThreadPartiallyPublished) as caught:
        client.create_thread(["first part", "second part", "third part"])

    err = caught.value
    assert len(err.published_ids) == 1 and err.published_ids == [audience.seen[0][0]]
    assert isinstance(err.cause, XForbidden) and err.status == 403
    assert len(_requests_to(server, "POST", "/2/tweets")) == 2  # the third part was never tried
    assert sleeps == []  # a 403 is not retried


def test_thread_whose_first_part_fails_raises_the_underlying_error(client, server):
    server.inject("POST", "/2/tweets", 403)
    with pytest.raises(XForbidden):
        client.create_thread(["first", "second"])
    assert server.posts == {}


def test_delete_post(client, server):
    post_id = client.create_post("short-lived")

    assert client.delete_post(post_id) is True
    assert server.posts[post_id].deleted
    assert client.delete_post(post_id) is False  # X no longer knows it
    assert client.calls["post_delete"] == 1


def test_delete_refuses_an_id_that_is_not_a_snowflake(client):
    with pytest.raises(ValueError):
        client.delete_post("../users/me")


def test_duplicate_content_is_not_retried(client, server, sleeps):
    client.create_post("same words")

    with pytest.raises(XDuplicateContent) as caught:
        client.create_post("same words")

    assert caught.value.status == 403
    assert "duplicate content" in caught.value.detail
    assert len(_requests_to(server, "POST", "/2/tweets")) == 2
    assert sleeps == []


def test_duplicate_after_a_lost_answer_returns_the_post_that_went_live(client, server, sleeps):
    accepted = []
    # X creates the post but the answer is lost (503); the retry then meets the duplicate check.
    server.inject("POST", "/2/tweets", 503, after=lambda status, body: accepted.append(body["data"]["id"]))

    post_id = client.create_post("said once")

    assert post_id == accepted[0]
    assert len(server.live_posts()) == 1
    assert len(sleeps) == 1
    assert client.calls["post_create"] == 1


def test_text_over_280_weighted_characters_is_a_bad_request(client):
    with pytest.raises(XBadRequest) as caught:
        client.create_post("x" * 281)
    assert caught.value.status == 400


def test_reply_to_an_unknown_post_is_a_bad_request(client):
    with pytest.raises(XBadRequest):
        client.create_post("orphan", reply_to="123456789")


def test_weighted_length_counts_urls_and_wide_characters():
    assert weighted_length("a" * 280) == 280
    assert weighted_length("see https://example.com/a/very/long/path/indeed") == 4 + 23
    assert weighted_length("\U0001f600") == 2
    assert weighted_length("é") == 1


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_are_read_in_batches_of_at_most_100(client, server):
    ids = _publish(client, 250)

    batch = client.get_metrics(ids + ids[:10])  # repeats are asked for once

    lookups = _requests_to(server, "GET", "/2/tweets")
    assert len(lookups) == 3
    sizes = [len(query["ids"].split(",")) for _, _, query, _ in lookups]
    assert sizes == [100, 100, 50]
    assert [i for _, _, q, _ in lookups for i in q["ids"].split(",")] == ids  # order kept
    assert set(batch.metrics) == set(ids) and batch.unavailable == {}
    sample = ids[7]
    assert batch.metrics[sample] == PostMetrics(
        impressions=1000 + int(sample) % 97,
        likes=int(sample) % 97,
        retweets=3,
        replies=2,
        quotes=1,
        bookmarks=4,
    )
    assert client.calls["post_read"] == 250


def test_deleted_and_unknown_ids_are_unavailable_not_errors(client, server):
    kept, gone = client.create_post("kept"), client.create_post("gone")
    client.delete_post(gone)

    batch = client.get_metrics([kept, gone, "999", "not-an-id"])

    assert set(batch.metrics) == {kept}
    assert set(batch.unavailable) == {gone, "999", "not-an-id"}
    assert gone in batch.unavailable[gone] and "Could not find" in batch.unavailable[gone]
    # The malformed id never reached X (it would have failed the whole batch).
    assert "not-an-id" not in _requests_to(server, "GET", "/2/tweets")[0][2]["ids"]


def test_metrics_accept_the_spec_name_repost_count(client, server):
    post_id = client.create_post("counted")
    body = {
        "data": [
            {
                "id": post_id,
                "text": "counted",
                "public_metrics": {
                    "impression_count": 10,
                    "like_count": 1,
                    "repost_count": 5,
                    "reply_count": 0,
                    "quote_count": 0,
                    "bookmark_count": 0,
                },
            }
        ]
    }
    server.inject("GET", "/2/tweets", 200, body=body)

    assert client.get_metrics([post_id]).metrics[post_id].retweets == 5


def test_no_ids_means_no_request(client, server):
    assert client.get_metrics([]).metrics == {}
    assert server.requests_log == []


def test_fields_parameter_name_falls_back_when_x_rejects_it(client, server):
    post_id = client.create_post("fields")
    rejection = {
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
        "errors": [{"parameters": {"tweet.fields": ["public_metrics"]},
                    "message": "The query parameter [tweet.fields] is not one of [ids,post.fields]"}],
    }
    server.inject("GET", "/2/tweets", 400, body=rejection)

    batch = client.get_metrics([post_id])

    assert batch.metrics[post_id].impressions is not None
    assert client.fields_param == "post.fields"
    assert "post.fields" in _requests_to(server, "GET", "/2/tweets")[-1][2]
    client.get_metrics([post_id])
    assert "post.fields" in _requests_to(server, "GET", "/2/tweets")[-1][2]


def test_more_than_100_ids_is_refused_by_the_fake(server):
    ids = ",".join(str(10_000 + n) for n in range(101))
    response = requests.get(
        f"{server.base_url}/2/tweets",
        params={"ids": ids},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"


# --- errors ----------------------------------------------------------------------------------


def test_rate_limit_raises_with_reset_time(client, server, sleeps):
    reset = int(time.time()) + 900
    server.inject("POST", "/2/tweets", 429, headers={"x-rate-limit-reset": str(reset)})

    with pytest.raises(XRateLimited) as caught:
        client.create_post("too soon")

    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=timezone.utc)
    assert caught.value.status == 429
    assert sleeps == []


def test_rate_limit_with_a_near_reset_waits_and_retries_once(server, sleeps):
    client = XApiClient(server.base_url, TOKEN, max_rate_wait=60, sleep=sleeps.append)
    reset = int(time.time()) + 5
    server.inject("POST", "/2/tweets", 429, headers={"x-rate-limit-reset": str(reset)})

    post_id = client.create_post("after the wait")

    assert post_id in server.posts
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 7


def test_rate_limit_retries_only_once(server, sleeps):
    client = XApiClient(server.base_url, TOKEN, max_rate_wait=60, sleep=sleeps.append)
    reset = str(int(time.time()) + 5)
    server.inject("POST", "/2/tweets", 429, headers={"x-rate-limit-reset": reset}, times=2)

    with pytest.raises(XRateLimited):
        client.create_post("still too soon")
    assert len(sleeps) == 1


def test_server_errors_are_retried_with_backoff(client, server, sleeps):
    server.inject("POST", "/2/tweets", 500, times=2)

    post_id = client.create_post("third time lucky")

    assert post_id in server.posts
    assert sleeps == [0.5, 1.0]
    assert len(_requests_to(server, "POST", "/2/tweets")) == 3


def test_persistent_server_errors_raise_after_max_retries(server, sleeps):
    client = XApiClient(server.base_url, TOKEN, max_retries=3, backoff=0.1, sleep=sleeps.append)
    server.inject("GET", "/2/users/me", 503, times=100)

    with pytest.raises(XServerError) as caught:
        client.get_followers_count()

    assert caught.value.status == 503
    assert len(_requests_to(server, "GET", "/2/users/me")) == 4
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_unreachable_x_raises_server_error_after_retries(sleeps):
    with FakeXServer(QuietAudience(), SteppingClock()) as gone:
        url = gone.base_url
    client = XApiClient(url, TOKEN, max_retries=2, timeout=2, sleep=sleeps.append)

    with pytest.raises(XServerError) as caught:
        client.create_post("into the void")

    assert caught.value.status is None
    assert len(sleeps) == 2


def test_wrong_token_raises_auth_error_without_leaking_it(server, sleeps):
    secret = "sk-very-secret-wrong-token"
    client = XApiClient(server.base_url, secret, sleep=sleeps.append)

    with pytest.raises(XAuthError) as caught:
        client.create_post("hello")

    err = caught.value
    assert err.status == 401
    assert "access token" in str(err)
    assert secret not in str(err) and secret not in repr(err.args) and secret not in err.detail
    assert sleeps == []
    assert server.posts == {}


def test_credentials_callable_is_asked_on_every_request(server):
    issued = []

    def current_token() -> str:
        issued.append(TOKEN)
        return TOKEN

    client = XApiClient(server.base_url, current_token)
    client.create_post("one")
    client.create_post("two")
    assert len(issued) == 2


# --- account ---------------------------------------------------------------------------------


def test_followers_and_me(client, server):
    assert client.get_followers_count() == 4321
    assert _requests_to(server, "GET", "/2/users/me")[0][2] == {"user.fields": "public_metrics"}
    assert client.get_me() == {"id": server.user_id, "username": server.username}
    assert client.calls["user_read"] == 2


def test_user_id_is_looked_up_once_and_cached(client, server):
    client.create_post("something")
    since = START - timedelta(days=1)
    client.recent_own_posts(since)
    client.recent_own_posts(since)
    assert len(_requests_to(server, "GET", "/2/users/me")) == 1


def test_recent_own_posts_follows_pagination_and_respects_since(server):
    client = XApiClient(server.base_url, TOKEN, user_id=server.user_id)
    ids = _publish(client, 230)  # one minute apart, starting at START
    since = START + timedelta(minutes=20)

    posts = client.recent_own_posts(since)

    expected = [i for i in ids if server.posts[i].created_at >= since]
    assert [p.post_id for p in posts] == list(reversed(expected))  # newest first
    assert all(p.created_at is not None and p.created_at >= since for p in posts)
    assert posts[0].text == "post number 229"
    timeline = _requests_to(server, "GET", f"/2/users/{server.user_id}/tweets")
    assert len(timeline) == 3
    first_query = timeline[0][2]
    assert first_query["max_results"] == "100"
    assert first_query["start_time"] == "2026-03-01T12:20:00Z"
    assert first_query["tweet.fields"] == "created_at"
    assert "pagination_token" not in first_query
    assert all("pagination_token" in q for _, _, q, _ in timeline[1:])
    assert client.calls["owned_read"] == 210


def test_recent_own_posts_skips_deleted_posts(server):
    client = XApiClient(server.base_url, TOKEN, user_id=server.user_id)
    keep, drop = client.create_post("keep"), client.create_post("drop")
    client.delete_post(drop)

    assert [p.post_id for p in client.recent_own_posts(START - timedelta(hours=1))] == [keep]


def test_recent_own_posts_needs_an_aware_since(client):
    with pytest.raises(ValueError):
        client.recent_own_posts(datetime(2026, 1, 1))


def test_missing_token_gets_401_problem(server):
    response = requests.post(f"{server.base_url}/2/tweets", json={"text": "hi"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"
