from collections import Counter

import pytest

from postloop.core.features import (
    VIRAL_KEYS,
    char_ngrams,
    expertise,
    novelty,
    similarity,
    strip_markers,
    viral_indicators,
)


def test_char_ngrams_lowercases_and_collapses_whitespace():
    assert char_ngrams("Ab   C") == Counter({"ab ": 1, "b c": 1})
    assert char_ngrams("aaaa") == Counter({"aaa": 2})
    assert char_ngrams("Hi", n=3) == Counter({"hi": 1})
    assert char_ngrams("   ") == Counter()


def test_similarity_values():
    text = "Batch your writes to cut costs by 40%."
    assert similarity(text, text) == pytest.approx(1.0)
    assert similarity(text, text.upper().replace(" ", "  ")) == pytest.approx(1.0)
    assert similarity("aaaa", "bbbb") == 0.0
    assert similarity("", text) == 0.0
    other = "Ask three users what confused them."
    assert similarity(text, other) == pytest.approx(similarity(other, text))
    assert 0.0 <= similarity(text, other) < 0.5


def test_novelty():
    text = "Batch your writes to cut costs by 40%."
    assert novelty(text, []) == 1.0
    assert novelty(text, [text]) == pytest.approx(0.0, abs=1e-9)
    assert novelty(text, ["Something entirely unrelated about gardening tomatoes."]) > 0.6
    near = novelty(text, ["Batch your writes to cut costs by 45%."])
    assert 0.0 < near < 0.2
    # The closest recent post decides.
    assert novelty(text, ["gardening", text]) == pytest.approx(0.0, abs=1e-9)


def test_expertise_zero_without_hits_and_higher_with_terms():
    terms = ["latency", "cold start", "DynamoDB"]
    assert expertise("I like my morning walks in the park.", terms) == 0.0
    one = expertise("Our latency story is getting better over time.", terms)
    more = expertise(
        "Cold start latency fell 40% after we moved DynamoDB setup out of the handler, "
        "because init runs once per container.",
        terms,
    )
    assert 0.0 < one < more < 1.0
    assert more > 0.8


def test_expertise_matches_whole_words_case_insensitively():
    assert expertise("Good morning everyone.", ["go"]) == 0.0
    assert expertise("Learn GO this year.", ["go"]) > 0.3
    assert expertise("A COLD   START again.", ["cold start"]) > 0.3


def test_expertise_saturates():
    terms = ["cache"]
    dense = expertise("cache " * 20, terms)
    denser = expertise("cache " * 40, terms)
    assert 0.99 < dense <= denser < 1.0


def test_viral_indicators_keys_and_ranges():
    assert VIRAL_KEYS == ("hook", "question", "list_format", "contrarian", "call_to_action")
    scores = viral_indicators("anything at all")
    assert tuple(scores) == VIRAL_KEYS
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_viral_indicators_values():
    plain = viral_indicators("we went to the shop and bought some bread")
    assert plain == {k: 0.0 for k in VIRAL_KEYS} | {"hook": 0.1}

    listed = viral_indicators("3 habits:\n1. Sleep\n2. Walk\n3. Read\nFollow for more.")
    assert listed["list_format"] == 1.0
    assert listed["hook"] == 1.0
    assert listed["call_to_action"] == pytest.approx(0.6)

    ending_question = viral_indicators("Caching helps. What would you add?")
    middle_question = viral_indicators("Why cache? Because reads are slow.")
    assert ending_question["question"] == 1.0
    assert middle_question["question"] == pytest.approx(0.6)

    hot = viral_indicators("Unpopular opinion: most people are wrong about microservices.")
    assert hot["contrarian"] == 1.0


def test_thread_counters_and_decimals_are_not_list_items():
    assert viral_indicators("1/4 Here we go\n2.5x faster builds")["list_format"] == 0.0


def test_strip_markers():
    assert "1" not in strip_markers("1. Plan\n2) Build\n3/5 ship (4/4)")
    assert "2.5" in strip_markers("2.5x faster")
    assert "40%" in strip_markers("1/ 40% fewer errors")


# --- novelty from given vectors (the embeddings method) --------------------------------------------

def test_cosine_novelty_is_one_minus_the_highest_cosine():
    from postloop.core.features import cosine_novelty
    assert cosine_novelty([1.0, 0.0], []) == 1.0
    assert cosine_novelty([1.0, 0.0], [[0.0, 1.0], [3.0, 0.0]]) == pytest.approx(0.0)
    assert cosine_novelty([1.0, 1.0], [[1.0, 0.0]]) == pytest.approx(1 - 2 ** -0.5)
    assert cosine_novelty([1.0, 0.0], [[-1.0, 0.0]]) == 1.0     # opposite directions clamp to similarity 0


@pytest.mark.parametrize("vector, recent", [([1.0, 0.0], [[1.0, 0.0, 0.0]]), ([0.0, 0.0], [[1.0, 0.0]]),
                                            ([float("nan"), 1.0], [[1.0, 0.0]])])
def test_cosine_novelty_refuses_vectors_it_cannot_compare(vector, recent):
    from postloop.core.features import cosine_novelty
    with pytest.raises(ValueError):
        cosine_novelty(vector, recent)
