"""The oracle: the truth's best choices under the same schedule and posting rules as the bot.

Two uses. `OracleChooser` plugs into plan as a policy (`--policy oracle`): it goes through the
bot's writer, checks and gate like any policy. `schedule_oracle` is the yardstick of the per-slot
score: for every slot the schedule offered, in order, the type and posting hour with the highest
true expected engagement rate among the hours the spacing rule leaves it (given its own earlier
choices, whose fatigue it pays). Its text is the draft the audience likes best among those the
offline writer gives the bot's plan for that slot and type (same seeds, same number of
candidates), so it is the bound on choosing type, hour and draft. It is greedy, slot by slot, like
the bot; it is never rejected and never fails.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from postloop.core.account import AccountConfig
from postloop.core.offline_writer import OfflineWriter
from postloop.core.plan import _seed, decision_id_for, next_local_hour
from postloop.core.ports import WriteRequest
from postloop_local import audience_text
from postloop_local.world import Past, World

class OracleChooser:
    """Knows the simulated truth: picks the allowed type and hour with the highest expected engagement rate."""

    name = "oracle"

    def __init__(self, world: World):
        self.world = world

    def best(self, config: AccountConfig, now: datetime, appeal: float,
             hours: tuple[int, ...] | None = None) -> tuple[str, int, float]:
        best = None
        for h in (config.posting_hours if hours is None else hours):
            at = next_local_hour(now, h, config.tz)
            history = self.world.history_before(at)
            for ct in config.content_types:
                value = self.world.expected_rate(ct.name, self.world.local_hour(at), appeal, at, history)
                if best is None or value > best[2]:
                    best = (ct.name, h, value)
        return best

    def __call__(self, config: AccountConfig, now: datetime, rng, hours: tuple[int, ...] | None = None
                 ) -> tuple[str, int, float, float]:
        name, hour, _ = self.best(config, now, self.world.appeal_center(now), hours)
        return name, hour, 1.0, 1.0


@dataclass
class SlotBest:
    """The oracle's choice for one slot: nothing (`content_type` None) when the rules left no hour."""

    slot: datetime
    content_type: str | None = None
    hour: int | None = None
    at: datetime | None = None
    rate: float = 0.0
    engagements: float = 0.0
    follows: float = 0.0
    parts: list[str] | None = None


def schedule_oracle(world: World, config: AccountConfig, slots: list[datetime], end: datetime) -> list[SlotBest]:
    """The oracle's choice for each slot (in the slots' order), under the account's spacing rule.

    Hours whose post would fall at or after `end` are not offered (the bot's would not be counted).
    Follower growth feeds its impressions from its own expected follows.
    """
    window = max(timedelta(minutes=config.min_post_spacing_minutes), timedelta(minutes=1))
    writer = OfflineWriter()
    chosen: list[SlotBest] = []
    out: list[SlotBest] = []
    followers = float(world.initial_followers)
    for slot in sorted(slots):
        best = SlotBest(slot)
        drafts = best_drafts(world, config, writer, slot)
        for h in config.posting_hours:
            at = next_local_hour(slot, h, config.tz)
            if at >= end or any(abs(at - c.at) < window for c in chosen):
                continue
            history = [Past(c.at, c.content_type) for c in chosen if c.at < at]
            for ct in config.content_types:
                rate = world.expected_rate(ct.name, world.local_hour(at), drafts[ct.name][0], at, history)
                if rate > best.rate:
                    best = SlotBest(slot, ct.name, h, at, rate)
        if best.content_type is not None:
            grown = followers + sum(c.follows for c in chosen if c.at < best.at)
            impressions = world.expected_impressions(best.at, grown)
            best.engagements = impressions * best.rate
            recent = [" ".join(c.parts) for c in chosen if best.at - timedelta(days=30) <= c.at < best.at]
            signals = audience_text.follow_signals(drafts[best.content_type][1], recent, world.interests)
            best.parts = drafts[best.content_type][1]
            p = world.follow_probability(signals["novelty"], signals["expertise"], signals, best.at)
            best.follows = impressions * p
            chosen.append(best)
        out.append(best)
    return out


def best_drafts(world: World, config: AccountConfig, writer, slot: datetime) -> dict[str, tuple[float, list[str]]]:
    """Per content type, the draft this audience likes best, (appeal, parts), among those the offline
    writer gives the slot's plan (the seeds plan.py uses)."""
    decision_id = decision_id_for(config.account_id, slot)
    out = {}
    for ct in config.content_types:
        best = (-1.0, [])
        for i in range(config.max_candidates):
            draft = writer.write(WriteRequest(
                content_type=ct.name, prompt=ct.prompt, persona=config.persona, niche=config.niche,
                topics=config.topics, thread=ct.thread, seed=_seed(decision_id, f"draft{i}") % (2**32)))
            best = max(best, (audience_text.appeal(draft.parts, ct.name, world.interests), list(draft.parts)))
        out[ct.name] = best
    return out
