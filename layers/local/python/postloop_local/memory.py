"""In-memory adapters for fast benchmark runs: the same core, no AWS, no HTTP.

`MemoryWiring` has the attributes the tasks in `postloop.runtime.tasks` use, so
the simulator can run plan/post/scrape/learn hundreds of times a second. The
stores copy what they are given and what they hand out for changing, like a
database would; query results are shared and must not be modified.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime
from typing import Callable, Sequence

from postloop.core.account import AccountConfig, parse_account
from postloop.core.offline_writer import OfflineWriter
from postloop.core.ports import AlreadyExists, ClaimRefused, MetricsBatch, OwnPost, PostMetrics
from postloop.core.records import ArmStats, Decision, FollowerReading, ModelVersion, Outcome, Status
from postloop.core.x_errors import ThreadPartiallyPublished, XApiError, XBadRequest, XDuplicateContent


def _copy_decision(d: Decision) -> Decision:
    """A copy sharing nothing mutable with the original (cheaper than deepcopy for the hot path)."""
    f, p = d.features, d.prediction
    return replace(
        d, parts=list(d.parts), post_ids=list(d.post_ids), candidates=[dict(c) for c in d.candidates],
        spend=dict(d.spend), approval=dict(d.approval),
        features=replace(f, viral=dict(f.viral), quality_components=dict(f.quality_components)) if f else None,
        prediction=replace(p) if p else None,
    )


class MemoryDecisionStore:
    def __init__(self):
        self._items: dict[tuple[str, str], Decision] = {}

    def put_new(self, decision: Decision) -> None:
        key = (decision.account_id, decision.decision_id)
        if key in self._items:
            raise AlreadyExists(decision.decision_id)
        self._items[key] = _copy_decision(decision)

    def get(self, account_id: str, decision_id: str) -> Decision | None:
        d = self._items.get((account_id, decision_id))
        return _copy_decision(d) if d else None

    def claim_for_posting(self, account_id: str, decision_id: str, now: datetime) -> Decision:
        d = self._items.get((account_id, decision_id))
        if d is None or d.status is not Status.PLANNED:
            status = d.status.value if d else "missing"
            raise ClaimRefused(status, f"decision {decision_id} is {status}, not planned")
        d.status, d.updated_at = Status.POSTING, now
        return _copy_decision(d)

    def take_over_claim(self, account_id: str, decision_id: str, held_since: datetime, now: datetime) -> Decision:
        d = self._items.get((account_id, decision_id))
        if d is None or d.status is not Status.POSTING or d.updated_at != held_since:
            status = d.status.value if d else "missing"
            raise ClaimRefused(status, f"decision {decision_id}'s claim changed; it is {status}")
        d.updated_at = now
        return _copy_decision(d)

    def save_claimed(self, decision: Decision, held_since: datetime) -> None:
        d = self._items.get((decision.account_id, decision.decision_id))
        if d is None or d.status is not Status.POSTING or d.updated_at != held_since:
            status = d.status.value if d else "missing"
            raise ClaimRefused(status, f"decision {decision.decision_id} is no longer held; it is {status}")
        self._items[(decision.account_id, decision.decision_id)] = _copy_decision(decision)

    def fail_unless_terminal(self, account_id: str, decision_id: str, reason: str, now: datetime) -> bool:
        """The workflow's Catch: failed with `reason` unless missing or already ended."""
        d = self._items.get((account_id, decision_id))
        if d is None or d.status.terminal:
            return False
        d.status, d.status_reason, d.updated_at = Status.FAILED, reason, now
        return True

    def save(self, decision: Decision) -> None:
        self._items[(decision.account_id, decision.decision_id)] = _copy_decision(decision)

    def save_if_unchanged(self, decision: Decision, status: Status, updated_at: datetime | None) -> bool:
        d = self._items.get((decision.account_id, decision.decision_id))
        if d is None or d.status is not status or d.updated_at != updated_at:
            return False
        self._items[(decision.account_id, decision.decision_id)] = _copy_decision(decision)
        return True

    def posted_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        rows = [d for (a, _), d in self._items.items()
                if a == account_id and d.posted_at is not None and start <= d.posted_at < end]
        return sorted(rows, key=lambda d: (d.posted_at, d.decision_id))

    def planned_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        rows = [d for (a, _), d in self._items.items() if a == account_id and start <= d.planned_at < end]
        return sorted(rows, key=lambda d: (d.planned_at, d.decision_id))


