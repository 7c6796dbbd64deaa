"""The review page behind a Lambda function URL: a draft awaiting approval, its scores, an
editable text, and approve / reject with a reason.

Every request needs a valid review token (core/review_tokens.py) for the decision it names;
anything else gets a 403 page that says why and writes nothing. Showing the page and
re-checking an edited text read only; approving or rejecting spends the token with a
conditional write first, then answers through core/approval.py exactly as the approve
function does (the paused workflow resumes with its task token). An edited text is rescored
by plan's checks (core/review.py) and cannot be approved while any check rejects it.
"""
from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode

from postloop.core.approval import ApprovalDeps, ApprovalError, answer_approval
from postloop.core.records import Decision, Status
from postloop.core.review_tokens import TokenLedger, TokenRefused, TokenSigner

MAX_BODY_BYTES = 32_000
REVIEWER = "review link"
ENV_SECRET_ID = "POSTLOOP_REVIEW_SECRET_ID"
ENV_REVIEW_URL = "POSTLOOP_REVIEW_URL"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    # No script at all; the page's own form only; the token in the URL is never sent elsewhere.
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class ReviewDeps:
    signer: TokenSigner
    ledger: TokenLedger
    decisions: Any          # DecisionStore
    resumer: Any            # WorkflowResumer
    account: Callable[[str], Any]       # account id -> AccountConfig (KeyError-like for unknown)
    checkers: Callable[[Any], Any]      # AccountConfig -> moderator/judge/embedder holder
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)


def review_links(signer: TokenSigner, base_url: str, d: Decision, now: datetime) -> dict[str, str]:
    """The approve and reject links of an approval message (one token, the action preselected)."""
    token = signer.issue(d.account_id, d.decision_id, now)
    base = base_url.rstrip("/") + "/"
    return {act: base + "?" + urlencode({"a": d.account_id, "d": d.decision_id, "do": act, "t": token})
            for act in ("approve", "reject")}


def _resp(status: int, body: str) -> dict:
    return {"statusCode": status, "headers": dict(HEADERS), "body": body}


def _page(title: str, inner: str) -> str:
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>body{{font:16px/1.45 system-ui,sans-serif;max-width:44em;"
            "margin:2em auto;padding:0 1em}textarea{width:100%;font:inherit}table{border-collapse:collapse}"
            "td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}.bad{color:#a00}"
            ".ok{color:#060}button{font:inherit;margin-right:.6em;padding:.3em 1em}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{inner}</body></html>")


def _refused(why: str, status: int = 403) -> dict:
    return _resp(status, _page("This link cannot be used", f"<p id=refused>{html.escape(why)}</p>"))


def _params(event: dict) -> dict[str, str]:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "GET").upper()
    raw = event.get("rawQueryString") or ""
    if method == "POST":
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        if len(body.encode()) > MAX_BODY_BYTES:
            raise ValueError("the request is too large")
        raw = body
    out: dict[str, str] = {}
    for k, v in parse_qs(raw, keep_blank_values=True, max_num_fields=20).items():
        out[k] = v[0]
    return out


def _scores_table(rows: list[tuple[str, str]]) -> str:
    return "<table id=scores>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                                         for k, v in rows) + "</table>"


def _decision_scores(d: Decision) -> list[tuple[str, str]]:
    rows = [("type", str(d.content_type)), ("planned for", d.scheduled_for.isoformat() if d.scheduled_for else "-")]
    if d.features:
        rows += [("quality", f"{d.features.quality:.3f}"), ("novelty", f"{d.features.novelty:.3f}")]
    if d.prediction and d.prediction.engagement_rate is not None:
        rows.append(("predicted engagement", f"{d.prediction.engagement_rate:.2%}"))
    return rows


def _review_page(d: Decision, p: dict[str, str], text: str, note: str = "", rescored=None) -> str:
    rows = _decision_scores(d)
    if rescored is not None:
        rows += [("edited: quality", f"{rescored.quality:.3f}"), ("edited: novelty", f"{rescored.novelty:.3f}"),
                 ("edited: verdict", "rejected: " + "; ".join(rescored.reasons) if rescored.reasons else "passes")]
    hidden = "".join(f"<input type=hidden name={k} value='{html.escape(p.get(k, ''), quote=True)}'>"
                     for k in ("a", "d", "t"))
    preselected = p.get("do") if p.get("do") in ("approve", "reject") else "approve"
    first, second = ("approve", "reject") if preselected == "approve" else ("reject", "approve")
    label = {"approve": "Approve", "reject": "Reject"}
    return _page(f"Review a post for {d.account_id}", (
        f"<p>Decision <code>{html.escape(d.decision_id)}</code></p>{_scores_table(rows)}"
        + (f"<p id=note class={'bad' if rescored is not None and rescored.reasons else 'ok'}>{html.escape(note)}</p>"
           if note else "")
        + "<form method=post action='./'>" + hidden
        + "<p><label for=text>Text (a line holding only --- separates the parts of a thread)</label><br>"
        + f"<textarea id=text name=text rows=8>{html.escape(text)}</textarea></p>"
        + "<p><label for=reason>Reason (optional)</label><br><input id=reason name=reason size=60></p>"
        + f"<p><button id={first} name=action value={first}>{label[first]}</button>"
        + f"<button id={second} name=action value={second}>{label[second]}</button>"
        + "<button id=check name=action value=check>Check the edited text</button></p></form>"))


