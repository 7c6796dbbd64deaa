"""fit_ridge against independent solves: the augmented normal equations, lstsq, duplicated rows."""
import numpy as np
import pytest

from postloop.core.ridge import fit_ridge


def _data(seed: int, n: int = 40, p: int = 5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, size=p) + rng.normal(size=p)
    y = X @ rng.normal(size=p) + 2.5 + rng.normal(scale=0.3, size=n)
    return X, y


def _augmented_solve(X, y, alpha, w=None):
    """Minimise Σ wᵢ(yᵢ − [X 1]·β)² + alpha·‖β[:-1]‖² via (AᵀWA + alpha·D) β = AᵀWy, D = diag(1..1, 0)."""
    n, p = X.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    A = np.hstack([X, np.ones((n, 1))])
    D = np.eye(p + 1)
    D[-1, -1] = 0.0                      # the intercept is not penalised
    beta = np.linalg.solve(A.T @ (A * w[:, None]) + alpha * D, A.T @ (w * y))
    return beta[:-1], beta[-1]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("alpha", [0.1, 1.0, 25.0])
def test_matches_augmented_normal_equations(seed, alpha):
    X, y = _data(seed)
    coef, intercept = _augmented_solve(X, y, alpha)
    fit = fit_ridge(X, y, alpha=alpha)
    np.testing.assert_allclose(fit.coef, coef, rtol=0, atol=1e-10)
    assert fit.intercept == pytest.approx(intercept, abs=1e-10)
    assert fit.alpha == alpha
    np.testing.assert_allclose(fit.predict(X), np.hstack([X, np.ones((len(y), 1))]) @ np.append(coef, intercept),
                               atol=1e-10)


@pytest.mark.parametrize("seed", [4, 5])
def test_weighted_fit_matches_weighted_normal_equations(seed):
    X, y = _data(seed)
    w = np.random.default_rng(seed + 100).uniform(0.1, 4.0, size=len(y))
    coef, intercept = _augmented_solve(X, y, 2.0, w)
    fit = fit_ridge(X, y, alpha=2.0, sample_weight=w)
    np.testing.assert_allclose(fit.coef, coef, rtol=0, atol=1e-10)
    assert fit.intercept == pytest.approx(intercept, abs=1e-10)


def test_penalty_shrinks_coefficients_but_not_the_intercept():
    # y is a constant 7 plus a slope; a huge alpha drives coef to 0 and the intercept to the mean of y.
    X = np.arange(10, dtype=float)[:, None]
    y = 7.0 + 0.5 * X[:, 0]
    fit = fit_ridge(X, y, alpha=1e12)
    assert abs(fit.coef[0]) < 1e-9
    assert fit.intercept == pytest.approx(y.mean(), abs=1e-8)   # 7 + 0.5 * 4.5 = 9.25
    assert fit.intercept == pytest.approx(9.25, abs=1e-8)


@pytest.mark.parametrize("seed", [0, 7])
def test_alpha_zero_is_ordinary_least_squares(seed):
    X, y = _data(seed)
    A = np.hstack([X, np.ones((len(y), 1))])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    fit = fit_ridge(X, y, alpha=0.0)
    np.testing.assert_allclose(fit.coef, beta[:-1], rtol=0, atol=1e-10)
    assert fit.intercept == pytest.approx(beta[-1], abs=1e-10)


def test_exact_line_is_recovered_without_penalty():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, 3.0, 5.0, 7.0])          # y = 2x + 1
    fit = fit_ridge(X, y, alpha=0.0)
    assert fit.coef[0] == pytest.approx(2.0, abs=1e-12)
    assert fit.intercept == pytest.approx(1.0, abs=1e-12)
    assert fit.noise_var == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("seed", [1, 2])
def test_integer_weights_equal_row_duplication(seed):
    X, y = _data(seed, n=15)
    counts = np.random.default_rng(seed).integers(1, 5, size=len(y))
    weighted = fit_ridge(X, y, alpha=1.5, sample_weight=counts)
    duplicated = fit_ridge(np.repeat(X, counts, axis=0), np.repeat(y, counts), alpha=1.5)
    np.testing.assert_allclose(weighted.coef, duplicated.coef, rtol=0, atol=1e-10)
    assert weighted.intercept == pytest.approx(duplicated.intercept, abs=1e-10)
    np.testing.assert_allclose(weighted.precision, duplicated.precision, rtol=1e-12, atol=1e-9)


def test_unit_weights_equal_no_weights():
    X, y = _data(3)
    a = fit_ridge(X, y, alpha=1.0)
    b = fit_ridge(X, y, alpha=1.0, sample_weight=np.ones(len(y)))
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-12)
    assert a.intercept == pytest.approx(b.intercept, abs=1e-12)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones(5), np.ones(5), r"X must be \(n, p\)"),                  # X is 1-D
        (np.ones((5, 2)), np.ones((5, 1)), r"y \(n,\)"),                   # y is 2-D
        (np.ones((5, 2)), np.ones(4), r"got \(5, 2\) and \(4,\)"),         # row counts differ
        (np.ones((0, 2)), np.ones(0), "no rows"),
    ],
)
def test_bad_shapes_raise(X, y, match):
    with pytest.raises(ValueError, match=match):
        fit_ridge(X, y)


def test_negative_alpha_raises():
    X, y = _data(0)
    with pytest.raises(ValueError, match="alpha"):
        fit_ridge(X, y, alpha=-0.1)


def _indicator_design(seed: int, n: int = 300):
    from postloop.core.ridge import IndicatorDesign
    rng = np.random.default_rng(seed)
    # Column 0 dense, columns 1-4 one group, 5-9 another; -1 rows carry no indicator (unknown names).
    types = rng.integers(-1, 4, n)
    types[types >= 0] += 1
    hours = rng.integers(-1, 5, n)
    hours[hours >= 0] += 5
    return IndicatorDesign(10, {0: rng.uniform(0.3, 0.9, n)}, (types, hours)), rng


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("weighted", [False, True])
def test_indicator_design_fits_like_its_matrix(seed, weighted):
    design, rng = _indicator_design(seed)
    X = design.matrix()
    y = 0.03 + X @ rng.normal(0, 0.01, X.shape[1]) + rng.normal(0, 0.005, len(X))
    w = rng.uniform(0.1, 1.0, len(y)) if weighted else None
    a = fit_ridge(design, y, alpha=1.0, sample_weight=w)
    b = fit_ridge(X, y, alpha=1.0, sample_weight=w)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-10)
    assert a.intercept == pytest.approx(b.intercept, abs=1e-10)
    np.testing.assert_allclose(a.precision, b.precision, rtol=1e-10, atol=1e-9)
    assert a.noise_var == pytest.approx(b.noise_var, rel=1e-9)
    np.testing.assert_allclose(a.predict(design), b.predict(X), atol=1e-12)


def test_indicator_design_products_equal_the_dense_ones():
    design, rng = _indicator_design(3, n=50)
    X = design.matrix()
    v, w, c = rng.normal(size=50), rng.uniform(0, 2, 50), rng.normal(size=10)
    assert set(np.unique(X[:, 1:])) <= {0.0, 1.0}
    np.testing.assert_allclose(design.dot(c), X @ c, atol=1e-12)
    np.testing.assert_allclose(design.tdot(v), X.T @ v, atol=1e-12)
    np.testing.assert_allclose(design.gram(w), X.T @ (X * w[:, None]), atol=1e-12)
    np.testing.assert_allclose(design.rows(slice(10, 20)).matrix(), X[10:20])
