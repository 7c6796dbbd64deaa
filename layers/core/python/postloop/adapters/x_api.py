"""X API v2 over `requests`: the `XPublisher` the loop posts and reads metrics with."""
from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Sequence

import requests

from postloop.adapters.x_auth import BearerToken, XAuth
from postloop.core.ports import MetricsBatch, OwnPost, PostMetrics
from postloop.core.x_text import returned_key, sent_key
from postloop.core.x_errors import (
    ThreadPartiallyPublished,
    XApiError,
    XAuthError,
    XBadRequest,
    XDuplicateContent,
    XForbidden,
    XRateLimited,
    XServerError,
)

MAX_IDS_PER_LOOKUP = 100  # X's limit for GET /2/tweets?ids=
_OWN_POSTS_PAGE_SIZE = 100  # the spec allows 5..100 for GET /2/users/{id}/tweets
_RATE_RESET_MARGIN_S = 1.0  # x-rate-limit-reset has whole-second precision

# X's guides call the field-selection parameter `tweet.fields`; the generated spec (v2.167) calls it
# `post.fields`. Which one the live API honours is unconfirmed, so the client starts with one and
# switches once if X rejects or ignores it.
FIELDS_PARAM_NAMES = ("tweet.fields", "post.fields")

PRIVATE_FIELDS = "public_metrics,non_public_metrics,organic_metrics"

_POST_ID = re.compile(r"^[0-9]{1,19}$")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# How many of the account's newest posts the check before a create's retry reads.
_RECHECK_PAGE_SIZE = 10


@dataclass
class _Attempts:
    failures: int = 0  # transport errors and 5xx seen before the final answer


