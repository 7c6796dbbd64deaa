"""Text features the models see: similarity and novelty, expertise, and viral indicators.

Everything here is lexical and deterministic, so the same text gets the same features
offline (simulator, backtests) and online (Lambda).

* `similarity` is the cosine similarity of character-3-gram counts of lower-cased,
  whitespace-collapsed text; `novelty` is one minus the highest similarity to recent posts.
  `cosine_novelty` is the same measure on given vectors (an account may choose
  embeddings instead of n-grams; the vectors then come from the embedder).
* `expertise` measures how densely a text uses the niche's vocabulary and concrete,
  causal language. Hits are counted as

      hits = domain_terms + numbers_with_units + 0.7 * mechanism_phrases

  and divided by the text's length in units of 25 words (at least 1), giving a density
  x; the score is 1 − exp(−0.5·x), so it saturates instead of rewarding stuffing.
* `viral_indicators` scores five habits of posts that travel, each in [0, 1]:
  `hook` (how strongly the first line pulls: a number, a question, a bold opener),
  `question` (asks the reader something; strongest when the post ends on it),
  `list_format` (lines that start with a bullet or a number; 3 or more score 1),
  `contrarian` (goes against received wisdom), `call_to_action` (asks for a reply,
  follow, share or save).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

import numpy as np
from typing import Iterable, Sequence

VIRAL_KEYS = ("hook", "question", "list_format", "contrarian", "call_to_action")

# Shared lexical patterns (the quality score uses them too).
NUMBER_RE = re.compile(r"(?<![\w.])[$€£]?\d+(?:[.,]\d+)?")
NUMBER_WITH_UNIT_RE = re.compile(
    r"[$€£]\d+(?:[.,]\d+)?[kmb]?\b"
    r"|\b\d+(?:[.,]\d+)?\s?(?:%|x\b|ms\b|s\b|sec(?:onds?)?\b|min(?:utes?)?\b|h\b|hours?\b"
    r"|days?\b|weeks?\b|months?\b|years?\b|k\b|kb\b|mb\b|gb\b|tb\b|kg\b|km\b|"
    r"percent\b|times\b|users\b|people\b|teams\b|steps\b|lines\b|requests\b|posts\b)",
    re.IGNORECASE,
)
MECHANISM_RE = re.compile(
    r"\b(?:because|which means|so that|therefore|as a result|due to|leads to|"
    r"results in|causes|that's why|this is why|in turn|the reason)\b",
    re.IGNORECASE,
)

_STRONG_OPENER_RE = re.compile(
    r"^(?:most people|nobody|no one|stop\b|never\b|everyone|here's|here is|the truth|"
    r"unpopular opinion|hot take|i spent|i tried|i tested|i learned|you don't|you do not|"
    r"why\b|how\b|the biggest|the best|the worst|the real|the one|forget\b|\d)",
    re.IGNORECASE,
)
# A bullet or "1." / "2)" then a space; "2.5x" or "1/5" thread markers are not list items.
_LIST_LINE_RE = re.compile(r"^[ \t]*(?:[-•*→✅]|\d{1,2}[.)])[ \t]+\S", re.MULTILINE)
_CONTRARIAN_RE = re.compile(
    r"\b(?:unpopular opinion|hot take|most people|everyone says|everyone thinks|"
    r"overrated|is dead|is a myth|myth|wrong|backwards|nobody talks about|"
    r"the truth is|contrary to|actually|stop doing|don't believe)\b",
    re.IGNORECASE,
)
_CTA_RE = re.compile(
    r"\b(?:follow(?: me)?|reply|comment|share|retweet|repost|bookmark|save this|"
    r"let me know|what do you think|tell me|drop (?:a|your)|try it|try this|"
    r"subscribe|join)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_MARKER_RE = re.compile(
    r"^[ \t]*\d{1,2}[.)][ \t]+"        # "1. " or "2) " starting a line
    r"|(?<!\S)\d{1,2}/\d{0,2}(?!\S)"   # "2/5" or "3/" standing alone
    r"|\(\d{1,2}/\d{1,2}\)",           # "(1/4)"
    re.MULTILINE,
)


def strip_markers(text: str) -> str:
    """`text` without list-item numbers ("1. ") and thread counters ("2/5", "3/", "(1/4)").

    Those numbers are layout, not information, so they must not count as specifics.
    """
    return _MARKER_RE.sub(" ", text)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def char_ngrams(text: str, n: int = 3) -> Counter:
    """Counts of character n-grams of the lower-cased, whitespace-collapsed text.

    A non-empty text shorter than n yields itself as its only gram, so short texts can
    still match each other; an empty text yields an empty Counter.
    """
    norm = _normalise(text)
    if not norm:
        return Counter()
    if len(norm) < n:
        return Counter({norm: 1})
    return Counter(norm[i : i + n] for i in range(len(norm) - n + 1))


@lru_cache(maxsize=4096)
def _profile(text: str) -> tuple[dict, float]:
    """The text's char-3-gram counts and their Euclidean norm, memoised: a plan compares every
    candidate with the same recent posts, and a warm container sees them again on the next plan."""
    grams = dict(char_ngrams(text))
    return grams, math.sqrt(sum(c * c for c in grams.values()))


def similarity(a: str, b: str) -> float:
    """Cosine similarity in [0, 1] of the char-3-gram counts of a and b; 0.0 if either is empty."""
    (ga, na), (gb, nb) = _profile(a), _profile(b)
    if not ga or not gb:
        return 0.0
    # Only shared grams contribute; intersecting the key views runs in C.
    dot = sum(ga[g] * gb[g] for g in ga.keys() & gb.keys())
    return min(1.0, max(0.0, dot / (na * nb)))


def novelty(text: str, recent: Iterable[str]) -> float:
    """1 − the highest similarity between `text` and any of `recent`; 1.0 when recent is empty.

    Same value as comparing with `similarity` one by one, computed in one vectorised pass:
    a plan compares each candidate with up to a month of posts.
    """
    recent = [r for r in recent]
    if not recent:
        return 1.0
    ids, weights = _vector(text)
    if len(ids) == 0:
        return 1.0
    vectors = [_vector(r) for r in recent]   # first: they may add grams to the vocabulary
    dense = np.zeros(len(_VOCAB))
    dense[ids] = weights
    all_ids = np.concatenate([v[0] for v in vectors])
    all_w = np.concatenate([v[1] for v in vectors])
    owner = np.repeat(np.arange(len(vectors)), [len(v[0]) for v in vectors])
    sims = np.bincount(owner, weights=all_w * dense[all_ids], minlength=len(vectors))
    return 1.0 - float(min(1.0, max(0.0, sims.max())))


# Gram ids shared by every cached vector; cleared (with the cache) if it ever grows large.
_VOCAB: dict[str, int] = {}
_VOCAB_LIMIT = 2_000_000


@lru_cache(maxsize=4096)
def _vector(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's char-3-gram counts as (gram ids, L2-normalised weights)."""
    grams, norm = _profile(text)
    if len(_VOCAB) > _VOCAB_LIMIT:
        _VOCAB.clear()
        _vector.cache_clear()
    ids = np.fromiter((_VOCAB.setdefault(g, len(_VOCAB)) for g in grams), dtype=np.int64, count=len(grams))
    weights = np.fromiter(grams.values(), dtype=float, count=len(grams)) / (norm or 1.0)
    return ids, weights


