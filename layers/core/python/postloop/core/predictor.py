"""Feature vectors and predictions from a stored model version.

Both the learner (to fit) and the planner (to predict) build vectors here, by
feature name, so a model keeps working when an account's configuration gains
a content type or an hour: unknown names simply contribute nothing.
"""
from __future__ import annotations

import math

import numpy as np

from postloop.core.features import VIRAL_KEYS
from postloop.core.post_context import context_feature_names
from postloop.core.records import Features, ModelVersion, Prediction

FOLLOW_FEATURES = ("novelty", "expertise") + tuple(f"viral.{k}" for k in VIRAL_KEYS)


def engagement_feature_names(content_types, hours, context: tuple[str, ...] = ()) -> list[str]:
    """quality, the one-hot types and hours, then the names of the `context` groups
    (core/post_context.py)."""
    return (["quality"] + [f"type={t}" for t in content_types] + [f"hour={h}" for h in hours]
            + context_feature_names(context, content_types, hours))


def engagement_vector(names, features: Features, content_type: str, hour: int,
                      context: dict[str, float] | None = None) -> np.ndarray:
    """The vector of `names`; `context` holds the post's context values by name
    (PostTimeline.context), absent ones count 0."""
    values = dict(context or {})
    values.update({"quality": features.quality, f"type={content_type}": 1.0, f"hour={hour}": 1.0})
    return np.array([values.get(n, 0.0) for n in names], dtype=float)


def follow_vector(features: Features) -> np.ndarray:
    values = {"novelty": features.novelty, "expertise": features.expertise}
    values.update({f"viral.{k}": v for k, v in features.viral.items()})
    return np.array([values.get(n, 0.0) for n in FOLLOW_FEATURES], dtype=float)


def predict(model: ModelVersion | None, features: Features, content_type: str, hour: int,
            context: dict[str, float] | None = None) -> Prediction:
    """Predict engagement rate and follow probability; says whether the gate may trust them.
    `context`: the post's context features (PostTimeline.context), needed by a model that has them."""
    if model is None:
        return Prediction(None, None, None, False, False, reason="no model fitted yet")
    eng = model.payload.get("engagement") or {}
    fol = model.payload.get("follow") or {}
    er = None
    if eng.get("coef") is not None:
        x = engagement_vector(eng["features"], features, content_type, hour, context)
        er = float(x @ np.asarray(eng["coef"]) + eng["intercept"])
    p = None
    if fol.get("coef") is not None:
        z = float(follow_vector(features) @ np.asarray(fol["coef"]) + fol["intercept"])
        p = 1.0 / (1.0 + math.exp(-max(min(z, 500), -500)))
    reasons = [f"engagement: {eng.get('reason', 'not fitted')}", f"follow: {fol.get('reason', 'not fitted')}"]
    return Prediction(er, p, model.version, engagement_trusted=bool(eng.get("trusted")) and er is not None,
                      follow_trusted=bool(fol.get("trusted")) and p is not None, reason="; ".join(reasons))
