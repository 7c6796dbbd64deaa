"""Ridge regression with an unpenalised intercept, solved in closed form.

Matches scikit-learn's `Ridge(alpha=...)`: the data are centred (weighted), the
penalty alpha * ||w||^2 applies to the coefficients only, and the intercept is
recovered from the means.

The design may be given as an array or as an `IndicatorDesign` (dense columns plus one-hot
columns named by index), which learn uses: its Gram matrix comes from a few weighted counts,
so a fit over 10^5 posts never multiplies a mostly-zero matrix.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class IndicatorDesign:
    """An n×p design matrix kept as its columns: `dense[j]` is column j's values, and each array
    in `indicators` gives, per row, a column holding 1 in that row (−1: none). Columns add up
    (`matrix()` builds the array); a column should be dense or an indicator, not both."""

    p: int
    dense: dict[int, np.ndarray]
    indicators: tuple[np.ndarray, ...] = ()

    @property
    def n(self) -> int:
        for a in (*self.dense.values(), *self.indicators):
            return len(a)
        return 0

    def rows(self, index: slice) -> IndicatorDesign:
        return IndicatorDesign(self.p, {j: a[index] for j, a in self.dense.items()},
                               tuple(c[index] for c in self.indicators))

    @cached_property
    def _slots(self) -> tuple[np.ndarray, ...]:
        # Column + 1, with 0 for "none": bincount and gathers then need no mask (bin 0 is dropped).
        return tuple(codes + 1 for codes in self.indicators)

    def matrix(self) -> np.ndarray:
        X = np.zeros((self.n, self.p))
        for j, a in self.dense.items():
            X[:, j] += a
        rows = np.arange(self.n)
        for codes in self.indicators:
            known = codes >= 0
            np.add.at(X, (rows[known], codes[known]), 1.0)
        return X

    def dot(self, coef: np.ndarray) -> np.ndarray:
        """X @ coef."""
        out = np.zeros(self.n)
        for j, a in self.dense.items():
            out += coef[j] * a
        padded = np.concatenate(([0.0], coef))
        for slots in self._slots:
            out += padded[slots]
        return out

    def tdot(self, v: np.ndarray) -> np.ndarray:
        """X.T @ v."""
        out = np.zeros(self.p)
        for j, a in self.dense.items():
            out[j] += a @ v
        for slots in self._slots:
            out += np.bincount(slots, weights=v, minlength=self.p + 1)[1:]
        return out

    def gram(self, w: np.ndarray) -> np.ndarray:
        """Xᵀ diag(w) X from weighted sums and counts: O(n) per pair of column groups."""
        p = self.p
        S = np.zeros((p, p))
        dense = list(self.dense.items())
        for j, a in dense:
            wa = w * a
            for k, b in dense:
                S[j, k] += wa @ b
            for slots in self._slots:
                cross = np.bincount(slots, weights=wa, minlength=p + 1)[1:]
                S[j, :] += cross
                S[:, j] += cross
        for i, g in enumerate(self._slots):
            S[np.diag_indices(p)] += np.bincount(g, weights=w, minlength=p + 1)[1:]
            for h in self._slots[i + 1:]:
                cross = np.bincount(g * (p + 1) + h, weights=w, minlength=(p + 1) ** 2).reshape(p + 1, p + 1)[1:, 1:]
                S += cross + cross.T
        return S


@dataclass
class RidgeFit:
    coef: np.ndarray
    intercept: float
    alpha: float
    # Posterior pieces for sampling (Bayesian reading of ridge): precision of
    # the centred coefficients and the residual variance.
    precision: np.ndarray | None = None
    noise_var: float | None = None

    def predict(self, X: np.ndarray | IndicatorDesign) -> np.ndarray:
        if isinstance(X, IndicatorDesign):
            return X.dot(self.coef) + self.intercept
        return np.asarray(X, dtype=float) @ self.coef + self.intercept


def fit_ridge(X, y, alpha: float = 1.0, sample_weight=None, penalty: np.ndarray | None = None) -> RidgeFit:
    """Fit y ≈ X·coef + intercept minimising Σ wᵢ(yᵢ − ŷᵢ)² + alpha·‖coef‖² + coefᵀ·penalty·coef.

    `penalty` (p×p, symmetric positive semi-definite) generalises the penalty: learn's smooth hour
    effect is a difference penalty between neighbouring hours. The returned precision includes
    it, so N(coef, noise_var · precision⁻¹) stays the posterior under the matching Gaussian prior.
    """
    if penalty is not None:
        penalty = np.asarray(penalty, dtype=float)
        p = X.p if isinstance(X, IndicatorDesign) else np.shape(X)[-1]
        if penalty.shape != (p, p):
            raise ValueError(f"ridge: penalty must be ({p}, {p}); got {penalty.shape}")
    if isinstance(X, IndicatorDesign):
        return _fit_indicator_design(X, y, alpha, sample_weight, penalty)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"ridge: X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("ridge: no rows to fit")
    if alpha < 0:
        raise ValueError("ridge: alpha must be >= 0")
    n = len(y)
    if sample_weight is None:
        w = None
        x_mean = X.mean(axis=0)
        y_mean = float(y.mean())
    else:
        w = np.asarray(sample_weight, dtype=float)
        w_sum = w.sum()
        x_mean = (w @ X) / w_sum
        y_mean = float(w @ y) / w_sum
    Xc = X - x_mean
    yc = y - y_mean
    # Weighted least squares as plain least squares on rows scaled by sqrt(w): the Gram matrix
    # is then B.T @ B, one symmetric BLAS product over the data (learn fits 10^5 rows).
    if w is None:
        B, b = Xc, yc
    else:
        root = np.sqrt(w)
        B, b = Xc * root[:, None], yc * root
    precision = B.T @ B
    precision[np.diag_indices_from(precision)] += alpha
    if penalty is not None:
        precision += penalty
    coef = np.linalg.solve(precision, B.T @ b)
    intercept = y_mean - float(x_mean @ coef)
    resid = yc - Xc @ coef                # = y - (X @ coef + intercept)
    sq = resid @ resid if w is None else w @ (resid * resid)
    w_total = n if w is None else w_sum
    dof = max(n - 1, 1)
    noise_var = float(sq / w_total * n / dof)
    return RidgeFit(coef=coef, intercept=intercept, alpha=alpha, precision=precision, noise_var=noise_var)


def _fit_indicator_design(design: IndicatorDesign, y, alpha: float, sample_weight,
                          penalty: np.ndarray | None = None) -> RidgeFit:
    """fit_ridge on design.matrix(), from its weighted moments. The centred Gram matrix is the raw
    one minus W·x̄x̄ᵀ, which loses digits only when a dense column's mean is large next to its
    spread (learn's one dense column, quality, lies in [0, 1])."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if y.ndim != 1 or design.n != n:
        raise ValueError(f"ridge: X must be (n, p) and y (n,); got ({design.n}, {design.p}) and {y.shape}")
    if n == 0:
        raise ValueError("ridge: no rows to fit")
    if alpha < 0:
        raise ValueError("ridge: alpha must be >= 0")
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w_sum = w.sum()
    x_mean = design.tdot(w) / w_sum
    y_mean = float(w @ y) / w_sum
    precision = design.gram(w) - w_sum * np.outer(x_mean, x_mean)
    precision[np.diag_indices_from(precision)] += alpha
    if penalty is not None:
        precision += penalty
    coef = np.linalg.solve(precision, design.tdot(w * y) - w_sum * x_mean * y_mean)
    intercept = y_mean - float(x_mean @ coef)
    resid = y - (design.dot(coef) + intercept)
    dof = max(n - 1, 1)
    noise_var = float(w @ (resid * resid) / w_sum * n / dof)
    return RidgeFit(coef=coef, intercept=intercept, alpha=alpha, precision=precision, noise_var=noise_var)


def log_evidence(X, y, alpha: float, penalties: list[np.ndarray | None], sample_weight=None) -> list[float]:
    """The log marginal likelihood of y under each penalty, up to a shared constant.

    The Bayesian reading of fit_ridge: coef ~ N(0, σ²Λ⁻¹) with Λ = alpha·I + penalty, noise
    N(0, σ²/wᵢ), the intercept flat (the data centred) and σ² at its maximum; then
    log p(y) = −(W/2)·log S − ½·log|A| + ½·log|Λ| + const, where A is fit_ridge's precision,
    S = Σwᵢ(yᵢ − ȳ)² − bᵀA⁻¹b the penalised residual sum and W = Σwᵢ. Comparing penalties by
    it lets the data say how strongly hours share strength (type-II maximum likelihood).
    alpha must be > 0 (Λ must be invertible).
    """
    if alpha <= 0:
        raise ValueError("ridge: log_evidence needs alpha > 0")
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    w_sum = w.sum()
    if isinstance(X, IndicatorDesign):
        x_mean = X.tdot(w) / w_sum
        y_mean = float(w @ y) / w_sum
        G = X.gram(w) - w_sum * np.outer(x_mean, x_mean)
        b = X.tdot(w * y) - w_sum * x_mean * y_mean
    else:
        X = np.asarray(X, dtype=float)
        x_mean = (w @ X) / w_sum
        y_mean = float(w @ y) / w_sum
        Xc = X - x_mean
        G = Xc.T @ (Xc * w[:, None])
        b = Xc.T @ (w * (y - y_mean))
    syy = float(w @ ((y - y_mean) ** 2))
    out = []
    for penalty in penalties:
        prior = alpha * np.eye(len(b)) + (0.0 if penalty is None else penalty)
        A = G + prior
        coef = np.linalg.solve(A, b)
        S = max(syy - float(b @ coef), 1e-300)
        out.append(-0.5 * w_sum * np.log(S) - 0.5 * np.linalg.slogdet(A)[1] + 0.5 * np.linalg.slogdet(prior)[1])
    return out
