"""Ridge and logistic regression agree with scikit-learn on the same data (to 1e-6)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from postloop.core.logistic import fit_logistic
from postloop.core.ridge import fit_ridge


def _data(seed: int, n: int = 300, p: int = 12):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.random((n, 1)), (rng.integers(0, 4, (n, 1)) == np.arange(4)).astype(float),
                   (rng.integers(0, p - 5, (n, 1)) == np.arange(p - 5)).astype(float)])
    y = 0.03 + 0.02 * X[:, 0] + X[:, 1:5] @ rng.normal(0, 0.01, 4) + rng.normal(0, 0.01, n)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [0.01, 1.0, 25.0])
def test_ridge_matches_scikit_learn(seed, alpha):
    X, y = _data(seed)
    ours = fit_ridge(X, y, alpha=alpha)
    ref = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(ours.coef, ref.coef_, atol=1e-6, rtol=0)
    assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-6, rtol=0)


def test_weighted_ridge_matches_scikit_learn():
    X, y = _data(5)
    w = np.random.default_rng(5).random(len(y)) * 3
    ours = fit_ridge(X, y, alpha=2.0, sample_weight=w)
    ref = Ridge(alpha=2.0, solver="cholesky").fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef, ref.coef_, atol=1e-6, rtol=0)
    assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("C", [0.1, 1.0, 10.0])
def test_logistic_matches_scikit_learn_newton_cholesky(seed, C):
    rng = np.random.default_rng(seed)
    n = 400
    X = rng.random((n, 7))
    z = -1.0 + X @ np.array([1.5, -2.0, 0.7, 0.0, 1.0, -0.5, 2.0])
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    ours = fit_logistic(X, y, C=C)
    ref = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(X, y)
    np.testing.assert_allclose(ours.coef, ref.coef_[0], atol=1e-6, rtol=0)
    assert ours.intercept == pytest.approx(ref.intercept_[0], abs=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X)[:, 1], atol=1e-6, rtol=0)
