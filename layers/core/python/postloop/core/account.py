"""One account's configuration: who it is, what it may post, when, and how it learns.

Loaded from a JSON file per account (format in docs/accounts.md). Validation
names the field that is wrong; nothing runs on a half-valid configuration.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postloop.core.plausibility import MAX_COUNT, Plausibility
from postloop.core.post_context import CONTEXT_GROUPS
from postloop.core.records import HORIZONS_HOURS
from postloop.core.safety import MODERATION_CATEGORIES, term_problem

# postloop: the bot as designed. The others exist to measure it against:
# random (uniform type and hour), fixed (the first type at one hour: what a
# person without data would do), seed-naive (Beta Thompson sampling on a fixed
# 3 % success threshold plus UCB1 on raw engagement rates: the original design
# taken literally).
POLICIES = ("postloop", "random", "fixed", "seed-naive")
MODES = ("live", "dry_run", "approval")
NOVELTY_METHODS = ("ngrams", "embeddings")
CHANGE_DETECTION = ("off", "all", "type")

# The account id goes into the X secret's name (postloop/x/<id>; Secrets Manager takes ASCII
# letters, digits and /_+=.@-), DynamoDB keys, metric dimensions and the workflow's input (Step
# Functions refuses whitespace, brackets, wildcards, most punctuation and control characters in
# names). Letters, digits, '-' and '_' pass all of them. ASCII only: str.isalnum() accepts "é"
# and "٣", which Secrets Manager refuses at deploy time. Used with fullmatch: `$` would let a
# trailing newline by.
ACCOUNT_ID_MAX = 64
ACCOUNT_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{ACCOUNT_ID_MAX}}}")


# 90 minutes: one post per posting hour, and two posts never in adjacent hours of an hourly grid.
DEFAULT_MIN_POST_SPACING_MINUTES = 90


class ConfigError(ValueError):
    """The account configuration is invalid; the message names the field."""


@dataclass(frozen=True)
class ContentType:
    name: str
    prompt: str
    thread: bool = False


@dataclass(frozen=True)
class Thresholds:
    engagement_rate: float = 0.035
    follow_probability: float = 0.5


@dataclass(frozen=True)
class Learning:
    # Defaults chosen by the benchmark (docs/benchmarks.md): a long window read
    # with a 21-day half-life, the pooled decider with a narrowed posterior.
    window_days: int = 56
    half_life_days: float | None = 21.0  # weight of a settled post halves every this many days; None: no decay
    min_samples: int = 30          # settled posts before a model may gate
    holdout_fraction: float = 0.25  # the newest share of the window, for held-out metrics
    ridge_alpha: float = 1.0
    logistic_c: float = 1.0
    success: str | float = "relative"   # "relative" (above the window's mean rate) or an absolute rate
    exploration: float = 0.02
    ucb_variant: str = "tuned"
    # How type and hour are chosen: "bandits" (Thompson sampling for the type, UCB
    # for the hour) or "pooled" (Thompson sampling on the engagement model's
    # posterior over type, hour and quality together; bandits until a model exists).
    decider: str = "pooled"
    posterior_scale: float = 0.3   # pooled: multiplies the posterior's covariance (< 1 explores less)
    # "raw", or "winsorised": rates above the window's 97.5th percentile are capped
    # before the engagement model is fitted (tames viral outliers, biases their mean down).
    reward_transform: str = "raw"
    # The engagement model's representation (docs/decisions.md, "Learning"; chosen by the benchmark,
    # docs/bench/selection-model.md). Hours share strength with their neighbours through a random-walk
    # penalty of this strength (0: independent hours); "auto": the strength the data's marginal
    # likelihood prefers, at every learn. 0 by default: on the shipped audiences' jagged hour curves
    # sharing cost about a point of the per-slot score.
    hour_smoothing: float | str = 0.0
    # Context feature groups (core/post_context.py): "weekday", "type_hour", "crowding", "repeat".
    context: tuple[str, ...] = CONTEXT_GROUPS
    interaction_alpha: float | str = "auto"   # the extra ridge penalty on every type × hour cell, or "auto"
    # Settling early (docs/accounts.md): a post counts as settled at its 24 h reading, multiplied by
    # the accrual correction (the account's own 48 h / 24 h rate ratio over posts with both readings,
    # shrunk towards `accrual_prior` as if it were `accrual_prior_pairs` pairs); its 48 h reading
    # replaces it when it arrives. 48: only the 48 h reading counts. These and the change settings
    # below were chosen by the runs in docs/bench/selection-settle.md.
    settle_hours: int = 24
    accrual_prior: float = 1.0
    accrual_prior_pairs: float = 5.0
    # Detecting change (docs/accounts.md): Pettitt's test on the model's residuals per content type
    # and over all posts; when it fires (Bonferroni-corrected p < change_alpha), posts from before the
    # change weigh change_discount times their age weight: every post ("all") or the changed type's
    # ("type"). "off": the half-life alone forgets.
    change_detection: str = "all"
    change_alpha: float = 0.001
    change_discount: float = 0.1
    change_min_segment: int = 12


@dataclass(frozen=True)
class BannedTopic:
    """A topic the account must not post about: hit by any of its terms, or by a moderation category."""

    name: str
    terms: tuple[str, ...] = ()
    moderation_categories: tuple[str, ...] = ()   # needs safety.moderation
    min_category_score: float = 0.5               # a listed category's score that hits the topic unflagged


@dataclass(frozen=True)
class Safety:
    """Checks that block a draft (core/safety.py): they fail closed."""

    banned_words: tuple[str, ...] = ()
    banned_topics: tuple[BannedTopic, ...] = ()
    moderation: bool = False   # OpenAI's moderation endpoint judges every draft

    @property
    def active(self) -> bool:
        return bool(self.banned_words or self.banned_topics or self.moderation)


@dataclass(frozen=True)
class JudgeConfig:
    # Share of a language model's score in the quality feature; 0 turns the judge off.
    weight: float = 0.0


@dataclass(frozen=True)
class NoveltyConfig:
    method: str = "ngrams"   # "ngrams" (character 3-grams) or "embeddings" (the wired embedder)
    # The near-duplicate threshold of the embeddings method (embedding similarities run
    # higher than n-gram ones); the n-gram method, and a fallback to it, use min_novelty.
    # None: the embedder's own calibrated threshold (its `min_novelty`), else EMBEDDINGS_MIN_NOVELTY.
    min_novelty: float | None = None


# The embeddings threshold for an embedder that states none (the API's text-embedding-3-small:
# a starting point, not measured on real posts; the local model's is measured, docs/novelty.md).
EMBEDDINGS_MIN_NOVELTY = 0.1


@dataclass(frozen=True)
class AccountConfig:
    account_id: str
    handle: str
    persona: str
    niche: str
    topics: tuple[str, ...]
    domain_terms: tuple[str, ...]
    timezone: str
    content_types: tuple[ContentType, ...]
    posting_hours: tuple[int, ...]
    posts_per_day: int = 6
    fixed_hour: int | None = None   # the hour of the "fixed" policy; default: the posting hour nearest noon
    thresholds: Thresholds = field(default_factory=Thresholds)
    learning: Learning = field(default_factory=Learning)
    policy: str = "postloop"
    mode: str = "live"
    max_candidates: int = 3
    min_novelty: float = 0.25
    banned_phrases: tuple[str, ...] = ()
    safety: Safety = field(default_factory=Safety)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    novelty: NoveltyConfig = field(default_factory=NoveltyConfig)
    budget_x_usd: float | None = None        # monthly cap of X spend; None: no cap
    budget_openai_usd: float | None = None   # monthly cap of OpenAI spend; None: no cap
    language: str = "en"   # ISO 639-1 code of the posts' language; the quality score checks words against it
    # A post not out this many minutes after its planned time is skipped ("late"), never posted
    # at an hour the policy did not choose; at most 60, so a post always goes out in its hour.
    max_post_delay_minutes: int = 60
    # No two posts closer than this (a creator would not post twice in an hour, and the audience
    # tires of posts close together); at most one post per posting hour whatever the value.
    min_post_spacing_minutes: int = DEFAULT_MIN_POST_SPACING_MINUTES
    # The account's follower count is read from X (a billed user read) at most once in this many
    # hours; posts in between use the latest stored reading (core/followers.py). 0: every post reads.
    follower_read_hours: float = 24.0
    # Metrics outside these bounds are recorded as bad data and never learned from.
    plausibility: Plausibility = field(default_factory=Plausibility)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def settle_hours(self) -> int:
        """The first reading at which a post counts as settled: the account's `learning.settle_hours`;
        48 for seed-naive, the original design taken literally."""
        return 48 if self.policy == "seed-naive" else self.learning.settle_hours

    @property
    def the_fixed_hour(self) -> int:
        if self.fixed_hour is not None:
            return self.fixed_hour
        return min(self.posting_hours, key=lambda h: (abs(h - 12), h))

    def content_type(self, name: str) -> ContentType:
        for ct in self.content_types:
            if ct.name == name:
                return ct
        raise KeyError(name)


def _req(d: dict, key: str, kind, where: str):
    if key not in d:
        raise ConfigError(f"{where}: '{key}' is missing")
    return _typed(d[key], kind, f"{where}.{key}")


def _typed(value, kind, where: str):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise ConfigError(f"{where}: number too large") from None
    # json.loads accepts NaN and Infinity; NaN slips through every range check.
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value}")
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}: expected {kind.__name__}, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _str_list(d: dict, key: str, where: str, *, required: bool = True) -> tuple[str, ...]:
    if key not in d:
        if required:
            raise ConfigError(f"{where}: '{key}' is missing")
        return ()
    items = _typed(d[key], list, f"{where}.{key}")
    for i, item in enumerate(items):
        _typed(item, str, f"{where}.{key}[{i}]")
    return tuple(items)


def _known_keys(d: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")


def parse_account(data: Any, where: str = "account") -> AccountConfig:
    """Validate a decoded configuration and build the config; raises ConfigError naming the field."""
    d = _typed(data, dict, where)
    _known_keys(d, {"account_id", "handle", "persona", "niche", "topics", "domain_terms", "timezone",
                    "content_types", "posting_hours", "posts_per_day", "fixed_hour", "thresholds", "learning", "policy",
                    "mode", "max_candidates", "min_novelty", "banned_phrases", "budgets",
                    "safety", "judge", "novelty", "plausibility", "max_post_delay_minutes",
                    "language", "min_post_spacing_minutes", "follower_read_hours"}, where)
    account_id = _req(d, "account_id", str, where)
    if not ACCOUNT_ID.fullmatch(account_id):
        shown = repr(account_id[:80]) + ("..." if len(account_id) > 80 else "")
        raise ConfigError(f"{where}.account_id: {shown} is not a usable id: use 1-{ACCOUNT_ID_MAX} ASCII letters, "
                          "digits, '-' or '_' (it names the account's X secret and keys its records)")
    tz = _req(d, "timezone", str, where)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}.timezone: unknown time zone {tz!r}") from None

    cts_raw = _req(d, "content_types", list, where)
    if not cts_raw:
        raise ConfigError(f"{where}.content_types: at least one content type is needed")
    cts = []
    for i, c in enumerate(cts_raw):
        w = f"{where}.content_types[{i}]"
        _typed(c, dict, w)
        _known_keys(c, {"name", "prompt", "thread"}, w)
        name = _req(c, "name", str, w)
        if not name or "#" in name:
            raise ConfigError(f"{w}.name: must be non-empty and without '#'")
        cts.append(ContentType(name=name, prompt=_req(c, "prompt", str, w),
                               thread=_typed(c.get("thread", False), bool, f"{w}.thread")))
    if len({c.name for c in cts}) != len(cts):
        raise ConfigError(f"{where}.content_types: names must be unique")

    hours = _req(d, "posting_hours", list, where)
    if not hours:
        raise ConfigError(f"{where}.posting_hours: at least one hour is needed")
    for i, h in enumerate(hours):
        if not isinstance(h, int) or isinstance(h, bool) or not 0 <= h <= 23:
            raise ConfigError(f"{where}.posting_hours[{i}]: must be a whole hour 0-23, got {h!r}")
    if len(set(hours)) != len(hours):
        raise ConfigError(f"{where}.posting_hours: hours must be unique")

    th = _typed(d.get("thresholds", {}), dict, f"{where}.thresholds")
    _known_keys(th, {"engagement_rate", "follow_probability"}, f"{where}.thresholds")
    thresholds = Thresholds(
        engagement_rate=_typed(th.get("engagement_rate", 0.035), float, f"{where}.thresholds.engagement_rate"),
        follow_probability=_typed(th.get("follow_probability", 0.5), float, f"{where}.thresholds.follow_probability"),
    )
    for key in ("engagement_rate", "follow_probability"):
        if not 0 <= getattr(thresholds, key) <= 1:
            raise ConfigError(f"{where}.thresholds.{key}: must lie in [0, 1]")

    ln = _typed(d.get("learning", {}), dict, f"{where}.learning")
    lw = f"{where}.learning"
    _known_keys(ln, {"window_days", "half_life_days", "min_samples", "holdout_fraction", "ridge_alpha", "logistic_c", "success",
                     "exploration", "ucb_variant", "decider", "posterior_scale", "reward_transform",
                     "hour_smoothing", "context", "interaction_alpha",
                     "settle_hours", "accrual_prior", "accrual_prior_pairs", "change_detection", "change_alpha",
                     "change_discount", "change_min_segment"}, lw)
    success = ln.get("success", "relative")
    if not (success == "relative" or (isinstance(success, (int, float)) and not isinstance(success, bool)
                                      and 0 < success < 1)):
        raise ConfigError(f"{lw}.success: 'relative' or an engagement rate in (0, 1), got {success!r}")
    half_life = ln.get("half_life_days", 21.0)
    if half_life is not None:
        half_life = _typed(half_life, float, f"{lw}.half_life_days")
        if half_life <= 0:
            raise ConfigError(f"{lw}.half_life_days: must be > 0 (or null for no decay)")
    learning = Learning(
        window_days=_typed(ln.get("window_days", 56), int, f"{lw}.window_days"),
        half_life_days=half_life,
        min_samples=_typed(ln.get("min_samples", 30), int, f"{lw}.min_samples"),
        holdout_fraction=_typed(ln.get("holdout_fraction", 0.25), float, f"{lw}.holdout_fraction"),
        ridge_alpha=_typed(ln.get("ridge_alpha", 1.0), float, f"{lw}.ridge_alpha"),
        logistic_c=_typed(ln.get("logistic_c", 1.0), float, f"{lw}.logistic_c"),
        success=success,
        exploration=_typed(ln.get("exploration", 0.02), float, f"{lw}.exploration"),
        ucb_variant=_typed(ln.get("ucb_variant", "tuned"), str, f"{lw}.ucb_variant"),
        decider=_typed(ln.get("decider", "pooled"), str, f"{lw}.decider"),
        posterior_scale=_typed(ln.get("posterior_scale", 0.3), float, f"{lw}.posterior_scale"),
        reward_transform=_typed(ln.get("reward_transform", "raw"), str, f"{lw}.reward_transform"),
        hour_smoothing=_strength(ln.get("hour_smoothing", Learning.hour_smoothing), f"{lw}.hour_smoothing"),
        context=_context_groups(ln.get("context", list(Learning.context)), f"{lw}.context"),
        interaction_alpha=_strength(ln.get("interaction_alpha", Learning.interaction_alpha),
                                    f"{lw}.interaction_alpha"),
        settle_hours=_typed(ln.get("settle_hours", Learning.settle_hours), int, f"{lw}.settle_hours"),
        accrual_prior=_typed(ln.get("accrual_prior", Learning.accrual_prior), float, f"{lw}.accrual_prior"),
        accrual_prior_pairs=_typed(ln.get("accrual_prior_pairs", Learning.accrual_prior_pairs), float,
                                   f"{lw}.accrual_prior_pairs"),
        change_detection=_typed(ln.get("change_detection", Learning.change_detection), str,
                                f"{lw}.change_detection"),
        change_alpha=_typed(ln.get("change_alpha", Learning.change_alpha), float, f"{lw}.change_alpha"),
        change_discount=_typed(ln.get("change_discount", Learning.change_discount), float,
                               f"{lw}.change_discount"),
        change_min_segment=_typed(ln.get("change_min_segment", Learning.change_min_segment), int,
                                  f"{lw}.change_min_segment"),
    )
    if learning.settle_hours not in HORIZONS_HOURS:
        raise ConfigError(f"{lw}.settle_hours: one of {', '.join(map(str, HORIZONS_HOURS))} "
                          f"(the hours at which outcomes are read), got {learning.settle_hours}")
    if not 0.5 <= learning.accrual_prior <= 2.0:
        raise ConfigError(f"{lw}.accrual_prior: must lie in [0.5, 2] (the 48 h / 24 h rate ratio assumed "
                          f"before the account's own posts say), got {learning.accrual_prior}")
    if not 0 <= learning.accrual_prior_pairs <= 10000:
        raise ConfigError(f"{lw}.accrual_prior_pairs: must lie in [0, 10000], got {learning.accrual_prior_pairs}")
    if learning.change_detection not in CHANGE_DETECTION:
        raise ConfigError(f"{lw}.change_detection: one of {', '.join(CHANGE_DETECTION)}, "
                          f"got {learning.change_detection!r}")
    if not 0 < learning.change_alpha < 0.5:
        raise ConfigError(f"{lw}.change_alpha: must lie in (0, 0.5), got {learning.change_alpha}")
    if not 0 <= learning.change_discount <= 1:
        raise ConfigError(f"{lw}.change_discount: must lie in [0, 1], got {learning.change_discount}")
    if not 3 <= learning.change_min_segment <= 1000:
        raise ConfigError(f"{lw}.change_min_segment: must lie in 3-1000, got {learning.change_min_segment}")
    if learning.reward_transform not in ("raw", "winsorised"):
        raise ConfigError(f"{lw}.reward_transform: 'raw' or 'winsorised', got {learning.reward_transform!r}")
    if not 0 < learning.posterior_scale <= 10:
        raise ConfigError(f"{lw}.posterior_scale: must lie in (0, 10]")
    if learning.decider not in ("bandits", "pooled"):
        raise ConfigError(f"{lw}.decider: 'bandits' or 'pooled', got {learning.decider!r}")
    if not 1 <= learning.window_days <= 3650:  # learn reads that many days back from now
        raise ConfigError(f"{lw}.window_days: must lie in 1-3650")
    if learning.min_samples < 4:
        raise ConfigError(f"{lw}.min_samples: must be at least 4")
    if not 0.05 <= learning.holdout_fraction <= 0.5:
        raise ConfigError(f"{lw}.holdout_fraction: must lie in [0.05, 0.5]")
    if learning.ridge_alpha < 0 or learning.logistic_c <= 0:
        raise ConfigError(f"{lw}: ridge_alpha must be >= 0 and logistic_c > 0")
    if not 0 <= learning.exploration < 1:
        raise ConfigError(f"{lw}.exploration: must lie in [0, 1)")
    if learning.ucb_variant not in ("tuned", "ucb1"):
        raise ConfigError(f"{lw}.ucb_variant: 'tuned' or 'ucb1', got {learning.ucb_variant!r}")

    fixed_hour = d.get("fixed_hour")
    if fixed_hour is not None and (type(fixed_hour) is not int or fixed_hour not in hours):  # 7.0, True
        raise ConfigError(f"{where}.fixed_hour: must be one of posting_hours, got {fixed_hour!r}")
    policy = _typed(d.get("policy", "postloop"), str, f"{where}.policy")
    if policy not in POLICIES:
        raise ConfigError(f"{where}.policy: one of {', '.join(POLICIES)}, got {policy!r}")
    mode = _typed(d.get("mode", "live"), str, f"{where}.mode")
    if mode not in MODES:
        raise ConfigError(f"{where}.mode: one of {', '.join(MODES)}, got {mode!r}")
    posts_per_day = _typed(d.get("posts_per_day", 6), int, f"{where}.posts_per_day")
    if not 1 <= posts_per_day <= 48:
        raise ConfigError(f"{where}.posts_per_day: must lie in 1-48")
    max_candidates = _typed(d.get("max_candidates", 3), int, f"{where}.max_candidates")
    if not 1 <= max_candidates <= 10:
        raise ConfigError(f"{where}.max_candidates: must lie in 1-10")
    min_novelty = _typed(d.get("min_novelty", 0.25), float, f"{where}.min_novelty")
    if not 0 <= min_novelty < 1:
        raise ConfigError(f"{where}.min_novelty: must lie in [0, 1)")
    max_delay = _typed(d.get("max_post_delay_minutes", 60), int, f"{where}.max_post_delay_minutes")
    if not 1 <= max_delay <= 60:
        raise ConfigError(f"{where}.max_post_delay_minutes: must lie in 1-60 (a later post would go out "
                          f"at an hour the policy did not choose), got {max_delay}")
    follower_read_hours = _typed(d.get("follower_read_hours", 24.0), float, f"{where}.follower_read_hours")
    if not 0 <= follower_read_hours <= 168:
        raise ConfigError(f"{where}.follower_read_hours: must lie in 0-168 (0: read at every post), "
                          f"got {follower_read_hours}")
    spacing = _typed(d.get("min_post_spacing_minutes", DEFAULT_MIN_POST_SPACING_MINUTES), int,
                     f"{where}.min_post_spacing_minutes")
    if not 0 <= spacing <= 720:
        raise ConfigError(f"{where}.min_post_spacing_minutes: must lie in 0-720, got {spacing}")

    language = _typed(d.get("language", "en"), str, f"{where}.language")
    if not (len(language) == 2 and language.isascii() and language.isalpha() and language.islower()):
        raise ConfigError(f"{where}.language: a two-letter ISO 639-1 code such as 'en', got {language!r}")
    budgets = _typed(d.get("budgets", {}), dict, f"{where}.budgets")
    _known_keys(budgets, {"x_usd_per_month", "openai_usd_per_month"}, f"{where}.budgets")
    caps = {}
    for key in ("x_usd_per_month", "openai_usd_per_month"):
        value = budgets.get(key)
        if value is not None:
            value = _typed(value, float, f"{where}.budgets.{key}")
            if value < 0:
                raise ConfigError(f"{where}.budgets.{key}: must be >= 0 (or null for no cap)")
        caps[key] = value

    return AccountConfig(
        account_id=account_id,
        handle=_req(d, "handle", str, where),
        persona=_req(d, "persona", str, where),
        niche=_req(d, "niche", str, where),
        topics=_str_list(d, "topics", where),
        domain_terms=_str_list(d, "domain_terms", where, required=False),
        timezone=tz,
        content_types=tuple(cts),
        posting_hours=tuple(hours),
        posts_per_day=posts_per_day,
        fixed_hour=fixed_hour,
        thresholds=thresholds,
        learning=learning,
        policy=policy,
        mode=mode,
        max_candidates=max_candidates,
        min_novelty=min_novelty,
        banned_phrases=_str_list(d, "banned_phrases", where, required=False),
        safety=_parse_safety(d.get("safety", {}), f"{where}.safety"),
        judge=_parse_judge(d.get("judge", {}), f"{where}.judge"),
        novelty=_parse_novelty(d.get("novelty", {}), f"{where}.novelty"),
        budget_x_usd=caps["x_usd_per_month"],
        budget_openai_usd=caps["openai_usd_per_month"],
        language=language,
        max_post_delay_minutes=max_delay,
        min_post_spacing_minutes=spacing,
        follower_read_hours=follower_read_hours,
        plausibility=_parse_plausibility(d.get("plausibility", {}), f"{where}.plausibility"),
    )


def _strength(raw: Any, where: str) -> float | str:
    """A penalty strength: "auto" or a number in [0, 10^6]."""
    if raw == "auto":
        return raw
    if isinstance(raw, str):
        raise ConfigError(f"{where}: \"auto\" or a number in [0, 10^6], got {raw!r}")
    value = _typed(raw, float, where)
    if not 0 <= value <= 1e6:
        raise ConfigError(f"{where}: \"auto\" or a number in [0, 10^6], got {value!r}")
    return value


def _context_groups(raw: Any, where: str) -> tuple[str, ...]:
    groups = _typed(raw, list, where)
    for i, g in enumerate(groups):
        if g not in CONTEXT_GROUPS:
            raise ConfigError(f"{where}[{i}]: one of {', '.join(CONTEXT_GROUPS)}, got {g!r}")
    if len(set(groups)) != len(groups):
        raise ConfigError(f"{where}: groups must be unique")
    return tuple(g for g in CONTEXT_GROUPS if g in groups)


def _parse_plausibility(raw: Any, where: str) -> Plausibility:
    p = _typed(raw, dict, where)
    _known_keys(p, {"max_engagement_rate", "max_impressions", "max_impressions_per_follower"}, where)
    default = Plausibility()
    rate = _typed(p.get("max_engagement_rate", default.max_engagement_rate), float, f"{where}.max_engagement_rate")
    if not 0 < rate <= 1:
        raise ConfigError(f"{where}.max_engagement_rate: must lie in (0, 1], got {rate}")
    impressions = _typed(p.get("max_impressions", default.max_impressions), int, f"{where}.max_impressions")
    if not 1 <= impressions < MAX_COUNT:
        raise ConfigError(f"{where}.max_impressions: must be a whole number in [1, 10^12), got {impressions}")
    per_follower = _typed(p.get("max_impressions_per_follower", default.max_impressions_per_follower), float,
                          f"{where}.max_impressions_per_follower")
    if not per_follower > 0:
        raise ConfigError(f"{where}.max_impressions_per_follower: must be > 0, got {per_follower}")
    return Plausibility(max_engagement_rate=rate, max_impressions=impressions,
                        max_impressions_per_follower=per_follower)


def _terms(d: dict, key: str, where: str) -> tuple[str, ...]:
    terms = _str_list(d, key, where, required=False)
    for i, term in enumerate(terms):
        problem = term_problem(term)
        if problem:
            raise ConfigError(f"{where}.{key}[{i}]: {problem}, got {term!r}")
    return terms


def _parse_safety(raw: Any, where: str) -> Safety:
    d = _typed(raw, dict, where)
    _known_keys(d, {"banned_words", "banned_topics", "moderation"}, where)
    moderation = _typed(d.get("moderation", False), bool, f"{where}.moderation")
    topics = []
    for i, item in enumerate(_typed(d.get("banned_topics", []), list, f"{where}.banned_topics")):
        w = f"{where}.banned_topics[{i}]"
        if isinstance(item, str):   # shorthand: the topic's name is its only term
            item = {"name": item, "terms": [item]}
        _typed(item, dict, w)
        _known_keys(item, {"name", "terms", "moderation_categories", "min_category_score"}, w)
        name = _req(item, "name", str, w)
        if not name.strip():
            raise ConfigError(f"{w}.name: must not be empty")
        terms = _terms(item, "terms", w)
        categories = _str_list(item, "moderation_categories", w, required=False)
        for j, category in enumerate(categories):
            if category not in MODERATION_CATEGORIES:
                raise ConfigError(f"{w}.moderation_categories[{j}]: one of {', '.join(MODERATION_CATEGORIES)}, "
                                  f"got {category!r}")
        if categories and not moderation:
            raise ConfigError(f"{w}.moderation_categories: needs {where}.moderation set to true")
        if not terms and not categories:
            raise ConfigError(f"{w}: needs 'terms' or 'moderation_categories'")
        score = _typed(item.get("min_category_score", 0.5), float, f"{w}.min_category_score")
        if not 0 < score <= 1:
            raise ConfigError(f"{w}.min_category_score: must lie in (0, 1]")
        topics.append(BannedTopic(name=name, terms=terms, moderation_categories=categories,
                                  min_category_score=score))
    if len({t.name for t in topics}) != len(topics):
        raise ConfigError(f"{where}.banned_topics: names must be unique")
    return Safety(banned_words=_terms(d, "banned_words", where), banned_topics=tuple(topics),
                  moderation=moderation)


def _parse_judge(raw: Any, where: str) -> JudgeConfig:
    d = _typed(raw, dict, where)
    _known_keys(d, {"weight"}, where)
    weight = _typed(d.get("weight", 0.0), float, f"{where}.weight")
    if not 0 <= weight <= 1:
        raise ConfigError(f"{where}.weight: must lie in [0, 1], got {weight!r}")
    return JudgeConfig(weight=weight)


def _parse_novelty(raw: Any, where: str) -> NoveltyConfig:
    d = _typed(raw, dict, where)
    _known_keys(d, {"method", "min_novelty"}, where)
    method = _typed(d.get("method", "ngrams"), str, f"{where}.method")
    if method not in NOVELTY_METHODS:
        raise ConfigError(f"{where}.method: one of {', '.join(NOVELTY_METHODS)}, got {method!r}")
    min_novelty = d.get("min_novelty")
    if min_novelty is not None:
        min_novelty = _typed(min_novelty, float, f"{where}.min_novelty")
        if not 0 <= min_novelty < 1:
            raise ConfigError(f"{where}.min_novelty: must lie in [0, 1)")
    return NoveltyConfig(method=method, min_novelty=min_novelty)


def load_accounts(path: str | Path) -> dict[str, AccountConfig]:
    """Read a file holding one account object or a list of them; keyed by account id."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"account configuration file not found: {p}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{p}: not valid JSON ({err.msg} at line {err.lineno})") from None
    except (OSError, ValueError, RecursionError) as err:  # a directory, bad UTF-8, nesting past the limit
        raise ConfigError(f"{p}: cannot be read as JSON ({type(err).__name__})") from None
    items = data if isinstance(data, list) else [data]
    accounts: dict[str, AccountConfig] = {}
    for i, item in enumerate(items):
        cfg = parse_account(item, where=f"{p.name}[{i}]" if isinstance(data, list) else p.name)
        if cfg.account_id in accounts:
            raise ConfigError(f"{p.name}: account_id {cfg.account_id!r} appears twice")
        accounts[cfg.account_id] = cfg
    return accounts
