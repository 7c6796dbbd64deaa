"""The latest model's coefficients in Redis (ElastiCache Serverless / Valkey in production).

The cache is only a fast copy: every version is also in DynamoDB, and plan falls back
to it whenever the cache has nothing usable.

Keys. `predictor:v3:{<account>}:latest` holds the latest model as JSON and
`predictor:v3:{<account>}:<version>` each version (kept 30 days). ElastiCache Serverless
runs in cluster mode, where a MULTI/EXEC may only touch keys of one hash slot. The braces
are a hash tag: only `<account>` is hashed, so all keys of an account share a slot and
learn writes the version and `latest` in one transaction, atomically, on a cluster as on a
plain server. (Dropping the transaction would have worked too, since readers only read
`latest`; the tag keeps the two keys from ever disagreeing and costs nothing.) Version 2
keys (`predictor:v2:<account>:…`) were written without the tag and with no schema field;
they are never read.

Reading. A blob is used only if it is what this code writes (`check_blob`): the schema
version, the account asked for, the feature names the predictors build vectors for, one
coefficient per feature (and a square precision matrix of that size), every number plan
computes with finite. Anything else counts as a miss (`checked`, the one place a blob is
judged, whichever way it was read: here, or through the cache function's `get` in
adapters/lambda_model_cache.py): `get_latest` returns None, so plan
reads DynamoDB, and `on_reject(account_id, reason, detail)` is told why (the wiring logs a
warning and emits the `ModelCacheRejected` metric with the reason as a dimension). The bad
blob stays until learn writes the next one, which it does on every run.

Engagement feature names are checked for their form (`quality`, then `type=<name>`
entries, then `hour=<0-23>` entries, no repeats), not against the account's current
configuration: a model fitted before the account gained a type or an hour stays valid
(core/predictor.py). Held-out scores (r2, mse, ...) are reports, never computed with, and
r2 is −inf by definition when the held-out part is constant, so only their type is checked.
"""
from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any, Callable

from postloop.core.predictor import FOLLOW_FEATURES
from postloop.core.records import ModelVersion

SCHEMA_VERSION = 3
KEY_PREFIX = f"predictor:v{SCHEMA_VERSION}"
VERSION_TTL_SECONDS = 30 * 86400

# The reasons a blob is rejected: the metric's `reason` dimension takes only these values.
REJECT_REASONS = ("malformed", "schema", "account", "features", "length", "not_finite")

_TYPE_NAME = re.compile(r"^type=\S.*$")
_HOUR_NAME = re.compile(r"^hour=(\d{1,2})$")
_CONTEXT_NAME = re.compile(r"^(dow=(mon|tue|wed|thu|fri|sat|sun)|type=\S.*\|hour=([01]?\d|2[0-3])|crowding|repeat)$")
_REPORT_KEYS = ("r2", "mae", "baseline_mae", "mse", "baseline_mse", "auc", "log_loss", "baseline_log_loss",
                "base_rate", "winsorised_at")


