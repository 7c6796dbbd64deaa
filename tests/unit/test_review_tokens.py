"""Review tokens: signed, expiring, for one decision; refused otherwise."""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core import review_tokens
from postloop.core.review_tokens import TokenRefused, TokenSigner

NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
KEY = b"k" * 32


def test_a_token_verifies_for_its_decision_until_it_expires():
    s = TokenSigner(KEY)
    tok = s.issue("demo", "d1", NOW)
    t = s.verify(tok, "demo", "d1", NOW + timedelta(hours=47))
    assert (t.account_id, t.decision_id) == ("demo", "d1") and len(t.nonce) >= 16
    with pytest.raises(TokenRefused, match="expired"):
        s.verify(tok, "demo", "d1", NOW + timedelta(hours=48))
    with pytest.raises(TokenRefused, match="another decision"):
        s.verify(tok, "demo", "d2", NOW)
    with pytest.raises(TokenRefused, match="another decision"):
        s.verify(tok, "other", "d1", NOW)


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),      # signature changed
    lambda t: TokenSigner(b"x" * 32).issue("demo", "d1", NOW),       # another key
    lambda t: "",
    lambda t: "no-dot",
    lambda t: t + ".x",
    lambda t: "a" * 5000,
])
def test_forged_or_malformed_tokens_are_refused(mangle):
    s = TokenSigner(KEY)
    with pytest.raises(TokenRefused):
        s.verify(mangle(s.issue("demo", "d1", NOW)), "demo", "d1", NOW)


def test_a_payload_changed_to_another_decision_or_a_later_expiry_fails_the_signature():
    import base64
    import json
    s = TokenSigner(KEY)
    payload, mac = s.issue("demo", "d1", NOW).split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["e"] += 10**6
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode() + "." + mac
    with pytest.raises(TokenRefused, match="bad signature"):
        s.verify(forged, "demo", "d1", NOW + timedelta(days=5))


def test_guard_off_a_forged_token_passes(monkeypatch):
    """The signature check is what refuses a forgery: with compare_digest always true, it passes."""
    monkeypatch.setattr(review_tokens.hmac, "compare_digest", lambda a, b: True)
    forged = TokenSigner(b"x" * 32).issue("demo", "d1", NOW)
    assert TokenSigner(KEY).verify(forged, "demo", "d1", NOW).decision_id == "d1"


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenSigner(b"short")
