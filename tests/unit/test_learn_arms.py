"""rebuild_arms and percentile_ranks on small hand-built samples."""
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from postloop.core.account import parse_account
from postloop.core.learn import Sample, percentile_ranks, rebuild_arms
from postloop.core.records import Decision, Features, Outcome, Status

NOW = datetime(2026, 1, 20, 6, 0, tzinfo=timezone.utc)


def _config(success="relative", half_life_days=None):
    # No decay by default here: these tests check the counting itself; the
    # half-life weights have their own test below.
    return parse_account({
        "account_id": "acct",
        "handle": "h",
        "persona": "p",
        "niche": "n",
        "topics": ["t"],
        "timezone": "UTC",
        "content_types": [{"name": "fact", "prompt": "x"}, {"name": "question", "prompt": "x"},
                          {"name": "thread", "prompt": "x", "thread": True}],
        "posting_hours": [9, 13, 21],
        "learning": {"success": success, "half_life_days": half_life_days},
    })


def _sample(i: int, content_type: str, hour: int, engagements: int, impressions: int = 1000) -> Sample:
    posted = NOW - timedelta(days=3, hours=i)
    decision = Decision(
        account_id="acct", decision_id=f"d{i}", planned_at=posted - timedelta(hours=1), status=Status.POSTED,
        content_type=content_type, hour=hour, posted_at=posted,
        features=Features(quality=0.7, novelty=0.5, expertise=0.4),
    )
    # Split the engagements over likes, retweets and replies; the rate is their sum over impressions.
    likes = engagements // 2
    retweets = engagements // 4
    outcome = Outcome(
        account_id="acct", decision_id=f"d{i}", horizon_hours=48, collected_at=posted + timedelta(hours=48),
        posted_at=posted, impressions=impressions, likes=likes, retweets=retweets,
        replies=engagements - likes - retweets, followers_gained=0.0,
    )
    return Sample(decision, outcome)


# Rates: 0.010, 0.030, 0.020, 0.030, 0.050
SAMPLES = [
    _sample(0, "fact", 9, 10),
    _sample(1, "fact", 13, 30),
    _sample(2, "question", 9, 20),
    _sample(3, "question", 21, 30),
    _sample(4, "fact", 21, 50),
]


def _by_id(arms):
    return {a.arm_id: a for a in arms}


def test_sample_rates_are_what_the_fixture_intends():
    assert [s.er for s in SAMPLES] == pytest.approx([0.01, 0.03, 0.02, 0.03, 0.05])


def test_percentile_ranks_hand_computed_with_ties():
    # sorted: 0.01 (rank 0), 0.02 (1), 0.03 and 0.03 (2 and 3 -> 2.5), 0.05 (4); (rank + 0.5) / 5
    ranks = percentile_ranks(np.array([0.01, 0.03, 0.02, 0.03, 0.05]))
    np.testing.assert_allclose(ranks, [0.1, 0.6, 0.3, 0.6, 0.9])