class MemoryOutcomeStore:
    def __init__(self):
        self._items: dict[tuple[str, str, int], Outcome] = {}

    def put_if_absent(self, o: Outcome) -> bool:
        key = (o.account_id, o.decision_id, o.horizon_hours)
        if key in self._items:
            return False
        self._items[key] = replace(o)
        return True

    def collected_between(self, account_id: str, start: datetime, end: datetime) -> list[Outcome]:
        rows = [o for (a, _, _), o in self._items.items() if a == account_id and start <= o.collected_at < end]
        return sorted(rows, key=lambda o: o.collected_at)

    def for_decision(self, account_id: str, decision_id: str) -> list[Outcome]:
        return [o for (a, d, _), o in self._items.items() if a == account_id and d == decision_id]


class MemoryArmStore:
    def __init__(self):
        self._arms: dict[str, list[ArmStats]] = {}

    def load(self, account_id: str) -> list[ArmStats]:
        return [replace(a) for a in self._arms.get(account_id, [])]

    def replace_all(self, account_id: str, arms: Sequence[ArmStats]) -> None:
        self._arms[account_id] = [replace(a) for a in arms]


class MemoryModelRegistry:
    def __init__(self):
        self._versions: dict[str, dict[str, ModelVersion]] = {}

    def put(self, model: ModelVersion) -> None:
        self._versions.setdefault(model.account_id, {})[model.version] = model

    def latest(self, account_id: str) -> ModelVersion | None:
        versions = self._versions.get(account_id)
        return versions[max(versions)] if versions else None


class MemoryFollowerReadings:
    def __init__(self):
        self._readings: dict[str, list[FollowerReading]] = {}

    def put(self, reading: FollowerReading) -> None:
        rows = [r for r in self._readings.get(reading.account_id, []) if r.read_at != reading.read_at]
        self._readings[reading.account_id] = sorted(rows + [reading], key=lambda r: r.read_at)

    def latest(self, account_id: str) -> FollowerReading | None:
        rows = self._readings.get(account_id)
        return rows[-1] if rows else None

    def between(self, account_id: str, start: datetime, end: datetime) -> list[FollowerReading]:
        return [r for r in self._readings.get(account_id, []) if start <= r.read_at < end]


class MemoryModelCache:
    def __init__(self):
        self._latest: dict[str, ModelVersion] = {}

    def put_latest(self, model: ModelVersion) -> None:
        self._latest[model.account_id] = model

    def get_latest(self, account_id: str) -> ModelVersion | None:
        return self._latest.get(account_id)


