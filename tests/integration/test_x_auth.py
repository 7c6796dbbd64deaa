"""X user-context auth against the local fake X on 127.0.0.1: OAuth 1.0a signatures, OAuth 2.0 refresh.

OAuth 2.0 refreshes run against Secrets Manager and a DynamoDB lease (moto):
the new token pair is stored before use, and concurrent refreshes from several
"containers" spend the single-use refresh token exactly once.
"""
from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws

from postloop.adapters.credentials import DynamoLease, SecretsManagerCredentials
from postloop.adapters.tables import TableNames, bind_tables
from postloop.adapters.x_api import XApiClient
from postloop.adapters.x_auth import (CredentialError, OAuth1UserContext, OAuth2UserToken, TOKEN_PATH,
                                      auth_from_secret)
from postloop.core.x_errors import XAuthError
from postloop_local.fake_x import FakeXServer, QuietAudience
from postloop_local.fake_x_auth import OAuth1Check, OAuth2Check

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
OAUTH1 = {"consumer_key": "ck-visible-1", "consumer_secret": "cs-SECRET-1", "access_token": "at-visible-1",
          "access_token_secret": "ats-SECRET-1"}


class Clock:
    def __init__(self):
        self.t = START

    def __call__(self):
        return self.t


def _secret_values(d: dict) -> list[str]:
    return [v for k, v in d.items() if isinstance(v, str) and k not in ("auth", "expires_at")]


# --- OAuth 1.0a ---------------------------------------------------------------------------


def test_oauth1_signed_requests_post_and_read():
    check = OAuth1Check(**OAUTH1)
    with FakeXServer(QuietAudience(), Clock(), auth=check) as fake:
        client = XApiClient(fake.base_url, OAuth1UserContext(**OAUTH1), sleep=lambda s: None)
        post_id = client.create_post("signed with HMAC-SHA1")
        assert fake.posts[post_id].text == "signed with HMAC-SHA1"
        # Query parameters are part of the signature: a read with ids and fields verifies too.
        assert post_id in client.get_metrics([post_id]).metrics
        assert client.get_followers_count() >= 0
        assert len(check.seen_nonces) == 3


def test_oauth1_with_a_wrong_secret_names_the_credential_and_not_its_value():
    with FakeXServer(QuietAudience(), Clock(), auth=OAuth1Check(**OAUTH1)) as fake:
        wrong = {**OAUTH1, "access_token_secret": "ats-WRONG-9"}
        client = XApiClient(fake.base_url, OAuth1UserContext(**wrong), sleep=lambda s: None)
        with pytest.raises(XAuthError) as caught:
            client.create_post("never published")
        message = str(caught.value)
        assert "OAuth 1.0a access token" in message and caught.value.status == 401
        assert not any(v in message for v in [*_secret_values(OAUTH1), "ats-WRONG-9"])
        assert fake.live_posts() == []


# --- OAuth 2.0 ----------------------------------------------------------------------------


@pytest.fixture()
def aws():
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    with mock_aws():
        tables = bind_tables(TableNames("c", "o", "b", "m", "locks-test"), "us-east-1")
        tables.locks.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        yield boto3.client("secretsmanager", region_name="us-east-1"), tables.locks
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _oauth2_setup(sm, clock, *, client_secret=None):
    check = OAuth2Check(clock, client_id="client-visible", client_secret=client_secret)
    pair = check.issue()
    secret = {"auth": "oauth2", "client_id": "client-visible", "access_token": pair["access_token"],
              "refresh_token": pair["refresh_token"],
              "expires_at": (clock() + timedelta(seconds=pair["expires_in"])).isoformat()}
    if client_secret:
        secret["client_secret"] = client_secret
    sm.create_secret(Name="postloop/x/acct", SecretString=json.dumps(secret))
    return check, secret


def _client(fake, sm, locks, clock, *, lease=True, store=None, sleep=lambda s: None):
    store = store or SecretsManagerCredentials(sm, "postloop/x/acct")
    auth = OAuth2UserToken(store, token_url=fake.base_url + TOKEN_PATH,
                           lease=DynamoLease(locks, clock) if lease else None, lease_name="x-oauth2:acct",
                           clock=clock, sleep=sleep, where="secret postloop/x/acct")
    return XApiClient(fake.base_url, auth, sleep=lambda s: None), auth


def _stored(sm) -> dict:
    return json.loads(sm.get_secret_value(SecretId="postloop/x/acct")["SecretString"])


@pytest.mark.parametrize("client_secret", [None, "confidential-SECRET"])
def test_an_expired_access_token_is_refreshed_and_the_new_pair_stored_before_use(aws, client_secret):
    sm, locks = aws
    clock = Clock()
    check, first = _oauth2_setup(sm, clock, client_secret=client_secret)
    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        client, auth = _client(fake, sm, locks, clock)
        client.create_post("before expiry")
        assert auth.refreshes == 0 and check.refreshes == 0

        clock.t += timedelta(hours=2)          # the access token has expired
        client.create_post("after expiry")
        assert auth.refreshes == 1 and check.refreshes == 1
        stored = _stored(sm)
        assert stored["refresh_token"] != first["refresh_token"]          # rotated
        assert stored["access_token"] != first["access_token"]
        assert datetime.fromisoformat(stored["expires_at"].replace("Z", "+00:00")) == clock.t + timedelta(hours=2)
        # The request after the refresh used exactly the stored token.
        assert check.authorised("GET", "", {"Authorization": f"Bearer {stored['access_token']}"})
        assert len(fake.live_posts()) == 2 and not check.revoked


