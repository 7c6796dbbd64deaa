"""IPS, SNIPS and DR on a synthetic contextual bandit whose logging policy and true values are known."""
import math

import numpy as np
import pytest

from postloop.core import offpolicy
from postloop.core.offpolicy import Z95, doubly_robust, effective_sample_size, evaluate, ips, snips

N_CONTEXTS, N_ACTIONS = 5, 4


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# Mean reward of each action in each context, and two policies over actions.
MU = np.random.default_rng(42).uniform(0.1, 0.9, size=(N_CONTEXTS, N_ACTIONS))
LOGGING = _softmax(np.random.default_rng(7).normal(scale=1.0, size=(N_CONTEXTS, N_ACTIONS)))
TARGET = _softmax(3.0 * MU)          # prefers the better actions, unlike the logging policy


def _log(seed: int, n: int, logging=LOGGING, target=TARGET):
    """n logged rounds: context, action drawn from the logging policy, Bernoulli reward."""
    rng = np.random.default_rng(seed)
    x = rng.integers(N_CONTEXTS, size=n)
    u = rng.random(n)
    a = (u[:, None] > np.cumsum(logging[x], axis=1)).sum(axis=1)
    r = (rng.random(n) < MU[x, a]).astype(float)
    truth = float(np.mean(np.sum(target[x] * MU[x], axis=1)))   # the target's value on these contexts
    return x, a, r, logging[x, a], target[x, a], truth


def _dr_inputs(x, a, target, q_table):
    return q_table[x, a], np.sum(target[x] * q_table[x], axis=1)


def test_each_estimator_lands_near_the_truth_on_a_large_log():
    x, a, r, p, pi, truth = _log(seed=1, n=20_000)
    wrong = np.full_like(MU, 0.5)           # a poor reward model: DR must still be right
    for est in (ips(r, p, pi), snips(r, p, pi), doubly_robust(r, p, pi, *_dr_inputs(x, a, TARGET, wrong)),
                doubly_robust(r, p, pi, *_dr_inputs(x, a, TARGET, MU))):
        assert abs(est.value - truth) < 3 * est.std_error, (est, truth)
        assert est.ci_low < est.value < est.ci_high
        assert est.ci_high - est.value == pytest.approx(Z95 * est.std_error)


def test_ips_and_dr_are_unbiased_and_their_intervals_cover_about_95_percent():
    reps, n = 400, 300
    values = {"ips": [], "snips": [], "dr": []}
    ses = {"ips": [], "snips": [], "dr": []}
    covered = {"ips": 0, "snips": 0, "dr": 0}
    truths = []
    noisy_model = MU + np.random.default_rng(3).normal(scale=0.1, size=MU.shape)
    for seed in range(reps):
        x, a, r, p, pi, truth = _log(seed=1000 + seed, n=n)
        truths.append(truth)
        for est in (ips(r, p, pi), snips(r, p, pi), doubly_robust(r, p, pi, *_dr_inputs(x, a, TARGET, noisy_model))):
            values[est.method].append(est.value - truth)
            ses[est.method].append(est.std_error)
            covered[est.method] += est.covers(truth)
    for method in ("ips", "dr"):
        err = np.array(values[method])
        # Unbiased: the mean error is within 3 standard errors of its own mean of zero.
        assert abs(err.mean()) < 3 * err.std(ddof=1) / math.sqrt(reps), method
    for method in ("ips", "snips", "dr"):
        err = np.array(values[method])
        # The reported SE matches the spread of the estimates across logs (delta method for SNIPS).
        assert np.mean(ses[method]) == pytest.approx(err.std(ddof=1), rel=0.15), method
        assert 0.90 <= covered[method] / reps <= 0.99, (method, covered[method] / reps)
    # SNIPS is biased, but only by O(1/n).
    assert abs(np.mean(values["snips"])) < 0.01


def test_dr_with_a_perfect_reward_model_has_lower_variance_than_ips():
    x, a, r, p, pi, truth = _log(seed=5, n=3000)
    i = ips(r, p, pi)
    d = doubly_robust(r, p, pi, *_dr_inputs(x, a, TARGET, MU))
    assert d.std_error < 0.7 * i.std_error      # 0.52 with this seed
    assert abs(d.value - truth) < 3 * d.std_error


def test_evaluating_the_logging_policy_itself_gives_the_on_policy_mean_exactly():
    x, a, r, p, pi, _ = _log(seed=9, n=500, target=LOGGING)
    np.testing.assert_array_equal(pi, p)
    rep = evaluate(r, p, pi)
    assert rep.ips.value == pytest.approx(r.mean(), abs=1e-15)
    assert rep.snips.value == pytest.approx(r.mean(), abs=1e-15)
    assert rep.ess == pytest.approx(len(r))
    assert rep.max_weight == pytest.approx(1.0) and rep.mean_weight == pytest.approx(1.0)
    assert rep.matched == len(r)
    # The IPS interval is then the ordinary mean's.
    assert rep.ips.std_error == pytest.approx(r.std(ddof=1) / math.sqrt(len(r)))


