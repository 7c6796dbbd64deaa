"""Ridge regression with an unpenalised intercept, solved in closed form.

Matches scikit-learn's `Ridge(alpha=...)`: the data are centred (weighted), the
penalty alpha * ||w||^2 applies to the coefficients only, and the intercept is
recovered from the means.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RidgeFit:
    coef: np.ndarray
    intercept: float
    alpha: float
    # Posterior pieces for sampling (Bayesian reading of ridge): precision of
    # the centred coefficients and the residual variance.
    precision: np.ndarray | None = None
    noise_var: float | None = None

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef + self.intercept


def fit_ridge(X, y, alpha: float = 1.0, sample_weight=None) -> RidgeFit:
    """Fit y ≈ X·coef + intercept minimising Σ wᵢ(yᵢ − ŷᵢ)² + alpha·‖coef‖²."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"ridge: X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("ridge: no rows to fit")
    if alpha < 0:
        raise ValueError("ridge: alpha must be >= 0")
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    sw = w / w.sum()
    x_mean = sw @ X
    y_mean = float(sw @ y)
    Xc = X - x_mean
    yc = y - y_mean
    gram = (Xc * w[:, None]).T @ Xc
    precision = gram + alpha * np.eye(X.shape[1])
    coef = np.linalg.solve(precision, (Xc * w[:, None]).T @ yc)
    intercept = y_mean - float(x_mean @ coef)
    resid = y - (X @ coef + intercept)
    dof = max(len(y) - 1, 1)
    noise_var = float((w * resid**2).sum() / w.sum() * len(y) / dof)
    return RidgeFit(coef=coef, intercept=intercept, alpha=alpha, precision=precision, noise_var=noise_var)
