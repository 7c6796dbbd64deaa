"""The model cache against a real redis-server shaped like ElastiCache Serverless: cluster mode, TLS only.

The server is the one the fixtures start (tests/conftest.py, postloop_local/backends.py): one node
holding all 16384 slots, no plaintext port, a certificate from a CA made at its start.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import sys
from datetime import datetime, timezone

import pytest
import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from postloop.adapters import redis_model_cache
from postloop.adapters.redis_model_cache import RedisModelCache, check_blob, encode_blob, latest_key, version_key
from postloop.core.predictor import FOLLOW_FEATURES, engagement_feature_names
from postloop.core.records import ModelVersion
from postloop.runtime import observability
from postloop.runtime.settings import SettingsError, load_settings
from postloop.runtime.wiring import redis_client
from postloop_local.invoke import invoke

from tests.conftest import REPO

FITTED = datetime(2026, 1, 8, 6, tzinfo=timezone.utc)
TYPES, HOURS = ["educational_thread", "hot_take", "question"], [7, 9, 19]


def payload(types=TYPES, hours=HOURS, *, coef_value: float = 0.001, trusted: bool = True) -> dict:
    """A model payload of the shape learn writes (core/learn.py fit_engagement / fit_follow)."""
    names = engagement_feature_names(types, hours)
    n = len(names)
    return {
        "engagement": {"kind": "ridge", "features": names, "n": 40, "trusted": trusted, "reason": "test",
                       "coef": [coef_value] * n, "intercept": 0.02, "noise_var": 1e-4,
                       "precision": [[50.0 if i == j else 0.0 for j in range(n)] for i in range(n)],
                       "r2": float("-inf"), "mse": 1e-4, "baseline_mse": 2e-4},
        "follow": {"kind": "logistic", "features": list(FOLLOW_FEATURES), "n": 40, "trusted": False,
                   "reason": "test", "coef": [0.1] * len(FOLLOW_FEATURES), "intercept": -1.0},
        "data_digest": "0123456789abcdef",
    }


def model(account_id: str = "demo", version: str = "20260108T060000Z-cached", **kw) -> ModelVersion:
    return ModelVersion(account_id, version, FITTED, payload(**kw))


# --- the server and the client ----------------------------------------------------------------

def test_the_server_runs_in_cluster_mode_with_tls_only(redis_server):
    r = redis_server.client()
    assert r.info("cluster")["cluster_enabled"] == 1
    assert b"cluster_state:ok" in r.execute_command("CLUSTER", "INFO")
    assert r.config_get("port")["port"] == "0" and r.config_get("tls-port")["tls-port"] == str(redis_server.port)
    # A plaintext client on the same port gets no answer: TLS is the only way in.
    once = {"socket_timeout": 1, "socket_connect_timeout": 1, "retry": Retry(NoBackoff(), 0)}
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=redis_server.port, **once).ping()
    # And the client verifies the server: without the test CA the certificate is not trusted.
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        redis.Redis(host="127.0.0.1", port=redis_server.port, ssl=True, **once).ping()


def test_the_client_for_a_rediss_url_is_a_cluster_client_and_a_redis_url_a_plain_one(redis_server):
    cluster = redis_client(redis_server.url)
    assert isinstance(cluster, RedisCluster) and cluster.ping()
    assert not isinstance(redis_client("redis://127.0.0.1:1/0"), RedisCluster)
    with pytest.raises(SettingsError, match="POSTLOOP_REDIS_URL must start with rediss://"):
        load_settings({"AWS_REGION": "us-east-1", "POSTLOOP_ACCOUNTS_FILE": "a.json",
                       "POSTLOOP_REDIS_URL": "cache.example:6379"})


def test_put_and_get_round_trip_on_the_cluster(redis_server):
    cluster = redis_client(redis_server.url)
    cache = RedisModelCache(cluster)
    m = model()
    cache.put_latest(m)
    assert cache.get_latest("demo") == m
    # One hash tag per account: the version key and `latest` live in one slot, so MULTI/EXEC may span them.
    assert cluster.keyslot(latest_key("demo")) == cluster.keyslot(version_key("demo", m.version))
    assert 0 < cluster.ttl(version_key("demo", m.version)) <= 30 * 86400 and cluster.ttl(latest_key("demo")) == -1
    assert cache.get_latest("berlin") is None


def test_the_old_two_slot_transaction_fails_on_this_server_and_the_tagged_one_succeeds(redis_server):
    # What put_latest sent before: MULTI/EXEC over `predictor:v2:<account>:<version>` and `…:latest`.
    r = redis_server.client()
    old = r.pipeline(transaction=True)
    old.set("predictor:v2:demo:20260108T060000Z-cached", "{}")
    old.set("predictor:v2:demo:latest", "{}")
    # redis-py raises this class for the server's CROSSSLOT error.
    with pytest.raises(redis.exceptions.ClusterCrossSlotError, match="don't hash to the same slot"):
        old.execute()
    new = r.pipeline(transaction=True)
    new.set(version_key("demo", "20260108T060000Z-cached"), "{}")
    new.set(latest_key("demo"), "{}")
    assert new.execute() == [True, True]


def test_a_cache_that_is_down_fails_the_call_and_a_restarted_one_is_an_empty_working_cluster(redis_server):
    cache = RedisModelCache(connect=lambda: redis_client(redis_server.url))
    cache.put_latest(model())
    redis_server.stop()
    with pytest.raises(redis.RedisError):
        cache.get_latest("demo")
    redis_server.start()
    assert cache.get_latest("demo") is None          # restarted empty, and the same client reconnects
    cache.put_latest(model())
    assert cache.get_latest("demo") == model()


# --- every blob is checked -------------------------------------------------------------------

def _blob(**changes) -> dict:
    d = json.loads(encode_blob(model()))
    d.update(changes)
    return d


def _nan_coef():
    d = _blob()
    d["payload"]["engagement"]["coef"][0] = float("nan")
    return json.dumps(d)


def _short_coef():
    d = _blob()
    d["payload"]["engagement"]["coef"].pop()
    return json.dumps(d)


def _follow_names_reordered():
    d = _blob()
    d["payload"]["follow"]["features"] = list(reversed(FOLLOW_FEATURES))
    return json.dumps(d)


def _engagement_names_unknown():
    d = _blob()
    d["payload"]["engagement"]["features"][-1] = "weekday=3"
    return json.dumps(d)


def _infinite_intercept():
    d = _blob()
    d["payload"]["follow"]["intercept"] = 1e400   # JSON allows the literal; Python reads it as inf
    return json.dumps(d).replace("Infinity", "1e400")


def _precision_of_another_size():
    d = _blob()
    d["payload"]["engagement"]["precision"] = d["payload"]["engagement"]["precision"][:-1]
    return json.dumps(d)


BAD_BLOBS = {
    "NaN coefficient": (_nan_coef, "not_finite"),
    "infinite intercept": (_infinite_intercept, "not_finite"),
    "another schema": (lambda: json.dumps(_blob(schema=2)), "schema"),
    "no schema (the v2 format)": (lambda: json.dumps({k: v for k, v in _blob().items() if k != "schema"}),
                                  "schema"),
    "another account": (lambda: json.dumps(_blob(account_id="berlin")), "account"),
    "follow feature names reordered": (_follow_names_reordered, "features"),
    "an engagement feature no vector builds": (_engagement_names_unknown, "features"),
    "one coefficient short": (_short_coef, "length"),
    "precision of another size": (_precision_of_another_size, "length"),
    "not JSON": (lambda: b"\x80not json{", "malformed"),
    "a JSON list": (lambda: "[1, 2]", "malformed"),
}


@pytest.mark.parametrize("case", BAD_BLOBS)
def test_check_blob_names_what_is_wrong(case):
    make, reason = BAD_BLOBS[case]
    with pytest.raises(redis_model_cache.BlobRejected) as err:
        check_blob(make(), "demo")
    assert err.value.reason == reason


def test_a_blob_this_code_wrote_passes_with_a_minus_infinite_r2():
    # r2 is -inf by definition when the held-out part is constant; it is a report, not computed with.
    assert check_blob(encode_blob(model()), "demo") == model()
    untrained = model(trusted=False)
    untrained.payload["engagement"].update(coef=None, intercept=None, precision=None, noise_var=None)
    assert check_blob(encode_blob(untrained), "demo").payload["engagement"]["coef"] is None


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextlib.contextmanager
def _watch():
    """(metric blobs printed as EMF, warning records of the postloop logger) while the block runs."""
    out, records = io.StringIO(), _Records()
    observability.logger.addHandler(records)
    try:
        with contextlib.redirect_stdout(out):
            yield out, records
    finally:
        observability.logger.removeHandler(records)


def _metrics(out: io.StringIO, name: str) -> list[dict]:
    blobs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [b for b in blobs if name in b]


def _durable_model(stack) -> ModelVersion:
    """A real model of the demo account's shape, written to DynamoDB (the durable copy)."""
    config = stack.wiring.account("demo")
    types = [c.name for c in config.content_types]
    durable = ModelVersion("demo", "20260108T000000Z-durable", FITTED, payload(types, list(config.posting_hours)))
    stack.wiring.registry.put(durable)
    return durable


