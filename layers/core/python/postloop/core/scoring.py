"""Held-out metrics for the predictors: R², MAE, AUC and log-loss."""
from __future__ import annotations

import numpy as np


def r2(y_true, y_pred) -> float:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    ss_res = float(((y_true - y_pred) ** 2).sum())
    ss_tot = float(((y_true - y_true.mean()) ** 2).sum())
    if ss_tot == 0.0:
        return 0.0 if ss_res == 0.0 else float("-inf")
    return 1.0 - ss_res / ss_tot


def mae(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true, float) - np.asarray(y_pred, float))))


def auc(y_true, score) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    y_true = np.asarray(y_true, dtype=float)
    score = np.asarray(score, dtype=float)
    pos = score[y_true == 1]
    neg = score[y_true == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    # Rank-sum (Mann-Whitney) form with average ranks for ties.
    # Each run of equal sorted scores [i, j] gets the mean rank (i + j) / 2 + 1, found with array ops
    # (a held-out quarter of a long window holds 10^4 scores).
    order = np.argsort(score, kind="mergesort")
    sorted_scores = score[order]
    n = len(score)
    starts = np.flatnonzero(np.concatenate(([True], sorted_scores[1:] != sorted_scores[:-1])))
    ends = np.append(starts[1:], n) - 1
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends) / 2.0 + 1.0, ends - starts + 1)
    rank_sum = ranks[y_true == 1].sum()
    return float((rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def log_loss(y_true, prob, eps: float = 1e-15) -> float:
    y_true = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(prob, dtype=float), eps, 1 - eps)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))
