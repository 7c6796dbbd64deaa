"""A quality score for a post or a thread: does it read as a real post, for this account?

The score is the weighted mean (`WEIGHTS`) of components in [0, 1], each measuring one
thing (docs/quality.md gives the reason for every weight and the measured figures):

* `well_formed` – real words in the account's language, in sentences (core/prose.py). The
  product of five checks: the share of words found in the language's word list
  (`lexicon`), the share of function words (English; word salad, keyword lists and other
  languages have few), the share of the text's characters that are words (ids,
  timestamps, numbers and links are not) and of its words in capitals, word order (no
  "the of", no sentence ending on "the") and repetition (no "aaaaaa", no word three
  times in a row, no one word filling the post).
* `readability` – Flesch reading ease from `textstat`: 1 at 60 or more (plain English),
  falling linearly to 0 at 0. Only measured for a language with a hyphenation dictionary
  (textstat counts syllables with it); otherwise its weight is spread over the rest.
* `specificity` – quantities in context and causal language: a number next to a unit or
  a noun ("120 ms", "38%", "$40", "3 engineers"), a spelled-out quantity ("three
  nights", "a dozen", "half of"), and mechanism phrases ("because", "which means"). Ids,
  timestamps, dates, years alone, versions and list or thread numbering do not count.
  x signals per part give 1 − exp(−0.6·x).
* `relevance` – distinct words of the account's niche, topics and domain terms that the
  text uses (plurals and -ing/-ed forms folded): h of them give 1 − exp(−0.7·h). Only
  measured with an account context; without one its weight is spread over the rest.
* `hook` – the opening's form: a question, a numbered promise ("3 steps that…"), a
  contrast ("not X, but Y"), a strong claim ("Most people…", "X is overrated"), a
  story opener ("I spent…"), a figure in context. A bare leading digit is not a hook.
* `spam` – 1 minus penalties for hashtags beyond 2, emoji beyond 3, ALL-CAPS words beyond
  2, shouted phrases ("THIS IS HUGE"), "!!"-style punctuation, links beyond 1 and
  engagement bait ("follow for more", "like and retweet", "tag a friend").
* `length_fit` – per part, 1 for 120–240 weighted characters, less when shorter, 0.7 at
  280, 0 over X's limit.

Hard rules (`problems`): a part over X's length or blank, or a banned phrase. Floors
(`floors`): the text is garbage – not prose, mostly not words, mostly capitals, not words
of the language, no sentence structure, broken word order, repetition, or spam. Either caps the score at `HARD_CAP`;
`quality_rejection` turns floors and a score under `MIN_QUALITY` into the reason plan
rejects a draft for, whether or not the models are trusted.

An account may blend in a language model's judgement (`blend_with_judge`):
quality = (1 − w) · rule score + w · judge score, with the hard cap still applied.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Sequence

from postloop.core import lexicon, prose, text_rules
from postloop.core.features import MECHANISM_RE, count_phrase, strip_markers

WEIGHTS: dict[str, float] = {
    "well_formed": 0.30,
    "specificity": 0.15,
    "relevance": 0.15,
    "readability": 0.10,
    "hook": 0.10,
    "spam": 0.10,
    "length_fit": 0.10,
}
HARD_CAP = 0.2       # the most a draft with a problem or a floor can score
MAX_ANALYSED_CHARS = 2000   # of each part; over 7x X's limit, so only overlong parts are cut
MIN_QUALITY = 0.35   # plan rejects drafts scoring below this (docs/quality.md: where it sits)

MAX_SPAM_FLOOR = 0.3

# --- patterns ------------------------------------------------------------------------------------

_HASHTAG_RE = re.compile(r"(?<!\w)#[^\W_]\w*")
_CAPS_WORD_RE = re.compile(r"\b[A-Z]{3,}\b")
# Three or more capitalised words in a row: a shouted phrase ("THIS IS HUGE", "DON'T MISS THIS").
_SHOUTED_RE = re.compile(r"\b[A-Z]+(?:['’][A-Z]+)?(?:[ \t]+[A-Z]+(?:['’][A-Z]+)?){2,}\b")
_SHOUTY_PUNCT_RE = re.compile(r"[!?]*![!?]+|\?{2,}")
_BAIT_RE = re.compile(
    r"\b(?:like (?:and|&) (?:retweet|share|follow|subscribe)|(?:rt|retweet|repost|share) if\b"
    r"|follow (?:me |us )?for (?:more|part)|tag (?:a|your) (?:friend|buddy)|comment below"
    r"|drop (?:a|an|your) \S+ (?:below|if)|link in (?:bio|comments?)|dm me\b"
    r"|smash (?:that|the) (?:like|follow)|must read|don'?t miss (?:this|out)|click (?:the )?link"
    r"|giveaway|turn on (?:post )?notifications|like if you|reply [\"']?yes\b|type [\"']?yes\b)",
    re.IGNORECASE)

_SPELLED = frozenset("""two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds
thousand thousands million millions billion billions dozen dozens half twice quarter""".split())
_OF_QUANTITIES = frozenset({"half", "quarter", "dozen", "dozens", "hundreds", "thousands", "millions", "billions"})
_NOT_UNITS = frozenset("""am pm jan feb mar apr jun jul aug sep sept oct nov dec january february march april
may june july august september october november december""".split())
_GENERIC_CONTEXT_WORDS = frozenset("tips advice thing things stuff general life people basics ideas".split())

_PROMISE_RE = re.compile(
    r"\b(?:\d{1,2}|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few)\s+"
    r"(?:[\w'-]+\s+){0,2}(?:things|ways|steps|mistakes|lessons|rules|reasons|habits|tips|ideas|signs|truths"
    r"|tools|books|myths|facts|tricks|changes|experiments|principles|patterns|questions|swaps|checks)\b"
    r"|\b\d{1,2}-(?:step|minute|day|week|part)\b|^(?:how to|here's how|here is how)\b", re.IGNORECASE)
_CONTRAST_RE = re.compile(
    r"\bnot\b[^.?!]{1,60}?\bbut\b|,\s*not\s+(?:the\s+|your\s+|a\s+)?\w+"
    r"|\b(?:instead of|rather than|beats|matters more than|more than you think|less than you think|versus|vs\.?)\s"
    r"|\b(?:isn't|aren't|wasn't|doesn't|don't|is not|are not|does not|do not)\b[^?!]{1,80}?"
    r"(?:[.;:—–]\s*|\bbut\s+)(?:it's|it is|they're|they are|the|your|you|this|that|its|what)\b",
    re.IGNORECASE)
_CLAIM_RE = re.compile(
    r"^(?:most (?:people|of us|\w+ advice|\w+s\b)|nobody|no one"
    r"|everyone|stop\b|never\b|always\b|forget\b|quit\b|you don't need|you do not need|unpopular opinion"
    r"|hot take|the truth|truth:|the (?:biggest|best|worst|only|real|#1|number one|single|most|cheapest|fastest)\b"
    r"|there is no|there's no|here's the thing|the secret)"
    r"|\b(?:is|are) (?:overrated|underrated|a myth|a lie|dead|backwards|wrong|broken|a trap|a scam"
    r"|the (?:real|biggest|best|worst|only|cheapest))\b|\bmyth\b",
    re.IGNORECASE)
_STORY_RE = re.compile(
    r"^(?:i (?:spent|tried|tested|learned|quit|built|ran|baked|grew|lost|saved|made|wrote|asked|tracked|measured"
    r"|stopped|switched|paid|killed|planted|cooked|moved|deleted|started|wasted|used to)\b"
    r"|last (?:year|month|week|night|spring|summer|winter|fall|autumn)|yesterday|this morning"
    r"|in (?:19|20)\d\d|after \w+ (?:years|months|weeks|days)|my (?:first|biggest|worst|best)\b|when i\b"
    r"|(?:\d+|two|three|four|five|six|ten) (?:years|months|weeks|days) ago)",
    re.IGNORECASE)


@dataclass(frozen=True)
class QualityContext:
    """What the score knows of the account: its language and what it writes about."""

    language: str = "en"
    niche: str = ""
    topics: tuple[str, ...] = ()
    domain_terms: tuple[str, ...] = ()

    @classmethod
    def of(cls, config) -> "QualityContext":
        """The context of an account configuration (core/account.py's AccountConfig)."""
        return cls(language=getattr(config, "language", "en"), niche=config.niche,
                   topics=tuple(config.topics), domain_terms=tuple(config.domain_terms))

    @property
    def has_subject(self) -> bool:
        return bool(self.niche.strip() or any(t.strip() for t in self.topics + self.domain_terms))


@dataclass(frozen=True)
class QualityReport:
    score: float
    components: dict[str, float]
    problems: tuple[str, ...]                  # hard rules: X's length rule, blank parts, banned phrases
    floors: tuple[str, ...] = ()               # why the text is garbage, if it is
    measures: dict[str, float] = field(default_factory=dict)   # the raw figures behind the components


def quality_rejection(report: QualityReport) -> str | None:
    """Why plan must reject a draft on quality alone, or None: a floor, or a score below `MIN_QUALITY`.

    X's length rule and banned phrases (`report.problems`) are reported by plan on their own.
    """
    if report.floors:
        return "quality: " + "; ".join(report.floors)
    if not report.problems and report.score < MIN_QUALITY:
        return f"quality {report.score:.2f} below the minimum {MIN_QUALITY:.2f}"
    return None


# --- text analysis ---------------------------------------------------------------------------------

def _context_vocabulary(context: QualityContext) -> tuple[frozenset[str], frozenset[str]]:
    """(lower-case words, their stems) of the niche, topics and domain terms, without function words."""
    words = set()
    for phrase in (context.niche, *context.topics, *context.domain_terms):
        for w in prose.WORD_RE.findall(phrase.lower()):
            if w not in lexicon.FUNCTION_WORDS and w not in _GENERIC_CONTEXT_WORDS and len(w) >= 2:
                words.add(w)
    return frozenset(words), frozenset(prose.stem(w) for w in words)


# --- components ----------------------------------------------------------------------------------------

def _length_fit(length: int) -> float:
    if length > text_rules.MAX_WEIGHTED_LENGTH:
        return 0.0
    if length < 120:
        return (length / 120) ** 1.5
    if length <= 240:
        return 1.0
    return 1.0 - 0.3 * (length - 240) / 40


def quantities(text: str) -> list[str]:
    """The quantities in context in `text`: "120 ms", "38%", "$40", "three nights", "half of".

    A number counts with a unit or a symbol, or when the next word is a content word (not
    a function word, a month or am/pm). Timestamps, dates, clock times, versions, ids, years
    on their own and list or thread numbering are removed first.
    """
    body = prose.NOT_QUANTITY_RE.sub(" ", prose.prose_text(text))
    tokens = [(m.lastgroup, m.group()) for m in prose.TOKEN_RE.finditer(body)]
    found = []
    for i, (kind, value) in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ("stop", "")
        next_word = nxt[1].lower() if nxt[0] == "word" else ""
        content_next = bool(next_word) and next_word not in lexicon.FUNCTION_WORDS and next_word not in _NOT_UNITS
        if kind == "num":
            unit = value[0] in "$€£" or value.rstrip()[-1:].lower() in ("%", "x", "k", "m") or value.endswith("bn")
            digits = value.strip("$€£%xkmbn ").replace(",", "")
            year = len(digits) == 4 and digits.isdigit() and 1900 <= int(digits) <= 2100
            if unit or (content_next and not year):
                found.append(value + (" " + nxt[1] if content_next and not unit else ""))
        elif kind == "word":
            lower = value.lower()
            if lower in _SPELLED:
                of_next = lower in _OF_QUANTITIES and next_word in ("of", "a", "an", "the")
                if content_next or of_next or lower == "twice":
                    found.append(f"{value} {nxt[1]}".strip())
            elif lower == "couple" and i and tokens[i - 1][1].lower() == "a" and next_word == "of":
                found.append("a couple of")
    return found


def _specificity(parts: Sequence[str]) -> tuple[float, int]:
    text = "\n\n".join(parts)
    signals = len(quantities(text)) + len(MECHANISM_RE.findall(strip_markers(text)))
    return 1.0 - math.exp(-0.6 * signals / max(1, len(parts))), signals


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _readability(text: str, language: str, words: int) -> tuple[float | None, float]:
    """(component, Flesch reading ease) of the text's prose; (None, 0) for a language textstat cannot read."""
    import pyphen     # lazy, like textstat: plan alone scores drafts
    import textstat   # its English syllable counts load CMUdict once per process

    if pyphen.language_fallback(_textstat_language(language)) is None:
        return None, 0.0   # no hyphenation dictionary, so no syllable counts for this language
    if words < prose.MIN_WORDS:
        return 0.0, 0.0
    lines = [line.strip() for line in prose.prose_text(text).splitlines() if line.strip()]
    # Every line ends a sentence, as a reader sees it (list items, thread parts).
    sentences = " ".join(line if line[-1] in ".!?:" else line + "." for line in lines)
    ease = textstat.backend.metrics.flesch_reading_ease(sentences, _textstat_language(language))
    return _clamp(ease / 60.0), ease


def _textstat_language(language: str) -> str:
    return {"en": "en_US"}.get(language, language)


def _relevance(text: str, context: QualityContext, stems: frozenset[str]) -> tuple[float, int]:
    used = {prose.stem(w) for w in prose.WORD_RE.findall(text.lower())} & stems
    phrases = sum(1 for t in context.domain_terms if " " in t.strip() and count_phrase(text, t))
    hits = len(used) + phrases
    return 1.0 - math.exp(-0.7 * hits), hits


def _opening(first_part: str) -> str:
    stripped = strip_markers(first_part).strip()
    line = stripped.split("\n", 1)[0].strip() if stripped else ""
    sentences = re.split(r"(?<=[.!?])\s+", line)
    opening = sentences[0]
    if len(opening) <= 60 and len(sentences) > 1:
        opening += " " + sentences[1]   # "Your phone isn't keeping you up. Your scroll is."
    return opening


def hook_forms(first_part: str) -> list[str]:
    """The forms of hook the opening of `first_part` takes (see the module docstring)."""
    opening = _opening(first_part)
    if len(prose.WORD_RE.findall(prose.prose_text(opening))) < prose.MIN_WORDS:
        return []
    forms = []
    if "?" in opening:
        forms.append("question")
    if _PROMISE_RE.search(opening):
        forms.append("numbered promise")
    if _CONTRAST_RE.search(opening):
        forms.append("contrast")
    if _CLAIM_RE.search(opening):
        forms.append("strong claim")
    if _STORY_RE.search(opening):
        forms.append("story")
    if quantities(opening):
        forms.append("figure")
    return forms


_HOOK_STRENGTH = {"numbered promise": 0.85, "question": 0.8, "contrast": 0.8, "strong claim": 0.8,
                  "story": 0.75, "figure": 0.55}


def _hook(first_part: str) -> float:
    forms = hook_forms(first_part)
    opening = _opening(first_part)
    short = len(opening) <= 110 and len(prose.WORD_RE.findall(opening)) >= 4
    if not forms:
        return 0.15 if short else 0.05
    best = max(_HOOK_STRENGTH[f] for f in forms)
    return min(1.0, best + (0.1 if len(forms) > 1 else 0.0) + (0.15 if short else 0.0))


def _spam(text: str) -> tuple[float, list[str]]:
    hashtags = len(_HASHTAG_RE.findall(text))
    emoji = text_rules.count_emoji(text)
    caps = len(_CAPS_WORD_RE.findall(text))
    shouting = len(_SHOUTY_PUNCT_RE.findall(text))
    links = len(prose.LINK_RE.findall(text))
    bait = [m.group() for m in _BAIT_RE.finditer(text)]
    signs = []
    penalty = 0.0
    shouted = [m.group() for m in _SHOUTED_RE.finditer(text)]
    for count, free, each, name in ((hashtags, 2, 0.25, "hashtags"), (emoji, 3, 0.15, "emoji"),
                                    (caps, 2, 0.12, "ALL-CAPS words"), (shouting, 0, 0.2, "'!!'-style runs"),
                                    (links, 1, 0.3, "links")):
        if count > free:
            penalty += each * (count - free)
            signs.append(f"{count} {name}")
    if shouted:
        penalty += 0.3 * len(shouted)
        signs.append("shouting " + ", ".join(repr(b) for b in shouted[:2]))
    if bait:
        penalty += 0.3 * len(bait)
        signs.append("engagement bait " + ", ".join(repr(b) for b in bait[:2]))
    return max(0.0, 1.0 - penalty), signs


# --- the score -----------------------------------------------------------------------------------------

def _floors_for(parts: Sequence[str], forms: list[prose.Form], whole: prose.Form, spam: float, spam_signs: list[str],
                language: str) -> list[str]:
    """Why the text is garbage (empty when it is not); see the module docstring."""
    text = "\n\n".join(parts)
    if whole.words < prose.MIN_WORDS and prose.LINK_RE.search(text):
        out = ["a bare link with no text to go with it"]
    else:
        out = whole.floors(language)
    if len(parts) > 1:
        # Each part is read on its own too: one garbage part spoils a thread. A part of one or
        # two words ("Lesson learned.") is judged with the whole, not alone.
        for k, f in enumerate(forms, start=1):
            if f.words == 0:
                out.append(f"part {k} has no words")
            elif f.words >= prose.MIN_WORDS:
                out.extend(reason for reason in f.floors(language, f"part {k}") if reason not in out)
    if spam <= MAX_SPAM_FLOOR:
        out.append("spam (" + ", ".join(spam_signs) + ")")
    return out


def score_quality(parts: Sequence[str], *, banned_phrases: Sequence[str] = (),
                  context: QualityContext | None = None) -> QualityReport:
    """Score a post (one part) or a thread (several parts) in [0, 1].

    The weighted mean of the components in the module docstring; `relevance` is measured
    only when `context` names a niche, topics or domain terms. Capped at `HARD_CAP` when a
    hard rule is broken (`problems`) or the text is garbage (`floors`).
    """
    context = context or QualityContext()
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

    # A part far over X's limit is already a problem; reading all of it would only cost time.
    parts = [p[:MAX_ANALYSED_CHARS] for p in parts]
    text = "\n\n".join(parts)
    context_words, stems = _context_vocabulary(context)
    whole = prose.analyse(text, context.language, context_words)
    per_part = [prose.analyse(p, context.language, context_words) for p in parts] if len(parts) > 1 else [whole]
    spam, spam_signs = _spam(text)
    specificity, signals = _specificity(parts)
    readability, ease = _readability(text, context.language, whole.words)

    components = {
        # A part of one or two words ("Lesson learned.") is judged with the whole, not alone.
        "well_formed": min(f.score() for f in [whole, *per_part] if f is whole or f.words == 0
                           or f.words >= prose.MIN_WORDS) if parts else 0.0,
        "specificity": specificity,
        "hook": _hook(parts[0]) if parts else 0.0,
        "spam": spam,
        "length_fit": sum(map(_length_fit, lengths)) / len(lengths) if lengths else 0.0,
    }
    measures = {"words": float(whole.words), "word_char_share": whole.word_char_share,
                "flesch_reading_ease": ease, "specific_signals": float(signals),
                "order_violations": float(len(whole.violations))}
    if whole.known_share is not None:
        measures["known_word_share"] = whole.known_share
    if whole.function_share is not None:
        measures["function_word_share"] = whole.function_share
    if readability is not None:
        components["readability"] = readability
    if context.has_subject:
        components["relevance"], hits = _relevance(text, context, stems)
        measures["relevance_hits"] = float(hits)
    total_weight = sum(WEIGHTS[name] for name in components)
    score = sum(WEIGHTS[name] * value for name, value in components.items()) / total_weight

    floors = tuple(_floors_for(parts, per_part, whole, spam, spam_signs, context.language)) if parts else ()
    problems = tuple(rule_problems + banned_problems)
    if problems or floors:
        score = min(score, HARD_CAP)
    return QualityReport(score=max(0.0, min(1.0, score)), components=components, problems=problems,
                         floors=floors, measures=measures)


def blend_with_judge(report: QualityReport, judge_score: float, weight: float) -> float:
    """(1 − weight) · the rule score + weight · the judge's score, in [0, 1].

    The rule score's hard cap still holds: a draft that breaks X's length rule, uses a
    banned phrase or is garbage stays at or below `HARD_CAP` whatever the judge thinks of it.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"judge weight must lie in [0, 1], got {weight!r}")
    if not (isinstance(judge_score, (int, float)) and 0 <= judge_score <= 1):
        raise ValueError(f"judge score must lie in [0, 1], got {judge_score!r}")
    blended = (1 - weight) * report.score + weight * judge_score
    if report.problems or report.floors:
        blended = min(blended, HARD_CAP)
    return max(0.0, min(1.0, blended))
