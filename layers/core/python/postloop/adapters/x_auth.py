"""How requests to X are authorised: OAuth 1.0a user context, OAuth 2.0 user tokens with refresh, or a bearer token.

The X secret (Secrets Manager) holds one JSON object whose `auth` says which:

* `{"auth": "oauth1", "consumer_key", "consumer_secret", "access_token", "access_token_secret"}` —
  requests are signed with HMAC-SHA1 (`requests-oauthlib`); the tokens never expire.
* `{"auth": "oauth2", "client_id", "client_secret" (confidential clients only), "access_token",
  "refresh_token", "expires_at"}` — the access token lives two hours. Refresh tokens are single-use:
  the new pair is written back to the secret before anything uses it, and refreshes are
  serialised by a lease so two invocations never spend the same refresh token.
* `{"auth": "bearer", "bearer_token"}` — a user access token managed elsewhere.

Messages name the credential, never its value.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Protocol

import requests

from postloop.core.x_errors import XAuthError

TOKEN_PATH = "/2/oauth2/token"
REFRESH_MARGIN = timedelta(minutes=5)   # refresh this long before the access token expires
LEASE_SECONDS = 30                      # a refresh takes one HTTP call and one secret write
PEER_WAIT_SECONDS = 10.0                # how long to wait for another invocation's refresh


class CredentialError(ValueError):
    """The X secret is missing a field or holds an unknown kind of credential."""


class CredentialStore(Protocol):
    """The X secret, read fresh and written back (Secrets Manager when deployed)."""

    def read(self) -> dict: ...

    def write(self, value: dict) -> None: ...


class Lease(Protocol):
    """A short exclusive lease across invocations (a conditional write in DynamoDB when deployed)."""

    def acquire(self, name: str, seconds: int) -> str | None:
        """An owner token if the lease was free (or expired), else None."""

    def release(self, name: str, owner: str) -> None: ...


class XAuth(Protocol):
    credential_name: str

    def prepare(self) -> tuple[dict[str, str], Any]:
        """Headers to add and a `requests` auth object (or None) for the next request."""

    def renew_after_unauthorized(self) -> bool:
        """Called once after a 401: True if new credentials were obtained and the call may be retried."""


def _need(secret: dict, key: str, where: str) -> str:
    value = secret.get(key)
    if not isinstance(value, str) or not value:
        raise CredentialError(f"{where}: '{key}' is missing")
    return value


class BearerToken:
    credential_name = "bearer access token"

    def __init__(self, token: Callable[[], str] | str):
        self._token = token

    def prepare(self) -> tuple[dict[str, str], Any]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}"}, None

    def renew_after_unauthorized(self) -> bool:
        return False


class OAuth1UserContext:
    credential_name = "OAuth 1.0a access token"

    def __init__(self, consumer_key: str, consumer_secret: str, access_token: str, access_token_secret: str):
        from requests_oauthlib import OAuth1   # only accounts that use OAuth 1.0a pay for the import
        # Signature in the Authorization header; JSON bodies are not signed (they are not form data).
        self._auth = OAuth1(consumer_key, client_secret=consumer_secret, resource_owner_key=access_token,
                            resource_owner_secret=access_token_secret, signature_type="AUTH_HEADER")

    def prepare(self) -> tuple[dict[str, str], Any]:
        return {}, self._auth

    def renew_after_unauthorized(self) -> bool:
        return False   # OAuth 1.0a tokens do not expire; a 401 means they were revoked


def _parse_expiry(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class OAuth2UserToken:
    """An OAuth 2.0 user access token, refreshed before it expires and after a 401."""

    credential_name = "OAuth 2.0 user access token"

    def __init__(self, store: CredentialStore, *, token_url: str, lease: Lease | None, lease_name: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 session: requests.Session | None = None, timeout: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep, where: str = "X secret"):
        self._store = store
        self._token_url = token_url
        self._lease = lease
        self._lease_name = lease_name
        self._clock = clock
        self._session = session or requests.Session()
        self._timeout = timeout
        self._sleep = sleep
        self._where = where
        self._creds: dict | None = None
        self.refreshes = 0

    # --- XAuth ---------------------------------------------------------------------------

    def prepare(self) -> tuple[dict[str, str], Any]:
        if self._creds is None:
            self._creds = self._checked(self._store.read())
        if not self._fresh(self._creds):
            self._creds = self._refresh(stale=self._creds["access_token"])
        return {"Authorization": f"Bearer {self._creds['access_token']}"}, None

    def renew_after_unauthorized(self) -> bool:
        if self._creds is None:
            return False
        self._creds = self._refresh(stale=self._creds["access_token"])
        return True

    # --- refresh -------------------------------------------------------------------------

    def _checked(self, creds: dict) -> dict:
        for key in ("client_id", "access_token", "refresh_token"):
            _need(creds, key, self._where)
        return creds

    def _fresh(self, creds: dict) -> bool:
        expiry = _parse_expiry(creds.get("expires_at"))
        return expiry is not None and self._clock() + REFRESH_MARGIN < expiry

    def _refresh(self, stale: str) -> dict:
        """New credentials: someone else's if they refreshed meanwhile, else our own refresh."""
        with self._held() as held:
            current = self._checked(self._store.read())
            # Another invocation refreshed while we waited: use its pair, never spend a refresh token twice.
            if current["access_token"] != stale and self._fresh(current):
                return current
            if not held:
                raise XAuthError(f"the {self.credential_name} in {self._where} expired and another invocation "
                                 "is refreshing it; try again shortly", status=None)
            return self._spend_refresh_token(current)

    @contextmanager
    def _held(self) -> Iterator[bool]:
        if self._lease is None:
            yield True
            return
        waited = 0.0
        owner = self._lease.acquire(self._lease_name, LEASE_SECONDS)
        while owner is None and waited < PEER_WAIT_SECONDS:
            self._sleep(0.5)
            waited += 0.5
            # The holder may be done already: its new pair is in the store.
            owner = self._lease.acquire(self._lease_name, LEASE_SECONDS)
        try:
            yield owner is not None
        finally:
            if owner is not None:
                self._lease.release(self._lease_name, owner)

    def _spend_refresh_token(self, current: dict) -> dict:
        form = {"grant_type": "refresh_token", "refresh_token": current["refresh_token"]}
        secret = current.get("client_secret")
        auth = None
        if secret:
            auth = (current["client_id"], secret)     # confidential client: HTTP Basic
        else:
            form["client_id"] = current["client_id"]  # public client: the id in the form
        try:
            response = self._session.post(self._token_url, data=form, auth=auth, timeout=self._timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise XAuthError(f"could not reach X to refresh the {self.credential_name} ({type(exc).__name__})",
                             status=None) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            raise XAuthError(
                f"X refused to refresh the {self.credential_name} in {self._where} "
                f"({response.status_code}{', ' + str(error) if error else ''}); authorise the account again "
                "and store the new token pair", status=response.status_code, title=str(error or ""))
        expires_in = body.get("expires_in")
        lifetime = timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else timedelta(hours=2)
        renewed = {**current, "access_token": body["access_token"],
                   # X rotates refresh tokens; keep the old one only if none came back.
                   "refresh_token": body.get("refresh_token") or current["refresh_token"],
                   "expires_at": _iso(self._clock() + lifetime)}
        try:
            self._store.write(renewed)    # before anything uses it: the old refresh token is spent
        except Exception as exc:
            raise XAuthError(f"X issued a new {self.credential_name} but it could not be saved to {self._where} "
                             f"({type(exc).__name__}); the account must be authorised again", status=None) from None
        self.refreshes += 1
        return renewed


def auth_from_secret(secret: dict, *, where: str, store: CredentialStore | None = None,
                     token_url: str | None = None, lease: Lease | None = None, lease_name: str = "",
                     clock: Callable[[], datetime] | None = None, timeout: float = 10.0) -> XAuth:
    """The `XAuth` the secret describes; a secret without `auth` but with `bearer_token` is a bearer token."""
    if not isinstance(secret, dict):
        raise CredentialError(f"{where} must hold a JSON object")
    kind = secret.get("auth") or ("bearer" if "bearer_token" in secret else None)
    if kind == "oauth1":
        return OAuth1UserContext(*(_need(secret, k, where) for k in
                                   ("consumer_key", "consumer_secret", "access_token", "access_token_secret")))
    if kind == "oauth2":
        for key in ("client_id", "access_token", "refresh_token"):
            _need(secret, key, where)
        if store is None or token_url is None:
            raise CredentialError(f"{where}: OAuth 2.0 needs a writable secret and X's token URL")
        extra = {"clock": clock} if clock else {}
        return OAuth2UserToken(store, token_url=token_url, lease=lease, lease_name=lease_name or where,
                               timeout=timeout, where=where, **extra)
    if kind == "bearer":
        return BearerToken(_need(secret, "bearer_token", where))
    raise CredentialError(f"{where}: 'auth' must be \"oauth1\", \"oauth2\" or \"bearer\"")
