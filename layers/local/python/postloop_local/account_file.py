"""Account files as the local tools read them: every error at once, each naming the file and field.

The shape of an account (types, ranges, allowed values, unknown fields) is the pydantic model
below; docs/account.schema.json is generated from it for editors (`python -m
postloop_local.account_file > docs/account.schema.json`, checked by tests/unit/test_account_file.py).
Rules that tie fields together (unique names, fixed_hour among posting_hours, a known time
zone, moderation categories needing moderation) stay in core/account.py's parser, which runs
next and is what the deployed functions use: the Lambda path does not import pydantic (its
cold-start cost, docs/performance.md), so the shape check lives here, in the tools only.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from postloop.core.account import (ACCOUNT_ID_MAX, DEFAULT_MIN_POST_SPACING_MINUTES, MODES, NOVELTY_METHODS,
                                   POLICIES, ConfigError, parse_account)
from postloop.core.plausibility import MAX_COUNT
from postloop.core.safety import MODERATION_CATEGORIES

ACCOUNTS_DIR = Path(__file__).parent / "accounts"
MAX_BYTES = 1_000_000   # an account file is a few kB; a bigger one is the wrong file


class AccountFileError(ValueError):
    """The account file cannot be used; `problems` lists every one found, each naming file and field."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    # strict: no "3" for 3 and no true for 1; a float field still takes a whole number.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


Hour = Annotated[int, Field(ge=0, le=23)]
Rate01 = Annotated[float, Field(ge=0, le=1)]


class ContentTypeModel(_Strict):
    name: Annotated[str, Field(min_length=1, pattern=r"^[^#]+$", description="unique; no '#'")]
    prompt: str
    thread: bool = False


class ThresholdsModel(_Strict):
    engagement_rate: Rate01 = 0.035
    follow_probability: Rate01 = 0.5


class LearningModel(_Strict):
    window_days: Annotated[int, Field(ge=1, le=3650)] = 56
    half_life_days: Annotated[float, Field(gt=0)] | None = 21.0
    min_samples: Annotated[int, Field(ge=4)] = 30
    holdout_fraction: Annotated[float, Field(ge=0.05, le=0.5)] = 0.25
    ridge_alpha: Annotated[float, Field(ge=0)] = 1.0
    logistic_c: Annotated[float, Field(gt=0)] = 1.0
    success: Union[Literal["relative"], Annotated[float, Field(gt=0, lt=1)]] = "relative"
    exploration: Annotated[float, Field(ge=0, lt=1)] = 0.02
    ucb_variant: Literal["tuned", "ucb1"] = "tuned"
    decider: Literal["bandits", "pooled"] = "pooled"
    posterior_scale: Annotated[float, Field(gt=0, le=10)] = 0.3
    reward_transform: Literal["raw", "winsorised"] = "raw"
    hour_smoothing: Literal["auto"] | Annotated[float, Field(ge=0, le=1e6)] = 0.0
    context: list[Literal["weekday", "type_hour", "crowding", "repeat"]] = ["weekday", "type_hour", "crowding",
                                                                           "repeat"]
    interaction_alpha: Literal["auto"] | Annotated[float, Field(ge=0, le=1e6)] = "auto"
    settle_hours: Literal[24, 48] = 24
    accrual_prior: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    accrual_prior_pairs: Annotated[float, Field(ge=0, le=10000)] = 5.0
    change_detection: Literal["off", "all", "type"] = "all"
    change_alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.001
    change_discount: Annotated[float, Field(ge=0, le=1)] = 0.1
    change_min_segment: Annotated[int, Field(ge=3, le=1000)] = 12


class BannedTopicModel(_Strict):
    name: Annotated[str, Field(min_length=1)]
    terms: list[str] = []
    moderation_categories: list[Literal[MODERATION_CATEGORIES]] = []   # type: ignore[valid-type]
    min_category_score: Annotated[float, Field(gt=0, le=1)] = 0.5


class SafetyModel(_Strict):
    banned_words: list[str] = []
    # A bare string is shorthand for a topic whose only term is its name.
    banned_topics: list[Union[str, BannedTopicModel]] = []
    moderation: bool = False


class JudgeModel(_Strict):
    weight: Rate01 = 0.0


class NoveltyModel(_Strict):
    method: Literal[NOVELTY_METHODS] = "ngrams"   # type: ignore[valid-type]
    min_novelty: Annotated[float, Field(ge=0, lt=1)] | None = None


class BudgetsModel(_Strict):
    x_usd_per_month: Annotated[float, Field(ge=0)] | None = None
    openai_usd_per_month: Annotated[float, Field(ge=0)] | None = None


class PlausibilityModel(_Strict):
    max_engagement_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    max_impressions: Annotated[int, Field(ge=1, lt=MAX_COUNT)] = 10**10
    max_impressions_per_follower: Annotated[float, Field(gt=0)] = 100_000.0


