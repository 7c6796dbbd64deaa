"""A writer that needs no network: drafts composed from a niche's material, deterministic per request.

For tests, local runs and anywhere no language model should be called. `random.Random(seed)`
decides everything, so the same request gives the same draft.

What it writes about comes from the account's niche (`writer_material.pack_for`): a pack of
hand-written material per niche – levers with facts carrying figures in context, mechanisms,
advice, examples, contrarian claims, questions, plus the niche's people, goals, sign-offs and
hashtags. An account in no known niche gets a generic pack written around its own topics. The
draft's topic is one of the account's topics; the levers tied to it come first.

How it writes is the content type's: a fact with its mechanism or an example, a question to the
reader, a contrarian take with its reason, a first-person story, a numbered list, or a thread
(an opener, 1–3 parts that each explain one lever, a takeaway). Every form has several shapes, and
every sentence that can carry a varying detail does (who, what they changed, by how much, over
how long), so a month of posts rarely repeats a part word for word or reads as a near-duplicate:
plan rejects both (docs/writer.md measures it).

A hidden "craft" level in [0, 1] makes some drafts weaker on purpose, the way real weak posts
are: vague lines with no figure, a bare piece of advice, a few hashtags or emoji, and at the
bottom shouting and hashtag tails that the quality score's floors reject. The learning loop and
the quality gate need weak and strong drafts to tell apart.

`prompt` and `persona` are not used: an offline writer has no one to give them to.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

from postloop.core import text_rules
from postloop.core.ports import Draft, WriteRequest
from postloop.core.writer_material import Lever, Pack, pack_for, words

# Values of the slots the material's sentences may hold; drawn afresh for each sentence.
SLOTS: dict[str, Sequence[object]] = {
    "mins": (8, 10, 12, 15, 18, 20, 25, 30, 35, 40),
    "pct": tuple(range(12, 46)),
    "few": (2, 3, 4),
    "hours": (2, 3, 4, 5, 6),
    "dollars": (40, 60, 75, 90, 120, 150, 200, 250, 300, 400),
    "ms": (40, 60, 80, 120, 150, 200, 250, 300),
    "secs": (5, 8, 10, 12, 15, 20, 25, 30),
    "km": (5, 8, 10, 12, 15, 20),
    "kg": (2, 3, 4, 5, 6, 8),
    "weeks": tuple(range(2, 13)),
}
# "[a|b|c]" in the material: one of the options, drawn for each sentence (no nesting).
_CHOICE_RE = re.compile(r"\[([^\[\]]*)\]")
SPANS = ("two weeks", "three weeks", "a month", "six weeks", "ten days", "{weeks} weeks", "about a month",
         "a couple of months", "{weeks} weeks")
# Weak lines that fit any niche.
GENERIC_VAGUE = ("Small changes add up.", "Consistency beats intensity.", "Do the basics well.",
                 "It's all about habits.", "Keep it simple.", "Most people overthink this.",
                 "Progress over perfection.", "You know what to do.")
SHOUTS = ("THIS IS HUGE", "READ THIS NOW", "DON'T MISS THIS", "GAME CHANGER")
SPAM_TAGS = ("#tips", "#motivation", "#viral", "#mindset", "#lifehacks", "#wellness", "#growth")
SPAM_EMOJI = ("🚀", "🔥", "💯", "👇", "✨", "💪", "🙌")
MILD_EMOJI = ("👇", "🙂", "✅", "👀")
SPAM_CRAFT = 0.07   # below: shouting and hashtag tails (the quality floors reject these)
WEAK_CRAFT = 0.25   # below: vague, bare or decorated drafts that usually pass the gate, scoring low


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _low(text: str) -> str:
    """A sentence made into a clause: first letter lower-cased unless it starts a name or an acronym."""
    first = text.split(" ", 1)[0]
    return text if first.isupper() or first[1:2].isupper() else text[:1].lower() + text[1:]


def _clause(text: str) -> str:
    return _low(text).rstrip(".")


@dataclass
class _Pen:
    """The random source, the material and the craft one draft is written with."""

    rng: random.Random
    pack: Pack
    topic: str
    craft: float
    levers: list[Lever] = field(default_factory=list)   # this draft's order: the main lever, related ones, the rest
    related: int = 0                                      # how many levers after the main one are related to it

    # --- drawing ---------------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.rng.random() < min(1.0, max(0.0, p))

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def fill(self, text: str) -> str:
        """`text` with each "[a|b|c]" replaced by one of its options and each slot by a value."""
        text = _CHOICE_RE.sub(lambda m: self.rng.choice(m.group(1).split("|")), text)
        if "{span}" in text:
            text = text.replace("{span}", self.span())
        values = {name: self.rng.choice(choices) for name, choices in SLOTS.items()}
        return text.format(topic=self.topic, Topic=_cap(self.topic), **values)

    def lever(self, i: int = 0) -> Lever:
        return self.levers[i % len(self.levers)]

    def shape(self, count: int, related_only: set[int]) -> int:
        """One of `count` shapes of a form; those in `related_only` bring in a related lever and are
        left out when the main lever has none (an unrelated one would not follow from it)."""
        return self.rng.choice([i for i in range(count) if self.related or i not in related_only])

    def other(self, i: int = 0) -> Lever:
        """A lever not related to the main one (when the pack has one)."""
        return self.levers[(self.related + 1 + i) % len(self.levers)]

    # --- sentences -------------------------------------------------------------------------------
    def span(self) -> str:
        return self.fill(self.pick(SPANS))

    def name(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.names))

    def fact(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.facts))

    def why(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.why))

    def do(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.do))

    def case(self, lv: Lever) -> str:
        """Someone else's example, with what changed and over how long."""
        who, did, gain, span = self.pick(self.pack.people), self.fill(self.pick(lv.did)), \
            self.fill(self.pick(lv.gain)), self.span()
        # No pronoun after the person: "a reader" or "my mother" may be anyone.
        return self.pick((
            f"{_cap(who)} {did} and {gain} within {span}.",
            f"{_cap(who)} {did} for {span} and {gain}.",
            f"One example: {who} {did} and {gain} within {span}.",
            f"{_cap(who)} tried it for {span}: {did}, and {gain}.",
            f"Proof from {who}: {did}, and within {span} {gain}.",
            f"Take {who}, who {did} and {gain} in {span}.",
        ))

    def mine(self, lv: Lever) -> str:
        """The writer's own experience of the lever."""
        did, gain, span = self.fill(self.pick(lv.did)), self.fill(self.pick(lv.gain)), self.span()
        log = self.pick(self.pack.log)
        log = self.fill(log) if "{" in log else log   # the generic pack's "my {topic} sessions"
        return self.pick((
            f"I {did} for {span} and {gain}.",
            f"For {span} I {did}. I {gain}.",
            f"When I {did}, I {gain} within {span}.",
            f"I tracked {log} for {span} after I {did}: I {gain}.",
        ))

    def advice(self, lv: Lever) -> str:
        do = self.do(lv)
        return self.fill(self.pick((
            f"Try this: {do}.", f"{_cap(do)}.", f"The fix: {do}.", f"My rule: {do}.",
            f"Start small: {do} for {{weeks}} weeks.", f"If you change one thing, {do}.",
            f"Worth trying for {self.span()}: {do}.",
        )))

    def take(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.take))

    def ask(self, lv: Lever) -> str:
        return self.fill(self.pick(lv.ask))

    def vague(self) -> str:
        return self.fill(self.pick(self.pack.vague if self.chance(0.7) else GENERIC_VAGUE))


