"""Scenario files: the truth of a simulated audience (format in docs/scenarios.md).

A scenario is YAML or JSON. Drift events change any parameter from a given day
on, by deep-merging a partial scenario over the current one.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).parent / "scenarios"
TOP_KEYS = {"name", "description", "account", "audience_timezone", "start", "content_types", "hour_effects",
            "quality_effect", "quality_center", "noise", "impressions", "engagement_split", "follow",
            "followers", "drift", "accrual_hours"}


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
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml", ".json") and p.exists():
        return p
    for ext in (".yaml", ".yml", ".json"):
        candidate = SHIPPED / f"{name_or_path}{ext}"
        if candidate.exists():
            return candidate
    names = sorted(x.stem for x in SHIPPED.iterdir() if x.suffix in (".yaml", ".json"))
    raise ScenarioError(f"scenario {name_or_path!r} not found; shipped: {', '.join(names)}")


def _num(v, where, lo=None, hi=None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ScenarioError(f"{where}: expected a number, got {type(v).__name__}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ScenarioError(f"{where}: {v} is outside [{lo}, {hi}]")
    return float(v)


def _validate_params(p: dict, where: str, partial: bool) -> None:
    unknown = sorted(set(p) - TOP_KEYS)
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not partial:
        for key in ("name", "account", "content_types"):
            if key not in p:
                raise ScenarioError(f"{where}: '{key}' is missing")
    if "content_types" in p:
        cts = p["content_types"]
        if not isinstance(cts, dict) or (not partial and not cts):
            raise ScenarioError(f"{where}.content_types: expected a mapping of name to parameters")
        for name, c in cts.items():
            w = f"{where}.content_types.{name}"
            if not isinstance(c, dict):
                raise ScenarioError(f"{w}: expected a mapping")
            bad = sorted(set(c) - {"base_rate", "noise_sigma"})
            if bad:
                raise ScenarioError(f"{w}: unknown field(s) {', '.join(bad)}")
            if not partial and "base_rate" not in c:
                raise ScenarioError(f"{w}: 'base_rate' is missing")
            if "base_rate" in c:
                _num(c["base_rate"], f"{w}.base_rate", 0.0, 1.0)
            if "noise_sigma" in c:
                _num(c["noise_sigma"], f"{w}.noise_sigma", 0.0, 3.0)
    if "hour_effects" in p:
        he = p["hour_effects"]
        if not isinstance(he, dict):
            raise ScenarioError(f"{where}.hour_effects: expected a mapping of hour to rate change")
        for h, v in he.items():
            try:
                hour = int(h)
            except (TypeError, ValueError):
                raise ScenarioError(f"{where}.hour_effects: {h!r} is not an hour") from None
            if not 0 <= hour <= 23:
                raise ScenarioError(f"{where}.hour_effects: hour {hour} is outside 0-23")
            _num(v, f"{where}.hour_effects.{h}", -1.0, 1.0)
    for key, lo, hi in (("quality_effect", -1.0, 1.0), ("quality_center", 0.0, 1.0), ("accrual_hours", 0.1, 48.0)):
        if key in p:
            _num(p[key], f"{where}.{key}", lo, hi)
    if "noise" in p:
        n = p["noise"]
        if not isinstance(n, dict) or set(n) - {"sigma"}:
            raise ScenarioError(f"{where}.noise: expected {{sigma: number}}")
        _num(n.get("sigma", 0.25), f"{where}.noise.sigma", 0.0, 3.0)
    if "impressions" in p:
        im = p["impressions"]
        if not isinstance(im, dict) or set(im) - {"median", "sigma"}:
            raise ScenarioError(f"{where}.impressions: expected {{median, sigma}}")
        if "median" in im:
            _num(im["median"], f"{where}.impressions.median", 1.0, 1e9)
        if "sigma" in im:
            _num(im["sigma"], f"{where}.impressions.sigma", 0.0, 5.0)
    if "engagement_split" in p:
        es = p["engagement_split"]
        if not isinstance(es, dict) or set(es) != {"likes", "retweets", "replies"}:
            raise ScenarioError(f"{where}.engagement_split: expected likes, retweets and replies shares")
        for k, v in es.items():
            _num(v, f"{where}.engagement_split.{k}", 0.0, 1.0)
    if "follow" in p:
        f = p["follow"]
        if not isinstance(f, dict) or set(f) - {"intercept", "novelty", "expertise", "viral"}:
            raise ScenarioError(f"{where}.follow: expected intercept, novelty, expertise and viral weights")
        for k in ("intercept", "novelty", "expertise"):
            if k in f:
                _num(f[k], f"{where}.follow.{k}", -50.0, 50.0)
        for k, v in (f.get("viral") or {}).items():
            _num(v, f"{where}.follow.viral.{k}", -50.0, 50.0)
    if "followers" in p:
        fo = p["followers"]
        if not isinstance(fo, dict) or set(fo) - {"initial"}:
            raise ScenarioError(f"{where}.followers: expected {{initial}}")
        _num(fo.get("initial", 0), f"{where}.followers.initial", 0, 1e9)


def parse_scenario(data: Any, path: Path) -> Scenario:
    where = path.name
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: expected a mapping at the top")
    data = copy.deepcopy(data)  # normalised below; the caller's data stays as it was
    _validate_params(data, where, partial=False)
    drift = []
    for i, ev in enumerate(data.get("drift") or []):
        w = f"{where}.drift[{i}]"
        if not isinstance(ev, dict) or set(ev) != {"day", "set"}:
            raise ScenarioError(f"{w}: expected {{day, set}}")
        if isinstance(ev["day"], bool) or not isinstance(ev["day"], int) or ev["day"] < 0:
            raise ScenarioError(f"{w}.day: expected a whole day number >= 0")
        if not isinstance(ev["set"], dict):
            raise ScenarioError(f"{w}.set: expected a mapping")
        _validate_params(ev["set"], f"{w}.set", partial=True)
        fixed = {"drift", "name", "description", "account", "audience_timezone", "start", "followers",
                 "accrual_hours"} & set(ev["set"])
        if fixed:
            raise ScenarioError(f"{w}.set: {', '.join(sorted(fixed))} cannot drift (fixed for the whole run)")
        drift.append((ev["day"], ev["set"]))
    base = {k: v for k, v in data.items() if k != "drift"}
    base["hour_effects"] = {int(h): v for h, v in (base.get("hour_effects") or {}).items()}
    for _, change in drift:
        if "hour_effects" in change:
            change["hour_effects"] = {int(h): v for h, v in change["hour_effects"].items()}
    return Scenario(name=data["name"], path=path, base=base, drift=tuple(sorted(drift, key=lambda x: x[0])))


def load_scenario(name_or_path: str) -> Scenario:
    path = resolve(name_or_path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as err:  # a parse error of either format, reported with the file's name
        raise ScenarioError(f"{path.name}: cannot be parsed ({type(err).__name__}: {err})") from None
    return parse_scenario(data, path)