class AccountModel(_Strict):
    """One account (docs/accounts.md)."""

    account_id: Annotated[str, Field(pattern=rf"^[A-Za-z0-9_-]{{1,{ACCOUNT_ID_MAX}}}$")]
    handle: str
    persona: str
    niche: str
    topics: list[str]
    domain_terms: list[str] = []
    timezone: Annotated[str, Field(description="an IANA time zone, e.g. Europe/Berlin")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2}$")] = "en"
    content_types: Annotated[list[ContentTypeModel], Field(min_length=1)]
    posting_hours: Annotated[list[Hour], Field(min_length=1)]
    posts_per_day: Annotated[int, Field(ge=1, le=48)] = 6
    fixed_hour: Hour | None = None
    thresholds: ThresholdsModel = ThresholdsModel()
    learning: LearningModel = LearningModel()
    policy: Literal[POLICIES] = "postloop"   # type: ignore[valid-type]
    mode: Literal[MODES] = "live"   # type: ignore[valid-type]
    max_candidates: Annotated[int, Field(ge=1, le=10)] = 3
    min_novelty: Annotated[float, Field(ge=0, lt=1)] = 0.25
    banned_phrases: list[str] = []
    safety: SafetyModel = SafetyModel()
    judge: JudgeModel = JudgeModel()
    novelty: NoveltyModel = NoveltyModel()
    budgets: BudgetsModel = BudgetsModel()
    plausibility: PlausibilityModel = PlausibilityModel()
    max_post_delay_minutes: Annotated[int, Field(ge=1, le=60)] = 60
    min_post_spacing_minutes: Annotated[int, Field(ge=0, le=720)] = DEFAULT_MIN_POST_SPACING_MINUTES
    follower_read_hours: Annotated[float, Field(ge=0, le=168)] = 24.0


def json_schema() -> dict:
    """The JSON Schema of an account file: one account or a list of them."""
    one = AccountModel.model_json_schema(ref_template="#/$defs/{model}")
    defs = one.pop("$defs", {})
    defs["Account"] = one
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/postloop/postloop/docs/account.schema.json",
            "title": "postloop account file",
            "description": "One account, or a list of accounts (docs/accounts.md).",
            "oneOf": [{"$ref": "#/$defs/Account"},
                      {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Account"}}],
            "$defs": defs}


def resolve(name_or_file: str) -> Path:
    """A shipped account by name (postloop_local/accounts/NAME.json) or a file path."""
    shipped = ACCOUNTS_DIR / f"{name_or_file}.json"
    if "/" not in name_or_file and not name_or_file.endswith(".json") and shipped.is_file():
        return shipped
    p = Path(name_or_file)
    if p.suffix != ".json" and not p.exists():
        names = ", ".join(sorted(x.stem for x in ACCOUNTS_DIR.glob("*.json")))
        raise AccountFileError([f"no shipped account {name_or_file!r} (shipped: {names}); "
                                "or give the path of an account JSON file"])
    return p


def _field(loc: tuple) -> str:
    out = ""
    for part in loc:
        # pydantic names the branch of a union it tried (e.g. 'str', 'BannedTopicModel'): not a field.
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "float", "int", "bool", "list", "dict") or part.endswith("Model") \
                or part.startswith(("literal[", "constrained-", "function-")):
            continue
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _shape_problems(item, where: str) -> list[str]:
    try:
        AccountModel.model_validate(item)
    except ValidationError as err:
        by_field: dict[str, list[str]] = {}
        for e in err.errors(include_url=False):
            msg = e["msg"].replace("Input should be", "should be").replace("String should", "should")
            msg = re.sub(r" or instance of \w+", "", msg)
            if e["type"] == "extra_forbidden":
                msg = "unknown field"
            elif e["type"] == "missing":
                msg = "is missing"
            by_field.setdefault(_field(e["loc"]), []).append(msg)
        # A union (e.g. learning.success) reports one message per branch: one line, joined by "or".
        return [f"{where}: {name}: {' or '.join(dict.fromkeys(msgs))}" for name, msgs in by_field.items()]
    return []


def read(path: Path) -> object:
    """The decoded JSON of an account file, or AccountFileError with one clear sentence."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AccountFileError([f"{path}: account file not found"]) from None
    except IsADirectoryError:
        raise AccountFileError([f"{path}: is a folder, not an account file"]) from None
    except OSError as err:
        raise AccountFileError([f"{path}: cannot be read ({err.strerror})"]) from None
    if len(raw) > MAX_BYTES:
        raise AccountFileError([f"{path}: {len(raw):,} bytes; an account file is a few kB (limit {MAX_BYTES:,})"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise AccountFileError([f"{path}: not a UTF-8 text file (byte {err.start}); an account file is JSON"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise AccountFileError([f"{path}: not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"]) \
            from None
    except RecursionError:
        raise AccountFileError([f"{path}: nested too deeply to be an account file"]) from None


def check(path: Path) -> list[dict]:
    """Every account of the file, checked: the shape by the model (all problems at once), then the
    rules across fields by the parser the functions use. Raises AccountFileError."""
    data = read(path)
    if isinstance(data, list) and not data:
        raise AccountFileError([f"{path}: an empty list; give one account object or a list of them"])
    items = data if isinstance(data, list) else [data]
    wheres = [f"{path}[{i}]" if isinstance(data, list) else str(path) for i in range(len(items))]
    problems = [p for item, where in zip(items, wheres) for p in _shape_problems(item, where)]
    if problems:
        raise AccountFileError(problems)
    seen: set[str] = set()
    for item, where in zip(items, wheres):
        try:
            cfg = parse_account(item, where=where)
        except ConfigError as err:
            problems.append(str(err))
            continue
        if cfg.account_id in seen:
            problems.append(f"{where}: account_id {cfg.account_id!r} appears twice")
        seen.add(cfg.account_id)
    if problems:
        raise AccountFileError(problems)
    return items


def load_one(name_or_file: str) -> tuple[Path, dict]:
    """A shipped account or a file holding exactly one account, checked; (its path, its JSON)."""
    path = resolve(name_or_file)
    items = check(path)
    if len(items) != 1:
        raise AccountFileError([f"{path}: holds {len(items)} accounts; give a file with the one account to use"])
    return path.resolve(), items[0]


if __name__ == "__main__":
    json.dump(json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