def _plan_with_cached(stack, blob, day: int, key: str | None = None):
    """Put `blob` at the account's `latest` key (or `key`), plan the 05:00 slot of January `day`;
    returns (the decision, the EMF metric blobs, the warning records)."""
    r = stack.backends.redis.client()
    r.flushall()
    r.set(key or latest_key("demo"), blob)
    when = datetime(2026, 1, day, 5, tzinfo=timezone.utc)
    stack.clock.t = when
    with _watch() as (out, records):
        planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    assert d.prediction is not None, planned
    return d, planned, out, records


REJECTED_IN_PLAN = ("NaN coefficient", "another schema", "another account", "follow feature names reordered",
                    "one coefficient short", "not JSON")


def test_plan_reads_dynamodb_when_the_cached_blob_is_bad_and_says_why(stack):
    # One local stack for every case (each on its own day): a stack takes seconds to start.
    durable = _durable_model(stack)
    for day, case in enumerate(REJECTED_IN_PLAN, start=9):
        make, reason = BAD_BLOBS[case]
        d, planned, out, records = _plan_with_cached(stack, make(), day)
        assert d.prediction.model_version == durable.version, case
        assert math.isfinite(planned["predicted_engagement_rate"]), case
        (metric,) = _metrics(out, "ModelCacheRejected")
        assert (metric["account"], metric["reason"], metric["ModelCacheRejected"]) == ("demo", reason, [1.0]), case
        assert metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "account", "reason"]]
        (warning,) = [r for r in records.records if "model cache blob rejected" in r.getMessage()]
        assert (warning.account_id, warning.reason) == ("demo", reason) and warning.detail, case
    # The key version moved with the format: a v2 blob under its old key is never read at all.
    v2 = json.dumps({k: v for k, v in _blob(version="20260108T060000Z-v2").items() if k != "schema"})
    d, _, out, _ = _plan_with_cached(stack, v2, 9 + len(REJECTED_IN_PLAN), key="predictor:v2:demo:latest")
    assert d.prediction.model_version == durable.version and _metrics(out, "ModelCacheRejected") == []


