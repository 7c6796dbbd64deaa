"""DynamoDB implementations of the core's stores (via the PynamoDB tables)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Sequence

from pynamodb.exceptions import PutError, UpdateError

from postloop.adapters.tables import BoundTables
from postloop.core.ports import AlreadyExists, ClaimRefused
from postloop.core.records import (
    ArmStats,
    Decision,
    Features,
    FollowerReading,
    ModelVersion,
    Outcome,
    Prediction,
    Status,
)


def _conditional_failed(err: Exception) -> bool:
    return getattr(err, "cause_response_code", None) == "ConditionalCheckFailedException"


class DynamoDecisionStore:
    def __init__(self, tables: BoundTables):
        self._t = tables.content_metadata

    def _to_item(self, d: Decision):
        return self._t(
            d.account_id,
            d.decision_id,
            status=d.status.value,
            status_reason=d.status_reason,
            planned_at=d.planned_at,
            updated_at=d.updated_at,
            content_type=d.content_type,
            hour=d.hour,
            scheduled_for=d.scheduled_for,
            parts=list(d.parts) or None,
            topic=d.topic,
            features=asdict(d.features) if d.features else None,
            prediction=asdict(d.prediction) if d.prediction else None,
            type_propensity=d.type_propensity,
            hour_propensity=d.hour_propensity,
            policy=d.policy,
            posted_at=d.posted_at,
            post_ids=list(d.post_ids) or None,
            followers_at_post=d.followers_at_post,
            candidates=d.candidates or None,
            generator=d.generator,
            spend=d.spend or None,
            approval=d.approval or None,
        )

    @staticmethod
    def _from_item(item) -> Decision:
        return Decision(
            account_id=item.account_id,
            decision_id=item.decision_id,
            planned_at=item.planned_at,
            status=Status(item.status),
            status_reason=item.status_reason,
            updated_at=item.updated_at,
            content_type=item.content_type,
            hour=int(item.hour) if item.hour is not None else None,
            scheduled_for=item.scheduled_for,
            parts=list(item.parts or []),
            topic=item.topic,
            features=Features(**item.features) if item.features else None,
            prediction=Prediction(**item.prediction) if item.prediction else None,
            type_propensity=item.type_propensity,
            hour_propensity=item.hour_propensity,
            policy=item.policy,
            posted_at=item.posted_at,
            post_ids=list(item.post_ids or []),
            followers_at_post=int(item.followers_at_post) if item.followers_at_post is not None else None,
            candidates=list(item.candidates or []),
            generator=item.generator,
            spend=dict(item.spend or {}),
            approval=dict(item.approval or {}),
        )

    def put_new(self, decision: Decision) -> None:
        try:
            self._to_item(decision).save(condition=self._t.decision_id.does_not_exist())
        except PutError as err:
            if _conditional_failed(err):
                raise AlreadyExists(decision.decision_id) from None
            raise

    def get(self, account_id: str, decision_id: str) -> Decision | None:
        try:
            return self._from_item(self._t.get(account_id, decision_id, consistent_read=True))
        except self._t.DoesNotExist:
            return None

    def claim_for_posting(self, account_id: str, decision_id: str, now: datetime) -> Decision:
        item = self._t(account_id, decision_id)
        try:
            item.update(
                actions=[self._t.status.set(Status.POSTING.value), self._t.updated_at.set(now)],
                condition=self._t.status == Status.PLANNED.value,
            )
        except UpdateError as err:
            if _conditional_failed(err):
                current = self.get(account_id, decision_id)
                status = current.status.value if current else "missing"
                raise ClaimRefused(status, f"decision {decision_id} is {status}, not planned") from None
            raise
        return self._from_item(item)

    def take_over_claim(self, account_id: str, decision_id: str, held_since: datetime, now: datetime) -> Decision:
        """Move a claim left in posting since `held_since` to a new holder from `now`.

        Raises `ClaimRefused` if the claim changed meanwhile (finished, released or taken over).
        """
        item = self._t(account_id, decision_id)
        try:
            item.update(actions=[self._t.updated_at.set(now)],
                        condition=(self._t.status == Status.POSTING.value) & (self._t.updated_at == held_since))
        except UpdateError as err:
            if _conditional_failed(err):
                current = self.get(account_id, decision_id)
                status = current.status.value if current else "missing"
                raise ClaimRefused(status, f"decision {decision_id}'s claim changed; it is {status}") from None
            raise
        return self._from_item(item)

    def save_claimed(self, decision: Decision, held_since: datetime) -> None:
        """Save `decision` only while its posting claim is still the one taken at `held_since`.

        Raises `ClaimRefused` otherwise: another invocation holds or has finished the decision.
        """
        held = (self._t.status == Status.POSTING.value) & (self._t.updated_at == held_since)
        try:
            self._to_item(decision).save(condition=held)
        except PutError as err:
            if _conditional_failed(err):
                current = self.get(decision.account_id, decision.decision_id)
                status = current.status.value if current else "missing"
                raise ClaimRefused(status, f"decision {decision.decision_id} is no longer held; it is {status}") from None
            raise

    def fail_unless_terminal(self, account_id: str, decision_id: str, reason: str, now: datetime) -> bool:
        """Mark the decision failed with `reason` unless it is missing or already ended; True if marked.

        What the workflow's Catch does (one conditional UpdateItem in the state machine).
        """
        terminal = [s.value for s in Status if s.terminal]
        try:
            self._t(account_id, decision_id).update(
                actions=[self._t.status.set(Status.FAILED.value), self._t.status_reason.set(reason),
                         self._t.updated_at.set(now)],
                condition=self._t.decision_id.exists() & ~self._t.status.is_in(*terminal),
            )
        except UpdateError as err:
            if _conditional_failed(err):
                return False
            raise
        return True

    def save(self, decision: Decision) -> None:
        self._to_item(decision).save()

    def save_if_unchanged(self, decision: Decision, status: Status, updated_at: datetime | None) -> bool:
        """Save `decision` only while the stored item still has `status` and `updated_at`; True if saved.

        One conditional PutItem: two writers that read the same item cannot both save it.
        """
        same_time = (self._t.updated_at.does_not_exist() if updated_at is None
                     else self._t.updated_at == updated_at)
        try:
            self._to_item(decision).save(condition=(self._t.status == status.value) & same_time)
        except PutError as err:
            if _conditional_failed(err):
                return False
            raise
        return True

    def posted_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        rows = self._t.by_posted_at.query(
            account_id, self._t.posted_at.between(start, end), scan_index_forward=True
        )
        return [self._from_item(r) for r in rows if r.posted_at < end]

    def planned_between(self, account_id: str, start: datetime, end: datetime) -> list[Decision]:
        rows = self._t.by_planned_at.query(
            account_id, self._t.planned_at.between(start, end), scan_index_forward=True
        )
        return [self._from_item(r) for r in rows if r.planned_at < end]


def outcome_key(decision_id: str, horizon_hours: int) -> str:
    return f"{decision_id}#{horizon_hours:03d}h"


class DynamoOutcomeStore:
    def __init__(self, tables: BoundTables):
        self._t = tables.outcomes

    @staticmethod
    def _from_item(r) -> Outcome:
        def opt_int(v):
            return int(v) if v is not None else None

        return Outcome(
            account_id=r.account_id,
            decision_id=r.decision_id,
            horizon_hours=int(r.horizon_hours),
            collected_at=r.collected_at,
            posted_at=r.posted_at,
            impressions=opt_int(r.impressions),
            likes=opt_int(r.likes),
            retweets=opt_int(r.retweets),
            replies=opt_int(r.replies),
            quotes=opt_int(r.quotes),
            bookmarks=opt_int(r.bookmarks),
            followers_gained=r.followers_gained,
            followers_source=r.followers_source,
            usable=bool(r.usable),
            problem=r.problem,
            spend_usd=r.spend_usd,
            private_metrics=r.private_metrics,
        )

    def put_if_absent(self, o: Outcome) -> bool:
        item = self._t(
            o.account_id,
            outcome_key(o.decision_id, o.horizon_hours),
            decision_id=o.decision_id,
            horizon_hours=o.horizon_hours,
            collected_at=o.collected_at,
            posted_at=o.posted_at,
            impressions=o.impressions,
            likes=o.likes,
            retweets=o.retweets,
            replies=o.replies,
            quotes=o.quotes,
            bookmarks=o.bookmarks,
            engagement_rate=o.engagement_rate,
            followers_gained=o.followers_gained,
            followers_source=o.followers_source,
            usable=o.usable,
            problem=o.problem,
            spend_usd=o.spend_usd,
            private_metrics=o.private_metrics,
        )
        try:
            item.save(condition=self._t.outcome_key.does_not_exist())
        except PutError as err:
            if _conditional_failed(err):
                return False
            raise
        return True

    def collected_between(self, account_id: str, start: datetime, end: datetime) -> list[Outcome]:
        rows = self._t.by_collected_at.query(account_id, self._t.collected_at.between(start, end))
        return [self._from_item(r) for r in rows if r.collected_at < end]

    def for_decision(self, account_id: str, decision_id: str) -> list[Outcome]:
        rows = self._t.query(account_id, self._t.outcome_key.startswith(f"{decision_id}#"))
        return [self._from_item(r) for r in rows]


class DynamoArmStore:
    def __init__(self, tables: BoundTables):
        self._t = tables.bandit_arms

    def load(self, account_id: str) -> list[ArmStats]:
        return [
            ArmStats(
                account_id=r.account_id,
                arm_id=r.arm_id,
                pulls=float(r.pulls),
                successes=float(r.successes),
                failures=float(r.failures),
                reward_sum=float(r.reward_sum),
                reward_sq_sum=float(r.reward_sq_sum),
                updated_at=r.updated_at,
            )
            for r in self._t.query(account_id)
        ]

    def replace_all(self, account_id: str, arms: Sequence[ArmStats]) -> None:
        keep = {a.arm_id for a in arms}
        with self._t.batch_write() as batch:
            for a in arms:
                batch.save(self._t(
                    account_id, a.arm_id, pulls=a.pulls, successes=a.successes, failures=a.failures,
                    reward_sum=a.reward_sum, reward_sq_sum=a.reward_sq_sum, updated_at=a.updated_at,
                ))
            for old in self._t.query(account_id, attributes_to_get=["account_id", "arm_id"]):
                if old.arm_id not in keep:
                    batch.delete(old)


class DynamoModelRegistry:
    def __init__(self, tables: BoundTables):
        self._t = tables.model_versions

    def put(self, model: ModelVersion) -> None:
        self._t(model.account_id, model.version, fitted_at=model.fitted_at, payload=model.payload).save()

    def latest(self, account_id: str) -> ModelVersion | None:
        for r in self._t.query(account_id, scan_index_forward=False, limit=1):
            return ModelVersion(account_id=r.account_id, version=r.version, fitted_at=r.fitted_at, payload=r.payload)
        return None


class DynamoFollowerReadings:
    """The account's follower readings, keyed by (account, read_at)."""

    def __init__(self, tables: BoundTables):
        self._t = tables.follower_readings

    @staticmethod
    def _from_item(r) -> FollowerReading:
        return FollowerReading(account_id=r.account_id, read_at=r.read_at, followers=int(r.followers))

    def put(self, reading: FollowerReading) -> None:
        self._t(reading.account_id, reading.read_at, followers=reading.followers).save()

    def latest(self, account_id: str) -> FollowerReading | None:
        for r in self._t.query(account_id, scan_index_forward=False, limit=1):
            return self._from_item(r)
        return None

    def between(self, account_id: str, start: datetime, end: datetime) -> list[FollowerReading]:
        rows = self._t.query(account_id, self._t.read_at.between(start, end))
        return [self._from_item(r) for r in rows if r.read_at < end]
