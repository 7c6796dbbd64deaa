"""The cache function's client (adapters/lambda_model_cache.py): what it asks, and every answer it refuses."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone

import pytest

from postloop.adapters.lambda_model_cache import LambdaModelCache, ModelCacheUnavailable
from postloop.adapters.redis_model_cache import encode_blob
from postloop.core.predictor import FOLLOW_FEATURES, engagement_feature_names
from postloop.core.records import ModelVersion


def _model(account_id: str = "demo") -> ModelVersion:
    names = engagement_feature_names(["hot_take", "question"], [9, 19])
    part = {"features": names, "coef": None, "trusted": False}
    follow = {"features": list(FOLLOW_FEATURES), "coef": None, "trusted": False}
    return ModelVersion(account_id, "v1", datetime(2026, 1, 9, tzinfo=timezone.utc),
                        {"engagement": part, "follow": follow})


class FakeLambda:
    """boto3's Lambda client as the adapter uses it: invoke(FunctionName, Payload) -> StatusCode, Payload."""

    def __init__(self, answer, function_error: str | None = None):
        self.answer, self.function_error, self.requests = answer, function_error, []

    def invoke(self, FunctionName, Payload):
        self.requests.append((FunctionName, json.loads(Payload)))
        body = self.answer if isinstance(self.answer, bytes) else json.dumps(self.answer).encode()
        out = {"StatusCode": 200, "Payload": io.BytesIO(body)}
        if self.function_error:
            out["FunctionError"] = self.function_error
        return out


def test_get_asks_for_the_account_and_checks_the_blob_it_gets():
    client = FakeLambda({"blob": encode_blob(_model())})
    assert LambdaModelCache(client, "postloop-cache").get_latest("demo") == _model()
    assert client.requests == [("postloop-cache", {"action": "get", "account_id": "demo"})]
    assert LambdaModelCache(FakeLambda({"blob": None}), "postloop-cache").get_latest("demo") is None


def test_a_blob_of_another_account_is_rejected_here_and_reported():
    rejected = []
    cache = LambdaModelCache(FakeLambda({"blob": encode_blob(_model("berlin"))}), "postloop-cache",
                             on_reject=lambda *r: rejected.append(r))
    assert cache.get_latest("demo") is None
    assert rejected == [("demo", "account", "the blob belongs to another account")]


def test_put_sends_the_encoded_model_and_needs_the_write_confirmed():
    client = FakeLambda({"written": True})
    LambdaModelCache(client, "postloop-cache").put_latest(_model())
    assert client.requests == [("postloop-cache", {"action": "put", "account_id": "demo", "version": "v1",
                                                   "blob": encode_blob(_model())})]
    with pytest.raises(ModelCacheUnavailable, match="did not confirm the write"):
        LambdaModelCache(FakeLambda({"blob": None}), "postloop-cache").put_latest(_model())


@pytest.mark.parametrize("answer, function_error, message", [
    ({"error": "ConnectionError"}, None, r"could not reach the cache \(ConnectionError\)"),
    ({"errorType": "EventError", "errorMessage": "cache event: ..."}, "Unhandled",
     r"the cache function failed \(EventError\)"),
    (b"Task timed out", "Unhandled", r"the cache function failed \(unknown\)"),
    (b"not json", None, "not a JSON object"),
    ([1, 2], None, "not a JSON object"),
    ({"blob": 42}, None, "blob is not text"),
])
def test_every_other_answer_is_an_error_naming_what_came_back(answer, function_error, message):
    with pytest.raises(ModelCacheUnavailable, match=message):
        LambdaModelCache(FakeLambda(answer, function_error), "postloop-cache").get_latest("demo")


def test_a_cache_function_name_is_required():
    with pytest.raises(ValueError, match="function_name"):
        LambdaModelCache(FakeLambda({}), "")