def _unchecked(raw, account_id):
    """What get_latest did before: trust whatever the key holds."""
    d = json.loads(raw)
    return ModelVersion(d["account_id"], d["version"], datetime.fromisoformat(d["fitted_at"]), d["payload"])


def test_without_the_check_plan_uses_another_accounts_blob_and_predicts_nan(stack, monkeypatch):
    durable = _durable_model(stack)
    monkeypatch.setattr(redis_model_cache, "check_blob", _unchecked)
    config = stack.wiring.account("demo")
    other = encode_blob(model("berlin", "20260108T060000Z-berlin", types=[c.name for c in config.content_types],
                              hours=list(config.posting_hours)))
    d, _, out, _ = _plan_with_cached(stack, other, 9)
    assert d.prediction.model_version == "20260108T060000Z-berlin" != durable.version
    assert _metrics(out, "ModelCacheRejected") == []
    d, planned, _, _ = _plan_with_cached(stack, _nan_coef(), 10)
    assert d.prediction.model_version != durable.version and math.isnan(planned["predicted_engagement_rate"])


# --- end to end: learn writes, plan reads the cache --------------------------------------------

def test_after_learn_plan_reads_the_model_from_the_cluster_cache_not_dynamodb(stack, monkeypatch):
    assert "cluster mode, TLS only" in stack.backends.info.redis_kind
    assert stack.backends.info.redis_url.startswith("rediss://")
    # As deployed without a NAT: plan and learn invoke the cache function, which alone talks to Redis.
    assert type(stack.wiring.model_cache).__name__ == "LambdaModelCache"
    signed = stack.backends.iam.signed
    calls = _count_cache_function_calls(monkeypatch)
    stack.clock.t = datetime(2026, 1, 9, 6, tzinfo=timezone.utc)
    with _watch() as (out, _):
        learned = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-09T06:00:00Z"})
    assert learned["cache_written"] and not learned["cache_write_failed"]
    assert [m["ModelCacheWriteFailed"] for m in _metrics(out, "ModelCacheWriteFailed")] == [[0.0]]
    # Take the durable copy away: a plan that still finds the model can only have read the cache.
    for item in stack.wiring.tables.model_versions.scan():
        item.delete()
    assert stack.wiring.registry.latest("demo") is None
    stack.clock.t = datetime(2026, 1, 9, 7, tzinfo=timezone.utc)
    with _watch():
        planned = invoke("plan", {"account_id": "demo", "scheduled_time": "2026-01-09T07:00:00Z"})
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    assert d.prediction.model_version == learned["model_version"]
    assert signed[("learn", "lambda.Invoke")] == 1 and signed[("plan", "lambda.Invoke")] == 1
    assert calls == [("put", "demo"), ("get", "demo")]