# --- single posts: each form returns the post's sentences (or lines) -------------------------------

def _factual(pen: _Pen) -> list[str]:
    a, b, c = pen.lever(0), pen.lever(1), pen.other()   # b: related to a (when shape allows); c: not
    shape = pen.shape(10, {3})
    if shape == 0:
        return [pen.fact(a), pen.why(a)]
    if shape in (1, 2):
        return [pen.fact(a), pen.case(a)]
    if shape == 3:
        return [pen.fact(a), pen.pick(("Related:", "And a second one:", "Also worth knowing:")) + " "
                + pen.fact(b)]
    if shape == 4:
        return [pen.fact(a), pen.mine(a)]
    if shape == 5:
        return [pen.mine(a), pen.why(a)]
    if shape == 6:
        return [pen.fill(f"A number worth knowing if you want to {pen.pick(pen.pack.goals)}:"), pen.fact(a),
                pen.case(a)]
    if shape in (7, 8):
        frame = pen.pick(("Two numbers worth knowing.", "Two facts I keep coming back to.",
                          "Two things most people don't know about " + pen.pack.subject + "."))
        return [frame, pen.fact(a), pen.fact(c)]
    return [pen.case(a), pen.why(a)]


def _question(pen: _Pen) -> list[str]:
    a, b, c = pen.lever(0), pen.lever(1), pen.other()
    shape = pen.shape(10, {6, 7})
    if shape == 0:
        return [pen.fact(a), pen.ask(a)]
    if shape in (1, 2):
        return [pen.case(a), pen.ask(a)]
    if shape in (3, 4):
        return [pen.mine(a), pen.ask(a)]
    if shape == 5:
        return [pen.pick(("Honest question:", "A question for you:", "Curious about this one:")), pen.ask(a),
                pen.why(a)]
    if shape == 6:
        return [pen.fact(b), pen.ask(a)]
    if shape == 7:
        return [pen.ask(a), "And " + _low(pen.ask(b)), pen.fact(a)]
    if shape == 8:
        return [pen.pick(("Two questions for you today.", "Two quick questions.", "A two-part poll.")),
                pen.ask(a), pen.ask(c)]
    return [pen.ask(a), pen.fact(a), "I'll go first: " + _low(pen.mine(a))]


