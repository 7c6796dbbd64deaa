"""What the offline writer writes about: one pack of material per niche (core/offline_writer.py).

A `Pack` is a niche's subject matter, written by hand: its `levers` (the things a post in the
niche can be about, each with facts carrying a figure in context, the mechanism behind them,
what to do, what someone did and what it changed, a contrarian claim, the received wisdom it
contradicts, and questions for the reader), the people its examples are about, what its
audience wants, its sign-offs, hashtags and the vague lines a weak post in the niche is made of.

`pack_for(niche, topics, persona)` picks the pack whose `match` words the account's niche,
topics and persona use most; an account in no known niche gets `generic.PACK`, whose levers
are written around the account's own topic (`{topic}`). Strings may hold slots the writer fills
(`{mins}`, `{pct}`, `{few}`, …: offline_writer.SLOTS; `{topic}`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Lever:
    """One thing a post in the niche can be about."""

    topic: str                 # words tying it to an account topic ("caffeine coffee")
    names: tuple[str, ...]     # noun phrases: "the afternoon coffee"
    facts: tuple[str, ...]     # sentences with a figure in context
    why: tuple[str, ...]       # the mechanism, as sentences
    do: tuple[str, ...]        # imperative clauses, lower case, no full stop
    did: tuple[str, ...]       # past-tense clauses without a subject: "moved the last coffee to noon"
    gain: tuple[str, ...]      # past-tense results without a subject: "fell asleep {mins} minutes sooner"
    take: tuple[str, ...]      # contrarian claims, as sentences
    myth: str                  # the received wisdom, as a clause: "a drink helps you wind down"
    ask: tuple[str, ...]       # questions for the reader

    def __post_init__(self) -> None:
        # A one-item tuple written without its comma is a string, and choosing from a string picks a letter.
        for name in ("names", "facts", "why", "do", "did", "gain", "take", "ask"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not value or not all(isinstance(v, str) and v for v in value):
                raise TypeError(f"Lever {self.topic!r}: {name} must be a non-empty tuple of strings")


@dataclass(frozen=True)
class Pack:
    key: str
    match: frozenset[str]      # words of a niche, topic or persona that pick this pack
    subject: str               # what the audience cares about, as an object: "your sleep"
    goals: tuple[str, ...]     # what the audience wants, as verb phrases: "fall asleep faster"
    people: tuple[str, ...]    # who an example is about: "a reader", "my brother"
    log: tuple[str, ...]       # what a first-person tracker records: "my sleep", "every night's sleep"
    signoffs: tuple[str, ...]
    vague: tuple[str, ...]     # the lines a weak post in the niche is made of
    tags: tuple[str, ...]      # the niche's hashtags, with the '#'
    levers: tuple[Lever, ...]


PACK_MODULES = ("sleep", "cloud", "finance", "baking", "running", "garden", "photo")

_WORD_RE = re.compile(r"[a-z]+")


def words(text: str) -> set[str]:
    """Lower-case words of `text`, with a trailing plural 's' folded."""
    out = set()
    for w in _WORD_RE.findall(text.lower()):
        out.add(w)
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            out.add(w[:-1])
    return out


def all_packs() -> tuple[Pack, ...]:
    import importlib
    return tuple(importlib.import_module(f"postloop.core.writer_material.{n}").PACK for n in PACK_MODULES)


def pack_for(niche: str, topics: tuple[str, ...] = (), persona: str = "") -> Pack:
    """The pack of the niche the account writes in; the generic pack when none matches.

    The niche's own words weigh three times its topics' and persona's, so a baker who mentions
    sleep in her persona still gets the baking pack.
    """
    from postloop.core.writer_material import generic

    niche_words = words(niche)
    other = words(" ".join(topics)) | words(persona)
    best, best_score = generic.PACK, 0
    for pack in all_packs():
        score = 3 * len(niche_words & pack.match) + len(other & pack.match)
        if score > best_score:
            best, best_score = pack, score
    return best
