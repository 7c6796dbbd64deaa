"""The DynamoDB tables, defined once.

These PynamoDB models are the single source of truth for keys and indexes: the
stores use them, the local backends create tables from them, and the CDK
tables are checked against them. Table names are not hard-wired: `bind_tables`
makes subclasses pointing at the names (and region/endpoint) from settings.
"""
from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    BooleanAttribute,
    TTLAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class _ByPostedAt(GlobalSecondaryIndex):
    """Posted decisions of an account in time order (sparse: only posted items carry posted_at)."""

    class Meta:
        index_name = "by_posted_at"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    posted_at = UTCDateTimeAttribute(range_key=True)


class _ByPlannedAt(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_planned_at"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    planned_at = UTCDateTimeAttribute(range_key=True)


class ContentMetadataTable(Model):
    """content_metadata: one item per decision, approved or not."""

    class Meta:
        table_name = "postloop-content-metadata"
        billing_mode = "PAY_PER_REQUEST"

    account_id = UnicodeAttribute(hash_key=True)
    decision_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    planned_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)
    content_type = UnicodeAttribute(null=True)
    hour = NumberAttribute(null=True)
    scheduled_for = UTCDateTimeAttribute(null=True)
    parts = ListAttribute(of=UnicodeAttribute, null=True)
    topic = UnicodeAttribute(null=True)
    features = JSONAttribute(null=True)
    prediction = JSONAttribute(null=True)
    type_propensity = NumberAttribute(null=True)
    hour_propensity = NumberAttribute(null=True)
    policy = UnicodeAttribute(null=True)
    posted_at = UTCDateTimeAttribute(null=True)
    post_ids = ListAttribute(of=UnicodeAttribute, null=True)
    followers_at_post = NumberAttribute(null=True)
    candidates = JSONAttribute(null=True)
    generator = UnicodeAttribute(null=True)
    spend = JSONAttribute(null=True)
    approval = JSONAttribute(null=True)

    by_posted_at = _ByPostedAt()
    by_planned_at = _ByPlannedAt()


class _ByCollectedAt(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_collected_at"
        projection = AllProjection()

    account_id = UnicodeAttribute(hash_key=True)
    collected_at = UTCDateTimeAttribute(range_key=True)


class OutcomesTable(Model):
    """outcomes: one item per (decision, horizon); outcome_key = '<decision_id>#<horizon>h'."""

    class Meta:
        table_name = "postloop-outcomes"
        billing_mode = "PAY_PER_REQUEST"

    account_id = UnicodeAttribute(hash_key=True)
    outcome_key = UnicodeAttribute(range_key=True)
    decision_id = UnicodeAttribute()
    horizon_hours = NumberAttribute()
    collected_at = UTCDateTimeAttribute()
    posted_at = UTCDateTimeAttribute()
    impressions = NumberAttribute(null=True)
    likes = NumberAttribute(null=True)
    retweets = NumberAttribute(null=True)
    replies = NumberAttribute(null=True)
    quotes = NumberAttribute(null=True)
    bookmarks = NumberAttribute(null=True)
    engagement_rate = NumberAttribute(null=True)
    followers_gained = NumberAttribute(null=True)
    followers_source = UnicodeAttribute(null=True)
    usable = BooleanAttribute(default=True)
    problem = UnicodeAttribute(null=True)
    spend_usd = NumberAttribute(null=True)
    private_metrics = JSONAttribute(null=True)

    by_collected_at = _ByCollectedAt()


class BanditArmsTable(Model):
    """bandit_arms: one item per (account, arm); arm_id = 'type#<name>' or 'hour#<h>'."""

    class Meta:
        table_name = "postloop-bandit-arms"
        billing_mode = "PAY_PER_REQUEST"

    account_id = UnicodeAttribute(hash_key=True)
    arm_id = UnicodeAttribute(range_key=True)
    pulls = NumberAttribute(default=0)
    successes = NumberAttribute(default=0)
    failures = NumberAttribute(default=0)
    reward_sum = NumberAttribute(default=0)
    reward_sq_sum = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute(null=True)


class ModelVersionsTable(Model):
    """model_versions: every fitted model, kept durably; version ids sort by fit time."""

    class Meta:
        table_name = "postloop-model-versions"
        billing_mode = "PAY_PER_REQUEST"

    account_id = UnicodeAttribute(hash_key=True)
    version = UnicodeAttribute(range_key=True)
    fitted_at = UTCDateTimeAttribute()
    payload = JSONAttribute()


class LocksTable(Model):
    """locks: short leases that serialise work across invocations (refreshing X's OAuth 2.0 tokens).

    `expires_at` is the lease's end; DynamoDB's TTL clears stale items, and the
    lease logic compares it itself because TTL deletion is late by up to days.
    """

    class Meta:
        table_name = "postloop-locks"
        billing_mode = "PAY_PER_REQUEST"

    lock_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()
    # None: an item that never expires (an account's pause flag, adapters/pause_flags.py).
    expires_at = TTLAttribute(null=True)
    note = UnicodeAttribute(null=True)    # a pause's reason
    since = UnicodeAttribute(null=True)   # when a pause began (ISO 8601)


class FollowerReadingsTable(Model):
    """follower_readings: the account's follower count, read from X at most once a day (core/followers.py).

    A few dozen bytes a day per account; the daily series is what the follow model is fitted to.
    """

    class Meta:
        table_name = "postloop-follower-readings"
        billing_mode = "PAY_PER_REQUEST"

    account_id = UnicodeAttribute(hash_key=True)
    read_at = UTCDateTimeAttribute(range_key=True)
    followers = NumberAttribute()


ALL_TABLES = {
    "content_metadata": ContentMetadataTable,
    "outcomes": OutcomesTable,
    "bandit_arms": BanditArmsTable,
    "model_versions": ModelVersionsTable,
    "locks": LocksTable,
    "follower_readings": FollowerReadingsTable,
}


@dataclass(frozen=True)
class TableNames:
    content_metadata: str
    outcomes: str
    bandit_arms: str
    model_versions: str
    locks: str = "postloop-locks"
    follower_readings: str = "postloop-follower-readings"


@dataclass(frozen=True)
class BoundTables:
    content_metadata: type[ContentMetadataTable]
    outcomes: type[OutcomesTable]
    bandit_arms: type[BanditArmsTable]
    model_versions: type[ModelVersionsTable]
    locks: type[LocksTable]
    follower_readings: type[FollowerReadingsTable]


def bind_tables(names: TableNames, region: str, host: str | None = None) -> BoundTables:
    """Subclasses of the table models pointing at the given names, region and endpoint."""

    def bind(model: type[Model], table_name: str):
        meta = type("Meta", (), {
            "table_name": table_name,
            "region": region,
            "host": host,
            "billing_mode": "PAY_PER_REQUEST",
        })
        return type(model.__name__, (model,), {"Meta": meta, "__module__": model.__module__})

    return BoundTables(
        content_metadata=bind(ContentMetadataTable, names.content_metadata),
        outcomes=bind(OutcomesTable, names.outcomes),
        bandit_arms=bind(BanditArmsTable, names.bandit_arms),
        model_versions=bind(ModelVersionsTable, names.model_versions),
        locks=bind(LocksTable, names.locks),
        follower_readings=bind(FollowerReadingsTable, names.follower_readings),
    )