def _hot_take(pen: _Pen) -> list[str]:
    a, b, c = pen.lever(0), pen.lever(1), pen.other()
    shape = pen.shape(11, {1, 5, 10})
    if shape == 0:
        return ["Unpopular opinion: " + _low(pen.take(a)), pen.why(a)]
    if shape == 1:
        return ["Hot take: " + _low(pen.take(a)), pen.why(a), pen.advice(b)]
    if shape == 2:
        return [pen.take(a), pen.fact(a)]
    if shape == 3:
        retort = pen.pick(("It's backwards.", "The evidence says otherwise.", "That's only half true.",
                           "I don't buy it."))
        return [f"Everyone says {pen.fill(a.myth)}. {retort}", pen.why(a)]
    if shape == 4:
        return [pen.take(a), pen.case(a)]
    if shape == 5:
        return [f"The idea that {pen.fill(a.myth)} is a myth.", pen.fact(a), pen.fact(b)]
    if shape == 6:
        return [pen.take(a), pen.mine(a)]
    if shape in (7, 8):
        frame = pen.pick(("Two unpopular opinions.", "Two hot takes.", "Two things I would argue about."))
        return [frame, pen.take(a), pen.take(c)]
    if shape == 9:
        return [f"Two myths: {pen.fill(a.myth)}, and {pen.fill(c.myth)}.", pen.take(a)]
    return [pen.take(a), pen.why(a), pen.pick(("Same with", "Same goes for", "Next on my list:")) + " "
            + pen.name(b) + "."]


def _story(pen: _Pen) -> list[str]:
    a, b, c = pen.lever(0), pen.lever(1), pen.other()
    did, gain = pen.fill(pen.pick(a.did)), pen.fill(pen.pick(a.gain))
    shape = pen.shape(6, {2, 3})
    if shape == 0:
        return [f"I {did} for {pen.span()}.", f"I {gain}.", pen.why(a)]
    if shape == 1:
        when = pen.pick(("Last year", "Last spring", "Last month", "This winter", "A few months ago"))
        return [f"{when} I {did}.", f"Within {pen.span()} I {gain}.", pen.why(a)]
    if shape == 2:
        return [f"I spent {pen.span()} testing {pen.name(a)}.", f"What changed: I {gain}.", pen.advice(b)]
    if shape == 3:
        return [pen.mine(a), pen.pick(("Next I want to test this:", "What surprised me more:")) + " "
                + pen.fact(b)]
    if shape == 4:
        return [f"Two changes I made this year: I {did}, and I {pen.fill(pen.pick(c.did))}.",
                f"The first one alone: I {gain} within {pen.span()}."]
    return [pen.pick(("A reader wrote to me last week.", "Someone asked me about this yesterday.",
                      "My favourite message this month:")), pen.case(a), pen.why(a)]