def test_percentile_ranks_small_cases():
    assert percentile_ranks(np.array([0.4])).tolist() == [0.5]
    assert percentile_ranks(np.zeros(0)).tolist() == []
    np.testing.assert_allclose(percentile_ranks(np.array([3.0, 1.0])), [0.75, 0.25])
    # All tied: everyone shares the middle rank.
    np.testing.assert_allclose(percentile_ranks(np.array([2.0, 2.0, 2.0, 2.0])), [0.5] * 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_percentile_ranks_match_a_pairwise_count(seed):
    # Mid-rank = (#smaller + (#equal - 1) / 2); scaled as (mid-rank + 0.5) / n.
    values = np.random.default_rng(seed).integers(0, 5, size=17).astype(float)
    n = len(values)
    expected = [((values < v).sum() + ((values == v).sum() - 1) / 2 + 0.5) / n for v in values]
    np.testing.assert_allclose(percentile_ranks(values), expected)


def test_relative_threshold_counts_successes_above_the_window_mean():
    # Mean rate = (0.01 + 0.03 + 0.02 + 0.03 + 0.05) / 5 = 0.028: 0.03, 0.03 and 0.05 are successes.
    arms = _by_id(rebuild_arms(_config(), SAMPLES, NOW))
    fact, question = arms["type#fact"], arms["type#question"]
    assert (fact.pulls, fact.successes, fact.failures) == (3, 2.0, 1.0)           # 0.01 F, 0.03 S, 0.05 S
    assert (question.pulls, question.successes, question.failures) == (2, 1.0, 1.0)  # 0.02 F, 0.03 S


def test_absolute_threshold():
    # success = 0.025: 0.03, 0.03 and 0.05 succeed (same split as relative here) ...
    arms = _by_id(rebuild_arms(_config(0.025), SAMPLES, NOW))
    assert (arms["type#fact"].successes, arms["type#fact"].failures) == (2.0, 1.0)
    # ... while 0.04 leaves only 0.05, and a rate equal to the threshold is not a success.
    arms = _by_id(rebuild_arms(_config(0.04), SAMPLES, NOW))
    assert (arms["type#fact"].successes, arms["type#fact"].failures) == (1.0, 2.0)
    assert (arms["type#question"].successes, arms["type#question"].failures) == (0.0, 2.0)
    arms = _by_id(rebuild_arms(_config(0.03), SAMPLES, NOW))
    assert (arms["type#question"].successes, arms["type#question"].failures) == (0.0, 2.0)
    assert (arms["type#fact"].successes, arms["type#fact"].failures) == (1.0, 2.0)


def test_hour_rewards_are_percentile_ranks_of_the_rate_relative_to_its_type():
    # Type means: fact (0.01, 0.03, 0.05) -> 0.03; question (0.02, 0.03) -> 0.025.
    # Rate / type mean: d0 1/3, d1 1.0, d2 0.8, d3 1.2, d4 5/3 -> order d0 < d2 < d1 < d3 < d4,
    # percentile ranks (rank + 0.5) / 5: d0 0.1, d2 0.3, d1 0.5, d3 0.7, d4 0.9.
    arms = _by_id(rebuild_arms(_config(), SAMPLES, NOW))
    h9, h13, h21 = arms["hour#9"], arms["hour#13"], arms["hour#21"]
    assert (h9.pulls, h9.reward_sum, h9.reward_sq_sum) == (2, pytest.approx(0.4), pytest.approx(0.1))    # d0, d2
    assert (h13.pulls, h13.reward_sum, h13.reward_sq_sum) == (1, pytest.approx(0.5), pytest.approx(0.25))  # d1
    assert (h21.pulls, h21.reward_sum, h21.reward_sq_sum) == (2, pytest.approx(1.6), pytest.approx(1.3))  # d3, d4
    # Hour arms carry no success counts and type arms no rewards.
    assert h9.successes == h9.failures == 0.0
    assert arms["type#fact"].reward_sum == arms["type#fact"].reward_sq_sum == 0.0


def test_hour_rewards_average_tied_ranks():
    # Rates in 64ths of 1024 impressions, exact in binary: fact 1/64 and 3/64 (mean 2/64),
    # question 2/64 and 6/64 (mean 4/64): both types give relative rates 0.5 and 1.5.
    # Two ties: 0.5 shares ranks 0 and 1 -> (0.5 + 0.5) / 4 = 0.25; 1.5 shares 2 and 3 -> 0.75.
    samples = [
        _sample(0, "fact", 9, 16, impressions=1024),
        _sample(1, "fact", 13, 48, impressions=1024),
        _sample(2, "question", 9, 32, impressions=1024),
        _sample(3, "question", 21, 96, impressions=1024),
    ]
    arms = _by_id(rebuild_arms(_config(), samples, NOW))
    assert arms["hour#9"].reward_sum == pytest.approx(0.5)          # 0.25 + 0.25
    assert arms["hour#9"].reward_sq_sum == pytest.approx(0.125)
    assert arms["hour#13"].reward_sum == pytest.approx(0.75)
    assert arms["hour#21"].reward_sum == pytest.approx(0.75)        # not more: question's high rate is its type's
    # Successes still compare raw rates with the window mean, 48/1024: only 96/1024 is above it.
    assert (arms["type#fact"].successes, arms["type#fact"].failures) == (0.0, 2.0)
    assert (arms["type#question"].successes, arms["type#question"].failures) == (1.0, 1.0)


def test_configured_arms_without_data_exist_with_zero_pulls():
    arms = rebuild_arms(_config(), SAMPLES, NOW)
    ids = [a.arm_id for a in arms]
    assert sorted(ids) == sorted(["type#fact", "type#question", "type#thread", "hour#9", "hour#13", "hour#21"])
    thread = _by_id(arms)["type#thread"]
    assert (thread.pulls, thread.successes, thread.failures, thread.reward_sum) == (0, 0.0, 0.0, 0.0)
    assert all(a.account_id == "acct" and a.updated_at == NOW for a in arms)

    empty = rebuild_arms(_config(), [], NOW)
    assert len(empty) == 6
    assert all(a.pulls == 0 and a.successes == 0 and a.reward_sum == 0 for a in empty)


def test_data_for_an_unconfigured_arm_gets_its_own_arm():
    samples = SAMPLES + [_sample(5, "retired_type", 3, 40)]
    arms = _by_id(rebuild_arms(_config(), samples, NOW))
    assert arms["type#retired_type"].pulls == 1
    assert arms["hour#3"].pulls == 1


def test_rebuilding_twice_gives_equal_results():
    config = _config()
    first = rebuild_arms(config, SAMPLES, NOW)
    second = rebuild_arms(config, SAMPLES, NOW)
    assert first == second
    assert first is not second and first[0] is not second[0]   # fresh objects, not accumulated state
    assert _by_id(second)["type#fact"].pulls == 3


def test_half_life_weights_halve_per_half_life_and_default_to_one():
    from datetime import datetime, timedelta, timezone

    from postloop.core.learn import age_weights

    now = datetime(2026, 2, 1, tzinfo=timezone.utc)

    class _D:
        def __init__(self, days):
            self.posted_at = now - timedelta(days=days)

    class _S:
        def __init__(self, days):
            self.decision = _D(days)

    samples = [_S(0), _S(7), _S(14), _S(28)]
    assert list(age_weights(samples, now, None)) == [1.0, 1.0, 1.0, 1.0]
    w = age_weights(samples, now, 14.0)
    assert w[0] == 1.0 and abs(w[1] - 2 ** -0.5) < 1e-12 and w[2] == 0.5 and w[3] == 0.25
