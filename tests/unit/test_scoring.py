"""Held-out metrics on hand-computed examples and against a brute-force AUC."""
import math

import numpy as np
import pytest

from postloop.core.scoring import auc, log_loss, mae, r2


def test_r2_hand_computed():
    # mean 2.5; ss_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5; ss_res = 0.25 + 0 + 0.25 + 1 = 1.5
    assert r2([1, 2, 3, 4], [1.5, 2, 2.5, 5]) == pytest.approx(1 - 1.5 / 5)
    assert r2([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    # Predicting the mean scores 0; worse than the mean goes negative: ss_res = 9+1+1+9 = 20 -> 1 - 20/5.
    assert r2([1, 2, 3, 4], [2.5] * 4) == pytest.approx(0.0)
    assert r2([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-3.0)


def test_mae_hand_computed():
    assert mae([1, 2, 3], [2, 2, 1]) == pytest.approx((1 + 0 + 2) / 3)
    assert mae([0.01, 0.05], [0.02, 0.02]) == pytest.approx(0.02)
    assert mae([5.0], [5.0]) == 0.0


def _brute_auc(y, s):
    """Over every (positive, negative) pair: 1 if the positive scores higher, 1/2 on a tie."""
    pos = [si for yi, si in zip(y, s) if yi == 1]
    neg = [si for yi, si in zip(y, s) if yi == 0]
    total = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return total / (len(pos) * len(neg))


def test_auc_hand_computed():
    assert auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    # pairs (pos, neg): (0.4, 0.1)=1, (0.4, 0.4)=1/2, (0.35, 0.1)=1, (0.35, 0.4)=0 -> 2.5 / 4
    assert auc([0, 1, 0, 1], [0.1, 0.4, 0.4, 0.35]) == pytest.approx(0.625)
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_auc_matches_brute_force_pair_count_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    y = rng.integers(0, 2, size=n)
    y[0], y[1] = 0, 1                                   # both classes present
    score = rng.integers(0, 6, size=n) / 5.0 + 0.1 * y  # few distinct values: many ties, some signal
    assert auc(y, score) == pytest.approx(_brute_auc(y, score), abs=1e-12)


@pytest.mark.parametrize("seed", [10, 11])
def test_auc_matches_brute_force_with_continuous_scores(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=80)
    score = rng.normal(size=80) + 0.7 * y
    assert auc(y, score) == pytest.approx(_brute_auc(y, score), abs=1e-12)


def test_auc_is_none_with_one_class():
    assert auc([1, 1, 1], [0.1, 0.5, 0.9]) is None
    assert auc([0, 0], [0.3, 0.4]) is None
    assert auc([], []) is None


def test_log_loss_hand_computed():
    # -(ln 0.8 + ln(1 - 0.3) + ln 0.6) / 3
    expected = -(math.log(0.8) + math.log(0.7) + math.log(0.6)) / 3
    assert log_loss([1, 0, 1], [0.8, 0.3, 0.6]) == pytest.approx(expected, rel=1e-12)
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-12)


def test_log_loss_clips_certain_wrong_predictions():
    # p = 0 for a positive is clipped to 1e-15, so the loss is finite: -ln(1e-15) / 2
    value = log_loss([1, 0], [0.0, 0.0])
    assert value == pytest.approx(-math.log(1e-15) / 2, rel=1e-9)
    assert log_loss([1, 0], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)