def test_mean_weight_checks_the_propensities():
    # E[π/p] = 1 when p is the true logging probability; understated propensities inflate it.
    x, a, r, p, pi, _ = _log(seed=11, n=20_000)
    assert evaluate(r, p, pi).mean_weight == pytest.approx(1.0, abs=0.05)
    assert evaluate(r, p / 2, pi).mean_weight == pytest.approx(2.0, abs=0.1)


def test_effective_sample_size():
    assert effective_sample_size([1.0, 1.0, 1.0, 1.0]) == pytest.approx(4.0)
    assert effective_sample_size([0.0, 0.0, 7.0]) == pytest.approx(1.0)
    assert effective_sample_size([2.0, 0.0]) == pytest.approx(1.0)
    assert effective_sample_size([0.0, 0.0]) == 0.0


def test_a_candidate_that_never_agrees_with_the_log():
    r = np.array([0.2, 0.4, 0.1])
    p = np.array([0.5, 0.5, 0.5])
    pi = np.zeros(3)
    rep = evaluate(r, p, pi, q_logged=np.full(3, 0.3), v_target=np.full(3, 0.25))
    assert rep.ips.value == 0.0 and not rep.ips.has_interval and rep.ips.covers(0.0) is None
    assert math.isnan(rep.snips.value) and not rep.snips.defined
    assert rep.dr.value == pytest.approx(0.25)       # the model's value alone
    assert rep.ess == 0.0 and rep.matched == 0


def test_snips_with_one_matching_row_has_no_interval():
    est = snips([0.2, 0.4, 0.1], [0.5, 0.5, 0.01], [0.0, 0.0, 1.0])
    assert est.value == pytest.approx(0.1)
    assert not est.has_interval


def test_snips_delta_method_formula_on_a_small_example():
    r = np.array([1.0, 0.0, 0.5, 0.25])
    p = np.array([0.5, 0.25, 0.5, 1.0])
    pi = np.array([1.0, 0.5, 0.25, 0.5])
    w = pi / p                                   # 2, 2, 0.5, 0.5
    value = np.sum(w * r) / np.sum(w)            # (2 + 0 + 0.25 + 0.125) / 5 = 0.475
    se = math.sqrt(np.sum((w * (r - value)) ** 2) * 4 / 3) / np.sum(w)
    est = snips(r, p, pi)
    assert est.value == pytest.approx(0.475)
    assert est.value == pytest.approx(value)
    assert est.std_error == pytest.approx(se)


@pytest.mark.parametrize("p, message", [
    ([0.5, 0.0, 0.5], r"propensity must lie in \(0, 1\]; row 1"),
    ([0.5, -0.1, 0.5], "row 1"),
    ([0.5, 1.5, 0.5], "row 1"),
    ([0.5, float("nan"), 0.5], "non-finite"),
])
def test_bad_propensities_are_refused(p, message):
    with pytest.raises(ValueError, match=message):
        ips([0.1, 0.2, 0.3], p, [0.3, 0.3, 0.3])


def test_bad_inputs_are_refused():
    r, p, pi = [0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [0.3, 0.3, 0.3]
    with pytest.raises(ValueError, match="has 2 rows, expected 3"):
        ips(r, p[:2], pi)
    with pytest.raises(ValueError, match="has 4 rows, expected 3"):
        snips(r, p, pi + [0.1])
    with pytest.raises(ValueError, match="candidate probability must lie in"):
        ips(r, p, [0.3, 1.2, 0.3])
    with pytest.raises(ValueError, match="at least 2 logged rows"):
        ips([0.1], [0.5], [0.5])
    with pytest.raises(ValueError, match="one-dimensional"):
        ips(np.ones((3, 1)), p, pi)
    with pytest.raises(ValueError, match="rewards holds a non-finite"):
        ips([0.1, float("inf"), 0.3], p, pi)
    with pytest.raises(ValueError, match="reward model predictions has 2 rows"):
        doubly_robust(r, p, pi, [0.1, 0.1], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="both q_logged and v_target"):
        evaluate(r, p, pi, q_logged=[0.1, 0.1, 0.1])


def test_importance_weights():
    np.testing.assert_allclose(offpolicy.importance_weights([0.5, 0.25], [1.0, 0.5]), [2.0, 2.0])
    with pytest.raises(ValueError, match="propensity"):
        offpolicy.importance_weights([0.0, 0.25], [1.0, 0.5])
