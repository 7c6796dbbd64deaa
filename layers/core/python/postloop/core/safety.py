"""Safety checks a draft must pass before it may be posted: banned words, banned topics, moderation.

The checks fail closed. A draft is postable only when every configured check ran
and found nothing; a check that cannot run (the moderation service times out,
answers an error, or answers something malformed; a bug in a check) blocks the
draft with a reason that starts with `SAFETY_FAILURE`, never lets it through.

Matching of banned words and of a banned topic's terms
------------------------------------------------------
* Text and term are NFKC-normalised (full-width and compatibility letters fold to
  plain ones), stripped of invisible format characters (zero-width spaces and
  joiners, soft hyphens, direction marks) and case-folded, so look-alike spellings
  of that kind do not slip past.
* A term matches whole words only: it must not be preceded or followed by a letter
  or digit ("ai" does not match "again", but does match "#ai" and "ai_tools").
* A term's words are split at spaces, hyphens and underscores, and match across
  any run of spaces or punctuation ("sleeping pills" matches "Sleeping-pills" and
  "sleeping\\npills").
* A term ending in `*` matches any word that starts with its stem ("gambl*":
  gamble, gambling, gambler); the stem needs at least 3 characters.

A banned topic is hit when any of its terms matches or, with moderation on, when
one of its `moderation_categories` is flagged or scores at least its
`min_category_score`. Spelling tricks beyond the ones above (homoglyphs, spaced
letters) are what the moderation service is for; no language model is asked.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

from postloop.core.ports import CheckError, ModerationResult, Moderator

if TYPE_CHECKING:
    from postloop.core.account import Safety

SAFETY_FAILURE = "safety check failed"

# The categories OpenAI's omni-moderation models report (the SDK's `Categories`
# type, by their wire names). A banned topic may name any of them.
MODERATION_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)
MIN_STEM = 3

_TERM_SPLIT_RE = re.compile(r"[\s\-_]+")
_SEPARATOR = r"[\W_]+"          # any run of spaces or punctuation between a term's words
_NOT_ALNUM_BEFORE = r"(?<![^\W_])"
_NOT_ALNUM_AFTER = r"(?![^\W_])"


@dataclass(frozen=True)
class SafetyVerdict:
    passed: bool
    reasons: tuple[str, ...] = ()   # why the draft is rejected, or why a check could not run
    error: bool = False             # True: a check could not run (the draft is blocked all the same)
    moderated: bool = False         # True: the moderation service judged this draft

    def record(self) -> dict:
        """What the decision keeps about this check."""
        return {"passed": self.passed, "reasons": list(self.reasons), "error": self.error,
                "moderated": self.moderated}


def fold(text: str) -> str:
    """NFKC, without invisible format characters (Unicode category Cf), case-folded."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").casefold()


def term_problem(term: str) -> str | None:
    """Why `term` cannot be used as a banned word or topic term, or None when it can."""
    folded = fold(term).strip()
    if not folded or folded == "*":
        return "must not be empty"
    if "*" in folded[:-1]:
        return "'*' may only end a term"
    if folded.endswith("*"):
        stem = _TERM_SPLIT_RE.split(folded[:-1])[-1]
        if len(stem) < MIN_STEM:
            return f"a prefix needs at least {MIN_STEM} characters before '*'"
    return None


@lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern:
    folded = fold(term).strip()
    prefix = folded.endswith("*")
    words = [w for w in _TERM_SPLIT_RE.split(folded.rstrip("*")) if w]
    body = _SEPARATOR.join(re.escape(w) for w in words)
    if prefix:
        body += r"[^\W_]*"
    return re.compile(_NOT_ALNUM_BEFORE + body + _NOT_ALNUM_AFTER)


def matches(text: str, term: str) -> bool:
    """True when `term` occurs in `text` by the rules in the module docstring."""
    return _pattern(term).search(fold(text)) is not None


def lexical_reasons(text: str, safety: "Safety") -> list[str]:
    """The banned words and the banned topics (by their terms) that `text` hits, as reasons."""
    folded = fold(text)
    reasons = [f"safety: banned word {word!r}" for word in safety.banned_words
               if _pattern(word).search(folded)]
    for topic in safety.banned_topics:
        hit = next((t for t in topic.terms if _pattern(t).search(folded)), None)
        if hit is not None:
            reasons.append(f"safety: banned topic {topic.name!r} (term {hit!r})")
    return reasons


