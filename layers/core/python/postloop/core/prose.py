"""Is a text prose in a language? Its words, sentence structure, word order and repetition.

`analyse(text, language, extra_words)` measures one text (`Form`): how many words it has,
what share of its characters are words and of its words are in capitals, what share of its
words the language's word list knows (`lexicon.known_words`; the account's own vocabulary in
`extra_words` counts as known, and so do acronyms, hyphenated and closed compounds of known
words, plurals and -ing/-ed forms), what share are function words (English), which
word-order faults it has ("the of", "a the", a sentence ending on "the") and what it repeats.
`Form.score()` is the quality score's `well_formed` component, `Form.floors()` the reasons a
text is not a post at all (core/quality.py, docs/quality.md).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from postloop.core import lexicon
from postloop.core.features import strip_markers

# Floors: below these the text is not a post (docs/quality.md).
MIN_WORDS = 3
MIN_WORD_CHAR_SHARE = 0.5
MIN_KNOWN_SHARE = 0.6
MIN_FUNCTION_SHARE = 0.1
MAX_CAPS_SHARE = 0.5

LINK_RE = re.compile(
    r"(?:https?://|www\.)\S+"
    # Domain labels are at most 63 characters: bounded, so a long run of letters costs O(n), not O(n²).
    r"|(?<![\w-])[\w-]{1,63}(?:\.[\w-]{1,63}){0,8}\.(?:com|org|net|io|dev|ai|co|app|ly|me|gg|xyz|info|biz)\b"
    r"(?:/\S*)?",
    re.IGNORECASE)
MENTION_RE = re.compile(r"(?<!\w)[@#][^\W_]\w*|(?<!\w)\$[A-Za-z]\w*")
# Numbers that are not quantities: timestamps, dates, clock times, versions, ids.
NOT_QUANTITY_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\b\.?)?"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\bv?\d+\.\d+\.\d+\S*"
    r"|\b(?=[a-z0-9-]{0,63}\d)(?=[a-z0-9-]{0,63}[a-z])[a-z0-9]{6,}(?:-[a-z0-9]{3,})*\b"   # bounded: no O(n²)
    r"|\b\d{7,}\b",
    re.IGNORECASE)
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
TOKEN_RE = re.compile(
    r"(?P<num>(?<![^\W_])[$€£]?\d+(?:[.,]\d+)*(?:\s?%|x\b|k\b|m\b|bn\b)?)"
    r"|(?P<word>[^\W\d_]+(?:['’-][^\W\d_]+)*)"
    r"|(?P<stop>[.!?;:]+|\n)")
_CHAR_RUN_RE = re.compile(r"(\S)\1{5,}")
_END_DETERMINERS = frozenset("the a an every my your our their".split())
# After one of these determiners, these words break English word order ("the of", "a the").
_ORDER_DETERMINERS = lexicon.DETERMINERS - {"each"}
_BAD_AFTER_DETERMINER = _ORDER_DETERMINERS | frozenset(
    "of to in on at by from with and or but is are was were i he she we they me him them".split())
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "it": "Italian", "pt": "Portuguese",
                  "de": "German", "ru": "Russian", "ar": "Arabic", "lv": "Latvian", "eu": "Basque", "nl": "Dutch",
                  "fa": "Persian"}


def stem(word: str) -> str:
    """A crude English stem: enough to match "naps" with "nap" and "baking" with "bake"."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: -len(suffix)] + keep
    return w


def _is_known(word: str, words, extra: frozenset[str]) -> bool:
    """In the word list or the account's vocabulary, directly or as a compound or inflection of known words."""
    w = word.lower().replace("’", "'")
    if w in words or w in extra:
        return True
    if "-" in w:
        return all(_is_known(p, words, extra) for p in w.split("-") if p)
    base = stem(w)
    if base in words or base in extra or base + "e" in words:
        return True
    # Closed compounds: "serverless", "hashtags", "weeknight".
    for i in range(3, len(w) - 2):
        head, tail = w[:i], w[i:]
        if words.get(head, 0) > 50 and (words.get(tail, 0) > 50 or words.get(stem(tail), 0) > 50):
            return True
    return False


