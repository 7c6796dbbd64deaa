"""How the fake X API checks who is calling: a bearer token, OAuth 1.0a signatures, or OAuth 2.0 user tokens.

OAuth 1.0a requests are verified the way X does: the HMAC-SHA1 signature over
the method, URL and parameters with the consumer and token secrets. OAuth 2.0
access tokens expire on the fake's clock, and refresh tokens are single-use
and rotate; presenting a refresh token that was already used revokes the whole
token family, as authorisation servers do on reuse — that is how two careless
concurrent refreshes lock an account out.
"""
from __future__ import annotations

import base64
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

TOKEN_PATH = "/2/oauth2/token"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class BearerCheck:
    """Accepts one fixed bearer token (the simplest user-context stand-in)."""

    def __init__(self, token: str):
        self.token = token

    def authorised(self, method: str, url: str, headers: Any) -> bool:
        scheme, _, value = str(headers.get("Authorization", "")).partition(" ")
        return scheme.lower() == "bearer" and _same(value.strip(), self.token)


@dataclass
class OAuth1Check:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    seen_nonces: set[str] = field(default_factory=set)

    def authorised(self, method: str, url: str, headers: Any) -> bool:
        header = str(headers.get("Authorization", ""))
        if not header.startswith("OAuth "):
            return False
        try:
            params = dict(parse_authorization_header(header))
        except ValueError:
            return False
        if not (_same(params.get("oauth_consumer_key", ""), self.consumer_key)
                and _same(params.get("oauth_token", ""), self.access_token)
                and params.get("oauth_signature_method") == "HMAC-SHA1"):
            return False
        nonce = params.get("oauth_nonce", "")
        if not nonce or nonce in self.seen_nonces:   # a replayed request is refused
            return False
        query = url.split("?", 1)[1] if "?" in url else ""
        request = OAuthRequest(url, method, headers={"Authorization": header})
        # JSON bodies are not part of the signature; only the query and the OAuth parameters are.
        request.params = oauth1_signature.collect_parameters(uri_query=query, headers={"Authorization": header},
                                                             exclude_oauth_signature=True)
        request.signature = unquote(params.get("oauth_signature", ""))   # the header carries it percent-encoded
        ok = oauth1_signature.verify_hmac_sha1(request, self.consumer_secret, self.access_token_secret)
        if ok:
            self.seen_nonces.add(nonce)
        return ok


class OAuth2Check:
    """OAuth 2.0 user tokens: expiring access tokens, single-use rotating refresh tokens."""

    def __init__(self, clock: Callable[[], datetime], *, client_id: str, client_secret: str | None = None,
                 lifetime: timedelta = timedelta(hours=2)):
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self._access: dict[str, datetime] = {}     # token -> expiry
        self._refresh_live: set[str] = set()
        self._refresh_used: set[str] = set()
        self.revoked = False
        self.refreshes = 0
        self._lock = threading.Lock()

    def issue(self) -> dict:
        """A new token pair, as X's token endpoint returns it."""
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = self.clock() + self.lifetime
        self._refresh_live.add(refresh)
        return {"token_type": "bearer", "expires_in": int(self.lifetime.total_seconds()), "access_token": access,
                "scope": "tweet.read tweet.write users.read offline.access", "refresh_token": refresh}

    def authorised(self, method: str, url: str, headers: Any) -> bool:
        scheme, _, value = str(headers.get("Authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or self.revoked:
            return False
        expiry = self._access.get(value.strip())
        return expiry is not None and self.clock() < expiry

    def token_endpoint(self, headers: Any, raw_body: bytes) -> tuple[int, dict]:
        """POST /2/oauth2/token with grant_type=refresh_token."""
        form = dict(parse_qsl(raw_body.decode("utf-8", "replace")))
        client_id = form.get("client_id", "")
        basic = str(headers.get("Authorization", ""))
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return 401, {"error": "invalid_client"}
            if self.client_secret is None or not _same(secret, self.client_secret):
                return 401, {"error": "invalid_client"}
        elif self.client_secret is not None:
            return 401, {"error": "invalid_client", "error_description": "client authentication required"}
        if not _same(client_id, self.client_id):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        token = form.get("refresh_token", "")
        with self._lock:
            if token in self._refresh_used or self.revoked:
                # Reuse of a spent refresh token: revoke everything issued to this grant.
                self.revoked = True
                self._access.clear()
                self._refresh_live.clear()
                return 400, {"error": "invalid_grant", "error_description": "refresh token already used"}
            if token not in self._refresh_live:
                return 400, {"error": "invalid_grant", "error_description": "unknown refresh token"}
            self._refresh_live.discard(token)
            self._refresh_used.add(token)
            self.refreshes += 1
            return 200, self.issue()
