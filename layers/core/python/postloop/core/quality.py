"""A quality score for a post or a thread, from simple, explainable text signals.

The score is the weighted mean (weights in `WEIGHTS`, summing to 1) of these
components, each in [0, 1]:

* `length_fit` – per part, 1 for 120–240 weighted characters; below 120 it falls as
  (length/120)^1.5, so very short posts score low; from 240 to 280 it falls linearly
  to 0.7; over 280 it is 0. Averaged over the parts.
* `specificity` – concrete, causal language: numbers count 1, numbers with a unit or
  percentage another 1, mechanism phrases ("because", "which means", "so that", ...)
  1.5; the total per part, x, gives 1 − exp(−0.6·x). List and thread numbering
  ("1.", "2/5") does not count.
* `readability` – mean of two scores: average words per sentence (1 for 6–20, falling
  to 0 at 40 and to 0.5 at 1) and average word length in letters (1 for 3.5–6,
  falling to 0 at 9 and to 0.5 at 2).
* `hook` – strength of the opening (first line, or its first sentence): a number, a
  question, a bold opener; see `features.hook_strength`.
* `spam` – 1 for a clean text, minus 0.2 per hashtag beyond 2, 0.15 per emoji beyond 3,
  0.12 per ALL-CAPS word (3+ letters) beyond 2, and 0.2 per run of "!!" / "?!" style
  punctuation; at least 0.
* `banned` – 1 when no banned phrase occurs (case-insensitive, as whole words), else 0.
* `x_rules` – 1 when every part is non-blank and fits X's 280 weighted characters, else 0.

Hard rule: when a part breaks X's length rule (or is blank) or a banned phrase occurs,
the score is capped at `HARD_CAP` (0.2) and each violation is listed in `problems`.
`problems` lists only such hard violations.

An account may blend in a language model's judgement (`blend_with_judge`):
quality = (1 − w) · rule score + w · judge score, with the hard cap still applied.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

from postloop.core import text_rules
from postloop.core.features import (
    MECHANISM_RE,
    NUMBER_RE,
    NUMBER_WITH_UNIT_RE,
    count_phrase,
    count_words,
    hook_strength,
    strip_markers,
)

WEIGHTS: dict[str, float] = {
    "length_fit": 0.15,
    "specificity": 0.25,
    "readability": 0.10,
    "hook": 0.15,
    "spam": 0.15,
    "banned": 0.10,
    "x_rules": 0.10,
}
HARD_CAP = 0.2

_HASHTAG_RE = re.compile(r"(?<!\w)#\w+")
_CAPS_WORD_RE = re.compile(r"\b[A-Z]{3,}\b")
_SHOUTY_PUNCT_RE = re.compile(r"[!?]*![!?]+|\?{2,}")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?…])\s+|\n+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class QualityReport:
    score: float
    components: dict[str, float]
    problems: tuple[str, ...]


def _length_fit(length: int) -> float:
    if length > text_rules.MAX_WEIGHTED_LENGTH:
        return 0.0
    if length < 120:
        return (length / 120) ** 1.5
    if length <= 240:
        return 1.0
    return 1.0 - 0.3 * (length - 240) / 40


def _specificity(text: str, n_parts: int) -> float:
    text = strip_markers(text)
    signals = (
        len(NUMBER_RE.findall(text))
        + len(NUMBER_WITH_UNIT_RE.findall(text))
        + 1.5 * len(MECHANISM_RE.findall(text))
    )
    return 1.0 - math.exp(-0.6 * signals / max(1, n_parts))


def _band(
    value: float, low: float, high: float, floor_at: float, floor: float, zero_at: float
) -> float:
    """1 inside [low, high]; linear to `floor` at `floor_at` below, to 0 at `zero_at` above."""
    if value < low:
        return max(floor, 1.0 - (1.0 - floor) * (low - value) / (low - floor_at))
    if value > high:
        return max(0.0, 1.0 - (value - high) / (zero_at - high))
    return 1.0


def _readability(text: str) -> float:
    sentences = [s for s in _SENTENCE_SPLIT_RE.split(text) if count_words(s) > 0]
    words = _LETTERS_RE.findall(text)
    if not sentences or not words:
        return 0.0
    words_per_sentence = sum(count_words(s) for s in sentences) / len(sentences)
    letters_per_word = sum(len(w) for w in words) / len(words)
    return 0.5 * _band(words_per_sentence, 6, 20, 1, 0.5, 40) + 0.5 * _band(
        letters_per_word, 3.5, 6, 2, 0.5, 9
    )


def _spam(text: str) -> float:
    hashtags = len(_HASHTAG_RE.findall(text))
    emoji = text_rules.count_emoji(text)
    caps = len(_CAPS_WORD_RE.findall(text))
    shouting = len(_SHOUTY_PUNCT_RE.findall(text))
    penalty = (
        0.2 * max(0, hashtags - 2)
        + 0.15 * max(0, emoji - 3)
        + 0.12 * max(0, caps - 2)
        + 0.2 * shouting
    )
    return max(0.0, 1.0 - penalty)


def score_quality(parts: Sequence[str], *, banned_phrases: Sequence[str] = ()) -> QualityReport:
    """Score a post (one part) or a thread (several parts) in [0, 1].

    Returns the weighted mean of the components described in the module docstring,
    capped at `HARD_CAP` when X's length rule is broken, a part is blank, or a banned
    phrase occurs; each such violation is named in `problems`.
    """
    parts = list(parts)
    text = "\n\n".join(parts)
    lengths = [text_rules.weighted_length(p) for p in parts]
    limit = text_rules.MAX_WEIGHTED_LENGTH

    rule_problems = [] if parts else ["no text"]
    for i, (part, length) in enumerate(zip(parts, lengths), start=1):
        if not part.strip():
            rule_problems.append(f"part {i} is blank")
        elif length > limit:
            rule_problems.append(f"part {i} is {length} weighted characters (max {limit})")
    banned_problems = [
        f"banned phrase: {phrase.strip()!r}"
        for phrase in banned_phrases
        if count_phrase(text, phrase)
    ]

    components = {
        "length_fit": sum(map(_length_fit, lengths)) / len(lengths) if lengths else 0.0,
        "specificity": _specificity(text, len(parts)),
        "readability": _readability(text),
        "hook": hook_strength(parts[0]) if parts else 0.0,
        "spam": _spam(text),
        "banned": 0.0 if banned_problems else 1.0,
        "x_rules": 0.0 if rule_problems else 1.0,
    }
    score = sum(WEIGHTS[name] * value for name, value in components.items())
    problems = tuple(rule_problems + banned_problems)
    if problems:
        score = min(score, HARD_CAP)
    return QualityReport(score=max(0.0, min(1.0, score)), components=components, problems=problems)


def blend_with_judge(report: QualityReport, judge_score: float, weight: float) -> float:
    """(1 − weight) · the rule score + weight · the judge's score, in [0, 1].

    The rule score's hard cap still holds: a draft that breaks X's length rule or uses a
    banned phrase stays at or below `HARD_CAP` whatever the judge thinks of it.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"judge weight must lie in [0, 1], got {weight!r}")
    if not (isinstance(judge_score, (int, float)) and 0 <= judge_score <= 1):
        raise ValueError(f"judge score must lie in [0, 1], got {judge_score!r}")
    blended = (1 - weight) * report.score + weight * judge_score
    if report.problems:
        blended = min(blended, HARD_CAP)
    return max(0.0, min(1.0, blended))
