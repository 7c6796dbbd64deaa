"""A writer that needs no network: deterministic drafts from templates and slot fillers.

For tests, local runs and anywhere no language model should be called. The draft
depends only on the request: `random.Random(seed)` picks the topic, the fragments and a
hidden "craft" level in [0, 1]. A low craft level makes drafts short, vague,
hashtag-stuffed or shouty; a high one makes them specific (numbers, units, mechanisms,
examples) with a strong opening line. That spread is on purpose: the learning loop
needs weak and strong content to tell them apart.

`prompt` and `persona` are not used: an offline writer has no one to give them to.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

from postloop.core import text_rules
from postloop.core.ports import Draft, WriteRequest

_ACTIONS = (
    "write down the one number you want to move",
    "cut the step nobody can explain",
    "measure the baseline before changing anything",
    "ship the smallest version first",
    "review last month's results every Friday",
    "automate the check you keep forgetting",
    "ask three users what confused them",
    "delete the rule that never fires",
    "keep a log of every mistake and its fix",
    "set a hard limit and stick to it",
    "test the worst case, not the average one",
    "copy what worked, then change one thing",
    "put the default on the safe side",
    "time-box the research to one afternoon",
    "pair the new habit with one you already have",
    "say no to the third priority",
    "read the error before searching for it",
    "write the plan in five lines or fewer",
)
_MECHANISMS = (
    "because small feedback loops compound faster than big plans",
    "which means mistakes surface while they are still cheap",
    "so that the next person does not have to guess",
    "because the slowest step sets the pace for everything else",
    "which means the default wins most of the time",
    "because attention is the real budget, not money",
    "so that you can tell signal from luck",
    "because people copy what they can see, not what you say",
    "which means you learn from real use instead of opinions",
    "because every extra step loses a share of the people who start",
    "so that a bad week does not erase a good month",
    "because complexity grows faster than the value it adds",
    "which means the work gets reviewed before it gets expensive",
    "because nobody fixes what nobody measures",
)
_EXAMPLES = (
    "a {k}-person team",
    "a solo founder I know",
    "a side project with {big} users",
    "a client last quarter",
    "my own setup",
    "a team I advised",
    "a friend who runs a small shop",
    "our {k}-person support team",
    "a startup with {k} engineers",
    "one of my readers",
)
_RESULTS = (
    "cut the time it took by {pct}%",
    "went from {k} to {big} weekly users in {dur}",
    "made the whole thing {mult}x faster",
    "saved about {k} hours a week",
    "dropped errors by {pct}%",
    "doubled the reply rate in {dur}",
    "halved the cost in {dur}",
    "got {pct}% more done with the same hours",
)
_VAGUE = (
    "It really makes a difference.",
    "Consistency is everything.",
    "This changes everything.",
    "Just keep going.",
    "Trust the process.",
    "Think about it.",
    "It's all about mindset.",
    "Small things matter.",
    "Do the work.",
    "Focus on what matters.",
    "Results will follow.",
    "Nobody else will do it for you.",
    "Keep it simple.",
    "The rest is noise.",
    "Progress over perfection.",
    "You know what to do.",
    "That's the whole secret.",
    "More on this soon.",
)
_PLAIN_ADVICE = (
    "Try to {action}.",
    "My advice: {action}.",
    "{Action}. That's it.",
    "Start here: {action}.",
    "{Example} told me to {action}.",
)
_RECAPS = (
    "Recap: {topic}, {k} posts a week, {pct}% better in {dur}.",
    "{Topic} in one line: {action}, and expect {result}.",
    "The {pct}% rule for {topic}: {action}.",
    "Short version: {action} for {dur}.",
)

_WRAP_UPS = (
    "That's the whole playbook for {topic}.",
    "Pick one of these and try it this week.",
    "None of this is new. Doing it every week is the hard part.",
    "If you only remember one thing: {action}.",
    "{Topic} rewards boring consistency.",
)
_SPAM_TAGS = (
    "#growth", "#tips", "#motivation", "#success", "#viral", "#mindset", "#hustle", "#learn",
)
_SPAM_EMOJI = ("🚀", "🔥", "💯", "👇", "✨", "💪", "🙌")
_SHOUTS = ("THIS IS HUGE", "MUST READ", "DON'T MISS THIS", "GAME CHANGER", "READ THIS NOW")
_DURATIONS = ("two weeks", "a month", "90 days", "6 weeks", "one quarter", "3 months", "10 days")


@dataclass
class _Ctx:
    """The random source, the topic and the quality knobs one draft is written with."""

    rng: random.Random
    topic: str
    craft: float

    def chance(self, p: float) -> bool:
        return self.rng.random() < min(1.0, max(0.0, p))

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def fill(self, template: str) -> str:
        """Fill every slot a template may use; unused fillers are drawn and ignored."""
        r = self.rng
        example = self.pick(_EXAMPLES).format(
            k=r.choice((3, 4, 5, 6, 7, 9, 12)), big=r.choice((40, 300, 2000))
        )
        action = self.pick(_ACTIONS)
        slots = dict(
            k=r.randint(3, 12),
            big=r.choice((40, 150, 300, 800, 1200, 5000)),
            pct=r.randint(12, 87),
            mult=r.choice((2, 3, 4, 5, 10)),
            dur=r.choice(_DURATIONS),
        )
        result = self.pick(_RESULTS).format(**slots)
        return template.format(
            topic=self.topic, Topic=_cap(self.topic), action=action, Action=_cap(action),
            mech=self.pick(_MECHANISMS), example=example, Example=_cap(example),
            result=result, **slots,
        )

    def finding(self) -> str:
        """A concrete sentence: who did what and what it changed, with numbers."""
        return self.fill(self.pick((
            "{Example} started to {action} and {result}.",
            "When {example} chose to {action}, they {result}.",
            "{Example} {result} after one change: {action}.",
        )))

    def reason(self) -> str:
        """An advice sentence with its mechanism ("because ...", "which means ...")."""
        return self.fill(self.pick((
            "{Action}, {mech}.",
            "The trick is to {action}, {mech}.",
            "Worth it: {action}, {mech}.",
        )))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- styles: each returns (opener, body sentences, closer) for one post -----------------

def _opener(ctx: _Ctx, strong: tuple[str, ...], plain: tuple[str, ...]) -> str:
    return ctx.fill(ctx.pick(strong if ctx.chance(ctx.craft + 0.1) else plain))


def _body(ctx: _Ctx, max_sentences: int = 2) -> list[str]:
    body: list[str] = []
    if ctx.chance(ctx.craft):
        body.append(ctx.finding())
    if ctx.chance(ctx.craft):
        body.append(ctx.reason())
    if len(body) < max_sentences and ctx.chance(0.5):
        body.append(ctx.fill(ctx.pick(_PLAIN_ADVICE)))
    while len(body) < max_sentences and ctx.chance(0.7 - ctx.craft):
        body.append(ctx.pick(_VAGUE))
    return body[:max_sentences] or [ctx.pick(_VAGUE)]


def _factual(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "{pct}% of {topic} problems come from the setup, not the work.",
        "{Topic} gets {mult}x easier once you {action}.",
        "Most people spend {dur} getting {topic} wrong.",
        "Here's a number on {topic} worth knowing: {pct}%.",
    ), ("A thought on {topic}.", "{Topic} is important.", "Some notes on {topic}."))
    return opener, _body(ctx), ""


def _question(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "Why do {pct}% of {topic} projects stall in the first {dur}?",
        "What would change if you had to {action} for {topic}?",
        "How many hours a week does {topic} really cost you?",
    ), ("Thoughts on {topic}?", "Anyone else into {topic}?"))
    closer = ctx.fill(ctx.pick((
        "What's your take?",
        "What would you add?",
        "Which part of {topic} trips you up most?",
        "Would you try it?",
    )))
    return opener, _body(ctx, 1), closer


def _hot_take(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "Unpopular opinion: most {topic} advice is backwards.",
        "Hot take: {topic} is mostly habits, not tools.",
        "Stop chasing hacks for {topic}. {Action}.",
        "Nobody talks about the boring half of {topic}.",
    ), ("The hype around {topic} is overrated.", "I have opinions about {topic}."))
    closer = ctx.pick(("Change my mind.", "Agree or disagree?", "")) if ctx.chance(0.6) else ""
    return opener, _body(ctx), closer


def _story(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "I spent {dur} getting {topic} wrong.",
        "Last year I almost gave up on {topic}.",
        "I tried to {action} for {topic} and it failed for {k} weeks.",
    ), ("A story about me and {topic}.", "So this happened to me with {topic}."))
    middle = ctx.fill(ctx.pick((
        "Then I decided to {action}.",
        "What fixed it for me was simple: {action}.",
        "My turning point was learning to {action}.",
    )))
    return opener, [middle] + _body(ctx, 1), ctx.pick(("Lesson learned.", "", "Worth it."))


def _how_to(ctx: _Ctx) -> tuple[str, list[str], str]:
    n = ctx.rng.randint(3, 4)
    opener = _opener(ctx, (
        "How to get better at {topic} in %d steps:" % n,
        "%d steps that fixed {topic} for me:" % n,
        "The %d-step checklist I use for {topic}:" % n,
    ), ("Tips for {topic}:", "Some {topic} tips:"))
    steps = ctx.rng.sample(_ACTIONS, n)
    lines = [f"{i}. {_cap(step)}" for i, step in enumerate(steps, start=1)]
    closer = ctx.reason() if ctx.chance(ctx.craft) else ctx.pick(("Save this.", "", "That's it."))
    return opener, lines, closer


def _educational(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "Here's what {dur} of studying {topic} taught me.",
        "The {topic} lesson that took me {dur} to learn:",
        "{pct}% of {topic} comes down to one idea.",
    ), ("Let's talk about {topic}.", "A lesson on {topic}."))
    return opener, _body(ctx), ctx.pick(("Follow for more.", "", "Bookmark this."))


def _generic(ctx: _Ctx) -> tuple[str, list[str], str]:
    opener = _opener(ctx, (
        "{Topic}, in one sentence: {action}.",
        "The best {topic} move I know takes {k} minutes.",
    ), ("Thinking about {topic} today.", "{Topic}."))
    return opener, _body(ctx), ""


_Style = Callable[[_Ctx], tuple[str, list[str], str]]
_STYLES: dict[str, _Style] = {
    "educational_thread": _educational,
    "factual_single": _factual,
    "question": _question,
    "hot_take": _hot_take,
    "story": _story,
    "how_to_list": _how_to,
}


def _spam(ctx: _Ctx, text: str) -> str:
    """Make a post worse the way real weak posts are: shouting, emoji and hashtag tails."""
    if ctx.chance(0.5):
        text = ctx.pick(_SHOUTS) + "!!! " + text
    if ctx.chance(0.6):
        text += " " + "".join(ctx.rng.choices(_SPAM_EMOJI, k=ctx.rng.randint(4, 6)))
    tags = ctx.rng.sample(_SPAM_TAGS, ctx.rng.randint(3, 6))
    return text + "\n\n" + " ".join(tags)


def _is_list(body: list[str]) -> bool:
    return any(line[:1].isdigit() for line in body)


def _fit(text: str, fallback: str) -> str:
    if text_rules.fits(text):
        return text
    return text_rules.repair(text) or fallback


class OfflineWriter:
    """Deterministic, network-free `Writer`: same request, same draft."""

    generator = "offline"

    def write(self, request: WriteRequest) -> Draft:
        """Write a post (or a 3–5 part thread when `request.thread`) in the content type's style.

        Unknown content types get a generic style. Every part fits X's length rule.
        """
        rng = random.Random(request.seed)
        topics = [t for t in request.topics if t.strip()]
        topic = rng.choice(topics) if topics else (request.niche.strip() or "this")
        # Skewed low because most components are easy to satisfy once the text is specific;
        # this keeps the quality of drafts spread roughly evenly rather than bunched at the top.
        ctx = _Ctx(rng=rng, topic=topic, craft=rng.random() ** 1.5)
        style = _STYLES.get(request.content_type, _generic)
        fallback = _cap(f"{topic}: one small change, measured for two weeks, beats a big plan.")

        if request.thread:
            parts = self._thread(ctx, style)
        else:
            parts = [self._single(ctx, style)]
        parts = [_fit(p, fallback) for p in parts]
        return Draft(parts=tuple(parts), topic=topic, generator=self.generator, cost_usd=0.0)

    def _single(self, ctx: _Ctx, style: _Style) -> str:
        opener, body, closer = style(ctx)
        if ctx.chance(0.55 - ctx.craft) and not _is_list(body):
            body = body[:1]  # the lazy, too-short post
        if _is_list(body):
            blocks = [opener + "\n" + "\n".join(body), closer]
            text = "\n\n".join(b for b in blocks if b)
        else:
            text = " ".join(s for s in [opener, *body, closer] if s)
        if ctx.chance(0.75 - ctx.craft):
            text = _spam(ctx, text)
        return text

    def _thread(self, ctx: _Ctx, style: _Style) -> list[str]:
        opener, body, closer = style(ctx)
        parts = [opener + (" 🧵" if ctx.chance(0.5) else "")]
        if _is_list(body):
            # One step per post, with its reason when the writer is careful.
            parts += [line + (" " + ctx.reason() if ctx.chance(ctx.craft) else "") for line in body]
        else:
            parts.append(" ".join(body))
            for _ in range(ctx.rng.randint(0, 2)):
                point = [ctx.finding(), ctx.reason()] if ctx.chance(ctx.craft) else _body(ctx, 2)
                parts.append(" ".join(point))
        if len(parts) < 5:  # 2–4 parts so far, so the thread has 3–5
            ending = closer or ctx.fill(ctx.pick(_WRAP_UPS))
            if len(ending) < 60:
                # A bare sign-off ("Bookmark this.") would repeat word for word across
                # threads, and X refuses a reply that duplicates a live post.
                ending = ctx.fill(ctx.pick(_RECAPS)) + " " + ending
            parts.append(ending.strip())
        n = len(parts)
        if ctx.chance(ctx.craft):
            parts = [f"{i}/{n} {p}" for i, p in enumerate(parts, start=1)]
        if ctx.chance(0.75 - ctx.craft):
            parts[-1] = _spam(ctx, parts[-1])
        return parts