def _how_to(pen: _Pen) -> list[str]:
    n = pen.rng.choice((3, 3, 4))
    goal = pen.pick(pen.pack.goals)
    opener = pen.fill(pen.pick((
        f"{n} changes that help you {goal}:", f"How to {goal}, in {n} steps:", f"{n} rules I follow to {goal}:",
        f"My {n}-step routine to {goal}:", f"{n} things that helped me {goal}:",
    )))
    items = [f"{i}. {_cap(pen.do(pen.lever(i - 1)))}" for i in range(1, n + 1)]
    return [opener, *items]


def _weak(pen: _Pen, content_type: str) -> list[str]:
    """A plausible weak post: vague, bare, or a fact with nothing around it."""
    lv = pen.lever()
    if content_type == "question":
        return [pen.vague(), pen.ask(lv)] if pen.chance(0.6) else [pen.ask(lv)]
    if content_type == "story":
        return [pen.pick((f"I've been thinking about {pen.name(lv)} a lot lately.", f"My week with {pen.name(lv)}.",
                          "I learned something this week.")), pen.vague()]
    shape = pen.rng.randrange(5)
    if shape == 0:
        return [pen.vague(), pen.vague()]
    if shape == 1:
        return [pen.advice(lv)]
    if shape == 2:
        return [pen.fill(pen.pick(("Thoughts on {topic}.", "Some notes on {topic}.", "Thinking about {topic} "
                                   "today."))), pen.vague()]
    if shape == 3:
        return [pen.fact(lv)]
    return [pen.take(lv) if content_type == "hot_take" else pen.vague(), pen.advice(lv)]


_Form = Callable[[_Pen], list[str]]
_FORMS: dict[str, _Form] = {
    "factual_single": _factual,
    "educational_thread": _factual,
    "question": _question,
    "hot_take": _hot_take,
    "story": _story,
    "how_to_list": _how_to,
}


# --- threads ------------------------------------------------------------------------------------

def _thread_opener(pen: _Pen, content_type: str, parts: int, deep: bool) -> str:
    """The first part: a tour of several levers, or (`deep`) one lever and those related to it.

    Each form combines several varying details, so openers rarely repeat.
    """
    lv, things, rest = pen.lever(), parts - 2, parts - 1   # things: the middle parts; rest: all after this
    goal, name, span = pen.pick(pen.pack.goals), pen.name(lv), pen.span()
    more = "one more" if things == 2 else f"{things - 1} more"
    if content_type == "question":
        return f"{pen.ask(lv)} {pen.pick(('A thread on what the research says', 'What I found'))}, in {rest} parts:"
    if content_type == "hot_take":
        return f"{pen.take(lv)} Here's why, in {rest} parts:"
    if content_type == "story":
        return f"I {pen.fill(pen.pick(lv.did))} for {span}. Here's what happened:"
    if deep:
        return pen.fill(pen.pick((
            f"What {span} of reading about {name} taught me, in {rest} parts:",
            f"Why {name} matters if you want to {goal}. A short thread:",
            f"Most advice on {pen.topic} skips the mechanism. Here it is for {name}, in {rest} parts:",
            f"I spent {{weeks}} weeks tracking {pen.pick(pen.pack.log)}. Here's what {name} did to it:",
            f"How {name} works, and what to change if you want to {goal}:",
            f"{pen.fact(lv)} I spent {span} on what to do about it. {rest} parts:",
        )))
    return pen.fill(pen.pick((
        f"{things} things that help you {goal}, from {span} of reading the research on {name} and more:",
        f"What I would change first if I wanted to {goal}: {name}, and {more}.",
        f"I spent {{weeks}} weeks tracking {pen.pick(pen.pack.log)}. {things} things made the difference, "
        f"{name} first:",
        f"{things} changes that helped people I know {goal}, starting with {name}:",
        f"If you want to {goal}, start with {name}. Then {more}, in {rest} parts:",
        f"{things} things I wish I had known about how to {goal}, {name} first:",
    )))


