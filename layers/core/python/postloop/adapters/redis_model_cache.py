"""The latest model's coefficients in Redis (ElastiCache Serverless / Valkey in production).

Keys: `predictor:v2:<account>:latest` holds the latest version as JSON and
`predictor:v2:<account>:<version>` each version. The cache is only a fast copy:
every version is also in DynamoDB, and readers fall back to it on a miss.
"""
from __future__ import annotations

import json
from datetime import datetime

from postloop.core.records import ModelVersion

KEY_PREFIX = "predictor:v2"


def latest_key(account_id: str) -> str:
    return f"{KEY_PREFIX}:{account_id}:latest"


class RedisModelCache:
    def __init__(self, client, ttl_seconds: int | None = 30 * 86400):
        self._r = client
        self._ttl = ttl_seconds

    def put_latest(self, model: ModelVersion) -> None:
        blob = json.dumps({
            "account_id": model.account_id,
            "version": model.version,
            "fitted_at": model.fitted_at.isoformat(),
            "payload": model.payload,
        })
        pipe = self._r.pipeline(transaction=True)
        pipe.set(f"{KEY_PREFIX}:{model.account_id}:{model.version}", blob, ex=self._ttl)
        pipe.set(latest_key(model.account_id), blob)
        pipe.execute()

    def get_latest(self, account_id: str) -> ModelVersion | None:
        raw = self._r.get(latest_key(account_id))
        if raw is None:
            return None
        d = json.loads(raw)
        return ModelVersion(
            account_id=d["account_id"], version=d["version"],
            fitted_at=datetime.fromisoformat(d["fitted_at"]), payload=d["payload"],
        )