class BlobRejected(ValueError):
    """A cached blob that plan must not use; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str):
        assert reason in REJECT_REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _tag(account_id: str) -> str:
    if not account_id:
        # "{}" is no hash tag: the keys would hash whole and land in different slots.
        raise ValueError("account_id must not be empty")
    return "{" + account_id + "}"


def latest_key(account_id: str) -> str:
    return f"{KEY_PREFIX}:{_tag(account_id)}:latest"


def version_key(account_id: str, version: str) -> str:
    return f"{KEY_PREFIX}:{_tag(account_id)}:{version}"


def encode_blob(model: ModelVersion) -> str:
    return json.dumps({
        "schema": SCHEMA_VERSION,
        "account_id": model.account_id,
        "version": model.version,
        "fitted_at": model.fitted_at.isoformat(),
        "payload": model.payload,
    })


# --- the checks ------------------------------------------------------------------------------

def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _finite(x: Any, what: str) -> float:
    if not _is_number(x):
        raise BlobRejected("malformed", f"{what} is not a number")
    try:
        value = float(x)   # an integer too large for a float raises OverflowError
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise BlobRejected("not_finite", f"{what} is {str(x)[:20]}")
    return value


def _vector(values: Any, n: int, what: str) -> None:
    if not isinstance(values, list):
        raise BlobRejected("malformed", f"{what} is not a list")
    if len(values) != n:
        raise BlobRejected("length", f"{what} has {len(values)} values for {n} features")
    for i, v in enumerate(values):
        _finite(v, f"{what}[{i}]")


def _engagement_names(names: Any) -> int:
    """The number of engagement features, if `names` has the form engagement_feature_names gives."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BlobRejected("malformed", "engagement.features is not a list of names")
    if not names or names[0] != "quality":
        raise BlobRejected("features", "engagement.features does not start with 'quality'")
    rest = names[1:]
    types = [n for n in rest if _TYPE_NAME.match(n) and not _CONTEXT_NAME.match(n)]   # not type × hour cells
    hours = rest[len(types):]
    if rest[:len(types)] != types or not types:
        raise BlobRejected("features", "engagement.features needs 'type=<name>' entries right after 'quality'")
    for n in hours:
        m = _HOUR_NAME.match(n)
        if not m or not 0 <= int(m.group(1)) <= 23:
            if _CONTEXT_NAME.match(n):   # core/post_context.py: weekday, type × hour, crowding, repeat
                continue
            raise BlobRejected("features", f"engagement feature {n[:40]!r} is not 'type=<name>', 'hour=<0-23>' "
                                           f"or a context feature")
    if len(set(names)) != len(names):
        raise BlobRejected("features", "engagement.features repeats a name")
    return len(names)


def _model_part(part: Any, which: str, n: int) -> None:
    """One predictor's payload: coefficients, intercept and flags as plan uses them."""
    if part.get("coef") is None:
        if part.get("trusted") is not False:
            raise BlobRejected("malformed", f"{which} has no coefficients but is not marked untrusted")
        return
    if not isinstance(part.get("trusted"), bool):
        raise BlobRejected("malformed", f"{which}.trusted is not true or false")
    _vector(part["coef"], n, f"{which}.coef")
    _finite(part.get("intercept"), f"{which}.intercept")
    for key in _REPORT_KEYS:
        if part.get(key) is not None and not _is_number(part[key]):
            raise BlobRejected("malformed", f"{which}.{key} is not a number")


def check_blob(raw: bytes | str, account_id: str) -> ModelVersion:
    """The model in `raw` if it is a blob this code wrote for `account_id`; else BlobRejected."""
    try:
        d = json.loads(raw)
    except (ValueError, TypeError):
        raise BlobRejected("malformed", "not JSON") from None
    if not isinstance(d, dict):
        raise BlobRejected("malformed", "not a JSON object")
    if d.get("schema") != SCHEMA_VERSION:
        raise BlobRejected("schema", f"schema {str(d.get('schema'))[:20]!r}, expected {SCHEMA_VERSION}")
    if d.get("account_id") != account_id:
        raise BlobRejected("account", "the blob belongs to another account")
    version, fitted_at, payload = d.get("version"), d.get("fitted_at"), d.get("payload")
    if not isinstance(version, str) or not version:
        raise BlobRejected("malformed", "version is not a non-empty string")
    try:
        fitted = datetime.fromisoformat(fitted_at)
    except (TypeError, ValueError):
        raise BlobRejected("malformed", "fitted_at is not an ISO time") from None
    if fitted.tzinfo is None:
        raise BlobRejected("malformed", "fitted_at has no time zone")
    if not isinstance(payload, dict):
        raise BlobRejected("malformed", "payload is not an object")
    eng, fol = payload.get("engagement"), payload.get("follow")
    if not isinstance(eng, dict) or not isinstance(fol, dict):
        raise BlobRejected("malformed", "payload lacks the engagement or follow model")

    n = _engagement_names(eng.get("features"))
    _model_part(eng, "engagement", n)
    if eng.get("coef") is not None:
        # What the pooled decider samples from (plan.choose_pooled).
        _finite(eng.get("noise_var"), "engagement.noise_var")
        precision = eng.get("precision")
        if not isinstance(precision, list):
            raise BlobRejected("malformed", "engagement.precision is not a matrix")
        if len(precision) != n:
            raise BlobRejected("length", f"engagement.precision has {len(precision)} rows for {n} features")
        for i, row in enumerate(precision):
            _vector(row, n, f"engagement.precision[{i}]")
    if fol.get("features") != list(FOLLOW_FEATURES):
        raise BlobRejected("features", "follow.features are not the ones follow_vector builds")
    _model_part(fol, "follow", len(FOLLOW_FEATURES))
    return ModelVersion(account_id=account_id, version=version, fitted_at=fitted, payload=payload)