def _explain(pen: _Pen, lv: Lever) -> list[str]:
    shape = pen.rng.randrange(6)
    if shape == 0:
        return [pen.fact(lv), pen.case(lv)]
    if shape == 1:
        return [pen.why(lv), pen.case(lv)]
    if shape == 2:
        return [pen.why(lv), pen.mine(lv)]
    if shape == 3:
        return [pen.mine(lv), pen.why(lv)]
    if shape == 4:
        return [pen.advice(lv), pen.why(lv)]
    return [pen.fact(lv), f"Try it for {pen.span()}: {pen.do(lv)}."]


def _takeaway(pen: _Pen, used: list[Lever]) -> str:
    dos = [pen.do(lv) for lv in used[:3]]
    listed = dos[0] if len(dos) == 1 else ", ".join(dos[:-1]) + ", and " + dos[-1]
    forms = [f"The short version: {listed}.",
             f"If you only change one thing, do it for {pen.span()}: {dos[0]}.",
             f"Try this for {pen.span()} and see what it does to {pen.pack.subject}: {dos[0]}."]
    if len(dos) > 1:
        forms.append(f"Pick one: {listed}. Give it {pen.span()}.")
    text = pen.pick(forms)
    if pen.chance(0.3):
        text += " " + pen.pick(pen.pack.signoffs)
    return text


def _weak_thread(pen: _Pen, parts: int) -> list[str]:
    name = pen.name(pen.lever())
    out = [pen.pick((f"Some thoughts on {name} 🧵", f"A few things about {name}:", f"Let's talk about {name}."))
           + " " + pen.vague()]
    for i in range(parts - 2):
        lv = pen.lever(i)
        out.append(" ".join((pen.vague(), pen.fact(lv)) if pen.chance(0.5) else (pen.vague(), pen.advice(lv))))
    out.append(f"{pen.vague()} {pen.advice(pen.lever(parts))}")
    return out


# --- the writer ---------------------------------------------------------------------------------

def _join(sentences: list[str], sep: str = " ") -> str:
    """The sentences joined, dropping the last ones until the text fits X's limit (at least one stays)."""
    kept = list(sentences)
    while len(kept) > 1 and not text_rules.fits(sep.join(kept)):
        kept.pop()
    return sep.join(kept)


def _fit(text: str, fallback: str) -> str:
    if text_rules.fits(text):
        return text
    return text_rules.repair(text) or fallback


def _decorate(pen: _Pen, text: str) -> str:
    """The weak writer's habits: a couple of hashtags or emoji, at most."""
    if pen.chance(0.35):
        text += " " + " ".join(pen.rng.sample(pen.pack.tags, pen.rng.randint(1, 2)))
    elif pen.chance(0.3):
        text += " " + pen.pick(MILD_EMOJI)
    return text


def _spam(pen: _Pen, text: str) -> str:
    """The bottom of the range: shouting, emoji runs and hashtag tails (the quality floors catch these)."""
    if pen.chance(0.5):
        text = pen.pick(SHOUTS) + "!!! " + text
    if pen.chance(0.6):
        text += " " + "".join(pen.rng.choices(SPAM_EMOJI, k=pen.rng.randint(4, 6)))
    tags = list(pen.pack.tags[:3]) + pen.rng.sample(SPAM_TAGS, 3)
    return text + "\n\n" + " ".join(pen.rng.sample(tags, pen.rng.randint(5, 6)))


def _choose(rng: random.Random, pack: Pack, topics: list[str], niche: str) -> tuple[str, list[Lever], int]:
    """(the draft's topic, the pack's levers in the order the draft uses them, how many are related).

    The main lever is drawn uniformly, so no lever carries more than its share of the posts; the
    levers related to it (sharing a topic word that few levers share) come next, so a post that
    brings in a second lever stays on one subject. The topic reported is an account topic the main
    lever is tied to, so it says what the draft is about; the generic pack writes about a topic
    drawn from the account's.
    """
    levers = list(pack.levers)
    rng.shuffle(levers)
    if pack.key == "generic" or not levers:
        return (rng.choice(topics) if topics else (niche.strip() or "this")), levers, 0
    main, common = levers[0], _common_words(pack)
    key = words(main.topic) - common
    related = [lv for lv in levers[1:] if words(lv.topic) & key]
    order = [main, *related, *[lv for lv in levers[1:] if lv not in related]]
    matching = [t for t in topics if words(t) & key] or [t for t in topics if words(t) & words(main.topic)]
    topic = rng.choice(matching) if matching else (niche.strip() or (rng.choice(topics) if topics else "this"))
    return topic, order, len(related)