def test_concurrent_refreshes_spend_the_refresh_token_once(aws):
    sm, locks = aws
    clock = Clock()
    check, _ = _oauth2_setup(sm, clock)
    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        # Four containers, each with its own client, all finding the token expired at once.
        # Real sleeps while waiting for the lease: the holder's refresh takes real time.
        clients = [_client(fake, sm, locks, clock, sleep=time.sleep)[0] for _ in range(4)]
        for c in clients:
            c.get_followers_count()
        clock.t += timedelta(hours=3)
        barrier = threading.Barrier(len(clients))
        errors: list[BaseException] = []

        def call(c):
            barrier.wait()
            try:
                c.get_followers_count()
            except BaseException as err:   # collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=call, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert errors == []
        assert check.refreshes == 1 and not check.revoked


class _RacingStore(SecretsManagerCredentials):
    """Both readers get the same (expired) pair before either writes: the race a lease prevents."""

    def __init__(self, client, secret_id, barrier):
        super().__init__(client, secret_id)
        self._barrier = barrier
        self._reads = 0

    def read(self):
        value = super().read()
        self._reads += 1
        if self._reads > 1:   # the refresh's re-read, not the first load
            try:
                self._barrier.wait(timeout=2)
            except threading.BrokenBarrierError:
                pass
        return value


def test_without_the_lease_two_refreshes_lock_the_account_out(aws):
    # The control for the test above: it shows what the lease prevents.
    sm, locks = aws
    clock = Clock()
    check, _ = _oauth2_setup(sm, clock)
    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        barrier = threading.Barrier(2)
        clients = [_client(fake, sm, locks, clock, lease=False,
                           store=_RacingStore(sm, "postloop/x/acct", barrier))[0] for _ in range(2)]
        for c in clients:
            c.get_followers_count()
        clock.t += timedelta(hours=3)
        errors: list[BaseException] = []

        def call(c):
            try:
                c.get_followers_count()
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=call, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert check.revoked and errors and all(isinstance(e, XAuthError) for e in errors)


def test_a_401_with_an_unexpired_token_refreshes_once_and_retries(aws):
    sm, locks = aws
    clock = Clock()
    check, first = _oauth2_setup(sm, clock)
    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        client, auth = _client(fake, sm, locks, clock)
        client.get_followers_count()
        check._access.pop(first["access_token"])      # revoked early on X's side
        client.create_post("still goes out")
        assert auth.refreshes == 1 and len(fake.live_posts()) == 1


def test_a_refused_refresh_names_the_credential_and_secret_but_no_value(aws):
    sm, locks = aws
    clock = Clock()
    check, first = _oauth2_setup(sm, clock)
    check._refresh_live.clear()                       # X no longer knows the refresh token
    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        client, _ = _client(fake, sm, locks, clock)
        clock.t += timedelta(hours=3)
        with pytest.raises(XAuthError) as caught:
            client.create_post("not published")
        message = str(caught.value)
        assert "OAuth 2.0 user access token" in message and "secret postloop/x/acct" in message
        assert "invalid_grant" in message and "authorise the account again" in message
        assert not any(v in message for v in _secret_values(first))
        assert _stored(sm) == first                   # nothing half-written
        assert fake.live_posts() == []


def test_a_refresh_that_cannot_be_stored_is_not_used(aws):
    sm, locks = aws
    clock = Clock()
    check, _ = _oauth2_setup(sm, clock)

    class ReadOnly(SecretsManagerCredentials):
        def write(self, value):
            raise RuntimeError("AccessDenied")

    with FakeXServer(QuietAudience(), clock, auth=check) as fake:
        client, _ = _client(fake, sm, locks, clock, store=ReadOnly(sm, "postloop/x/acct"))
        clock.t += timedelta(hours=3)
        with pytest.raises(XAuthError, match="could not be saved"):
            client.create_post("not published")
        assert fake.live_posts() == []


def test_the_lease_is_exclusive_until_released_or_expired(aws):
    _, locks = aws
    clock = Clock()
    lease = DynamoLease(locks, clock)
    owner = lease.acquire("x", 30)
    assert owner and lease.acquire("x", 30) is None
    lease.release("x", "someone-else")                # not theirs to release
    assert lease.acquire("x", 30) is None
    clock.t += timedelta(seconds=31)                  # expired: free again, whatever TTL did
    second = lease.acquire("x", 30)
    assert second and second != owner
    lease.release("x", second)
    assert lease.acquire("x", 30)


# --- the secret's shape -------------------------------------------------------------------


@pytest.mark.parametrize("secret, missing", [
    ({"auth": "oauth1", "consumer_key": "a", "consumer_secret": "b", "access_token": "c"}, "access_token_secret"),
    ({"auth": "oauth2", "client_id": "a", "access_token": "b"}, "refresh_token"),
    ({"auth": "bearer"}, "bearer_token"),
])
def test_an_incomplete_secret_names_the_missing_field(secret, missing):
    with pytest.raises(CredentialError, match=f"secret s: '{missing}' is missing"):
        auth_from_secret(secret, where="secret s", store=object(), token_url="http://127.0.0.1:1" + TOKEN_PATH)


def test_an_unknown_kind_of_credential_is_refused():
    with pytest.raises(CredentialError, match="'auth' must be"):
        auth_from_secret({"auth": "basic", "user": "u"}, where="secret s")
    assert auth_from_secret({"bearer_token": "t"}, where="secret s").credential_name == "bearer access token"
