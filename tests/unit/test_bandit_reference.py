"""Thompson sampling and UCB1 match a reference implementation (mabwiser) on a Bernoulli instance.

Design
------
* One Bernoulli instance: five arms with means 0.2, 0.35, 0.5, 0.55, 0.7; a
  horizon of 1,500 pulls; 30 seeds per algorithm.
* Every policy goes through the same harness: one warm-up pull per arm with
  feedback (the usual UCB1 initialisation; mabwiser cannot predict before a
  first fit), then it picks and is told the rewards either after every pull
  or after every 20 pulls (batched feedback: the picks inside a batch come from
  the same, stale state).
* The rewards come from a table fixed per seed: `table[t, a]` is what arm `a`
  pays if it is pulled at step `t`. Policy randomness (Thompson draws) has a
  seed of its own.
* Metrics per run: pseudo-regret (sum over pulls of best mean minus the mean
  of the arm pulled, which leaves out the Bernoulli noise of the payouts),
  total reward received, and the share of the last 300 pulls that went to the
  best arm.
* Ours and the reference run on disjoint seed sets, so the runs are
  independent and the standard error of the difference of the means is
  sqrt(se_ours^2 + se_ref^2). "Within seed noise" is |difference| < 4 of those.
* UCB1 is deterministic given the rewards, and mabwiser's UCB1(alpha=1) is the
  same formula, so on the same reward table it must also make the very same
  pick at every step; that is checked too (it is a much sharper test).
* UCB1-Tuned (our default) must do at least as well as UCB1 on average.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
from mabwiser.mab import MAB, LearningPolicy

from postloop.core.thompson import choose_beta
from postloop.core.ucb import choose_ucb

MEANS = np.array([0.2, 0.35, 0.5, 0.55, 0.7])
K = len(MEANS)
BEST = int(np.argmax(MEANS))
HORIZON = 1500
TAIL = 300                               # "at the end": the last 300 pulls
OURS_SEEDS = tuple(range(30))
REF_SEEDS = tuple(range(1000, 1030))     # disjoint from ours: independent samples
BATCHES = [1, 20]                        # feedback after every pull / every 20 pulls
Z = 4.0                                  # tolerance, in standard errors of the difference


def reward_table(seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 0])
    return (rng.random((HORIZON, K)) < MEANS).astype(float)


# --- the policies, behind one small interface: choose(n) -> n picks; update(arms, rewards)

class OursThompson:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng([seed, 1])
        self.successes = np.zeros(K)
        self.failures = np.zeros(K)

    def choose(self, n: int) -> list[int]:
        # mc_draws only sizes the Monte Carlo estimate of the propensity, which is
        # drawn after the pick and does not change it; a small value keeps this fast.
        return [choose_beta(self.successes, self.failures, self.rng, exploration=0.0, mc_draws=16).index
                for _ in range(n)]

    def update(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        np.add.at(self.successes, arms, rewards)
        np.add.at(self.failures, arms, 1.0 - rewards)


class OursUCB:
    def __init__(self, variant: str):
        self.variant = variant
        self.pulls = np.zeros(K)
        self.sums = np.zeros(K)
        self.sq_sums = np.zeros(K)

    def choose(self, n: int) -> list[int]:
        return [choose_ucb(self.pulls.tolist(), self.sums.tolist(), self.sq_sums.tolist(),
                           variant=self.variant).index for _ in range(n)]

    def update(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        np.add.at(self.pulls, arms, 1.0)
        np.add.at(self.sums, arms, rewards)
        np.add.at(self.sq_sums, arms, rewards * rewards)


class Reference:
    """mabwiser, fitted on the warm-up pulls and then updated with partial_fit."""

    def __init__(self, policy, seed: int):
        self.mab = MAB(arms=list(range(K)), learning_policy=policy, seed=seed)
        self.fitted = False

    def choose(self, n: int) -> list[int]:
        if n == 1:
            return [int(self.mab.predict())]
        # A non-contextual policy predicts once per context row: n picks from the same state.
        return [int(a) for a in self.mab.predict(contexts=np.zeros((n, 1)))]

    def update(self, arms: np.ndarray, rewards: np.ndarray) -> None:
        if self.fitted:
            self.mab.partial_fit(decisions=arms, rewards=rewards)
        else:
            self.mab.fit(decisions=arms, rewards=rewards)
            self.fitted = True


def make_policy(name: str, seed: int):
    if name == "ours-thompson":
        return OursThompson(seed)
    if name == "ours-ucb1":
        return OursUCB("ucb1")
    if name == "ours-tuned":
        return OursUCB("tuned")
    if name == "ref-thompson":
        # Beta(1, 1) prior, as ours; rewards are already 0/1 so no binarizer.
        return Reference(LearningPolicy.ThompsonSampling(), seed)
    if name == "ref-ucb1":
        # mabwiser scores an arm mean + alpha * sqrt(2 ln N / n) (N: total pulls,
        # n: the arm's pulls), so alpha=1 is exactly UCB1's bonus sqrt(2 ln t / n).
        return Reference(LearningPolicy.UCB1(alpha=1.0), seed)
    raise ValueError(name)


@lru_cache(maxsize=None)
def run(name: str, seed: int, batch: int) -> np.ndarray:
    """The arm pulled at each of the HORIZON steps."""
    table = reward_table(seed)
    policy = make_policy(name, seed)
    choices = np.empty(HORIZON, dtype=int)
    warm = np.arange(K)
    choices[:K] = warm
    policy.update(warm, table[warm, warm])
    t = K
    while t < HORIZON:
        n = min(batch, HORIZON - t)
        picks = np.asarray(policy.choose(n), dtype=int)
        choices[t:t + n] = picks
        policy.update(picks, table[np.arange(t, t + n), picks])
        t += n
    return choices


@lru_cache(maxsize=None)
def metrics(name: str, seeds: tuple[int, ...], batch: int) -> dict[str, np.ndarray]:
    regret, reward, best_share = [], [], []
    for seed in seeds:
        choices = run(name, seed, batch)
        regret.append(float(np.sum(MEANS[BEST] - MEANS[choices])))
        reward.append(float(reward_table(seed)[np.arange(HORIZON), choices].sum()))
        best_share.append(float(np.mean(choices[-TAIL:] == BEST)))
    return {"regret": np.array(regret), "reward": np.array(reward), "best_share": np.array(best_share)}


def mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))


def assert_within_seed_noise(ours: dict, ref: dict) -> None:
    failures = []
    for key in ("regret", "reward", "best_share"):
        (m_o, se_o), (m_r, se_r) = mean_se(ours[key]), mean_se(ref[key])
        se = float(np.hypot(se_o, se_r))
        diff = abs(m_o - m_r)
        if not diff <= Z * se:
            failures.append(f"{key}: ours {m_o:.4g} ± {se_o:.2g} vs reference {m_r:.4g} ± {se_r:.2g} "
                            f"(|diff| {diff:.4g} > {Z} × {se:.2g})")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("batch", BATCHES)
def test_thompson_matches_mabwiser_within_seed_noise(batch):
    assert_within_seed_noise(metrics("ours-thompson", OURS_SEEDS, batch),
                             metrics("ref-thompson", REF_SEEDS, batch))


@pytest.mark.parametrize("batch", BATCHES)
def test_ucb1_matches_mabwiser_within_seed_noise(batch):
    assert_within_seed_noise(metrics("ours-ucb1", OURS_SEEDS, batch),
                             metrics("ref-ucb1", REF_SEEDS, batch))


@pytest.mark.parametrize("batch", BATCHES)
def test_ucb1_makes_the_same_pick_as_mabwiser_at_every_step(batch):
    # Same reward table, deterministic policy, same formula and the same tie
    # rule (lowest index): the two must agree pull for pull.
    for seed in REF_SEEDS:
        ours, ref = run("ours-ucb1", seed, batch), run("ref-ucb1", seed, batch)
        differ = np.flatnonzero(ours != ref)
        assert differ.size == 0, (f"seed {seed}: first difference at step {differ[0]}: "
                                  f"ours pulled {ours[differ[0]]}, mabwiser {ref[differ[0]]}")


@pytest.mark.parametrize("batch", BATCHES)
def test_tuned_is_at_least_as_good_as_ucb1(batch):
    tuned = metrics("ours-tuned", OURS_SEEDS, batch)["regret"]
    ucb1 = metrics("ours-ucb1", OURS_SEEDS, batch)["regret"]
    assert tuned.mean() <= ucb1.mean(), ("mean regret: tuned {:.2f} ± {:.2f}, ucb1 {:.2f} ± {:.2f}"
                                         .format(*mean_se(tuned), *mean_se(ucb1)))