def _count_cache_function_calls(monkeypatch) -> list[tuple[str, str]]:
    """Each call the cache function's handler serves, as (action, account), in the list returned."""
    from postloop_local.invoke import load_handler
    handler = sys.modules[load_handler("cache").__module__]
    calls: list[tuple[str, str]] = []
    real = handler.cache_task

    def recording(event, w):
        calls.append((event["action"], event["account_id"]))
        return real(event, w)
    monkeypatch.setattr(handler, "cache_task", recording)
    return calls


def test_the_cache_function_hands_over_the_stored_text_and_plan_judges_it(stack):
    """One place decides what plan computes with: the cache function returns a bad blob as it is."""
    stack.backends.redis.client().set(latest_key("demo"), _nan_coef())
    got = invoke("cache", {"action": "get", "account_id": "demo"})
    assert got == {"blob": _nan_coef()}
    cache = stack.wiring.model_cache
    with _watch() as (out, _):
        assert cache.get_latest("demo") is None
    (metric,) = _metrics(out, "ModelCacheRejected")
    assert metric["reason"] == "not_finite"
    # A put is written as given, the version and `latest` in one transaction.
    put = json.loads((REPO / "events" / "cache-put.json").read_text())
    assert invoke("cache", put) == {"written": True}
    assert stack.backends.redis.client().get(latest_key("demo")).decode() == put["blob"]
    assert cache.get_latest("demo").version == put["version"]


def test_a_cache_the_function_cannot_reach_is_an_answer_not_a_function_error(stack):
    from postloop.adapters.lambda_model_cache import ModelCacheUnavailable
    stack.backends.redis.stop()
    try:
        # A fresh client cannot read the slot map; one already connected loses its connection.
        assert invoke("cache", {"action": "get", "account_id": "demo"})["error"] in (
            "RedisClusterUnreachableError", "ConnectionError")
        with pytest.raises(ModelCacheUnavailable, match="could not reach the cache"):
            stack.wiring.model_cache.get_latest("demo")
    finally:
        stack.backends.redis.start()


def test_a_cache_function_that_raises_is_a_miss_for_plan(stack, monkeypatch):
    from postloop.adapters.lambda_model_cache import ModelCacheUnavailable
    from postloop.runtime import wiring
    durable = _durable_model(stack)

    def broken(self):
        raise RuntimeError("a bug in the cache function")
    monkeypatch.setattr(wiring.Wiring, "redis_cache", property(broken))
    with pytest.raises(ModelCacheUnavailable, match=r"the cache function failed \(RuntimeError\)"):
        stack.wiring.model_cache.get_latest("demo")
    stack.clock.t = datetime(2026, 1, 9, 5, tzinfo=timezone.utc)
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": "2026-01-09T05:00:00Z"})
    assert stack.wiring.decisions.get("demo", planned["decision_id"]).prediction.model_version == durable.version


def test_a_failed_cache_write_in_learn_is_counted(stack):
    stack.backends.redis.stop()
    try:
        stack.clock.t = datetime(2026, 1, 9, 6, tzinfo=timezone.utc)
        with _watch() as (out, records):
            learned = invoke("learn", {"account_id": "demo", "scheduled_time": "2026-01-09T06:00:00Z"})
    finally:
        stack.backends.redis.start()
    assert learned["model_written"] and not learned["cache_written"] and learned["cache_write_failed"]
    (metric,) = _metrics(out, "ModelCacheWriteFailed")
    assert (metric["account"], metric["ModelCacheWriteFailed"]) == ("demo", [1.0])
    assert any("model cache write failed" in r.getMessage() for r in records.records)
