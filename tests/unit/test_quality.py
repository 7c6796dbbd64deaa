import math

import pytest

from postloop.core.quality import HARD_CAP, WEIGHTS, QualityReport, blend_with_judge, score_quality

SPECIFIC = (
    "Cold starts cost us 38% of p99 latency. We cut them to 120 ms by moving setup out "
    "of the handler, which means the work runs once per container instead of once per "
    "request. Measure before you tune."
)
SPAMMY = (
    "AMAZING TIPS FOR SERVERLESS!!! YOU NEED THIS NOW "
    "#aws #serverless #cloud #tech #growth 🚀🚀🚀🔥🔥"
)
VAGUE = "Serverless is great. Try it."
COMPONENTS = {"length_fit", "specificity", "readability", "hook", "spam", "banned", "x_rules"}


def test_weights_cover_every_component_and_sum_to_one():
    assert set(WEIGHTS) == COMPONENTS
    assert math.isclose(sum(WEIGHTS.values()), 1.0)
    assert all(w > 0 for w in WEIGHTS.values())


@pytest.mark.parametrize("text", [SPECIFIC, SPAMMY, VAGUE, "x", "?" * 300])
def test_report_ranges(text):
    report = score_quality([text])
    assert isinstance(report, QualityReport)
    assert set(report.components) == COMPONENTS
    assert 0.0 <= report.score <= 1.0
    assert all(0.0 <= v <= 1.0 for v in report.components.values())


def test_score_is_the_weighted_mean_when_nothing_is_broken():
    report = score_quality([SPECIFIC])
    assert report.problems == ()
    expected = sum(WEIGHTS[k] * v for k, v in report.components.items())
    assert report.score == pytest.approx(expected)


def test_specific_post_beats_spammy_and_vague_ones():
    good = score_quality([SPECIFIC])
    spammy = score_quality([SPAMMY])
    vague = score_quality([VAGUE])
    assert good.score > 0.8
    assert spammy.score < good.score - 0.3
    assert vague.score < good.score - 0.3
    assert spammy.components["spam"] == 0.0
    assert good.components["spam"] == 1.0
    assert good.components["specificity"] > 0.9
    assert vague.components["specificity"] == 0.0


def test_banned_phrase_caps_the_score_case_insensitively():
    report = score_quality([SPECIFIC], banned_phrases=["CUT THEM"])
    assert report.score <= HARD_CAP == 0.2
    assert report.components["banned"] == 0.0
    assert report.problems == ("banned phrase: 'CUT THEM'",)


def test_banned_phrase_matches_whole_words_only():
    report = score_quality(["We tried again and again with 3 retries."], banned_phrases=["ai"])
    assert report.components["banned"] == 1.0
    assert report.problems == ()


def test_overlong_part_caps_the_score():
    report = score_quality([SPECIFIC, SPECIFIC + " " + SPECIFIC])
    assert report.components["x_rules"] == 0.0
    assert report.score <= HARD_CAP
    assert len(report.problems) == 1 and report.problems[0].startswith("part 2 is")


def test_blank_part_and_no_parts_are_problems():
    assert score_quality([SPECIFIC, "  "]).problems == ("part 2 is blank",)
    empty = score_quality([])
    assert empty.problems == ("no text",)
    assert empty.score <= HARD_CAP


def test_length_fit_sweet_spot():
    sweet = score_quality(["word " * 36])  # 179 weighted characters
    short = score_quality(["word " * 6])   # 29
    crowded = score_quality(["a" * 278])
    assert sweet.components["length_fit"] == 1.0
    assert short.components["length_fit"] < 0.15
    assert 0.7 <= crowded.components["length_fit"] < 0.8


def test_spam_penalties():
    base = "A clear point with a number: 40% of retries are wasted."
    clean = score_quality([base + " #ops #sre"]).components["spam"]
    tags = score_quality([base + " #ops #sre #aws #cloud"]).components["spam"]
    emoji = score_quality([base + " 🚀🚀🚀🚀🚀"]).components["spam"]
    bang = score_quality([base + " Wow!!!"]).components["spam"]
    caps = score_quality(["STOP WASTING YOUR TIME " + base]).components["spam"]
    assert clean == 1.0
    assert tags == pytest.approx(0.6)
    assert emoji == pytest.approx(0.7)
    assert bang == pytest.approx(0.8)
    assert caps == pytest.approx(0.76)
    # A couple of acronyms are normal in technical posts.
    assert score_quality(["AWS and SQL: " + base]).components["spam"] == 1.0


def test_hook_rewards_numbers_questions_and_bold_openers():
    plain = score_quality(["Some notes on caching.\nIt helps."]).components["hook"]
    question = score_quality(["Why is your cache slow?\nIt helps."]).components["hook"]
    number = score_quality(["3 caching mistakes I made.\nIt helps."]).components["hook"]
    assert plain == pytest.approx(0.1)
    assert question > 0.5
    assert number == 1.0


def test_list_numbers_do_not_count_as_specifics():
    listed = "Steps:\n1. Plan it\n2. Build it\n3. Ship it"
    assert score_quality([listed]).components["specificity"] == 0.0


def test_mechanism_words_raise_specificity():
    without = score_quality(["Write tests first. Ship small changes."]).components["specificity"]
    with_mech = score_quality(
        ["Write tests first, because bugs are cheaper early. Ship small changes."]
    ).components["specificity"]
    assert without == 0.0
    assert with_mech == pytest.approx(1 - math.exp(-0.9))


# --- blending in a judge's score -----------------------------------------------------------------


def test_judge_blend_is_the_weighted_mean():
    report = score_quality([SPECIFIC])
    assert blend_with_judge(report, 0.5, 0.4) == pytest.approx(0.6 * report.score + 0.4 * 0.5)
    assert blend_with_judge(report, 0.5, 0.0) == report.score      # weight 0: the rule score, exactly
    assert blend_with_judge(report, 0.5, 1.0) == pytest.approx(0.5)


def test_judge_cannot_lift_a_draft_over_the_hard_cap():
    # A banned phrase and an overlong part keep the draft at HARD_CAP whatever the judge says.
    banned = score_quality([SPECIFIC], banned_phrases=["cut them"])
    overlong = score_quality([SPECIFIC + " " + SPECIFIC])
    for report in (banned, overlong):
        assert blend_with_judge(report, 1.0, 1.0) <= HARD_CAP
        assert blend_with_judge(report, 1.0, 0.5) <= HARD_CAP


@pytest.mark.parametrize("score, weight", [(1.2, 0.5), (-0.1, 0.5), (0.5, 1.5), (0.5, -0.1)])
def test_judge_blend_refuses_values_outside_the_unit_interval(score, weight):
    with pytest.raises(ValueError):
        blend_with_judge(score_quality([SPECIFIC]), score, weight)
