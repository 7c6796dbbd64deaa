"""fit_logistic: optimality conditions, recovery of known coefficients, limits and input checks."""
import math
import warnings

import numpy as np
import pytest

from postloop.core.logistic import fit_logistic, sigmoid


def _synthetic(seed: int, n: int, coef, intercept):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(coef)))
    p = 1.0 / (1.0 + np.exp(-(X @ np.asarray(coef) + intercept)))
    y = (rng.random(n) < p).astype(float)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("C", [0.05, 1.0, 10.0])
def test_penalised_gradient_vanishes_at_the_optimum(seed, C):
    X, y = _synthetic(seed, 200, [1.0, -2.0, 0.5], -0.3)
    fit = fit_logistic(X, y, C=C)
    assert fit.converged
    # Probabilities computed here, not through the module's sigmoid.
    p = 1.0 / (1.0 + np.exp(-(X @ fit.coef + fit.intercept)))
    grad_coef = X.T @ (p - y) + fit.coef / C
    grad_intercept = float(np.sum(p - y))
    np.testing.assert_allclose(grad_coef, 0.0, atol=1e-8)
    assert abs(grad_intercept) < 1e-8


def test_recovers_known_coefficients_on_a_large_sample():
    true_coef, true_intercept = np.array([1.5, -1.0, 0.0, 0.7]), -0.5
    X, y = _synthetic(11, 40_000, true_coef, true_intercept)
    fit = fit_logistic(X, y, C=100.0)
    np.testing.assert_allclose(fit.coef, true_coef, atol=0.06)
    assert fit.intercept == pytest.approx(true_intercept, abs=0.06)


def test_strong_penalty_shrinks_coefficients_to_zero_and_intercept_to_log_odds():
    X, y = _synthetic(3, 500, [2.0, -1.0], 0.4)
    fit = fit_logistic(X, y, C=1e-9)
    np.testing.assert_allclose(fit.coef, 0.0, atol=1e-5)
    rate = y.mean()
    assert fit.intercept == pytest.approx(math.log(rate / (1 - rate)), abs=1e-4)


def test_large_C_approaches_the_unpenalised_fit():
    X, y = _synthetic(5, 300, [0.8, -1.2], 0.2)
    # Unpenalised maximum likelihood by plain Newton, written out here.
    A = np.hstack([X, np.ones((len(y), 1))])
    beta = np.zeros(A.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(A @ beta)))
        step = np.linalg.solve((A * (p * (1 - p))[:, None]).T @ A, A.T @ (p - y))
        beta -= step
        if np.max(np.abs(step)) < 1e-13:
            break
    big = fit_logistic(X, y, C=1e8)
    np.testing.assert_allclose(big.coef, beta[:-1], atol=1e-5)
    assert big.intercept == pytest.approx(beta[-1], abs=1e-5)
    # A small C is visibly different: the penalty shrinks the coefficients.
    small = fit_logistic(X, y, C=0.01)
    assert np.linalg.norm(small.coef) < 0.5 * np.linalg.norm(beta[:-1])


def test_predict_proba_uses_the_fitted_parameters():
    X, y = _synthetic(8, 100, [1.0], 0.0)
    fit = fit_logistic(X, y)
    x = np.array([[0.3], [-2.0]])
    expected = 1.0 / (1.0 + np.exp(-(x[:, 0] * fit.coef[0] + fit.intercept)))
    np.testing.assert_allclose(fit.predict_proba(x), expected, rtol=1e-12)


@pytest.mark.parametrize("labels", [[0, 1, 2, 1], [-1, 1, 1, -1], [0, 0.5, 1, 1], [True, 3, 0, 1]])
def test_labels_other_than_zero_and_one_raise(labels):
    X = np.arange(8, dtype=float).reshape(4, 2)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        fit_logistic(X, np.array(labels, dtype=float))


def test_non_positive_C_and_bad_shapes_raise():
    X = np.arange(8, dtype=float).reshape(4, 2)
    y = np.array([0, 1, 0, 1], dtype=float)
    with pytest.raises(ValueError, match="C must be > 0"):
        fit_logistic(X, y, C=0.0)
    with pytest.raises(ValueError, match=r"got \(4, 2\) and \(3,\)"):
        fit_logistic(X, y[:3])
    with pytest.raises(ValueError, match="no rows"):
        fit_logistic(np.ones((0, 2)), np.ones(0))


def test_sigmoid_is_stable_at_the_extremes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # an overflow in exp would raise here
        out = sigmoid(np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0]))
    assert np.all(np.isfinite(out))
    assert out[0] == 0.0 and out[-1] == 1.0
    assert out[2] == 0.5
    assert out[1] == pytest.approx(math.exp(-40.0), rel=1e-12)      # σ(−40) ≈ e^−40
    assert 1.0 - out[3] == pytest.approx(math.exp(-40.0), rel=1e-3)  # limited by float spacing near 1
    np.testing.assert_allclose(out + out[::-1], 1.0, atol=1e-15)      # σ(−z) = 1 − σ(z)


def test_sigmoid_matches_the_textbook_formula_in_the_safe_range():
    z = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(sigmoid(z), 1.0 / (1.0 + np.exp(-z)), rtol=1e-14)
