import random

import pytest

from postloop.core.text_rules import (
    MAX_WEIGHTED_LENGTH,
    URL_WEIGHT,
    count_emoji,
    fits,
    repair,
    weighted_length,
)


def test_constants():
    assert MAX_WEIGHTED_LENGTH == 280
    assert URL_WEIGHT == 23


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", 0),
        ("hello world", 11),
        ("héllo", 5),             # Latin-1 supplement weighs 1
        ("привет", 6),            # Cyrillic is below U+10FF
        ("a—b", 3),               # em dash U+2014 is in the light range
        ("x′", 2),                # prime U+2032 is in the light range
        ("…", 2),                 # ellipsis U+2026 is outside every light range
        ("日本語", 6),             # CJK weighs 2 each
        ("한국", 4),
        ("😀", 2),
        ("👍🏽", 2),               # skin-tone modifier joins the emoji
        ("👨\u200d👩\u200d👧", 2),  # ZWJ family sequence is one emoji
        ("🇯🇵", 2),               # two regional indicators make one flag
        ("❤️", 2),                # heart + variation selector
        ("#️⃣", 2),               # keycap sequence
        ("😀😀", 4),
    ],
)
def test_weighted_length_values(text, expected):
    assert weighted_length(text) == expected


def test_url_counts_23_whatever_its_length():
    short = "https://x.co"
    long = "https://example.com/" + "a" * 200 + "?q=1&r=2"
    assert weighted_length(short) == 23
    assert weighted_length(long) == 23
    assert weighted_length("http://example.com") == 23
    # "see " (4) + URL (23) + "." (1): the closing full stop is not part of the URL.
    assert weighted_length("see https://example.com/path.") == 28
    assert weighted_length("a https://a.io b https://b.io") == 2 + 23 + 3 + 23


def test_text_is_nfc_normalised_first():
    decomposed = "e\u0301"  # e + combining acute accent
    assert weighted_length(decomposed) == weighted_length("é") == 1


def test_fits_at_the_boundary():
    assert fits("a" * 280)
    assert not fits("a" * 281)
    assert fits("中" * 140)
    assert not fits("中" * 141)
    assert fits("https://example.com/" + "x" * 500)  # one URL is 23 however long


def test_count_emoji_counts_sequences_once():
    assert count_emoji("no emoji here") == 0
    assert count_emoji("🚀🔥 go 👨\u200d👩\u200d👧 🇯🇵 👍🏽") == 5


def test_repair_returns_fitting_text_unchanged_but_collapsed():
    messy = "Hello   there,\tfriend.\n\n\n\nNext line."
    assert repair(messy) == "Hello there, friend.\n\nNext line."


def test_repair_of_blank_text_is_none():
    assert repair("   \n\t ") is None


def test_repair_prefers_a_sentence_boundary():
    sentence = "Every sentence here is exactly fifty characters ok."
    text = " ".join([sentence] * 8)  # 407 characters
    fixed = repair(text)
    assert fixed is not None and fits(fixed)
    assert fixed.endswith("ok.")
    assert fixed == " ".join([sentence] * 5)  # 5 * 51 - 1 = 254 fits, 6 would not


def test_repair_cuts_at_a_word_and_adds_an_ellipsis():
    text = " ".join(["word"] * 100)  # no sentence ends
    fixed = repair(text)
    assert fixed is not None and fits(fixed)
    assert fixed.endswith("word…")
    assert weighted_length(fixed) > 270  # nothing sensible was thrown away


def test_repair_never_splits_a_url():
    url = "https://example.com/" + "p" * 60
    text = ("lorem ipsum " * 21) + url + " and more words after it " * 5
    fixed = repair(text)
    assert fixed is not None and fits(fixed)
    assert url in fixed or "https" not in fixed


def test_repair_gives_none_when_too_little_remains():
    assert repair("tiny " + "y" * 400) is None


def test_repair_always_fits_on_random_texts():
    rng = random.Random(7)
    alphabet = ["word", "中文", "😀", "https://example.com/x", "end.", "why?", "—", "\n"]
    for _ in range(200):
        text = " ".join(rng.choice(alphabet) for _ in range(rng.randint(50, 200)))
        fixed = repair(text)
        if fixed is not None:
            assert fits(fixed)
            assert weighted_length(fixed) >= 40


def test_fast_path_agrees_with_the_full_computation():
    """Plain text takes a shortcut; on mixed text it must give the full computation's answer."""
    import random
    import unicodedata

    from postloop.core import text_rules as tr

    rng = random.Random(0)
    alphabet = list("abc XYZ 123 .,!?-'\"") + ["\u00e9", "\u00f1", "\u2026", "https://x.com/a?b=1 ", "\u4e2d", "\U0001F600"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        normal = unicodedata.normalize("NFC", text)
        assert tr.weighted_length(text) == sum(w for _, _, w in tr._segments(normal)), text
        assert tr.count_emoji(text) == sum(
            1 for a, b in tr._clusters(normal, 0, len(normal))
            if b - a > 1 or any(lo <= ord(normal[a]) <= hi for lo, hi in tr._EMOJI_BASE_RANGES)), text
