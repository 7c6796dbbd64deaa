"""The model cache reached through the cache function, for plan and learn outside the VPC.

ElastiCache answers only inside the VPC, and a function inside the VPC reaches the internet
only through a NAT (docs/decisions.md, "Only the cache function sits in the VPC"). So plan and
learn run outside it and ask the cache function (functions/cache, inside it) with Lambda's
Invoke API, which is reached from anywhere: `{"action": "get", "account_id"}` answers
`{"blob": <the stored text or null>}`, `{"action": "put", "account_id", "version", "blob"}`
answers `{"written": true}`, and a cache it could not reach answers `{"error": <type>}`.

The function hands over the stored text as it is; the blob is judged here, by the same
`checked` as a direct reader (adapters/redis_model_cache.py), so there is one place that
decides what plan may compute with. Any failure (the cache's, the function's, Lambda's, IAM's)
raises: plan then reads DynamoDB (core/plan.py load_model) and learn counts a failed write.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from postloop.adapters.redis_model_cache import checked, encode_blob
from postloop.core.records import ModelVersion


class ModelCacheUnavailable(RuntimeError):
    """The cache function did not serve the request; the message says why (types, never values)."""


class LambdaModelCache:
    """ModelCache through the cache function, with a boto3 Lambda client (`invoke`)."""

    def __init__(self, client, function_name: str, *,
                 on_reject: Callable[[str, str, str], None] | None = None):
        if not function_name:
            raise ValueError("function_name must name the cache function")
        self._client = client
        self._function = function_name
        self._on_reject = on_reject

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        response = self._client.invoke(FunctionName=self._function, Payload=json.dumps(request).encode("utf-8"))
        body = response["Payload"].read()
        if response.get("FunctionError"):
            # Lambda's error payload: {"errorType", "errorMessage", ...}; only the type is repeated.
            try:
                kind = json.loads(body).get("errorType", "unknown")
            except (ValueError, AttributeError):
                kind = "unknown"
            raise ModelCacheUnavailable(f"the cache function failed ({str(kind)[:80]})")
        try:
            out = json.loads(body)
        except ValueError:
            out = None
        if not isinstance(out, dict):
            raise ModelCacheUnavailable("the cache function's answer is not a JSON object")
        if "error" in out:
            raise ModelCacheUnavailable(f"the cache function could not reach the cache ({str(out['error'])[:80]})")
        return out

    def get_latest(self, account_id: str) -> ModelVersion | None:
        blob = self._call({"action": "get", "account_id": account_id}).get("blob")
        if blob is not None and not isinstance(blob, str):
            raise ModelCacheUnavailable("the cache function's blob is not text")
        return checked(blob, account_id, self._on_reject)

    def put_latest(self, model: ModelVersion) -> None:
        out = self._call({"action": "put", "account_id": model.account_id, "version": model.version,
                          "blob": encode_blob(model)})
        if out.get("written") is not True:
            raise ModelCacheUnavailable("the cache function did not confirm the write")
