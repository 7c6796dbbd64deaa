"""The engagement model's fit: winsorised rates cap viral outliers before fitting."""
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from postloop.core.account import ConfigError, parse_account
from postloop.core.learn import Sample, fit_engagement
from postloop.core.records import Decision, Features, Outcome, Status

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
BASE = {"account_id": "a", "handle": "h", "persona": "p", "niche": "n", "topics": ["t"], "timezone": "UTC",
        "content_types": [{"name": "fact", "prompt": "x"}, {"name": "take", "prompt": "x"}],
        "posting_hours": [9, 21]}


def _samples(rates):
    out = []
    for i, r in enumerate(rates):
        posted = NOW - timedelta(days=5, hours=i)
        d = Decision("a", f"d{i}", posted, Status.POSTED, content_type="take" if i % 2 else "fact",
                     hour=9 if i % 3 else 21, posted_at=posted, features=Features(0.6, 0.5, 0.5))
        o = Outcome("a", f"d{i}", 48, posted + timedelta(hours=48), posted, 1000, int(round(r * 1000)), 0, 0)
        out.append(Sample(d, o))
    return out


def test_winsorised_caps_rates_at_the_975th_percentile():
    rng = np.random.default_rng(0)
    rates = list(rng.uniform(0.02, 0.05, 79)) + [0.60]   # one viral post
    samples = _samples(rates)
    er = np.array([s.er for s in samples])
    # Without context features: the coefficients are quality, two types and two hours.
    raw = fit_engagement(parse_account({**BASE, "learning": {"half_life_days": None, "context": []}}), samples, NOW)
    win = fit_engagement(parse_account({**BASE, "learning": {"half_life_days": None, "context": [],
                                                             "reward_transform": "winsorised"}}), samples, NOW)
    assert "winsorised_at" not in raw
    assert win["winsorised_at"] == pytest.approx(np.quantile(er, 0.975))
    # The outlier pulls the raw fit's level up; the winsorised fit much less.
    mean_raw = raw["intercept"] + np.mean([np.dot(raw["coef"], [0.6, 0.5, 0.5, 0.5, 0.5])])
    mean_win = win["intercept"] + np.mean([np.dot(win["coef"], [0.6, 0.5, 0.5, 0.5, 0.5])])
    assert mean_win < mean_raw


def test_unknown_reward_transform_is_named():
    with pytest.raises(ConfigError, match="learning.reward_transform"):
        parse_account({**BASE, "learning": {"reward_transform": "log"}})