class DirectX:
    """The account on X, in process: posts go straight to the simulated audience."""

    def __init__(self, audience, clock: Callable[[], datetime]):
        self.audience = audience
        self.clock = clock
        self.posts: dict[str, dict] = {}
        self.user_reads = 0
        self._ids = itertools.count(1_900_000_000_000_000_000)
        self.owned_returned = 0   # posts the owned timeline has returned (X bills each)
        self._lock = threading.Lock()

    def create_post(self, text: str, reply_to: str | None = None) -> str:
        with self._lock:
            if any(p["text"] == text and not p["deleted"] for p in self.posts.values()):
                raise XDuplicateContent("duplicate content", status=403, title="Forbidden",
                                        detail="You are not allowed to create a Tweet with duplicate content.")
            if reply_to is not None and reply_to not in self.posts:
                raise XBadRequest("reply to an unknown post", status=400, title="Invalid Request")
            pid = str(next(self._ids))
            now = self.clock()
            self.posts[pid] = {"text": text, "created_at": now, "reply_to": reply_to, "deleted": False}
        self.audience.on_post(pid, text, now, reply_to)
        return pid

    def create_thread(self, parts: Sequence[str]) -> list[str]:
        """Like the real client: a refused later part reports what was already published."""
        ids: list[str] = []
        for part in parts:
            try:
                ids.append(self.create_post(part, ids[-1] if ids else None))
            except XApiError as err:
                if not ids:
                    raise
                raise ThreadPartiallyPublished(list(ids), err) from err
        return ids

    def get_metrics(self, post_ids: Sequence[str], private_ids: Sequence[str] = ()) -> MetricsBatch:
        # Public metrics only, and no post analytics (get_follows): the in-memory account stands for
        # one without those, so followers per post are the shared-delta estimate here.
        batch = MetricsBatch()
        now = self.clock()
        for pid in dict.fromkeys(post_ids):
            post = self.posts.get(pid)
            if post is None or post["deleted"]:
                batch.unavailable[pid] = "Could not find tweet with ids: [" + pid + "]."
                continue
            m = self.audience.metrics(pid, now)
            batch.metrics[pid] = PostMetrics(m["impression_count"], m["like_count"], m["retweet_count"],
                                             m["reply_count"], m["quote_count"], m["bookmark_count"])
        return batch

    def get_followers_count(self) -> int:
        self.user_reads += 1   # X bills each one (the count the daily-read rule is checked against)
        return self.audience.followers(self.clock())

    def own_posts_window(self, since_id: str, until_id: str, *, private: bool = False,
                         want: Sequence[str] = ()) -> list[OwnPost]:
        """As X's owned timeline: original posts (no thread parts) strictly between the ids, newest first,
        with public metrics only (the in-memory account has no non-public ones). `owned_returned`
        counts every post returned: what X would bill."""
        lo, hi = int(since_id), int(until_id)
        if lo >= hi:
            raise ValueError("since_id must be less than until_id")
        now = self.clock()
        rows = []
        for pid, p in sorted(self.posts.items(), key=lambda kv: int(kv[0]), reverse=True):
            if p["deleted"] or p["reply_to"] is not None or not lo < int(pid) < hi:
                continue
            m = self.audience.metrics(pid, now)
            rows.append(OwnPost(pid, p["text"], p["created_at"],
                                PostMetrics(m["impression_count"], m["like_count"], m["retweet_count"],
                                            m["reply_count"], m["quote_count"], m["bookmark_count"])))
        self.owned_returned += len(rows)
        return rows

    def recent_own_posts(self, since: datetime) -> list[OwnPost]:
        rows = [OwnPost(pid, p["text"], p["created_at"]) for pid, p in self.posts.items()
                if not p["deleted"] and p["created_at"] >= since]
        return sorted(rows, key=lambda p: p.created_at, reverse=True)


class MemoryWiring:
    """What `postloop.runtime.tasks` needs, all in memory."""

    def __init__(self, accounts: list[dict], audience, clock: Callable[[], datetime], chooser=None):
        self.accounts: dict[str, AccountConfig] = {}
        for a in accounts:
            cfg = parse_account(a)
            self.accounts[cfg.account_id] = cfg
        self.decisions = MemoryDecisionStore()
        self.outcomes = MemoryOutcomeStore()
        self.arms = MemoryArmStore()
        self.registry = MemoryModelRegistry()
        self.model_cache = MemoryModelCache()
        self.followers = MemoryFollowerReadings()
        self.writer = OfflineWriter()
        self.x = DirectX(audience, clock)
        self.chooser = chooser

    def account(self, account_id: str) -> AccountConfig:
        from postloop.runtime.wiring import UnknownAccount
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(f"account {account_id!r} is not configured") from None