def _text_of(d: Decision) -> str:
    return "\n---\n".join(d.parts)


def handle(event: dict, deps: ReviewDeps) -> dict:
    """One function-URL request → one function-URL response."""
    from postloop.core.review import EditRejected, apply_edit, rescore, split_parts
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "GET").upper()
    path = event.get("rawPath") or "/"
    if method not in ("GET", "POST") or path != "/":
        return _refused("not found", 404)
    try:
        p = _params(event)
    except (ValueError, UnicodeDecodeError) as err:
        return _refused(str(err) if isinstance(err, ValueError) else "unreadable request", 400)
    now = deps.clock()
    try:
        token = deps.signer.verify(p.get("t", ""), p.get("a", ""), p.get("d", ""), now)
    except TokenRefused as err:
        return _refused(str(err))
    if deps.ledger.spent(token.nonce):
        return _refused("this link has already been used")
    d = deps.decisions.get(token.account_id, token.decision_id)
    if d is None:
        return _refused("the decision no longer exists", 404)
    if d.status is not Status.AWAITING_APPROVAL:
        return _refused(f"this post is no longer awaiting approval (it is {d.status.value})", 409)
    if method == "GET":
        return _resp(200, _review_page(d, p, _text_of(d)))

    action = p.get("action", "")
    if action not in ("approve", "reject", "check"):
        return _refused("unknown action", 400)
    text = p.get("text", _text_of(d))
    reason = (p.get("reason") or "").strip()[:500] or None
    config = deps.account(d.account_id)
    edit, rescored = None, None
    edited = [s.strip() for s in split_parts(text)] != [s.strip() for s in d.parts]
    if action == "check" or (action == "approve" and edited):
        try:
            rescored = rescore(config, d, split_parts(text), deps.decisions, deps.checkers(config))
        except EditRejected as err:
            return _resp(422, _review_page(d, p, text, str(err)))
        if action == "check" or rescored.reasons:
            note = ("The edited text passes plan's checks." if not rescored.reasons
                    else "The edited text fails plan's checks and cannot be approved: " + "; ".join(rescored.reasons))
            return _resp(200 if action == "check" else 422, _review_page(d, p, text, note, rescored))
        edit = apply_edit(config, rescored, REVIEWER)
    # Spent before anything else is written: a second request with the same token stops here.
    if not deps.ledger.spend(token.nonce, token.expires_at):
        return _refused("this link has already been used")
    try:
        res = answer_approval(d.account_id, d.decision_id, action == "approve", REVIEWER, now,
                              ApprovalDeps(deps.decisions, deps.resumer), reason=reason, edit=edit)
    except ApprovalError as err:
        return _refused(str(err), 409)
    done = "approved" if action == "approve" else "rejected"
    return _resp(200, _page(f"Post {done}", f"<p id=done>Decision <code>{html.escape(d.decision_id)}</code> "
                                             f"is {html.escape(res.decision.status.value)}"
                                             + (" with your edit" if edit else "") + ".</p>"))


def signer_from_secret(value: Any) -> TokenSigner:
    """The signer from the secret's value: a string, or JSON {"key": "..."}."""
    if isinstance(value, dict):
        value = value.get("key")
    if not isinstance(value, str) or not value:
        raise ValueError("the review secret must be a string or {\"key\": \"...\"}")
    return TokenSigner(value.encode("utf-8"))


def review_settings(env=None) -> tuple[str | None, str | None]:
    """(signing secret id, the review page's URL) from the environment; None where unset."""
    env = os.environ if env is None else env
    return env.get(ENV_SECRET_ID) or None, env.get(ENV_REVIEW_URL) or None


def settings_from_env(env=None) -> tuple[str, str | None]:
    env = os.environ if env is None else env
    secret_id = env.get(ENV_SECRET_ID)
    if not secret_id:
        raise RuntimeError(f"{ENV_SECRET_ID} is not set: the review function needs the signing secret's id")
    return secret_id, env.get(ENV_REVIEW_URL)
