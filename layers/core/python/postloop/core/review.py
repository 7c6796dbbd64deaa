"""A person's edit of a draft awaiting approval, rescored by the checks plan runs.

The edited text goes through plan's own `ContentChecks` (quality with its floors and X's
length rule, banned phrases, safety, the judge when configured, novelty and word-for-word
repeats against the account's recent posts and pending plans), as of the decision's slot.
A text any check rejects cannot be approved; one that passes replaces the draft, with its
new scores, and the original is kept in the decision's `approval` record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from postloop.core import features as feat
from postloop.core.account import AccountConfig
from postloop.core.ports import Draft, DecisionStore
from postloop.core.records import Decision, Features

MAX_EDIT_CHARS = 10_000


class EditRejected(ValueError):
    """The edited text fails a check plan runs; `reasons` lists them."""

    def __init__(self, reasons: list[str]):
        super().__init__("the edited text fails plan's checks: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass
class Rescore:
    parts: list[str]
    quality: float
    novelty: float
    components: dict[str, float]
    reasons: list[str]
    checks: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"quality": round(self.quality, 4), "novelty": round(self.novelty, 4),
                "components": {k: round(v, 4) for k, v in self.components.items()},
                "verdict": "reject" if self.reasons else "approve", "reasons": list(self.reasons)}


def split_parts(text: str) -> list[str]:
    """Parts of a thread are separated by a line holding only `---`; blank edges are trimmed."""
    parts, current = [], []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip() == "---":
            parts.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current).strip())
    return [p for p in parts if p]


def rescore(config: AccountConfig, d: Decision, parts: list[str], decisions: DecisionStore,
            checkers) -> Rescore:
    """Score `parts` as plan would have scored them for decision `d`'s slot.

    `checkers` has the optional moderator, judge and embedder plan would use (None each when
    the account asks for none); plan's require_checks refuses a missing one.
    """
    from postloop.core.plan import (DUPLICATE_DAYS, RECENT_DAYS, ContentChecks, _normal, require_checks,
                                    unrecorded)
    if not parts:
        raise EditRejected(["the edited text is empty"])
    if sum(len(p) for p in parts) > MAX_EDIT_CHARS:
        raise EditRejected([f"the edited text is longer than {MAX_EDIT_CHARS} characters"])
    require_checks(config, checkers)
    now = d.planned_at
    history = [h for h in decisions.posted_between(config.account_id, now - timedelta(days=DUPLICATE_DAYS), now)
               if h.decision_id != d.decision_id]
    recent_cut = now - timedelta(days=RECENT_DAYS)
    recent = [" ".join(h.parts) for h in history if h.posted_at >= recent_cut]
    recent_parts = {_normal(p) for h in history for p in h.parts}
    pending = {_normal(p) for h in unrecorded(config.account_id, now, decisions)
               if h.decision_id != d.decision_id for p in h.parts}
    ct = config.content_type(d.content_type or config.content_types[0].name)
    checks = ContentChecks(config, checkers, [Draft(parts=tuple(parts), topic=d.topic or "", generator="edited")], ct)
    checks.safety()
    novelty = checks.novelty(recent)[0]
    checks.repeats(recent_parts, pending)
    quality = checks.judged_quality()[0]
    return Rescore(parts=list(parts), quality=quality, novelty=novelty,
                   components=dict(checks.reports[0].components), reasons=list(checks.problems[0]),
                   checks=checks.records[0])


def apply_edit(config: AccountConfig, r: Rescore, reviewer: str):
    """The `edit` answer_approval applies to the decision: the new text and its scores."""
    if r.reasons:
        raise EditRejected(r.reasons)

    def edit(d: Decision) -> None:
        old = d.features
        d.approval = {**d.approval, "edited_by": reviewer, "original": "\n---\n".join(d.parts)}
        d.parts = list(r.parts)
        d.generator = "edited"
        text = " ".join(r.parts)
        d.features = Features(quality=r.quality, novelty=r.novelty, expertise=feat.expertise(text, config.domain_terms),
                              viral=feat.viral_indicators(r.parts[0]), quality_components=r.components,
                              checks=r.checks or (old.checks if old else {}))
    return edit