@dataclass
class Form:
    """The well-formedness measures of one text."""

    words: int = 0
    word_char_share: float = 0.0
    caps_share: float = 0.0            # words in capitals: shouting, or code ("SELECT * FROM")
    known_share: float | None = None   # None: no word list for the language
    unknown: tuple[str, ...] = ()
    function_share: float | None = None   # None: too short, or no function-word list for the language
    violations: tuple[str, ...] = ()
    repetition: tuple[str, ...] = ()

    def score(self) -> float:
        """The `well_formed` component: the product of its checks, each in [0, 1] (docs/quality.md)."""
        if self.words < MIN_WORDS:
            return 0.0
        prose = _clamp((self.word_char_share - 0.4) / 0.3) * _clamp((MAX_CAPS_SHARE + 0.2 - self.caps_share) / 0.4)
        known = 1.0 if self.known_share is None else _clamp((self.known_share - 0.55) / 0.3)
        structure = 1.0 if self.function_share is None else _clamp((self.function_share - 0.05) / 0.1)
        order = _clamp(1.0 - 0.3 * len(self.violations))
        repeated = _clamp(1.0 - 0.5 * len(self.repetition))
        return prose * known * structure * order * repeated

    def floors(self, language: str, where: str = "") -> list[str]:
        """Why the text is not a post at all (empty when it is one), prefixed with `where` ("part 2")."""
        at = f"{where}: " if where else ""
        if self.words < MIN_WORDS:
            return [f"{at}not prose ({self.words} word{'s' if self.words != 1 else ''})"]
        out = []
        if self.word_char_share < MIN_WORD_CHAR_SHARE:
            out.append(f"{at}mostly not words ({self.word_char_share:.0%} of its characters are words; "
                       "the rest are numbers, ids, links or symbols)")
        if self.caps_share > MAX_CAPS_SHARE:
            out.append(f"{at}mostly capitals ({self.caps_share:.0%} of its words): shouting or code")
        if self.known_share is not None and self.known_share < MIN_KNOWN_SHARE:
            shown = ", ".join(repr(w) for w in self.unknown[:3])
            out.append(f"{at}not {LANGUAGE_NAMES.get(language, language)} words (only {self.known_share:.0%} "
                       f"are in the word list; unknown: {shown})")
        if self.function_share is not None and self.function_share < MIN_FUNCTION_SHARE:
            out.append(f"{at}no sentence structure ({self.function_share:.0%} function words such as "
                       "'the', 'of', 'is')")
        if len(self.violations) >= 2 or (self.violations and len(self.violations) / self.words >= 0.08):
            out.append(f"{at}broken word order ({', '.join(repr(v) for v in self.violations[:3])})")
        if self.repetition:
            out.append(f"{at}repetition ({'; '.join(self.repetition[:2])})")
        return out


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def prose_text(text: str) -> str:
    """The text without links, mentions, hashtags and list or thread numbering."""
    return strip_markers(MENTION_RE.sub(" ", LINK_RE.sub(" ", text)))


def analyse(text: str, language: str, extra: frozenset[str] = frozenset()) -> Form:
    """The well-formedness measures of `text` in `language`; `extra` are lower-case words to count as known."""
    body = prose_text(text)
    # Letters inside ids and timestamps ("3f8a9c2d", "T14:59") are not words.
    clean = NOT_QUANTITY_RE.sub(" ", body)
    words = WORD_RE.findall(clean)
    counted = [w for w in words if len(w) > 1 or w.lower() in ("a", "i")]
    f = Form(words=len(counted))
    visible = sum(1 for ch in body if not ch.isspace() and ch not in ".,;:!?'\"()-–—…")
    f.word_char_share = sum(len(w) for w in words) / visible if visible else 0.0
    if f.words < MIN_WORDS:
        return f
    f.caps_share = sum(w.isupper() for w in counted if len(w) > 1) / len(counted)

    vocabulary = lexicon.known_words(language)
    if vocabulary is not None:
        known, unknown = 0.0, []
        sentence_start = True
        for token in TOKEN_RE.finditer(clean):
            kind, value = token.lastgroup, token.group()
            if kind == "stop":
                sentence_start = True
                continue
            if kind != "word" or (len(value) == 1 and value.lower() not in ("a", "i")):
                sentence_start = sentence_start and kind != "word"
                continue
            if value.isupper() and len(value) <= 5:
                known += 1   # an acronym: API, NASA, ROI
            elif _is_known(value, vocabulary, extra):
                known += 1
            elif value[:1].isupper() and not sentence_start:
                known += 0.5   # a name: it may be real, but a text of names is not prose
                unknown.append(value)
            else:
                unknown.append(value)
            sentence_start = False
        f.known_share = known / len(counted)
        f.unknown = tuple(unknown)

    lowered = [w.lower().replace("’", "'") for w in counted]
    if language in lexicon.STRUCTURE_LANGUAGES and len(lowered) >= 6:
        f.function_share = sum(w in lexicon.FUNCTION_WORDS for w in lowered) / len(lowered)
    if language in lexicon.STRUCTURE_LANGUAGES:
        f.violations = tuple(_order_violations(clean))
    f.repetition = tuple(_repetition(body, lowered))
    return f


def _order_violations(body: str) -> list[str]:
    found = []
    previous = None   # (lower-case word, as written) of the previous word in this sentence
    for token in TOKEN_RE.finditer(body):
        kind, value = token.lastgroup, token.group()
        if kind == "stop":
            if previous and previous[1] in _END_DETERMINERS:
                found.append(f"{previous[1]}{value.strip() or ' ⏎'}")
            previous = None
            continue
        if kind != "word":
            previous = None
            continue
        lower = value.lower().replace("’", "'")
        if previous:
            if previous[0] in _ORDER_DETERMINERS and lower in _BAD_AFTER_DETERMINER:
                found.append(f"{previous[1]} {value}")
            elif previous[0] == lower and lower in lexicon.FUNCTION_WORDS:
                found.append(f"{previous[1]} {value}")
        previous = (lower, value)
    if previous and previous[1] in _END_DETERMINERS:
        found.append(f"ends on {previous[1]!r}")
    return found


def _repetition(body: str, lowered: list[str]) -> list[str]:
    found = []
    run = _CHAR_RUN_RE.search(body)
    if run:
        found.append(f"{run.group()[:12]!r}")
    streak = 1
    for a, b in zip(lowered, lowered[1:]):
        streak = streak + 1 if a == b else 1
        if streak == 3:
            found.append(f"{a!r} three times in a row")
            break
    content = [w for w in lowered if w not in lexicon.FUNCTION_WORDS]
    if len(lowered) >= 6 and content:
        word, n = Counter(content).most_common(1)[0]
        if n >= 3 and n / len(lowered) > 0.3:
            found.append(f"{word!r} is {n} of {len(lowered)} words")
    return found
