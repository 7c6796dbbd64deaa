"""L2-penalised logistic regression fitted by Newton's method.

Matches scikit-learn's `LogisticRegression(penalty="l2", C=C, solver="newton-cholesky")`:
the loss is Σ log-loss + ‖coef‖² / (2C), with the intercept unpenalised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LogisticFit:
    coef: np.ndarray
    intercept: float
    C: float
    iterations: int
    converged: bool

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(X, dtype=float) @ self.coef + self.intercept)


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def fit_logistic(X, y, C: float = 1.0, max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """Fit P(y=1|x) = σ(x·coef + intercept); y holds 0/1 labels."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"logistic: X must be (n, p) and y (n,); got {X.shape} and {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("logistic: no rows to fit")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("logistic: labels must be 0 or 1")
    if C <= 0:
        raise ValueError("logistic: C must be > 0")
    n, p = X.shape
    A = np.hstack([X, np.ones((n, 1))])          # last column: intercept
    penalty = np.full(p + 1, 1.0 / C)
    penalty[-1] = 0.0                            # the intercept is not penalised
    beta = np.zeros(p + 1)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        mu = sigmoid(A @ beta)
        grad = A.T @ (mu - y) + penalty * beta
        hess = (A * (mu * (1 - mu))[:, None]).T @ A + np.diag(penalty)
        # A tiny ridge keeps the Newton step defined on separable or constant data.
        step = np.linalg.solve(hess + 1e-12 * np.eye(p + 1), grad)
        beta -= step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    return LogisticFit(coef=beta[:-1].copy(), intercept=float(beta[-1]), C=C, iterations=it, converged=converged)
