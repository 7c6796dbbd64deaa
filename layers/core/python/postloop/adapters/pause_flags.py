"""Control items in the locks table: each account's pause flag (`paused#<account id>`) and the
used review tokens (`review#<nonce>`).

The locks table already holds small per-account control items; a pause has no end,
so its item carries no `expires_at` (DynamoDB's TTL leaves it alone). Plan reads it
with one GetItem; only a person's `postloop pause|resume` writes it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from pynamodb.exceptions import DoesNotExist

from postloop.core.pause import Pause

PREFIX = "paused#"


def flag_id(account_id: str) -> str:
    return PREFIX + account_id


class DynamoPauseFlags:
    def __init__(self, table):
        self._t = table

    def paused(self, account_id: str) -> Pause | None:
        try:
            item = self._t.get(flag_id(account_id), consistent_read=True)
        except DoesNotExist:
            return None
        since = datetime.fromisoformat(item.since) if item.since else datetime.fromtimestamp(0, timezone.utc)
        return Pause(since=since, by=item.owner, reason=item.note)

    def pause(self, account_id: str, pause: Pause) -> None:
        self._t(flag_id(account_id), owner=pause.by, note=pause.reason,
                since=pause.since.isoformat()).save()

    def resume(self, account_id: str) -> bool:
        from pynamodb.exceptions import DeleteError
        try:
            self._t(flag_id(account_id)).delete(condition=self._t.lock_id.exists())
        except DeleteError as err:
            if getattr(err, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class DynamoTokenLedger:
    """Used review tokens: `review#<nonce>` in the locks table, written only if absent, cleared by TTL
    when the token would have expired anyway."""

    def __init__(self, table):
        self._t = table

    def spend(self, nonce: str, expires_at: datetime) -> bool:
        from pynamodb.exceptions import PutError
        try:
            self._t("review#" + nonce, owner="review", expires_at=expires_at).save(
                condition=self._t.lock_id.does_not_exist())
        except PutError as err:
            if getattr(err, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def spent(self, nonce: str) -> bool:
        try:
            self._t.get("review#" + nonce, consistent_read=True)
        except DoesNotExist:
            return False
        return True
