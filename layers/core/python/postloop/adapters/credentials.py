"""Where credentials live and how refreshes are serialised: Secrets Manager and a DynamoDB lease."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

from pynamodb.exceptions import DeleteError, PutError


class SecretsManagerCredentials:
    """One secret read fresh (no cache: a peer may have rotated it) and written as a new version."""

    def __init__(self, client, secret_id: str):
        self._sm = client
        self.secret_id = secret_id

    def read(self) -> dict:
        raw = self._sm.get_secret_value(SecretId=self.secret_id)["SecretString"]
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValueError(f"secret {self.secret_id} does not hold JSON") from None
        if not isinstance(value, dict):
            raise ValueError(f"secret {self.secret_id} must hold a JSON object")
        return value

    def write(self, value: dict) -> None:
        self._sm.put_secret_value(SecretId=self.secret_id, SecretString=json.dumps(value))


class DynamoLease:
    """An exclusive lease: a conditional put that succeeds only if no unexpired lease exists."""

    def __init__(self, table, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self._t = table
        self._clock = clock

    def acquire(self, name: str, seconds: int) -> str | None:
        now = self._clock()
        owner = uuid.uuid4().hex
        item = self._t(name, owner=owner, expires_at=now + timedelta(seconds=seconds))
        free = self._t.lock_id.does_not_exist() | (self._t.expires_at < now)
        try:
            item.save(condition=free)
        except PutError as err:
            if getattr(err, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise
        return owner

    def release(self, name: str, owner: str) -> None:
        try:
            self._t(name).delete(condition=self._t.owner == owner)
        except DeleteError as err:
            # Expired and taken by someone else meanwhile: theirs now, leave it.
            if getattr(err, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
