"""Signed, expiring, single-use tokens for the review links in an approval message.

A token is `<payload>.<signature>`, both base64url: the payload names the account, the
decision, when the token expires and a random nonce; the signature is HMAC-SHA256 of the
payload with a secret only the functions read (Secrets Manager when deployed). `verify`
checks the signature (in constant time), the expiry and that the token is for the decision
the request names; the review function then spends the nonce with a conditional write, so
a token answers at most once.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

DEFAULT_TTL = timedelta(hours=48)
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 1024


class TokenRefused(PermissionError):
    """The token does not allow the request; the message says why, never the token."""


@dataclass(frozen=True)
class ReviewToken:
    account_id: str
    decision_id: str
    expires_at: datetime
    nonce: str


class TokenLedger(Protocol):
    def spend(self, nonce: str, expires_at: datetime) -> bool:
        """Record the nonce as used; False when it was used before (nothing is changed then)."""
        ...

    def spent(self, nonce: str) -> bool: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes):
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the review signing secret must hold at least {MIN_SECRET_BYTES} bytes")
        self._key = secret

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, account_id: str, decision_id: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> str:
        body = {"a": account_id, "d": decision_id, "e": int((now + ttl).timestamp()), "n": secrets.token_urlsafe(16)}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, account_id: str, decision_id: str, now: datetime) -> ReviewToken:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise TokenRefused("malformed token")
        payload, mac = token.split(".")
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac(payload).encode("ascii")):
            raise TokenRefused("bad signature")
        try:
            body = json.loads(_unb64(payload))
            t = ReviewToken(str(body["a"]), str(body["d"]), datetime.fromtimestamp(int(body["e"]), timezone.utc),
                            str(body["n"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise TokenRefused("malformed token") from None
        if (t.account_id, t.decision_id) != (account_id, decision_id):
            raise TokenRefused("the token is for another decision")
        if now >= t.expires_at:
            raise TokenRefused("the link has expired")
        return t


class MemoryTokenLedger:
    def __init__(self):
        self.used: dict[str, datetime] = {}

    def spend(self, nonce: str, expires_at: datetime) -> bool:
        if nonce in self.used:
            return False
        self.used[nonce] = expires_at
        return True

    def spent(self, nonce: str) -> bool:
        return nonce in self.used
