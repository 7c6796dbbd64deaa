"""End to end: `postloop evaluate` on a 30-day simulated log (memory backend), estimates against the truth.

Tolerance for the DR estimate: 1.96 · √(SE_DR² + SE_q̂²). SE_DR is the
interval's own standard error (spread of the per-row contributions); SE_q̂ is
the reward model's standard error for the candidate's value, from the ridge
fit. The second term is needed because for a candidate the bot hardly ever
follows (`fixed`: factual_single at 11:00, recorded propensity near the 2 %
floor spread over 32 pairs) almost no logged row matches, DR is then the
reward model's prediction, and its error is the model's, which the row-based
interval does not contain. Measured (seeds 1, 2, 3; DR vs truth, tolerance):
  uniform  0.0474 vs 0.0399 (±0.0105), 0.0340 vs 0.0396 (±0.0108), 0.0374 vs 0.0394 (±0.0063)
  fixed    0.0603 vs 0.0363 (±0.0728), 0.0330 vs 0.0360 (±0.0176), 0.0315 vs 0.0357 (±0.0160)
(seed 1's fixed interval is wide because one logged row matches with weight 1572.) Each run
takes 2-3 s.
"""
from __future__ import annotations

import json
import math

import pytest

from postloop_local import cli

DAYS = 30


def _run(capsys, seed: int, *extra: str) -> tuple[int, str]:
    code = cli.main(["evaluate", "--scenario", "stationary", "--days", str(DAYS), "--seed", str(seed),
                     "--candidate", "uniform", "--candidate", "fixed", *extra])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dr_lands_near_the_true_value_of_uniform_and_fixed(seed, capsys):
    code, out = _run(capsys, seed, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["days"] == DAYS and data["logged_rows"] > 140

    # The logging policy's realised mean matches the truth of what it posted.
    logging = data["logging_policy"]
    assert logging["realised_mean_reward"] == pytest.approx(logging["true_mean_reward"], abs=0.004)

    # Every decision recorded a positive propensity; the pooled decider never went below its floor.
    props = data["propensities"]
    assert props["missing"] == 0
    assert all(phase["zero"] == 0 for phase in props["phases"].values())
    assert props["phases"]["pooled"]["below_floor"] == 0
    assert props["phases"]["pooled"]["min"] >= props["floor"] * (1 - 1e-9)

    by_name = {c["candidate"]: c for c in data["candidates"]}
    assert set(by_name) == {"uniform", "fixed"}
    for name, c in by_name.items():
        dr = c["dr"]["value"]
        tolerance = 1.96 * math.hypot(c["dr"]["std_error"], c["model_std_error"])
        assert abs(dr - c["truth"]) <= tolerance, (name, dr, c["truth"], tolerance)
        assert c["covers"]["dr_with_model_error"] is True
    # Uniform is supported by every logged row (the floor), and its true value lies
    # between the worst and the best pair of the stationary scenario.
    assert by_name["uniform"]["matched"] == data["logged_rows"]
    assert 0.03 < by_name["uniform"]["truth"] < 0.05


def test_the_table_names_every_column(capsys):
    code, out = _run(capsys, 1, "--candidate", "pair:educational_thread@19")
    assert code == 0
    header = next(line for line in out.splitlines() if "IPS [95% CI]" in line)
    for column in ("SNIPS [95% CI]", "DR [95% CI]", "true", "ESS", "covers"):
        assert column in header
    for row in ("uniform", "fixed (factual_single@11)", "pair:educational_thread@19"):
        assert any(line.strip().startswith(row) for line in out.splitlines()), row
    assert "logging policy's mean reward on those rows: realised" in out


def test_an_unknown_candidate_is_refused_before_the_run(capsys):
    assert cli.main(["evaluate", "--days", str(DAYS), "--candidate", "pair:question@8"]) == 2
    assert "not one of the account's pairs" in capsys.readouterr().err
    assert cli.main(["evaluate", "--days", str(DAYS), "--candidate", "best"]) == 2
    assert "unknown candidate" in capsys.readouterr().err
