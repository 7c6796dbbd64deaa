"""The events each function accepts, validated before anything is written.

Plan and learn are started by EventBridge Scheduler (plan through the
post-cycle state machine), whose payload carries the schedule's time; post and
scrape are state-machine tasks that receive `now` from `$$.State.EnteredTime`.
Time always comes from the event, never from the machine's clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from postloop.core.records import HORIZONS_HOURS

MAX_ID_LENGTH = 128
# Times outside these bounds are typos or garbage; the early bound also keeps
# every window computed from an event (days back, hours ahead) inside datetime's range.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


class EventError(ValueError):
    """The event is malformed; the message names the field."""


def _obj(event: Any, name: str) -> dict:
    if not isinstance(event, dict):
        raise EventError(f"{name} event: expected a JSON object, got {type(event).__name__}")
    return event


def _text(event: dict, key: str, name: str) -> str:
    if key not in event:
        raise EventError(f"{name} event: '{key}' is missing")
    value = event[key]
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{name} event: '{key}' must be a non-empty string")
    # Identifiers become DynamoDB and Redis keys and appear in log lines: printable
    # characters only (no control, separator or format characters) and encodable as
    # UTF-8 (a lone surrogate is a valid Python string but not a valid key).
    if len(value) > MAX_ID_LENGTH or not value.isprintable() or not _utf8(value):
        raise EventError(f"{name} event: '{key}' is not a valid identifier")
    return value


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_time(value: Any, field: str = "time") -> datetime:
    """An ISO-8601 timestamp with a zone (a trailing Z is accepted), returned in UTC."""
    if not isinstance(value, str):
        raise EventError(f"'{field}' must be an ISO-8601 timestamp string")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise EventError(f"'{field}' is not an ISO-8601 timestamp: {value[:40]!r}") from None
    if t.tzinfo is None:
        raise EventError(f"'{field}' must carry a time zone (e.g. a trailing Z)")
    try:
        t = t.astimezone(timezone.utc)
    except OverflowError:  # year 1 at +14:00, year 9999 at -14:00
        t = None
    if t is None or not EARLIEST <= t < LATEST:
        raise EventError(f"'{field}' must lie between {EARLIEST.year} and {LATEST.year}: {value[:40]!r}")
    return t


def _time(event: dict, key: str, name: str) -> datetime:
    if key not in event:
        raise EventError(f"{name} event: '{key}' is missing")
    try:
        return parse_time(event[key], key)
    except EventError as err:
        raise EventError(f"{name} event: {err}") from None


@dataclass(frozen=True)
class ScheduledEvent:
    """plan and learn: {"account_id": ..., "scheduled_time": "<aws.scheduler.scheduled-time>"}."""

    account_id: str
    scheduled_time: datetime


POST_MODES = ("post", "reconcile")


@dataclass(frozen=True)
class PostEvent:
    account_id: str
    decision_id: str
    now: datetime
    # "reconcile": the workflow's last word after every attempt failed: publish nothing, ask X
    # (core/post.py reconcile_only); `error` names the failure that ended the attempts.
    mode: str = "post"
    error: str | None = None


@dataclass(frozen=True)
class ScrapeEvent:
    account_id: str
    now: datetime
    decision_id: str | None = None
    horizon_hours: int | None = None


def parse_scheduled(event: Any, name: str) -> ScheduledEvent:
    e = _obj(event, name)
    return ScheduledEvent(_text(e, "account_id", name), _time(e, "scheduled_time", name))


def parse_post(event: Any) -> PostEvent:
    e = _obj(event, "post")
    mode = e.get("mode", "post")
    if mode not in POST_MODES:
        raise EventError(f"post event: 'mode' must be one of {', '.join(POST_MODES)}")
    error = _text(e, "error", "post") if e.get("error") is not None else None
    return PostEvent(_text(e, "account_id", "post"), _text(e, "decision_id", "post"), _time(e, "now", "post"),
                     mode, error)


def parse_scrape(event: Any) -> ScrapeEvent:
    e = _obj(event, "scrape")
    decision_id = _text(e, "decision_id", "scrape") if e.get("decision_id") is not None else None
    horizon = e.get("horizon_hours")
    # A whole number: 48.0 == 48 would pass a bare membership test.
    if horizon is not None and (type(horizon) is not int or horizon not in HORIZONS_HOURS):
        raise EventError(f"scrape event: 'horizon_hours' must be one of {HORIZONS_HOURS}")
    return ScrapeEvent(_text(e, "account_id", "scrape"), _time(e, "now", "scrape"), decision_id, horizon)


MAX_TOKEN_LENGTH = 4096  # Step Functions task tokens run to about 1 KB


@dataclass(frozen=True)
class ApprovalEvent:
    """approve: the workflow's request (with its resume token) or a person's answer."""

    action: str                    # "request" or "answer"
    account_id: str
    decision_id: str
    now: datetime | None           # a person's answer may leave it out; the handler uses its clock
    task_token: str | None = None  # request only
    approve: bool | None = None    # answer only
    reviewer: str | None = None    # answer only


def parse_approval(event: Any) -> ApprovalEvent:
    name = "approve"
    e = _obj(event, name)
    action = e.get("action")
    if action not in ("request", "answer"):
        raise EventError(f"{name} event: 'action' must be \"request\" or \"answer\"")
    account_id, decision_id = _text(e, "account_id", name), _text(e, "decision_id", name)
    if action == "request":
        token = e.get("task_token")
        # Stored with the decision and sent back to Step Functions: printable, UTF-8, bounded.
        if token is not None and (not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_LENGTH
                                  or not token.isprintable() or not _utf8(token)):
            raise EventError(f"{name} event: 'task_token' must be a non-empty printable string of at most "
                             f"{MAX_TOKEN_LENGTH} characters")
        return ApprovalEvent(action, account_id, decision_id, _time(e, "now", name), task_token=token)
    approve = e.get("approve")
    if not isinstance(approve, bool):
        raise EventError(f"{name} event: 'approve' must be true or false")
    reviewer = _text(e, "reviewer", name) if "reviewer" in e else "unnamed reviewer"
    now = _time(e, "now", name) if e.get("now") is not None else None
    return ApprovalEvent(action, account_id, decision_id, now, approve=approve, reviewer=reviewer)


# A model blob is a few tens of kilobytes (a precision matrix of about 30 x 30); Lambda takes 6 MB.
MAX_BLOB_LENGTH = 1_000_000
CACHE_ACTIONS = ("get", "put")


@dataclass(frozen=True)
class CacheEvent:
    """cache: plan's `get` or learn's `put` of an account's latest model (adapters/lambda_model_cache.py)."""

    action: str                    # "get" or "put"
    account_id: str
    version: str | None = None     # put only
    blob: str | None = None        # put only: the model as adapters/redis_model_cache.encode_blob writes it


def parse_cache(event: Any) -> CacheEvent:
    name = "cache"
    e = _obj(event, name)
    action = e.get("action")
    if action not in CACHE_ACTIONS:
        raise EventError(f"{name} event: 'action' must be \"get\" or \"put\"")
    account_id = _text(e, "account_id", name)
    if action == "get":
        return CacheEvent(action, account_id)
    blob = e.get("blob")
    # JSON as json.dumps writes it: printable, UTF-8, bounded. Whether it is a model is judged by
    # the reader (redis_model_cache.checked), the one place that decides what plan computes with.
    if not isinstance(blob, str) or not blob.strip() or len(blob) > MAX_BLOB_LENGTH or not blob.isprintable() \
            or not _utf8(blob):
        raise EventError(f"{name} event: 'blob' must be non-empty printable text of at most "
                         f"{MAX_BLOB_LENGTH} characters")
    return CacheEvent(action, account_id, _text(e, "version", name), blob)
