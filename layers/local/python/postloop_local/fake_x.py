"""A local stand-in for X API v2, served over real HTTP on 127.0.0.1.

It keeps one account's posts in memory, asks an audience model for metrics and followers, and
answers with the shapes X's OpenAPI spec (v2.167) describes, so the real client runs unchanged
against it in tests and in the simulator. Faults can be injected per request.

It is no kinder than X where the loop's correctness depends on it:

* post text comes back HTML-escaped (`&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`), in the create
  answer and in every read, as X's v2 answers carry it;
* errors come in the shapes X uses, which differ by kind: problem details with the cause in
  `title` and `detail` (401, 403, 404, 429, 500); validation problems whose `errors[]` members
  carry a `message` (a bad parameter) or only their own `title` and `detail` (a reply to a
  post that is gone); and the spec's plain `Error`, `{code, message}` as application/json (503);
* the account's timeline (`GET /2/users/{id}/tweets`) returns only the account's own posts, within
  `since_id`/`until_id` (exclusive) and `start_time`/`end_time`, without replies when asked, at most
  `max_results` (5-100) a page, no further back than X's reach (3,200 posts, 800 without replies), and
  metrics only when its field list asks for them; non-public ones need the account's access;
* every answer X would bill is written in `ledger` at X's list prices (its own table, `X_PRICES_USD`);
* its refusal of a text the account already holds can be switched off
  (`duplicate_refusal=False`): X does not document it as a guarantee, so the loop must not
  need it.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Protocol
from urllib.parse import parse_qsl, urlsplit

from postloop_local.fake_x_auth import TOKEN_PATH, BearerCheck

MAX_WEIGHTED_LENGTH = 280
MAX_IDS_PER_LOOKUP = 100
TIMELINE_REACH, TIMELINE_REACH_NO_REPLIES = 3200, 800   # how far back X serves an account's timeline
_URL_WEIGHT = 23
_X_EPOCH_MS = 1288834974657  # the epoch X's snowflake ids count from
_POST_ID = re.compile(r"^[0-9]{1,19}$")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_METRIC_KEYS = ("impression_count", "like_count", "retweet_count", "reply_count", "quote_count", "bookmark_count")

_PROBLEM_INVALID = "https://api.x.com/2/problems/invalid-request"
_PROBLEM_NOT_FOUND = "https://api.x.com/2/problems/resource-not-found"
_PROBLEM_INTERNAL = "https://api.x.com/2/problems/internal-error"
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
_GONE_PARENT_DETAIL = "Your post cannot be a reply to a post that is deleted or not visible to you."
REPLY_REFUSED_DETAIL = ("Reply to this conversation is not allowed because you have not been mentioned or "
                        "otherwise engaged by the author of the post you are replying to.")


class Audience(Protocol):
    def on_post(self, post_id: str, text: str, created_at: datetime, reply_to: str | None) -> None: ...

    def metrics(self, post_id: str, now: datetime) -> dict: ...

    def followers(self, now: datetime) -> int: ...


class QuietAudience:
    """An audience nobody is in: 100 followers forever and no engagement at all."""

    def on_post(self, post_id: str, text: str, created_at: datetime, reply_to: str | None) -> None:
        return None

    def metrics(self, post_id: str, now: datetime) -> dict:
        return {key: 0 for key in _METRIC_KEYS}

    def followers(self, now: datetime) -> int:
        return 100


@dataclass
class StoredPost:
    post_id: str
    text: str
    created_at: datetime
    reply_to: str | None
    author_id: str
    deleted: bool = False


@dataclass
class ScheduledFault:
    """What a fault schedule makes of one request (see `FakeXServer(fault_schedule=...)`).

    `status` None keeps the real answer. `handle_first` handles the request for real before
    answering `status` (a post is created although the caller is told otherwise). `delay` holds
    the answer back that many seconds, outside the lock: past the client's timeout, the caller
    never hears it, which is how a timeout looks from the client's side.
    """

    status: int | None = None
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    handle_first: bool = False
    delay: float = 0.0


# (method, path, query, JSON body) -> what to do with the request, or None to answer it normally.
FaultSchedule = Callable[[str, str, dict, Any], "ScheduledFault | None"]


@dataclass
class _Fault:
    method: str
    path_prefix: str
    status: int
    body: dict | None
    headers: dict[str, str]
    remaining: int
    after: Callable[[int, dict], None] | None


def weighted_length(text: str) -> int:
    """Length of `text` as X counts it, simplified: each URL weighs 23, characters above
    U+10FF (emoji, CJK) weigh 2, everything else 1, after NFC normalisation."""
    text = unicodedata.normalize("NFC", text)
    urls = _URL.findall(text)
    rest = _URL.sub("", text)
    return len(urls) * _URL_WEIGHT + sum(2 if ord(ch) > 0x10FF else 1 for ch in rest)


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> dict:
    """A problem-details body as X writes them."""
    return {"title": title, "detail": detail, "type": type_, "status": status, **extra}


def reply_refused() -> dict:
    """X's 403 for a reply the account may not make (the conversation's reply settings)."""
    return problem(403, "Forbidden", REPLY_REFUSED_DETAIL)


def plain_error(code: int, message: str) -> dict:
    """The spec's `Error` body, `{code, message}`, served as application/json: no title, no detail."""
    return {"code": code, "message": message}


