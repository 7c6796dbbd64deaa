"""Scenario files: the truth of a simulated audience (format in docs/scenarios.md).

A scenario is YAML or JSON. Drift events change any parameter from a given day
on, by deep-merging a partial scenario over the current one.
"""
from __future__ import annotations

import copy
import json
import math
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postloop.core.events import EventError, parse_time

SHIPPED = Path(__file__).parent / "scenarios"
TOP_KEYS = {"name", "description", "account", "audience_timezone", "start", "content_types", "hour_effects",
            "quality_effect", "quality_center", "noise", "impressions", "engagement_split", "follow",
            "followers", "drift", "accrual_hours", "accrual_sigma", "engagement_accrual_ratio",
            "audience_interests", "type_hour", "day_of_week", "fatigue"}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FATIGUE_KEYS = {"spacing_hours": (0.0, 72.0), "spacing_penalty": (0.0, 1.0), "repeat_last": (0, 20),
                "repeat_penalty": (0.0, 1.0)}


_DIGITS = re.compile(r"[0-9]{1,2}")


class ScenarioError(ValueError):
    """The scenario file is invalid; the message names the field."""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    base: dict
    drift: tuple[tuple[int, dict], ...]

    def params_on(self, day: int) -> dict:
        """The parameters in force on simulated day `day` (0-based)."""
        p = copy.deepcopy(self.base)
        for d, change in self.drift:
            if d <= day:
                _merge(p, change)
        return p

    @property
    def account(self) -> str:
        return self.base["account"]


def _merge(into: dict, change: dict) -> None:
    for k, v in change.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


def resolve(name_or_path: str) -> Path:
    """A shipped scenario by name (e.g. 'stationary') or a file path."""
    try:
        p = Path(name_or_path)
        if p.suffix in (".yaml", ".yml", ".json") and p.exists():
            return p
        for ext in (".yaml", ".yml", ".json"):
            candidate = SHIPPED / f"{name_or_path}{ext}"
            if candidate.exists():
                return candidate
    except (ValueError, OSError):  # a NUL byte or an over-long name: not a scenario either way
        pass
    names = sorted(x.stem for x in SHIPPED.iterdir() if x.suffix in (".yaml", ".json"))
    raise ScenarioError(f"scenario {_show(name_or_path)} not found; shipped: {', '.join(names)}")


def _show(value: Any) -> str:
    """A short repr for messages: hostile values can be megabytes long or deeply nested."""
    return reprlib.Repr(maxstring=40, maxother=40, maxlevel=2).repr(value)


def _unknown(keys, allowed: set) -> str:
    # YAML keys need not be strings, and mixed types do not sort.
    return ", ".join(sorted((_show(k) if not isinstance(k, str) else k) for k in set(keys) - allowed))


def _num(v, where, lo, hi) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{where}: expected a number, got {type(v).__name__}")
    # NaN compares false with both bounds; a huge int would overflow float().
    if isinstance(v, float) and not math.isfinite(v):
        raise ScenarioError(f"{where}: expected a finite number, got {v}")
    if v < lo or v > hi:
        raise ScenarioError(f"{where}: {_show(v)} is outside [{lo}, {hi}]")
    return float(v)


def _mapping(v, where: str, what: str) -> dict:
    if not isinstance(v, dict):
        raise ScenarioError(f"{where}: expected {what}, got {type(v).__name__}")
    return v


