"""X's length rule: the weighted character count, and a repair for texts that break it.

X counts a post's length with weights rather than code points:

* every http(s) URL counts `URL_WEIGHT` (23), however long it is;
* code points in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 weigh 1;
* every other code point (CJK, most symbols, emoji) weighs 2;
* an emoji sequence counts once, as 2.

Text is NFC-normalised before counting, as X does.

Emoji sequences are found with an approximation of grapheme clusters rather than the
full Unicode segmentation rules: a cluster is one code point plus any variation
selectors (U+FE0E/U+FE0F), skin-tone modifiers (U+1F3FB–U+1F3FF), the keycap mark
(U+20E3) and tag characters (U+E0020–U+E007F) that follow it, extended by U+200D (ZWJ)
plus the next code point; two regional indicators make one flag. A cluster of more
than one code point counts 2; a lone code point counts by the table above. Plain
combining accents are counted per code point (NFC folds the common ones away).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterator

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
ELLIPSIS = "…"
MIN_REPAIRED_LENGTH = 40

_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_ZWJ = 0x200D
# Trailing punctuation is taken to close the sentence, not to belong to the URL.
_URL_RE = re.compile(r"https?://\S+?(?=[.,;:!?)\]}'\"]*(?:\s|$))", re.IGNORECASE)
_EMOJI_BASE_RANGES = (
    (0x1F000, 0x1FAFF),  # pictographs, emoticons, transport, supplemental symbols
    (0x2600, 0x27BF),    # miscellaneous symbols and dingbats
    (0x2300, 0x23FF),    # technical symbols such as watch and hourglass
    (0x2B00, 0x2BFF),    # arrows and stars used as emoji
)


def _is_extender(cp: int) -> bool:
    return (
        cp in (0xFE0E, 0xFE0F, 0x20E3)
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def _is_regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _code_point_weight(cp: int) -> int:
    return 1 if any(lo <= cp <= hi for lo, hi in _LIGHT_RANGES) else 2


def _clusters(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of approximate grapheme clusters in text[start:end]."""
    i = start
    while i < end:
        j = i + 1
        if _is_regional(ord(text[i])) and j < end and _is_regional(ord(text[j])):
            j += 1
        while j < end:
            cp = ord(text[j])
            if _is_extender(cp):
                j += 1
            elif cp == _ZWJ and j + 1 < end:
                j += 2  # ZWJ glues the next code point into the same emoji
            else:
                break
        yield i, j
        i = j


def _segments(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, weight) covering `text` (already NFC) in order: URLs and clusters."""
    pos = 0
    for match in _URL_RE.finditer(text):
        for a, b in _clusters(text, pos, match.start()):
            yield a, b, _cluster_weight(text[a:b])
        yield match.start(), match.end(), URL_WEIGHT
        pos = match.end()
    for a, b in _clusters(text, pos, len(text)):
        yield a, b, _cluster_weight(text[a:b])


def _cluster_weight(cluster: str) -> int:
    return 2 if len(cluster) > 1 else _code_point_weight(ord(cluster))


def weighted_length(text: str) -> int:
    """X's weighted length of `text` after NFC normalisation (see the module docstring)."""
    text = unicodedata.normalize("NFC", text)
    if _all_light(text):
        # Fast path, same result: below U+1100 every code point weighs 1 and none
        # joins a cluster (extenders, ZWJ and regional indicators all lie above).
        return len(text) + sum(URL_WEIGHT - (m.end() - m.start()) for m in _URL_RE.finditer(text))
    return sum(weight for _, _, weight in _segments(text))


def _all_light(text: str) -> bool:
    return text.isascii() or max(map(ord, text)) < 0x1100


def fits(text: str) -> bool:
    """True when `text` is within X's limit of `MAX_WEIGHTED_LENGTH` weighted characters."""
    return weighted_length(text) <= MAX_WEIGHTED_LENGTH


def count_emoji(text: str) -> int:
    """Number of emoji in `text`, counting each emoji sequence (ZWJ, skin tone, flag) once."""
    text = unicodedata.normalize("NFC", text)
    if _all_light(text):
        return 0  # every emoji base and joiner lies above U+1100
    count = 0
    for a, b in _clusters(text, 0, len(text)):
        cp = ord(text[a])
        if b - a > 1 or any(lo <= cp <= hi for lo, hi in _EMOJI_BASE_RANGES):
            count += 1
    return count


def _collapse_whitespace(text: str) -> str:
    # Line breaks carry meaning in posts (lists, spacing), so keep at most one blank line.
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _sentence_ends(text: str) -> list[int]:
    """Indices just after a sentence end: . ! ? … followed by whitespace, or a CJK full stop."""
    ends = [m.end() for m in re.finditer(r"[.!?…](?=\s)|[。！？]", text)]
    ends += [m.start() for m in re.finditer(r"\n", text)]
    return sorted(set(ends))


def repair(text: str) -> str | None:
    """Return a version of `text` that fits X's limit, or None when nothing sensible remains.

    Repeated whitespace is collapsed first (runs of spaces become one space, at most one
    blank line is kept); a text that then fits is returned as it is. Otherwise the text is
    cut at the last sentence end that fits, provided that keeps at least 60% of the limit;
    failing that, at the last word boundary that leaves room for "…", which is appended
    (or, with no usable word boundary, at the last character that fits). A URL is never
    split. None is returned for blank text and when a cut would leave fewer than
    `MIN_REPAIRED_LENGTH` weighted characters.
    """
    text = _collapse_whitespace(unicodedata.normalize("NFC", text))
    if not text:
        return None
    if fits(text):
        return text

    # Cumulative weight at every segment boundary, so prefixes cost nothing to measure.
    weight_at: dict[int, int] = {0: 0}
    total = 0
    for _, end, weight in _segments(text):
        total += weight
        weight_at[end] = total

    def prefix_fits(cut: int, extra: int = 0) -> bool:
        return cut in weight_at and weight_at[cut] + extra <= MAX_WEIGHTED_LENGTH

    sentence_cuts = [c for c in _sentence_ends(text) if prefix_fits(c)]
    if sentence_cuts:
        candidate = text[: sentence_cuts[-1]].rstrip()
        if weighted_length(candidate) >= 0.6 * MAX_WEIGHTED_LENGTH:
            return candidate

    ellipsis_weight = weighted_length(ELLIPSIS)
    word_cuts = [m.start() for m in re.finditer(r"\s+", text)]
    candidate = ""
    for cut in reversed(word_cuts):
        if prefix_fits(cut, ellipsis_weight):
            candidate = text[:cut].rstrip(" ,;:-–—\n") + ELLIPSIS
            break
    if not candidate:
        cuts = [end for end in weight_at if end > 0 and prefix_fits(end, ellipsis_weight)]
        if cuts:
            candidate = text[: max(cuts)].rstrip() + ELLIPSIS
    if weighted_length(candidate) < MIN_REPAIRED_LENGTH or not fits(candidate):
        return None
    return candidate