def moderation_reasons(result: ModerationResult, safety: "Safety") -> list[str]:
    """Why a moderation result rejects a draft: flagged at all, or a banned topic's category."""
    reasons = []
    if result.flagged:
        named = ", ".join(result.categories) or "no category named"
        reasons.append(f"safety: flagged by moderation ({named})")
    for topic in safety.banned_topics:
        for category in topic.moderation_categories:
            score = result.scores[category]
            if category in result.categories or score >= topic.min_category_score:
                reasons.append(f"safety: banned topic {topic.name!r} "
                               f"(moderation category {category}, score {score:.2f})")
                break
    return reasons


def describe_error(err: BaseException) -> str:
    """A short, log-safe description: the type, plus the message for our own answer checks."""
    if isinstance(err, CheckError):
        return f"{type(err).__name__}: {err}"
    return type(err).__name__


def _validate(results, count: int, safety: "Safety") -> list[ModerationResult]:
    """The moderation answer, checked; raises CheckError when it cannot be trusted."""
    if not isinstance(results, (list, tuple)) or len(results) != count:
        got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
        raise CheckError(f"expected {count} moderation result(s), got {got}")
    needed = {c for topic in safety.banned_topics for c in topic.moderation_categories}
    for r in results:
        if not isinstance(r, ModerationResult) or not isinstance(r.flagged, bool):
            raise CheckError("a moderation result has no yes/no 'flagged'")
        if not all(isinstance(c, str) for c in r.categories):
            raise CheckError("a moderation result names a category that is not text")
        for name, score in r.scores.items():
            if (not isinstance(score, (int, float)) or isinstance(score, bool) or not math.isfinite(score)
                    or not 0 <= score <= 1):
                raise CheckError(f"moderation score for {name!r} is not a number in [0, 1]")
        missing = sorted(needed - set(r.scores))
        if missing:
            # A banned topic relies on these categories; without their scores it cannot be checked.
            raise CheckError(f"moderation answer lacks the score of {', '.join(missing)}")
    return list(results)


def check_drafts(texts: Sequence[str], safety: "Safety",
                 moderator: Moderator | None) -> tuple[list[SafetyVerdict], int]:
    """Check each draft (its full text); returns one verdict per text and the moderation calls made.

    The word and topic lists run first; the drafts they pass go to the moderator
    in one call. Any error blocks the drafts it concerns (see the module docstring).
    """
    verdicts: list[SafetyVerdict | None] = [None] * len(texts)
    pending: list[int] = []
    for i, text in enumerate(texts):
        try:
            reasons = lexical_reasons(text, safety)
        except Exception as err:   # a check that breaks must block, not pass
            reason = f"{SAFETY_FAILURE}: word and topic lists unavailable ({describe_error(err)})"
            verdicts[i] = SafetyVerdict(False, (reason,), error=True)
            continue
        if reasons:
            verdicts[i] = SafetyVerdict(False, tuple(reasons))
        else:
            pending.append(i)

    calls = 0
    if safety.moderation and pending:
        if moderator is None:
            failure = (f"{SAFETY_FAILURE}: moderation unavailable (no moderator is configured)",)
            for i in pending:
                verdicts[i] = SafetyVerdict(False, failure, error=True)
            pending = []
        else:
            calls = 1
            try:
                results = _validate(moderator.moderate([texts[i] for i in pending]), len(pending), safety)
                judged = [(i, moderation_reasons(r, safety)) for i, r in zip(pending, results, strict=True)]
            except Exception as err:   # timeout, API error, malformed answer: nothing unchecked is posted
                failure = (f"{SAFETY_FAILURE}: moderation unavailable ({describe_error(err)})",)
                for i in pending:
                    verdicts[i] = SafetyVerdict(False, failure, error=True)
            else:
                for i, reasons in judged:
                    verdicts[i] = SafetyVerdict(not reasons, tuple(reasons), moderated=True)
            pending = []
    for i in pending:
        verdicts[i] = SafetyVerdict(True)
    # Every draft has a verdict by now; should one not, it is blocked rather than passed.
    unchecked = SafetyVerdict(False, (f"{SAFETY_FAILURE}: draft was not checked",), error=True)
    return [v if v is not None else unchecked for v in verdicts], calls