def escape_text(text: str) -> str:
    """A post's text as X's v2 answers carry it: `&`, `<` and `>` HTML-escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _default_fault_body(status: int) -> dict:
    if status == 400:
        return problem(400, "Invalid Request", "One or more parameters to your request was invalid.", _PROBLEM_INVALID)
    if status == 401:
        return problem(401, "Unauthorized", "Unauthorized")
    if status == 403:
        return problem(403, "Forbidden", "You are not permitted to perform this action.")
    if status == 404:
        return problem(404, "Not Found Error", "Not found.", _PROBLEM_NOT_FOUND, resource_type="tweet")
    if status == 429:
        return problem(429, "Too Many Requests", "Too Many Requests")
    if status == 503:
        # Overload answers carry only a code and a message (v1.1's 130, "Over capacity").
        return plain_error(130, "Over capacity")
    if status >= 500:
        return problem(status, "Internal Error", "The server failed to handle the request.", _PROBLEM_INTERNAL)
    return {}


_PRIVATE_FIELDS = {"non_public_metrics", "organic_metrics"}

# What X bills, per unit, by kind: its pay-per-use list prices since 2026-02-06 (the project's platform
# notes), written here on their own rather than imported from postloop.core.spend, so that the ledger is
# an independent account of what a run would cost. Reads are billed per post (or user) returned, never
# for an error; a create per post made. Post analytics' price is unconfirmed: a post read per post.
X_PRICES_USD = {
    "post_create": 0.015,
    "post_create_with_url": 0.20,
    "post_read": 0.005,
    "user_read": 0.010,
    "owned_read": 0.001,
    "analytics_read": 0.005,
}


@dataclass(frozen=True)
class LedgerEntry:
    """One billed answer: `units` of `kind`, for the request numbered `request` in `requests_log`
    (not a time: reading the clock may move a test's clock)."""

    kind: str
    units: int
    usd: float
    request: int


class FakeXServer:
    """X API v2 for one account on an ephemeral 127.0.0.1 port.

    `posts` maps post id to `StoredPost` (text as written, unescaped); `requests_log` records
    every request as (method, path, query dict, JSON body or None); `ledger` what X would bill
    for each answer given (`X_PRICES_USD`, `billed_usd`). With `duplicate_refusal`
    (the default) a create of a text the account holds live is refused with 403, as X usually
    does; without it the post is made again. Either way the text is noted in `repeated_creates`
    (and, when refused, in `duplicate_refusals`). All state is guarded by one lock.
    """

    def __init__(
        self,
        audience: Audience,
        clock: Callable[[], datetime],
        *,
        token: str = "local-test-token",
        user_id: str = "1000000001",
        username: str = "postloop_sim",
        auth: Any = None,
        private_metrics: bool = True,
        analytics: bool = True,
        fault_schedule: FaultSchedule | None = None,
        duplicate_refusal: bool = True,
    ):
        self.audience = audience
        self.clock = clock
        self.user_id = user_id
        self.username = username
        # Who may call: a fixed bearer token unless an OAuth check is given (fake_x_auth).
        self.auth = auth if auth is not None else BearerCheck(token)
        # Whether the account's access includes non-public metrics and post analytics.
        self.private_metrics = private_metrics
        self.analytics = analytics
        self.posts: dict[str, StoredPost] = {}
        self.requests_log: list[tuple[str, str, dict[str, str], Any]] = []
        # What X would bill for every answer given (X_PRICES_USD): the truth spend records are checked against.
        self.ledger: list[LedgerEntry] = []
        self._faults: list[_Fault] = []
        # Consulted for every request that no `inject` matched, under the lock; a fault run's plan.
        self.fault_schedule = fault_schedule
        self.duplicate_refusal = duplicate_refusal
        self.duplicate_refusals: list[str] = []   # texts of creates refused: the account already holds them
        self.repeated_creates: list[str] = []     # texts sent again while live, refused or made twice
        self._last_id = 0
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url: str | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> str:
        """Start serving on a free port; returns the base URL (http://127.0.0.1:PORT)."""
        if self._httpd is not None:
            assert self.base_url is not None
            return self.base_url
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        # A short poll interval keeps stop() quick: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-x", daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
        return self.base_url

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> FakeXServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls -------------------------------------------------------------------

    def inject(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        body: dict | None = None,
        headers: dict | None = None,
        times: int = 1,
        after: Callable[[int, dict], None] | None = None,
    ) -> None:
        """Answer the next `times` requests whose method matches and whose path starts with
        `path_prefix` with `status` (and `body`, or X's usual body for that status).

        With `after`, each matching request is first handled for real, so its effects happen
        (a post is created, say), and `after(real_status, real_body)` is called before the injected
        answer replaces the real one: X did the work but the caller never heard.
        """
        with self._lock:
            self._faults.append(
                _Fault(method.upper(), path_prefix, status, body, dict(headers or {}), times, after)
            )

    def billed_usd(self, *kinds: str) -> float:
        """What X would have billed so far, for `kinds` only when given."""
        with self._lock:
            return sum(e.usd for e in self.ledger if not kinds or e.kind in kinds)

    def _bill(self, kind: str, units: int) -> None:
        if units > 0:
            self.ledger.append(LedgerEntry(kind, units, units * X_PRICES_USD[kind], len(self.requests_log) - 1))

    def live_posts(self) -> list[StoredPost]:
        """Posts not deleted, oldest first."""
        with self._lock:
            return sorted((p for p in self.posts.values() if not p.deleted), key=lambda p: int(p.post_id))

    # --- request handling ----------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> tuple[int, dict, dict[str, str]]:
        """Answer one HTTP request: (status, JSON body, extra headers)."""
        return self.answer(method, raw_path, headers, raw_body)[:3]

    def answer(self, method: str, raw_path: str, headers: Any,
               raw_body: bytes) -> tuple[int, dict, dict[str, str], float]:
        """Like `handle`, plus the seconds to hold the answer back (a scheduled slow answer)."""
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        with self._lock:
            self.requests_log.append((method, path, query, body))
            fault = self._take_fault(method, path)
            if fault is not None and fault.after is None:
                return fault.status, self._fault_body(fault), fault.headers, 0.0
            scheduled = None
            if fault is None and self.fault_schedule is not None:
                scheduled = self.fault_schedule(method, path, query, body)
                if scheduled is not None and scheduled.status is not None and not scheduled.handle_first:
                    return (scheduled.status, _scheduled_body(scheduled), dict(scheduled.headers),
                            scheduled.delay)
            if method == "POST" and path == TOKEN_PATH and hasattr(self.auth, "token_endpoint"):
                status, payload = self.auth.token_endpoint(headers, raw_body)
            elif not self.auth.authorised(method, (self.base_url or "") + raw_path, headers):
                status, payload = 401, problem(401, "Unauthorized", "Unauthorized")
            else:
                status, payload = self._route(method, path, query, headers, body)
            if fault is not None:
                assert fault.after is not None
                fault.after(status, payload)
                return fault.status, self._fault_body(fault), fault.headers, 0.0
            if scheduled is not None:
                if scheduled.status is not None:
                    return (scheduled.status, _scheduled_body(scheduled), dict(scheduled.headers),
                            scheduled.delay)
                return status, payload, dict(scheduled.headers), scheduled.delay
            return status, payload, {}, 0.0

    @staticmethod
    def _fault_body(fault: _Fault) -> dict:
        return fault.body if fault.body is not None else _default_fault_body(fault.status)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and path.startswith(fault.path_prefix) and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _route(self, method: str, path: str, query: dict[str, str], headers: Any, body: Any) -> tuple[int, dict]:
        segments = path.strip("/").split("/")
        if method == "POST" and path == "/2/tweets":
            return self._create(body)
        if method == "GET" and path == "/2/tweets":
            return self._lookup(query)
        if method == "GET" and path == "/2/tweets/analytics":
            return self._analytics(query)
        if len(segments) == 3 and segments[:2] == ["2", "tweets"]:
            if method == "GET":
                return self._lookup_one(segments[2], query)
            if method == "DELETE":
                return self._delete(segments[2])
        if method == "GET" and path == "/2/users/me":
            return self._me(query)
        if method == "GET" and len(segments) == 4 and segments[:2] == ["2", "users"] and segments[3] == "tweets":
            return self._timeline(segments[2], query)
        return 404, problem(404, "Not Found", f"No route for {method} {path}.")

    # --- endpoints -----------------------------------------------------------------------

    def _create(self, body: Any) -> tuple[int, dict]:
        if not isinstance(body, dict):
            return 400, _invalid("The request body is not a JSON object.")
        text = body.get("text", "")
        if not isinstance(text, str) or not text.strip():
            return 400, _invalid("Post text must not be empty.", parameter="text")
        if weighted_length(text) > MAX_WEIGHTED_LENGTH:
            return 400, _invalid("Post text is too long.", parameter="text")
        reply_to = None
        reply = body.get("reply")
        if reply is not None:
            reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            parent = self.posts.get(reply_to) if isinstance(reply_to, str) else None
            if parent is None or parent.deleted:
                return 400, _invalid_resource(_GONE_PARENT_DETAIL, parameter="reply.in_reply_to_tweet_id",
                                              value=str(reply_to))
        if any(p.text == text and not p.deleted and p.author_id == self.user_id for p in self.posts.values()):
            self.repeated_creates.append(text)
            if self.duplicate_refusal:
                self.duplicate_refusals.append(text)
                return 403, problem(403, "Forbidden", DUPLICATE_DETAIL)
        now = _aware(self.clock())
        post = StoredPost(self._next_id(now), text, now, reply_to, self.user_id)
        self.posts[post.post_id] = post
        self.audience.on_post(post.post_id, text, now, reply_to)
        self._bill("post_create_with_url" if _URL.search(text) else "post_create", 1)
        return 201, {"data": {"id": post.post_id, "text": escape_text(text)}}

    def _delete(self, post_id: str) -> tuple[int, dict]:
        post = self.posts.get(post_id)
        if post is None or post.deleted:
            return 404, _not_found(post_id, "id")
        if post.author_id != self.user_id:
            return 403, problem(403, "Forbidden", "You are not allowed to delete this Post.")
        post.deleted = True
        return 200, {"data": {"deleted": True}}

    def _lookup(self, query: dict[str, str]) -> tuple[int, dict]:
        raw = query.get("ids", "")
        ids = [i for i in raw.split(",") if i] if raw else []
        if not ids:
            return 400, _invalid("The `ids` query parameter can not be empty.", parameter="ids")
        if len(ids) > MAX_IDS_PER_LOOKUP:
            detail = f"The `ids` query parameter has more than {MAX_IDS_PER_LOOKUP} values."
            return 400, _invalid(detail, parameter="ids")
        bad = [i for i in ids if not _POST_ID.match(i)]
        if bad:
            return 400, _invalid(f"The `ids` query parameter value [{bad[0]}] is not valid.", parameter="ids")
        fields = _post_fields(query)
        if fields & _PRIVATE_FIELDS and not self.private_metrics:
            return 403, problem(403, "Forbidden", "Your client is not permitted to request non-public metrics.")
        data, errors = [], []
        for post_id in ids:
            post = self.posts.get(post_id)
            if post is None or post.deleted:
                errors.append(_resource_error(post_id, "ids"))
            else:
                data.append(self._render(post, fields))
        out: dict[str, Any] = {}
        self._bill("post_read", len(data))
        if data:
            out["data"] = data
        if errors:
            out["errors"] = errors
        return 200, out

    def _lookup_one(self, post_id: str, query: dict[str, str]) -> tuple[int, dict]:
        if not _POST_ID.match(post_id):
            return 400, _invalid(f"The `id` path parameter value [{post_id}] is not valid.", parameter="id")
        post = self.posts.get(post_id)
        if post is None or post.deleted:
            return 200, {"errors": [_resource_error(post_id, "id")]}
        self._bill("post_read", 1)
        return 200, {"data": self._render(post, _post_fields(query))}

    def _me(self, query: dict[str, str]) -> tuple[int, dict]:
        fields = _csv(query.get("user.fields"))
        user: dict[str, Any] = {"id": self.user_id, "name": self.username, "username": self.username}
        if "public_metrics" in fields:
            posts = sum(1 for p in self.posts.values() if not p.deleted and p.author_id == self.user_id)
            user["public_metrics"] = {
                "followers_count": int(self.audience.followers(_aware(self.clock()))),
                "following_count": 0,
                # The spec names it post_count; the live API has long said tweet_count.
                "post_count": posts,
                "tweet_count": posts,
                "listed_count": 0,
            }
        self._bill("user_read", 1)
        return 200, {"data": user}

    def _timeline(self, user_id: str, query: dict[str, str]) -> tuple[int, dict]:
        if not _POST_ID.match(user_id):
            return 400, _invalid(f"The `id` path parameter value [{user_id}] is not valid.", parameter="id")
        try:
            max_results = int(query.get("max_results", "10"))
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 100:
            detail = "The `max_results` query parameter must be between 5 and 100."
            return 400, _invalid(detail, parameter="max_results")
        start = _parse_query_time(query.get("start_time"))
        end = _parse_query_time(query.get("end_time"))
        if start is False or end is False:
            return 400, _invalid("start_time and end_time must be RFC 3339 timestamps.", parameter="start_time")
        if start is not None and end is not None and start >= end:
            return 400, _invalid("`start_time` must be earlier than `end_time`.", parameter="start_time")
        since_id, until_id = query.get("since_id"), query.get("until_id")
        for name, value in (("since_id", since_id), ("until_id", until_id)):
            if value is not None and not _POST_ID.match(value):
                return 400, _invalid(f"The `{name}` query parameter value [{value}] is not valid.", parameter=name)
        if since_id is not None and until_id is not None and int(since_id) >= int(until_id):
            return 400, _invalid("`since_id` must be less than `until_id`.", parameter="since_id")
        exclude = _csv(query.get("exclude"))
        if exclude - {"replies", "retweets"}:
            bad = sorted(exclude - {"replies", "retweets"})[0]
            return 400, _invalid(f"The `exclude` query parameter value [{bad}] is not one of [replies,retweets].",
                                 parameter="exclude")
        if _post_fields(query) & _PRIVATE_FIELDS and not self.private_metrics:
            return 403, problem(403, "Forbidden", "Your client is not permitted to request non-public metrics.")
        before_id: int | None = None
        if "pagination_token" in query:
            before_id = _decode_token(query["pagination_token"])
            if before_id is None:
                detail = "The `pagination_token` query parameter is not valid."
                return 400, _invalid(detail, parameter="pagination_token")
        if user_id != self.user_id:
            return 200, {
                "errors": [
                    problem(
                        404,
                        "Not Found Error",
                        f"Could not find user with id: [{user_id}].",
                        _PROBLEM_NOT_FOUND,
                        value=user_id,
                        resource_type="user",
                        parameter="id",
                        resource_id=user_id,
                    )
                ]
            }
        # X serves only an account's latest 3,200 posts on its timeline, 800 with replies excluded.
        reach = TIMELINE_REACH_NO_REPLIES if "replies" in exclude else TIMELINE_REACH
        reachable = [p for p in sorted(self.posts.values(), key=lambda p: int(p.post_id), reverse=True)
                     if not p.deleted and p.author_id == self.user_id
                     and not ("replies" in exclude and p.reply_to is not None)][:reach]
        candidates = [
            p
            for p in reachable
            if (start is None or p.created_at >= start)
            and (end is None or p.created_at < end)
            and (before_id is None or int(p.post_id) < before_id)
            and (since_id is None or int(p.post_id) > int(since_id))      # both exclusive, as X's
            and (until_id is None or int(p.post_id) < int(until_id))     # the fake makes no reposts
        ]
        page, more = candidates[:max_results], len(candidates) > max_results
        if not page:
            return 200, {"meta": {"result_count": 0}}
        fields = _post_fields(query)
        meta: dict[str, Any] = {"result_count": len(page), "newest_id": page[0].post_id, "oldest_id": page[-1].post_id}
        if more:
            meta["next_token"] = _encode_token(int(page[-1].post_id))
        self._bill("owned_read", len(page))
        return 200, {"data": [self._render(p, fields) for p in page], "meta": meta}

    # --- helpers -------------------------------------------------------------------------

    def _next_id(self, now: datetime) -> str:
        # Snowflake-like: milliseconds since X's epoch in the high bits, so ids sort by time; never
        # repeat or go backwards, even if the clock does.
        millis = max(0, int(now.timestamp() * 1000) - _X_EPOCH_MS)
        self._last_id = max(self._last_id + 1, millis << 22)
        return str(self._last_id)

    def _render(self, post: StoredPost, fields: set[str]) -> dict:
        out: dict[str, Any] = {"id": post.post_id, "text": escape_text(post.text)}
        if "created_at" in fields:
            out["created_at"] = _iso(post.created_at)
        if "author_id" in fields:
            out["author_id"] = post.author_id
        if "conversation_id" in fields:
            out["conversation_id"] = self._root_of(post).post_id
        if fields & ({"public_metrics"} | _PRIVATE_FIELDS):
            now = _aware(self.clock())
            raw = self.audience.metrics(post.post_id, now)
            metrics = {key: int(raw.get(key, 0)) for key in _METRIC_KEYS}
            if "public_metrics" in fields:
                # The spec requires repost_count; the live API has long said retweet_count. Send both.
                out["public_metrics"] = {**metrics, "repost_count": metrics["retweet_count"]}
            # Non-public metrics exist only for the account's own posts under 30 days old. The
            # fake derives the clicks from the likes (the simulated audience does not model them).
            own_recent = post.author_id == self.user_id and now - _aware(post.created_at) < timedelta(days=30)
            if fields & _PRIVATE_FIELDS and own_recent:
                clicks = {"user_profile_clicks": metrics["like_count"] // 5,
                          "url_link_clicks": metrics["like_count"] // 3 if "http" in post.text else 0}
                if "non_public_metrics" in fields:
                    out["non_public_metrics"] = {"impression_count": metrics["impression_count"], **clicks}
                if "organic_metrics" in fields:
                    organic = {k: metrics[k] for k in ("impression_count", "like_count", "reply_count",
                                                       "retweet_count")}
                    out["organic_metrics"] = {**organic, **clicks}
        return out

    def _analytics(self, query: dict[str, str]) -> tuple[int, dict]:
        """GET /2/tweets/analytics: per-post totals, `follows` among them."""
        if not self.analytics:
            return 403, problem(403, "Forbidden", "Your account does not have access to post analytics.")
        raw = query.get("ids", "")
        ids = [i for i in raw.split(",") if i] if raw else []
        if not ids or len(ids) > MAX_IDS_PER_LOOKUP or any(not _POST_ID.match(i) for i in ids):
            return 400, _invalid("The `ids` query parameter is not valid.", parameter="ids")
        for name in ("start_time", "end_time"):
            if name not in query:
                return 400, _invalid(f"The `{name}` query parameter is required.", parameter=name)
        try:
            end = _aware(datetime.fromisoformat(query["end_time"].replace("Z", "+00:00")))
        except ValueError:
            return 400, _invalid("The `end_time` query parameter is not valid.", parameter="end_time")
        fields = _csv(query.get("analytics.fields")) or {"id"}
        follows_of = getattr(self.audience, "follows", None)
        data = []
        for post_id in ids:
            post = self.posts.get(post_id)
            if post is None or post.deleted or post.author_id != self.user_id:
                continue
            row: dict[str, Any] = {"id": post_id}
            if "follows" in fields:
                row["follows"] = int(follows_of(post_id, min(end, _aware(self.clock())))) if follows_of else 0
            data.append(row)
        self._bill("analytics_read", len(data))
        return 200, ({"data": data} if data else {})

    def _root_of(self, post: StoredPost) -> StoredPost:
        seen = set()
        while post.reply_to and post.reply_to in self.posts and post.post_id not in seen:
            seen.add(post.post_id)
            post = self.posts[post.reply_to]
        return post


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-x"
    # Headers and body go out in separate writes; without this, Nagle plus delayed ACKs add
    # about 40 ms to every keep-alive request.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        fake: FakeXServer = self.server.fake  # type: ignore[attr-defined]
        try:
            status, payload, extra, delay = fake.answer(self.command, self.path, self.headers, raw)
        except Exception as exc:  # a bug in the fake must surface as a 500, not a hung client
            detail = f"fake X failed: {type(exc).__name__}"
            status, payload, extra, delay = 500, problem(500, "Internal Error", detail, _PROBLEM_INTERNAL), {}, 0.0
        if delay > 0:
            time.sleep(delay)   # outside the fake's lock: other requests go on meanwhile
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            # Problem details are problem+json; the spec's plain `Error` ({code, message}) is JSON.
            is_problem = status >= 400 and isinstance(payload, dict) and "type" in payload
            content_type = "application/problem+json" if is_problem else "application/json"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a scheduled slow answer); nobody is left to tell.
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return None  # keep test output quiet


def _scheduled_body(fault: ScheduledFault) -> dict:
    return fault.body if fault.body is not None else _default_fault_body(fault.status)


def _invalid(detail: str, *, parameter: str | None = None) -> dict:
    body = problem(400, "Invalid Request", "One or more parameters to your request was invalid.", _PROBLEM_INVALID)
    # X puts the specifics in errors[]; the spec's InvalidRequestProblem allows extra members.
    entry: dict[str, Any] = {"message": detail}
    if parameter:
        entry["parameters"] = {parameter: []}
    body["errors"] = [entry]
    return body


def _invalid_resource(detail: str, *, parameter: str, value: str) -> dict:
    """A validation problem whose cause is a resource, not the parameter's form: X puts a problem
    of its own in errors[], with `title` and `detail` and no `message`."""
    body = problem(400, "Invalid Request", "One or more parameters to your request was invalid.", _PROBLEM_INVALID)
    body["errors"] = [{"title": "Invalid Request", "detail": detail, "type": _PROBLEM_INVALID,
                       "parameter": parameter, "value": value, "resource_type": "tweet"}]
    return body


def _not_found(post_id: str, parameter: str) -> dict:
    return problem(
        404,
        "Not Found Error",
        f"Could not find tweet with {parameter}: [{post_id}].",
        _PROBLEM_NOT_FOUND,
        value=post_id,
        resource_type="tweet",
        parameter=parameter,
        resource_id=post_id,
    )


def _resource_error(post_id: str, parameter: str) -> dict:
    # X's per-resource "Not Found Error" inside a 200 answer carries no status member.
    error = _not_found(post_id, parameter)
    del error["status"]
    return error


def _csv(raw: str | None) -> set[str]:
    return {part.strip() for part in (raw or "").split(",") if part.strip()}


def _post_fields(query: dict[str, str]) -> set[str]:
    # Accept both names: X's guides say tweet.fields, the v2.167 spec says post.fields.
    return _csv(query.get("tweet.fields")) | _csv(query.get("post.fields"))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    moment = _aware(moment).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_query_time(raw: str | None) -> datetime | None | bool:
    """None when absent, False when malformed, else the aware datetime."""
    if raw is None:
        return None
    try:
        return _aware(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        return False


def _encode_token(before_id: int) -> str:
    # The spec calls tokens base32hex; the content (the last id served) is opaque to clients.
    return base64.b32hexencode(str(before_id).encode()).decode().rstrip("=").lower()


def _decode_token(token: str) -> int | None:
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        return int(base64.b32hexdecode(padded).decode())
    except (ValueError, UnicodeDecodeError):
        return None