class XApiClient:
    """Publishes posts and reads metrics through X API v2 in user context (see `x_auth` for the kinds).

    `calls` counts successful calls per billing kind so callers can compute spend:
    `post_create` (posts created; `post_create_with_url` also counts those containing a URL,
    which X prices higher), `post_delete`, `post_read` (ids asked for in metric lookups),
    `user_read` (calls to /2/users/me) and `owned_read` (own posts returned by the timeline).
    `creates_found_on_x` counts creates whose answer was lost and whose post the client found on
    X instead of sending the create again.
    """

    def __init__(
        self,
        base_url: str,
        credentials: XAuth | Callable[[], str] | str,
        *,
        user_id: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_rate_wait: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        fields_param: str = FIELDS_PARAM_NAMES[0],
    ):
        if fields_param not in FIELDS_PARAM_NAMES:
            raise ValueError(f"fields_param must be one of {FIELDS_PARAM_NAMES}")
        self._base_url = base_url.rstrip("/")
        # A plain token (or a function returning one) is a bearer token; OAuth comes as an XAuth.
        self._auth = credentials if hasattr(credentials, "prepare") else BearerToken(credentials)
        self._user_id = user_id
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff = backoff
        self._max_rate_wait = max_rate_wait
        self._sleep = sleep
        self._session = session or requests.Session()
        self._fields_param = fields_param
        self._fields_param_confirmed = False
        self.calls: collections.Counter[str] = collections.Counter()
        # Switched off for good after X refuses them once: the account's tier lacks them.
        self.private_metrics_available = True
        self.analytics_available = True
        self.creates_found_on_x = 0

    @property
    def fields_param(self) -> str:
        """The name of the post field-selection parameter currently in use."""
        return self._fields_param

    # --- posting -------------------------------------------------------------------------

    def create_post(self, text: str, reply_to: str | None = None) -> str:
        """Publish one post (a reply when `reply_to` is given) and return its id.

        A create is never sent again blindly: after a timeout, a dropped connection or a 5xx the
        post may be live although the answer was lost, so before each retry the client asks X
        for the account's newest posts and returns the one that says `text` (and sits where it
        should: a reply, or not) instead of creating it twice. When X cannot be asked, the
        original failure is raised: the caller's next attempt reconciles first. X's duplicate
        refusal is a last line only. Raises an `XApiError` subclass when X refuses; a duplicate
        refusal is never retried.
        """
        payload: dict[str, Any] = {"text": text}
        if reply_to is not None:
            payload["reply"] = {"in_reply_to_tweet_id": _checked_post_id(reply_to)}
        attempts = _Attempts()

        def look_first(failure: XApiError) -> dict | None:
            try:
                existing = self._find_recent_own_post(text, reply_to)
            except XApiError:
                raise failure from None   # X cannot say: no blind retry
            if existing is None:
                return None
            self.creates_found_on_x += 1
            return {"data": {"id": existing}}

        try:
            body = self._send("POST", "/2/tweets", kind=None, json_body=payload, attempts=attempts,
                              before_retry=look_first)
        except XDuplicateContent:
            # The check before the retry found nothing, yet X holds the text: a post X had not
            # shown yet, most likely. Report it if X shows it now, instead of failing a live post.
            if attempts.failures:
                try:
                    existing = self._find_recent_own_post(text, reply_to)
                except XApiError:
                    existing = None
                if existing is not None:
                    self.creates_found_on_x += 1
                    self._count_create(text)
                    return existing
            raise
        post_id = _data(body).get("id")
        if not isinstance(post_id, str) or not _POST_ID.match(post_id):
            raise XApiError("X accepted the post but returned no usable id")
        self._count_create(text)
        return post_id

    def create_thread(self, parts: Sequence[str]) -> list[str]:
        """Publish `parts` as a chain of replies and return their ids in order.

        If the first part fails its error is raised as is; if a later part fails,
        `ThreadPartiallyPublished` carries the ids already live and the cause.
        """
        if not parts:
            raise ValueError("a thread needs at least one part")
        published: list[str] = []
        for part in parts:
            try:
                post_id = self.create_post(part, reply_to=published[-1] if published else None)
            except XApiError as err:
                if not published:
                    raise
                raise ThreadPartiallyPublished(published, err) from err
            published.append(post_id)
        return published

    def delete_post(self, post_id: str) -> bool:
        """Delete one own post; True if X reports it deleted, False if X does not know it."""
        path = f"/2/tweets/{_checked_post_id(post_id)}"
        try:
            body = self._send("DELETE", path, kind="post_delete")
        except XBadRequest as err:
            if err.status == 404:
                return False
            raise
        return bool(_data(body).get("deleted"))

    # --- reading -------------------------------------------------------------------------

    def get_metrics(self, post_ids: Sequence[str], private_ids: Sequence[str] = ()) -> MetricsBatch:
        """Public metrics for `post_ids` (duplicates ignored), at most 100 ids per request.

        For ids also in `private_ids` (own posts under 30 days old) X's non-public and organic
        metrics are asked for too; if X refuses them, the client stops asking and reads public
        metrics only. Ids X reports as gone (its `errors[]`), ids it leaves out and malformed ids
        land in `unavailable` with a reason; they never raise.
        """
        batch = MetricsBatch()
        wanted: list[str] = []
        for raw in dict.fromkeys(str(pid) for pid in post_ids):
            if _POST_ID.match(raw):
                wanted.append(raw)
            else:
                batch.unavailable[raw] = "not a post id"
        private = set(map(str, private_ids)) if self.private_metrics_available else set()
        groups = [[p for p in wanted if p in private], [p for p in wanted if p not in private]]
        for with_private, ids in zip((True, False), groups):
            for start in range(0, len(ids), MAX_IDS_PER_LOOKUP):
                self._read_chunk(ids[start : start + MAX_IDS_PER_LOOKUP], with_private, batch)
        return batch

    def _read_chunk(self, chunk: list[str], with_private: bool, batch: MetricsBatch) -> None:
        fields = PRIVATE_FIELDS if with_private else "public_metrics"
        try:
            # Counted per id asked for: an upper bound, since X may bill only the posts it returns.
            body = self._get_posts("/2/tweets", {"ids": ",".join(chunk)}, fields, kind="post_read",
                                   units=len(chunk))
        except XForbidden:
            if not with_private:
                raise
            # No access to non-public metrics (app or account tier): public ones from now on.
            self.private_metrics_available = False
            self._read_chunk(chunk, False, batch)
            return
        in_chunk = set(chunk)
        for item in _data_list(body):
            pid = str(item.get("id", ""))
            if pid in in_chunk:
                m = _metrics_from(item.get("public_metrics"))
                found = {k: item[k] for k in ("non_public_metrics", "organic_metrics")
                         if isinstance(item.get(k), dict)}
                batch.metrics[pid] = replace(m, private=found) if found else m
        for problem in body.get("errors") or []:
            if not isinstance(problem, dict):
                continue
            pid = str(problem.get("resource_id") or problem.get("value") or "")
            if pid in in_chunk and pid not in batch.metrics:
                batch.unavailable[pid] = str(problem.get("detail") or problem.get("title") or "unavailable")
        for pid in chunk:
            if pid not in batch.metrics and pid not in batch.unavailable:
                batch.unavailable[pid] = "not returned by X"

    def get_follows(self, post_ids: Sequence[str], start: datetime, end: datetime) -> dict[str, int] | None:
        """Followers each post brought between `start` and `end`, from `GET /2/tweets/analytics`.

        None when the account has no access to post analytics (X answers 403 or 404); the client
        then stops asking. Ids X does not report are left out.
        """
        if not self.analytics_available:
            return None
        ids = [pid for pid in dict.fromkeys(map(str, post_ids)) if _POST_ID.match(pid)]
        follows: dict[str, int] = {}
        for i in range(0, len(ids), MAX_IDS_PER_LOOKUP):
            chunk = ids[i : i + MAX_IDS_PER_LOOKUP]
            params = {"ids": ",".join(chunk), "start_time": _rfc3339(start), "end_time": _rfc3339(end),
                      "granularity": "total", "analytics.fields": "id,follows"}
            try:
                body = self._send("GET", "/2/tweets/analytics", kind="analytics_read", params=params,
                                  units=len(chunk))
            except (XForbidden, XBadRequest) as err:
                if isinstance(err, XBadRequest) and err.status != 404:
                    raise
                self.analytics_available = False
                return None
            for item in _data_list(body):
                value = item.get("follows")
                if str(item.get("id")) in chunk and isinstance(value, int) and not isinstance(value, bool):
                    follows[str(item["id"])] = value
        return follows

    def get_me(self) -> dict:
        """The authenticated account as `{"id", "username"}`; remembers the id."""
        data = _data(self._send("GET", "/2/users/me", kind="user_read"))
        self._remember_user(data)
        return {"id": str(data["id"]), "username": str(data.get("username", ""))}

    def get_followers_count(self) -> int:
        """The authenticated account's current follower count."""
        body = self._send("GET", "/2/users/me", kind="user_read", params={"user.fields": "public_metrics"})
        data = _data(body)
        self._remember_user(data)
        count = (data.get("public_metrics") or {}).get("followers_count")
        if not isinstance(count, int):
            raise XApiError("X returned no followers_count", status=200)
        return count

    def recent_own_posts(self, since: datetime) -> list[OwnPost]:
        """The account's own posts created at or after `since` (timezone-aware), newest first.

        Follows X's pagination to the end; replies (thread parts) are included.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        posts = []
        for item in self._own_timeline({"start_time": _rfc3339(since)}, "created_at"):
            created = _parse_time(item.get("created_at"))
            # start_time is sent at whole seconds, so trim what precedes `since` itself.
            if created is not None and created < since:
                continue
            posts.append(OwnPost(post_id=str(item.get("id")), text=str(item.get("text", "")), created_at=created))
        return posts

    def own_posts_window(self, since_id: str, until_id: str, *, private: bool = False,
                         want: Sequence[str] = ()) -> list[OwnPost]:
        """The account's own original posts with ids strictly between `since_id` and `until_id`,
        newest first, each with its public metrics (non-public and organic ones too when `private`,
        until X refuses them once). Replies and reposts are excluded by X (`exclude`), so a thread's
        later parts are neither returned nor billed. Pages until X has no more, or until every id
        of `want` has come back (X bills each post returned: no page more than needed).
        """
        lo, hi = _checked_post_id(since_id), _checked_post_id(until_id)
        if int(lo) >= int(hi):
            raise ValueError("since_id must be less than until_id")
        params = {"since_id": lo, "until_id": hi, "exclude": "replies,retweets"}
        wanted = {str(p) for p in want}
        if private and self.private_metrics_available:
            try:
                return self._window_posts(params, PRIVATE_FIELDS, wanted)
            except XForbidden:
                # No access to non-public metrics (app or account tier): public ones from now on.
                self.private_metrics_available = False
        return self._window_posts(params, "public_metrics", wanted)

    def _window_posts(self, params: dict[str, Any], fields: str, wanted: set[str]) -> list[OwnPost]:
        posts: list[OwnPost] = []
        left = set(wanted)
        for item in self._own_timeline(params, "created_at," + fields, stop=lambda: bool(wanted) and not left):
            pid = str(item.get("id"))
            m = _metrics_from(item.get("public_metrics"))
            found = {k: item[k] for k in ("non_public_metrics", "organic_metrics") if isinstance(item.get(k), dict)}
            posts.append(OwnPost(post_id=pid, text=str(item.get("text", "")),
                                 created_at=_parse_time(item.get("created_at")),
                                 metrics=replace(m, private=found) if found else m))
            left.discard(pid)
        return posts

    def _own_timeline(self, params: dict[str, Any], fields: str,
                      stop: Callable[[], bool] = lambda: False) -> Iterator[dict]:
        """Every post X returns from the account's own timeline for `params`, page by page (each
        counted as an owned read). `stop()` is asked after each page: True ends the reading."""
        path = f"/2/users/{self._own_user_id()}/tweets"
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            page = {"max_results": _OWN_POSTS_PAGE_SIZE, **params}
            if token:
                page["pagination_token"] = token
            body = self._get_posts(path, page, fields, kind="owned_read", units=_count_data)
            yield from _data_list(body)
            token = (body.get("meta") or {}).get("next_token")
            if not token or token in seen_tokens or stop():  # a repeated token would loop forever
                return
            seen_tokens.add(token)

    # --- plumbing ------------------------------------------------------------------------

    @property
    def credential_name(self) -> str:
        return self._auth.credential_name

    def _send(
        self,
        method: str,
        path: str,
        *,
        kind: str | None,
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        units: int | Callable[[dict], int] = 1,
        attempts: _Attempts | None = None,
        before_retry: Callable[[XApiError], dict | None] | None = None,
        retries: int | None = None,
    ) -> dict:
        """One logical call: retries transport failures and 5xx with exponential backoff, waits
        out a 429 once if its reset is within `max_rate_wait`, and raises the mapped error otherwise.

        `before_retry(failure)` runs after the backoff and before each such retry: a body it
        returns is the call's answer (no retry), None lets the retry go ahead, and it may raise.
        `retries` overrides the client's `max_retries` for this call.
        """
        attempts = attempts or _Attempts()
        max_retries = self._max_retries if retries is None else max(0, retries)
        rate_waited = renewed = False
        while True:
            headers, auth = self._auth.prepare()
            try:
                response = self._session.request(
                    method,
                    self._base_url + path,
                    params=params,
                    json=json_body,
                    headers=headers,
                    auth=auth,
                    timeout=self._timeout,
                )
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                # Only the exception's type: its text can echo the URL, never needed here.
                failure: XApiError = XServerError(
                    f"X {method} {path} failed: {type(exc).__name__}", title=type(exc).__name__
                )
            else:
                if response.status_code < 400:
                    body = _json_object(response)
                    if kind is not None:
                        self.calls[kind] += units(body) if callable(units) else units
                    return body
                failure = self._error_from(method, path, response)
                if isinstance(failure, XAuthError) and not renewed and self._auth.renew_after_unauthorized():
                    # An access token revoked or expired early: one retry with a renewed one.
                    renewed = True
                    continue
                if isinstance(failure, XRateLimited):
                    wait = self._rate_wait(failure)
                    if wait is None or rate_waited:
                        raise failure
                    rate_waited = True
                    self._sleep(wait)
                    continue
                if not isinstance(failure, XServerError):
                    raise failure
            if attempts.failures >= max_retries:
                raise failure
            self._sleep(self._backoff * (2**attempts.failures))
            attempts.failures += 1
            if before_retry is not None:
                answer = before_retry(failure)
                if answer is not None:
                    return answer

    def _get_posts(
        self, path: str, params: dict[str, Any], fields: str, *, kind: str, units: int | Callable[[dict], int],
        retries: int | None = None,
    ) -> dict:
        """GET a posts endpoint asking for `fields`; if X rejects or ignores the field parameter's
        name in use, tries the other name once and keeps whichever works."""
        name = self._fields_param
        try:
            body = self._send("GET", path, kind=kind, params={**params, name: fields}, units=units, retries=retries)
        except XBadRequest as err:
            if self._fields_param_confirmed or name not in err.detail:
                raise
        else:
            if self._fields_param_confirmed or not _fields_ignored(body, fields):
                self._fields_param_confirmed = self._fields_param_confirmed or bool(_data_list(body))
                return body
        other = next(n for n in FIELDS_PARAM_NAMES if n != name)
        body = self._send("GET", path, kind=kind, params={**params, other: fields}, units=units, retries=retries)
        if _data_list(body) and not _fields_ignored(body, fields):
            self._fields_param = other
            self._fields_param_confirmed = True
        return body

    def _error_from(self, method: str, path: str, response: requests.Response) -> XApiError:
        status = response.status_code
        title, detail = _cause_of(_json_object(response, strict=False))
        title = title or str(response.reason or "")
        fields = {"status": status, "title": title, "detail": detail}
        where = f"{method} {path}"
        if status == 401:
            return XAuthError(f"X rejected the {self.credential_name} ({status})", **fields)
        if status == 403:
            # X v2 gives duplicates no code of their own: the detail text is the only signal.
            if "duplicate" in detail.lower():
                return XDuplicateContent(f"X refused duplicate content ({status})", **fields)
            return XForbidden(f"X refused {where} ({status}): {detail or title}", **fields)
        if status == 429:
            return XRateLimited(
                f"X rate limit hit on {where} (429)", reset_at=_reset_at(response.headers), **fields
            )
        if status >= 500:
            return XServerError(f"X failed {where} ({status}): {detail or title}", **fields)
        return XBadRequest(f"X rejected {where} ({status}): {detail or title}", **fields)

    def _rate_wait(self, error: XRateLimited) -> float | None:
        """Seconds to sleep before the one retry a 429 allows, or None to give up now."""
        if error.reset_at is None or self._max_rate_wait <= 0:
            return None
        wait = error.reset_at.timestamp() - time.time()
        if wait > self._max_rate_wait:
            return None
        return max(0.0, wait) + _RATE_RESET_MARGIN_S

    def _own_user_id(self) -> str:
        if self._user_id is None:
            self.get_me()
        assert self._user_id is not None
        return self._user_id

    def _remember_user(self, data: dict) -> None:
        if not data.get("id"):
            raise XApiError("X returned no user id", status=200)
        self._user_id = str(data["id"])

    def _find_recent_own_post(self, text: str, reply_to: str | None = None) -> str | None:
        """Id of the newest of the account's latest posts that says `text` (compared as sent, X's
        HTML escaping undone) and sits where the create would have put it: a reply in a
        conversation, newer than `reply_to`, or a post that starts its own. None when there is
        none; raises `XApiError` when X cannot be asked.
        """
        path = f"/2/users/{self._own_user_id()}/tweets"
        # No start_time: the newest few posts suffice, and the account's clock may not be ours.
        # One attempt: a create's retries already spend the caller's time, and when X cannot
        # answer, the caller's next attempt reconciles anyway.
        body = self._get_posts(path, {"max_results": _RECHECK_PAGE_SIZE}, "created_at,conversation_id",
                               kind="owned_read", units=_count_data, retries=0)
        wanted = sent_key(text)
        for item in _data_list(body):
            post_id, said = item.get("id"), item.get("text")
            if not isinstance(post_id, str) or not _POST_ID.match(post_id) or not isinstance(said, str):
                continue
            if returned_key(said) != wanted:
                continue
            conversation = item.get("conversation_id")
            if reply_to is not None and (int(post_id) <= int(reply_to) or conversation == post_id):
                continue   # older than its parent, or a post of its own: not this reply
            if reply_to is None and conversation not in (None, post_id):
                continue   # a reply somewhere: not this post
            return post_id
        return None

    def _count_create(self, text: str) -> None:
        self.calls["post_create"] += 1
        if _URL.search(text):
            self.calls["post_create_with_url"] += 1


def _cause_of(problem: dict) -> tuple[str, str]:
    """(title, detail) of an error body in any of the shapes X answers with.

    X's problem-details put the cause in `title` and `detail`; its validation problems add
    `errors[]` whose members carry a `message` or only their own `title` and `detail`; the spec's
    plain `Error` is `{code, message}`. Every distinct text is kept, in that order.
    """
    def text(value: Any) -> str:
        return value.strip() if isinstance(value, str) else ""

    title = text(problem.get("title"))
    causes = [text(problem.get("detail")), text(problem.get("message"))]
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            causes.append(text(error.get("message")) or text(error.get("detail")) or text(error.get("title")))
            title = title or text(error.get("title"))
    detail = "; ".join(dict.fromkeys(c for c in causes if c))
    return title, detail


def _checked_post_id(post_id: str) -> str:
    # Ids go into URL paths: refuse anything that is not a snowflake.
    post_id = str(post_id)
    if not _POST_ID.match(post_id):
        raise ValueError("post id must be 1-19 digits")
    return post_id


def _json_object(response: requests.Response, *, strict: bool = True) -> dict:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    if strict:
        raise XApiError(
            f"X answered {response.status_code} with a body that is not a JSON object", status=response.status_code
        )
    return {}


def _data(body: dict) -> dict:
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def _data_list(body: dict) -> list[dict]:
    data = body.get("data")
    if isinstance(data, dict):
        return [data]
    return [item for item in data or [] if isinstance(item, dict)]


def _count_data(body: dict) -> int:
    return len(_data_list(body))


def _fields_ignored(body: dict, fields: str) -> bool:
    """True when posts came back but none carries any of the requested fields."""
    items = _data_list(body)
    wanted = [f for f in fields.split(",") if f not in ("id", "text")]
    return bool(items) and bool(wanted) and not any(f in item for item in items for f in wanted)


def _metrics_from(public: Any) -> PostMetrics:
    public = public if isinstance(public, dict) else {}

    def count(*names: str) -> int | None:
        for name in names:
            value = public.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    return PostMetrics(
        impressions=count("impression_count"),
        likes=count("like_count"),
        # The live API says retweet_count; the v2.167 spec says repost_count.
        retweets=count("retweet_count", "repost_count"),
        replies=count("reply_count"),
        quotes=count("quote_count"),
        bookmarks=count("bookmark_count"),
    )


def _reset_at(headers: Any) -> datetime | None:
    raw = headers.get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(str(raw).strip()), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