# --- the adapter -----------------------------------------------------------------------------

def _log_reject(account_id: str, reason: str, detail: str) -> None:
    import logging
    logging.getLogger(__name__).warning("model cache blob rejected for %s (%s): %s", account_id, reason, detail)


def checked(raw: bytes | str | None, account_id: str,
            on_reject: Callable[[str, str, str], None] | None = None) -> ModelVersion | None:
    """The model in `raw` (what `latest_key` held), or None when there was none or it fails
    `check_blob`, in which case `on_reject(account_id, reason, detail)` is told why."""
    if raw is None:
        return None
    try:
        return check_blob(raw, account_id)
    except BlobRejected as err:
        (on_reject or _log_reject)(account_id, err.reason, err.detail)
        return None


class RedisModelCache:
    """ModelCache on Redis: a cluster client (RedisCluster) or a plain one (Redis).

    Give either `client` or `connect`, a callable that builds the client. A cluster client
    connects when it is built (it reads the slot map), so `connect` is called on first use
    and again after a failed attempt: a cache that is down when a container starts is a
    miss for plan and a failed write for learn, never an error at wiring time.
    """

    def __init__(self, client=None, *, connect: Callable[[], Any] | None = None,
                 ttl_seconds: int | None = VERSION_TTL_SECONDS,
                 on_reject: Callable[[str, str, str], None] | None = None):
        if (client is None) == (connect is None):
            raise ValueError("give either client or connect")
        self._r = client
        self._connect = connect
        self._ttl = ttl_seconds
        self._on_reject = on_reject or _log_reject

    @property
    def client(self):
        if self._r is None:
            self._r = self._connect()
        return self._r

    def put_latest(self, model: ModelVersion) -> None:
        self.put_raw(model.account_id, model.version, encode_blob(model))

    def get_latest(self, account_id: str) -> ModelVersion | None:
        return checked(self.get_raw(account_id), account_id, self._on_reject)

    # What the cache function (functions/cache) serves to plan and learn outside the VPC: the
    # stored text as it is, so the blob is judged by `checked` on the reader's side only.

    def put_raw(self, account_id: str, version: str, blob: str) -> None:
        """Store `blob` as `version` of the account's model and as its latest, atomically."""
        # One slot (the account's hash tag), so MULTI/EXEC is allowed on a cluster.
        pipe = self.client.pipeline(transaction=True)
        pipe.set(version_key(account_id, version), blob, ex=self._ttl)
        pipe.set(latest_key(account_id), blob)
        pipe.execute()

    def get_raw(self, account_id: str) -> str | None:
        """What the account's `latest` key holds, as text (bytes that are not UTF-8 are replaced,
        and `check_blob` then finds them malformed), or None when it holds nothing."""
        raw = self.client.get(latest_key(account_id))
        if raw is None:
            return None
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