def _common_words(pack: Pack) -> frozenset[str]:
    """Topic words too common in the pack to relate two levers ("sleep" in a sleep pack)."""
    counts: dict[str, int] = {}
    for lv in pack.levers:
        for w in words(lv.topic):
            counts[w] = counts.get(w, 0) + 1
    return frozenset(w for w, n in counts.items() if n > max(2, len(pack.levers) // 4)) | {"and", "the", "of"}


class OfflineWriter:
    """Deterministic, network-free `Writer`: same request, same draft."""

    generator = "offline"

    def write(self, request: WriteRequest) -> Draft:
        """Write a post (or a 3–5 part thread when `request.thread`) in the content type's form.

        Unknown content types get the factual form. Every part fits X's length rule.
        """
        return self.compose(request)[0]

    def compose(self, request: WriteRequest) -> tuple[Draft, float]:
        """The draft `write` returns, and the craft level in [0, 1] it was written with (below
        `SPAM_CRAFT` spam, below `WEAK_CRAFT` weak on purpose): for measuring the writer."""
        rng = random.Random(request.seed)
        topics = [t for t in request.topics if t.strip()]
        pack = pack_for(request.niche, tuple(topics), request.persona)
        topic, levers, related = _choose(rng, pack, topics, request.niche)
        pen = _Pen(rng=rng, pack=pack, topic=topic, craft=rng.random(), levers=levers, related=related)
        fallback = _cap(f"{topic}: one small change, kept up for {pen.span()}, beats a big plan.")
        if request.thread:
            parts = self._thread(pen, request.content_type)
        else:
            parts = [self._single(pen, request.content_type)]
        parts = [_fit(p, fallback) for p in parts]
        return Draft(parts=tuple(parts), topic=topic, generator=self.generator, cost_usd=0.0), pen.craft

    def _single(self, pen: _Pen, content_type: str) -> str:
        weak = pen.craft < WEAK_CRAFT
        if weak and content_type != "how_to_list":
            sentences = _weak(pen, content_type)
        else:
            sentences = _FORMS.get(content_type, _factual)(pen)
        if content_type == "how_to_list":
            text = _join(sentences, "\n")
        else:
            if not weak and pen.chance(0.1):
                sentences = [*sentences, pen.pick(pen.pack.signoffs)]
            text = _join(sentences)
        if pen.craft < SPAM_CRAFT:
            return _spam(pen, text)
        return _decorate(pen, text) if weak else text

    def _thread(self, pen: _Pen, content_type: str) -> list[str]:
        n = pen.rng.choice((4, 4, 5)) if pen.craft >= WEAK_CRAFT else pen.rng.choice((3, 4))
        if pen.craft < WEAK_CRAFT:
            parts = _weak_thread(pen, n)
        else:
            # Mostly a tour: the main lever, then unrelated ones. Two tours in a month rarely cover the
            # same ground, while two deep dives into one subject read as near-duplicates of each other.
            deep = pen.related >= n - 3 and pen.chance(0.25)
            if deep:
                used = [pen.lever(i) for i in range(n - 2)]
            else:
                used = [pen.lever(0)] + [pen.other(i) for i in range(n - 3)]
            opener = _thread_opener(pen, content_type, n, deep)
            parts = [opener + (" 🧵" if pen.chance(0.4) else "")]
            parts += [_join(_explain(pen, lv)) for lv in used]
            parts.append(_takeaway(pen, used))
            if pen.chance(0.3 + pen.craft / 2):
                parts = [f"{i}/{n} {p}" for i, p in enumerate(parts, start=1)]
        if pen.craft < SPAM_CRAFT:
            parts[-1] = _spam(pen, parts[-1])
        elif pen.craft < WEAK_CRAFT:
            parts[-1] = _decorate(pen, parts[-1])
        return parts
