"""How the simulated audience reads a post's text: its own hidden features and weights.

This is the world's truth (documented in docs/scenarios.md, "The audience reads the text"). It is
written apart from the bot's scorer (`postloop.core.quality`) on purpose and imports nothing from
it: the bot's quality, novelty and expertise are estimates the models must learn to weigh, not the
audience's reaction.

`appeal(parts)` is in [0, 1]: a plain, specific post of a sensible length sits around 0.6; spam
(hashtag and emoji runs, filler clichés, shouting) falls towards 0. `follow_signals` gives the
world's own novelty, expertise, hook and contrarian readings, which the scenario's follow weights use.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# A number followed by what it counts ("30 minutes", "2 weeks", "40%") reads as specific;
# a bare thread counter ("1/3") does not.
_NUMBER_IN_CONTEXT = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:%|percent|minutes?|hours?|days?|weeks?|months?|years?|mg|people|times|nights?|"
    r"cycles?|seconds?|per\s?cent|in\s+\d+|of\s+\d+)", re.IGNORECASE)
_HASHTAG = re.compile(r"#\w+")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_URL = re.compile(r"https?://\S+")
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")
_REPEAT_CHAR = re.compile(r"(.)\1{3,}")
_FILLER = ("so underrated", "it's all about", "progress over perfection", "game changer", "game-changer",
           "let that sink in", "you won't believe", "hustle", "grind", "life hack", "this is huge",
           "nobody talks about", "read that again", "some thoughts on", "must read")
_MECHANISM = ("because", "which is why", "so you", "that's why", "which means", "since", "instead of", "so that")
_STORY = ("i spent", "i tried", "tried it", "within", "proof from", "a teacher", "my neighbour", "i tracked")
_CONTRARIAN = ("unpopular opinion", "myth", "overrated", "wrong", "not lazy", "stop ", "isn't", "is not",
               "and it's not close", "beats")


@dataclass(frozen=True)
class Reading:
    """The audience's reading of one post (all in [0, 1] except `z`, the appeal before the squash)."""

    appeal: float
    z: float
    words: int
    numbers: int
    question: bool
    interest: float
    garbage: float


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def interest_share(text: str, interests: tuple[str, ...]) -> float:
    """Share of the audience's interests the text mentions, saturating at three."""
    if not interests:
        return 0.0
    low = text.casefold()
    hits = sum(1 for term in interests if term.casefold() in low)
    return min(hits, 3) / 3.0


def garbage_score(text: str) -> float:
    """0 for clean text, towards 1 for spam: hashtag and emoji runs, filler clichés, shouting, links."""
    low = text.casefold()
    g = 0.0
    g += 0.12 * max(0, len(_HASHTAG.findall(text)) - 1)
    g += 0.08 * max(0, len(_EMOJI.findall(text)) - 1)
    g += 0.25 * sum(1 for f in _FILLER if f in low)
    g += 0.15 * len(_SHOUT.findall(text))
    g += 0.2 * len(_REPEAT_CHAR.findall(text))
    g += 0.2 * len(_URL.findall(text))
    return min(g, 1.0)


def read(parts: tuple[str, ...] | list[str], content_type: str = "", interests: tuple[str, ...] = ()) -> Reading:
    """The audience's reading of a post (a single post has one part, a thread several)."""
    text = " ".join(p for p in parts if p)
    words = len(_words(text))
    per_part = words / max(len(parts), 1)
    numbers = len(_NUMBER_IN_CONTEXT.findall(text))
    question = "?" in text
    low = text.casefold()
    interest = interest_share(text, interests)
    garbage = garbage_score(text)
    z = 0.3
    # Length: a part of 18-55 words reads best; very short posts say little, walls of text tire.
    if per_part < 8:
        z -= 1.2
    elif per_part < 18:
        z -= 0.4 * (18 - per_part) / 10
    elif per_part > 55:
        z -= 0.02 * (per_part - 55)
    z += 0.35 * min(numbers, 3)
    z += 0.4 if any(m in low for m in _MECHANISM) else 0.0
    z += 0.25 if any(s in low for s in _STORY) else 0.0
    z += 0.6 * interest
    if question:
        # An honest question invites replies when it is the point of the post; a question
        # tacked onto a fact or a thread reads as bait.
        z += 0.5 if content_type == "question" else -0.1
    z -= 3.0 * garbage
    return Reading(appeal=1.0 / (1.0 + math.exp(-z)), z=z, words=words, numbers=numbers, question=question,
                   interest=interest, garbage=garbage)


def appeal(parts, content_type: str = "", interests: tuple[str, ...] = ()) -> float:
    return read(parts, content_type, interests).appeal


@lru_cache(maxsize=8192)
def _shingles(text: str) -> frozenset[str]:
    w = [x.casefold() for x in _words(text)]
    return frozenset({" ".join(w[i:i + 3]) for i in range(max(len(w) - 2, 0))} or w)


def novelty(text: str, recent: list[str]) -> float:
    """1 − the highest word-trigram overlap (Jaccard) with a recent post; 1 with nothing recent."""
    mine = _shingles(text)
    if not mine or not recent:
        return 1.0
    best = 0.0
    for other in recent:
        theirs = _shingles(other)
        if theirs:
            best = max(best, len(mine & theirs) / len(mine | theirs))
    return 1.0 - best


def follow_signals(parts, recent: list[str], interests: tuple[str, ...] = ()) -> dict[str, float]:
    """The world's own readings the scenario's follow weights apply to (each in [0, 1])."""
    text = " ".join(p for p in parts if p)
    low = text.casefold()
    first = parts[0] if parts else ""
    first_words = len(_words(first.split("\n")[0].split(". ")[0]))
    numbers = len(_NUMBER_IN_CONTEXT.findall(text))
    mechanism = any(m in low for m in _MECHANISM)
    expertise = min(1.0, 0.4 * interest_share(text, interests) + 0.2 * min(numbers, 2) + (0.2 if mechanism else 0.0))
    expertise *= 1.0 - garbage_score(text)
    hook = 1.0 if (first_words <= 14 and (first.rstrip().endswith("?") or _NUMBER_IN_CONTEXT.search(first)
                                           or "unpopular opinion" in first.casefold())) else 0.0
    contrarian = 1.0 if any(c in low for c in _CONTRARIAN) else 0.0
    return {"novelty": novelty(text, recent), "expertise": expertise, "hook": hook, "contrarian": contrarian}
