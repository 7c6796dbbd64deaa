"""Thompson sampling (content types) and UCB (hours)."""
import math
from collections import Counter

import numpy as np
import pytest

from postloop.core.thompson import choose_beta
from postloop.core.ucb import choose_ucb


def _win_probabilities(successes, failures, grid: int = 100_000):
    """P(arm i's Beta(1+s, 1+f) draw is the largest) = ∫ f_i · Π_{j≠i} F_j, by the midpoint rule."""
    dx = 1.0 / grid
    x = (np.arange(grid) + 0.5) * dx
    pdfs = []
    for s, f in zip(successes, failures):
        a, b = 1.0 + s, 1.0 + f
        log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
        pdfs.append(np.exp(log_norm + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x)))
    pdfs = np.array(pdfs)
    cdfs = np.cumsum(pdfs * dx, axis=1) - pdfs * dx / 2      # F at each midpoint
    return np.array([float(np.sum(pdfs[i] * np.prod(np.delete(cdfs, i, axis=0), axis=0)) * dx)
                     for i in range(len(pdfs))])


def test_integration_helper_on_known_cases():
    # Two identical arms win half the time each; Beta(2,1) beats Beta(1,1) with probability 2/3.
    np.testing.assert_allclose(_win_probabilities([3, 3], [5, 5]), [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(_win_probabilities([1, 0], [0, 0]), [2 / 3, 1 / 3], atol=1e-6)


# -- Thompson ------------------------------------------------------------------

def test_overwhelming_evidence_picks_the_best_arm_with_propensity_near_one():
    rng = np.random.default_rng(0)
    successes, failures = [10, 900, 10], [990, 100, 990]
    for _ in range(50):
        pick = choose_beta(successes, failures, rng)
        assert pick.index == 1
        assert pick.propensity > 0.999
        assert not pick.explored


def test_equal_arms_have_propensity_one_over_k():
    rng = np.random.default_rng(1)
    k = 4
    for _ in range(20):
        pick = choose_beta([20] * k, [30] * k, rng)
        # Monte Carlo share over 2000 draws: standard error sqrt(0.25 * 0.75 / 2000) ≈ 0.0097.
        assert pick.propensity == pytest.approx(1 / k, abs=0.04)


def test_exploration_floor_holds_for_every_arm():
    rng = np.random.default_rng(2)
    exploration, k = 0.3, 3
    successes, failures = [500, 5, 5], [5, 500, 500]   # arm 0 always wins without exploration
    seen = Counter()
    for _ in range(300):
        pick = choose_beta(successes, failures, rng, exploration=exploration)
        seen[pick.index] += 1
        assert pick.propensity >= exploration / k - 1e-12
        if pick.index != 0:
            assert pick.explored                          # only exploration reaches the bad arms
            assert pick.propensity == pytest.approx(exploration / k, abs=1e-12)
        else:
            assert pick.propensity == pytest.approx(1 - exploration + exploration / k, abs=1e-12)
    assert set(seen) == {0, 1, 2}


def test_no_arms_raise():
    with pytest.raises(ValueError, match="no arms"):
        choose_beta([], [], np.random.default_rng(0))


def test_pick_frequencies_match_the_reported_propensities():
    rng = np.random.default_rng(42)
    successes, failures = [12, 15, 9], [18, 15, 21]
    exploration = 0.1
    exact = (1 - exploration) * _win_probabilities(successes, failures) + exploration / 3
    n = 3000
    counts = np.zeros(3)
    reported = [[] for _ in range(3)]
    for _ in range(n):
        pick = choose_beta(successes, failures, rng, exploration=exploration)
        counts[pick.index] += 1
        reported[pick.index].append(pick.propensity)
    freq = counts / n
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(freq - exact) < 4 * se), (freq, exact)
    # The propensity recorded with an arm's picks estimates the same probability.
    for i in range(3):
        assert np.mean(reported[i]) == pytest.approx(exact[i], abs=0.01)
        assert np.all(np.abs(np.array(reported[i]) - exact[i]) < 0.05)


# -- UCB -----------------------------------------------------------------------

def test_untried_arm_is_chosen_first_lowest_index():
    pick = choose_ucb([5, 0, 3, 0], [4.0, 0.0, 3.0, 0.0], [4.0, 0.0, 3.0, 0.0])
    assert pick.index == 1
    assert pick.scores == (0.0, math.inf, 0.0, math.inf)
    assert choose_ucb([0, 0], [0, 0], [0, 0], variant="ucb1").index == 0


def _sq_sums(pulls, means, var):
    """Sums of squares giving each arm the sample variance `var` (E[r²] = var + mean²)."""
    return [n * (var + m * m) for n, m in zip(pulls, means)]


@pytest.mark.parametrize("variant", ["tuned", "ucb1"])
def test_equal_pulls_higher_mean_wins(variant):
    pulls = [10, 10, 10]
    means = [0.3, 0.7, 0.5]
    pick = choose_ucb(pulls, [n * m for n, m in zip(pulls, means)], _sq_sums(pulls, means, 0.05), variant=variant)
    assert pick.index == 1


def test_ucb1_scores_hand_computed():
    # total 4 pulls: bonus = sqrt(2 ln 4 / 2) = sqrt(ln 4) ≈ 1.177410
    pick = choose_ucb([2, 2], [0.5, 1.5], [0.25, 1.25], variant="ucb1")
    assert pick.scores == pytest.approx((0.25 + 1.1774100225154747, 0.75 + 1.1774100225154747))
    assert pick.index == 1


def test_tuned_scores_hand_computed():
    # Arm 0: n=2, mean 0.25, E[r²] = 0.125, variance 0.0625; ln 4 = 1.386294;
    # V = 0.0625 + sqrt(2 · 1.386294 / 2) = 1.239910 -> min(1/4, V) = 1/4 -> bonus sqrt(1.386294 / 2 / 4) = 0.416277
    pick = choose_ucb([2, 2], [0.5, 0.5], [0.25, 0.25], variant="tuned")
    assert pick.scores[0] == pytest.approx(0.25 + 0.41627730557884884)


def test_tuned_uses_the_variance_when_it_is_small():
    # Many pulls with zero variance: V = sqrt(2 ln t / n) < 1/4 decides the bonus.
    pulls = [4000, 4000]
    t = 8000
    v = math.sqrt(2 * math.log(t) / 4000)
    assert v < 0.25
    expected_bonus = math.sqrt(math.log(t) / 4000 * v)
    pick = choose_ucb(pulls, [2000.0, 2000.0], [1000.0, 1000.0], variant="tuned")
    assert pick.scores[0] == pytest.approx(0.5 + expected_bonus, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_tuned_bonus_never_exceeds_ucb1_bonus(seed):
    rng = np.random.default_rng(seed)
    k = 6
    pulls = rng.integers(1, 50, size=k).tolist()
    rewards = [rng.random(n) for n in pulls]
    sums = [float(r.sum()) for r in rewards]
    sqs = [float((r * r).sum()) for r in rewards]
    means = [s / n for s, n in zip(sums, pulls)]
    tuned = choose_ucb(pulls, sums, sqs, variant="tuned").scores
    ucb1 = choose_ucb(pulls, sums, sqs, variant="ucb1").scores
    for m, a, b in zip(means, tuned, ucb1):
        assert 0.0 <= a - m <= b - m


def test_less_pulled_arm_gets_a_larger_bonus():
    # Same mean, fewer pulls: the larger bonus picks arm 0.
    pick = choose_ucb([3, 30], [1.5, 15.0], [0.9, 9.0], variant="ucb1")
    assert pick.index == 0


def test_unknown_variant_and_no_arms_raise():
    with pytest.raises(ValueError, match="unknown variant 'ucb2'"):
        choose_ucb([1, 1], [0.5, 0.5], [0.25, 0.25], variant="ucb2")
    with pytest.raises(ValueError, match="no arms"):
        choose_ucb([], [], [])