def cosine_novelty(vector: Sequence[float], recent: Sequence[Sequence[float]]) -> float:
    """1 − the highest cosine similarity (clamped to [0, 1]) of `vector` to any of `recent`.

    1.0 when `recent` is empty. Raises ValueError for vectors that cannot be compared
    (different lengths, a zero vector, a non-finite value), so a caller can fall back.
    """
    if not len(recent):
        return 1.0
    v = np.asarray(vector, dtype=float)
    r = np.asarray(recent, dtype=float)
    if v.ndim != 1 or r.ndim != 2 or r.shape[1] != v.shape[0] or v.shape[0] == 0:
        raise ValueError("vectors of different lengths")
    if not (np.isfinite(v).all() and np.isfinite(r).all()):
        raise ValueError("a vector holds a non-finite value")
    norms = np.linalg.norm(r, axis=1) * np.linalg.norm(v)
    if not norms.all():
        raise ValueError("a zero vector has no direction")
    sims = (r @ v) / norms
    return 1.0 - float(min(1.0, max(0.0, sims.max())))


def count_words(text: str) -> int:
    """Number of words (runs of letters or digits, apostrophes kept inside)."""
    return len(_WORD_RE.findall(text))


def count_phrase(text: str, phrase: str) -> int:
    """Occurrences of `phrase` in `text` as whole words, case-insensitive.

    Any run of whitespace in the text matches the spaces between the phrase's words.
    """
    phrase = phrase.strip()
    if not phrase:
        return 0
    # Whole words or phrases only: "go" must not match inside "good".
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"(?!\w)"
    return len(re.findall(pattern, text, re.IGNORECASE))


def expertise(text: str, domain_terms: Sequence[str]) -> float:
    """Density of domain terms, numbers with units and mechanism phrases, saturating in [0, 1).

    See the module docstring for the exact definition. 0.0 for a text with no hits.
    """
    text = strip_markers(text)
    hits = (
        sum(count_phrase(text, term) for term in set(t.lower() for t in domain_terms))
        + len(NUMBER_WITH_UNIT_RE.findall(text))
        + 0.7 * len(MECHANISM_RE.findall(text))
    )
    density = hits / max(1.0, count_words(text) / 25.0)
    return 1.0 - math.exp(-0.5 * density)


def hook_strength(text: str) -> float:
    """How strongly the opening (first line, or first sentence of it) pulls a reader in, in [0, 1].

    List and thread numbering is ignored. 0.45 for a number in the opening, 0.45 for a
    question, 0.55 for a bold opener ("Most people", "Stop", "Here's", "Unpopular opinion",
    a leading number, ...), 0.1 for an opening of at most 120 characters; summed, capped at 1.
    """
    stripped = strip_markers(text).strip()
    first = stripped.split("\n", 1)[0].strip() if stripped else ""
    # A one-paragraph post has no first line to speak of; its first sentence plays that role.
    first = re.split(r"(?<=[.!?])\s+", first, maxsplit=1)[0]
    if not first:
        return 0.0
    score = 0.0
    if NUMBER_RE.search(first):
        score += 0.45
    if "?" in first:
        score += 0.45
    if _STRONG_OPENER_RE.match(first):
        score += 0.55
    if len(first) <= 120:
        score += 0.1
    return min(1.0, score)


def _question_score(text: str) -> float:
    if "?" not in text:
        return 0.0
    return 1.0 if text.rstrip().rstrip(")]\"'").endswith("?") else 0.6


def viral_indicators(text: str) -> dict[str, float]:
    """Scores in [0, 1] for each of `VIRAL_KEYS` (see the module docstring)."""
    return {
        "hook": hook_strength(text),
        "question": _question_score(text),
        "list_format": min(1.0, len(_LIST_LINE_RE.findall(text)) / 3.0),
        "contrarian": min(1.0, 0.5 * len(_CONTRARIAN_RE.findall(text))),
        "call_to_action": min(1.0, 0.6 * len(_CTA_RE.findall(text))),
    }
