"""The words of a language that the quality score checks a post against.

* `known_words(language)` is the word list of `pyspellchecker` for that language
  (word -> frequency, from its bundled dictionaries: en, es, fr, it, pt, de, ru, ar,
  lv, eu, nl, fa), loaded on first use and kept for the life of the process (English:
  160,000 words, about 0.15 s). None when the library or the language's file is missing
  (the deployed layer keeps only the languages in `infra`'s `WORD_LIST_LANGUAGES`).
* `FUNCTION_WORDS` and `DETERMINERS` are English closed-class words, written here: the
  articles, pronouns, prepositions, conjunctions and auxiliaries that hold a sentence
  together. Real English prose is 30-55 % function words; word salad, keyword lists,
  lorem ipsum and other languages have few or none.

Nothing heavy is imported here at module load: plan pays for the word list only when it
scores its first draft, and post, scrape and learn never do.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Mapping

# Languages with a function-word list (the sentence-structure checks need one).
STRUCTURE_LANGUAGES = ("en",)

DETERMINERS = frozenset("the a an every each my your our their his its".split())

FUNCTION_WORDS = frozenset("""
a an the this that these those some any no every each either neither all both half
my your our their his her its mine yours ours theirs whose
i me you he him she it we us they them myself yourself himself herself itself ourselves themselves
who whom which what whatever whoever where when why how whether
of to in on at by for from with without about above below under over into onto out up down off
through across after before during until till since against among between behind beyond near
around along upon within per via than like as
and or but nor so yet if because although though while unless whereas once
is are was were be been being am do does did done have has had having
will would shall should can could may might must ought
not no nor never also too very just only even still already again ever
there here then now than rather quite such more most less least much many few fewer lot lots
one ones other others another same own
don't doesn't didn't isn't aren't wasn't weren't won't wouldn't can't couldn't shouldn't
haven't hasn't hadn't it's that's there's here's what's who's let's i'm you're we're they're
he's she's i've you've we've they've i'd you'd we'd they'd i'll you'll we'll they'll
""".split())


@lru_cache(maxsize=None)
def known_words(language: str) -> Mapping[str, int] | None:
    """The language's word list (lower-case word -> frequency), or None when it is not available."""
    try:
        from spellchecker import SpellChecker   # lazy: only plan scores drafts
        checker = SpellChecker(language=language, distance=1)
    except (ImportError, ValueError, OSError):
        return None
    return checker.word_frequency.dictionary