def _name(v, where: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ScenarioError(f"{where}: expected a non-empty name, got {_show(v)}")
    return v


def _hour(h, where: str) -> int:
    """An hour key: an int (YAML) or a string of digits (JSON keys are strings)."""
    if isinstance(h, bool) or not isinstance(h, (int, str)) or (isinstance(h, str) and not _DIGITS.fullmatch(h)):
        raise ScenarioError(f"{where}: {_show(h)} is not an hour")
    hour = int(h)
    if not 0 <= hour <= 23:
        raise ScenarioError(f"{where}: hour {hour} is outside 0-23")
    return hour


def _validate_params(p: dict, where: str, partial: bool) -> None:
    """Check types and ranges; reads only, so it is safe on any input (nothing is copied yet)."""
    unknown = _unknown(p, TOP_KEYS)
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {unknown}")
    if not partial:
        for key in ("name", "account", "content_types"):
            if key not in p:
                raise ScenarioError(f"{where}: '{key}' is missing")
    for key in ("name", "account"):
        if key in p:
            _name(p[key], f"{where}.{key}")
    if "description" in p and not isinstance(p["description"], str):
        raise ScenarioError(f"{where}.description: expected text, got {type(p['description']).__name__}")
    if "audience_timezone" in p:
        tz = p["audience_timezone"]
        try:
            ZoneInfo(_name(tz, f"{where}.audience_timezone"))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ScenarioError(f"{where}.audience_timezone: unknown time zone {_show(tz)}") from None
    if "start" in p:
        try:
            parse_time(p["start"], "start")
        except EventError as err:
            # An unquoted YAML timestamp arrives as a date or datetime object, not a string.
            hint = "" if isinstance(p["start"], str) else " (quote it in YAML)"
            raise ScenarioError(f"{where}.start: {str(err).removeprefix(repr('start') + ' ')}{hint}") from None
    if "content_types" in p:
        cts = p["content_types"]
        if not isinstance(cts, dict) or (not partial and not cts):
            raise ScenarioError(f"{where}.content_types: expected a mapping of name to parameters")
        for name, c in cts.items():
            _name(name, f"{where}.content_types")
            w = f"{where}.content_types.{name}"
            _mapping(c, w, "a mapping")
            bad = _unknown(c, {"base_rate", "noise_sigma"})
            if bad:
                raise ScenarioError(f"{w}: unknown field(s) {bad}")
            if not partial and "base_rate" not in c:
                raise ScenarioError(f"{w}: 'base_rate' is missing")
            if "base_rate" in c:
                _num(c["base_rate"], f"{w}.base_rate", 0.0, 1.0)
            if "noise_sigma" in c:
                _num(c["noise_sigma"], f"{w}.noise_sigma", 0.0, 3.0)
    if "hour_effects" in p:
        he = _mapping(p["hour_effects"], f"{where}.hour_effects", "a mapping of hour to rate change")
        hours = [_hour(h, f"{where}.hour_effects") for h in he]
        if len(set(hours)) != len(hours):
            raise ScenarioError(f"{where}.hour_effects: an hour appears twice")
        for h, v in he.items():
            _num(v, f"{where}.hour_effects.{h}", -1.0, 1.0)
    for key, lo, hi in (("quality_effect", -1.0, 1.0), ("quality_center", 0.0, 1.0), ("accrual_hours", 0.1, 48.0),
                         ("accrual_sigma", 0.0, 2.0), ("engagement_accrual_ratio", 0.1, 10.0)):
        if key in p:
            _num(p[key], f"{where}.{key}", lo, hi)
    if "noise" in p:
        n = p["noise"]
        if not isinstance(n, dict) or set(n) - {"sigma"}:
            raise ScenarioError(f"{where}.noise: expected {{sigma: number}}")
        _num(n.get("sigma", 0.25), f"{where}.noise.sigma", 0.0, 3.0)
    if "impressions" in p:
        im = p["impressions"]
        if not isinstance(im, dict) or set(im) - {"median", "sigma", "follower_elasticity"}:
            raise ScenarioError(f"{where}.impressions: expected {{median, sigma, follower_elasticity}}")
        if "follower_elasticity" in im:
            _num(im["follower_elasticity"], f"{where}.impressions.follower_elasticity", 0.0, 2.0)
        if "median" in im:
            _num(im["median"], f"{where}.impressions.median", 1.0, 1e9)
        if "sigma" in im:
            _num(im["sigma"], f"{where}.impressions.sigma", 0.0, 5.0)
    if "engagement_split" in p:
        es = p["engagement_split"]
        if not isinstance(es, dict) or set(es) != {"likes", "retweets", "replies"}:
            raise ScenarioError(f"{where}.engagement_split: expected likes, retweets and replies shares")
        shares = [_num(v, f"{where}.engagement_split.{k}", 0.0, 1.0) for k, v in es.items()]
        if sum(shares) <= 0:  # the audience divides by the sum
            raise ScenarioError(f"{where}.engagement_split: at least one share must be above 0")
    if "follow" in p:
        f = p["follow"]
        if not isinstance(f, dict) or set(f) - {"intercept", "novelty", "expertise", "viral"}:
            raise ScenarioError(f"{where}.follow: expected intercept, novelty, expertise and viral weights")
        for k in ("intercept", "novelty", "expertise"):
            if k in f:
                _num(f[k], f"{where}.follow.{k}", -50.0, 50.0)
        viral = f.get("viral")
        if viral is not None:
            _mapping(viral, f"{where}.follow.viral", "a mapping of indicator to weight")
            for k, v in viral.items():
                _name(k, f"{where}.follow.viral")
                _num(v, f"{where}.follow.viral.{k}", -50.0, 50.0)
    if "audience_interests" in p:
        ai = p["audience_interests"]
        if not isinstance(ai, list):
            raise ScenarioError(f"{where}.audience_interests: expected a list of terms, got {type(ai).__name__}")
        for i, term in enumerate(ai):
            _name(term, f"{where}.audience_interests[{i}]")
    if "type_hour" in p:
        th = _mapping(p["type_hour"], f"{where}.type_hour", "a mapping of content type to hour effects")
        for name, hours in th.items():
            _name(name, f"{where}.type_hour")
            w = f"{where}.type_hour.{name}"
            _mapping(hours, w, "a mapping of hour to rate change")
            seen = [_hour(h, w) for h in hours]
            if len(set(seen)) != len(seen):
                raise ScenarioError(f"{w}: an hour appears twice")
            for h, v in hours.items():
                _num(v, f"{w}.{h}", -1.0, 1.0)
    if "day_of_week" in p:
        dw = _mapping(p["day_of_week"], f"{where}.day_of_week", "a mapping of day (mon..sun) to rate change")
        bad = _unknown(dw, set(DAYS))
        if bad:
            raise ScenarioError(f"{where}.day_of_week: unknown day(s) {bad}; days are {', '.join(DAYS)}")
        for d, v in dw.items():
            _num(v, f"{where}.day_of_week.{d}", -1.0, 1.0)
    if "fatigue" in p:
        fa = _mapping(p["fatigue"], f"{where}.fatigue", "a mapping")
        bad = _unknown(fa, set(FATIGUE_KEYS))
        if bad:
            raise ScenarioError(f"{where}.fatigue: unknown field(s) {bad}")
        for k, v in fa.items():
            lo, hi = FATIGUE_KEYS[k]
            _num(v, f"{where}.fatigue.{k}", lo, hi)
            if k == "repeat_last" and v != int(v):
                raise ScenarioError(f"{where}.fatigue.repeat_last: expected a whole number, got {_show(v)}")
    if "followers" in p:
        fo = p["followers"]
        if not isinstance(fo, dict) or set(fo) - {"initial"}:
            raise ScenarioError(f"{where}.followers: expected {{initial}}")
        _num(fo.get("initial", 0), f"{where}.followers.initial", 0, 1e9)


def parse_scenario(data: Any, path: Path) -> Scenario:
    where = path.name
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping at the top")
    # Everything is validated before the copy: copying an arbitrarily nested
    # document first would exceed the recursion limit on hostile input.
    _validate_params(data, where, partial=False)
    raw_drift = data.get("drift")
    if raw_drift is not None and not isinstance(raw_drift, list):
        raise ScenarioError(f"{where}.drift: expected a list of {{day, set}}, got {type(raw_drift).__name__}")
    for i, ev in enumerate(raw_drift or []):
        w = f"{where}.drift[{i}]"
        if not isinstance(ev, dict) or set(ev) != {"day", "set"}:
            raise ScenarioError(f"{w}: expected {{day, set}}")
        if isinstance(ev["day"], bool) or not isinstance(ev["day"], int) or ev["day"] < 0:
            raise ScenarioError(f"{w}.day: expected a whole day number >= 0")
        if not isinstance(ev["set"], dict):
            raise ScenarioError(f"{w}.set: expected a mapping")
        _validate_params(ev["set"], f"{w}.set", partial=True)
        fixed = {"drift", "name", "description", "account", "audience_timezone", "start", "followers",
                 "accrual_hours", "accrual_sigma", "engagement_accrual_ratio", "audience_interests"} & set(ev["set"])
        if fixed:
            raise ScenarioError(f"{w}.set: {', '.join(sorted(fixed))} cannot drift (fixed for the whole run)")
    # A content type a drift introduces needs a base rate: the audience reads one for every type.
    known = set(data["content_types"])
    for i, ev in sorted(enumerate(raw_drift or []), key=lambda x: x[1]["day"]):
        for name, c in (ev["set"].get("content_types") or {}).items():
            if name not in known and "base_rate" not in c:
                raise ScenarioError(f"{where}.drift[{i}].set.content_types.{name}: 'base_rate' is missing "
                                    "(the type is new on that day)")
            known.add(name)

    data = _no_negative_zero(copy.deepcopy(data))  # normalised below; the caller's data stays as it was
    drift = [(ev["day"], ev["set"]) for ev in data.get("drift") or []]
    base = {k: v for k, v in data.items() if k != "drift"}
    base["hour_effects"] = {int(h): v for h, v in (base.get("hour_effects") or {}).items()}
    if "type_hour" in base:
        base["type_hour"] = {t: {int(h): v for h, v in hs.items()} for t, hs in base["type_hour"].items()}
    for _, change in drift:
        if "hour_effects" in change:
            change["hour_effects"] = {int(h): v for h, v in change["hour_effects"].items()}
        if "type_hour" in change:
            change["type_hour"] = {t: {int(h): v for h, v in hs.items()} for t, hs in change["type_hour"].items()}
    return Scenario(name=data["name"], path=path, base=base, drift=tuple(sorted(drift, key=lambda x: x[0])))


def _no_negative_zero(value):
    """-0.0 passes a [0, x] range check, but numpy refuses it as a scale ("scale < 0")."""
    if isinstance(value, dict):
        return {k: _no_negative_zero(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_negative_zero(v) for v in value]
    return 0.0 if isinstance(value, float) and value == 0 else value


def load_scenario(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path.name}: cannot be read ({type(err).__name__})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as err:  # a parse error of either format, reported with the file's name
        raise ScenarioError(f"{path.name}: cannot be parsed ({type(err).__name__}: {str(err)[:300]})") from None
    scenario = parse_scenario(data, path)
    account = scenario.base["account"]
    if account.endswith(".json") and not Path(account).is_absolute():
        # An account file named by the scenario lives next to it, wherever the command runs from.
        scenario.base["account"] = str((path.parent / account).resolve())
    return scenario
