"""Hostile configuration: the account file and the scenario file.

Any value in any field, any field missing, any extra field, any bytes on disk:
the loaders either return a configuration the rest of the code can use as is,
or raise ConfigError / ScenarioError naming the path of the bad field. Never a
TypeError, KeyError, AttributeError, RecursionError or a crash later on.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from postloop.core.account import (
    ACCOUNT_ID,
    AccountConfig,
    ConfigError,
    load_accounts,
    parse_account,
)
from postloop_local.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)
from postloop_local.world import World

from tests.hostile import json_values, large, numbers, shallow_values

ROOT = Path(__file__).resolve().parents[2]
DEMO = json.loads((ROOT / "layers/local/python/postloop_local/accounts/demo.json").read_text(encoding="utf-8"))
SCENARIO = yaml.safe_load((ROOT / "layers/local/python/postloop_local/scenarios/drift.yaml").read_text(encoding="utf-8"))

# -- account configuration ---------------------------------------------------------

# Every field the format knows (docs/accounts.md), including the optional ones
# the demo leaves out, as paths into the document.
ACCOUNT_PATHS = (
    [(k,) for k in ("account_id", "handle", "persona", "niche", "topics", "domain_terms", "timezone",
                    "content_types", "posting_hours", "posts_per_day", "fixed_hour", "thresholds", "learning",
                    "policy", "mode", "max_candidates", "min_novelty", "banned_phrases", "budgets", "plausibility",
                    "max_post_delay_minutes")]
    + [("thresholds", k) for k in ("engagement_rate", "follow_probability")]
    + [("learning", k) for k in ("window_days", "half_life_days", "min_samples", "holdout_fraction", "ridge_alpha",
                                 "logistic_c", "success", "exploration", "ucb_variant", "decider",
                                 "posterior_scale", "reward_transform")]
    + [("budgets", k) for k in ("x_usd_per_month", "openai_usd_per_month")]
    + [("plausibility", k) for k in ("max_engagement_rate", "max_impressions", "max_impressions_per_follower")]
    + [("content_types", i, k) for i in (0, 1) for k in ("name", "prompt", "thread")]
    + [("content_types", 2), ("posting_hours", 0), ("posting_hours", 7), ("topics", 1), ("banned_phrases", 0)]
)


def _set(doc: dict, path: tuple, value) -> None:
    target = doc
    for step in path[:-1]:
        if isinstance(target, dict) and step not in target:
            target[step] = {}
        target = target[step]
    target[path[-1]] = value


def _delete(doc: dict, path: tuple) -> bool:
    target = doc
    for step in path[:-1]:
        if step not in target:
            return False
        target = target[step]
    if path[-1] not in target:
        return False
    del target[path[-1]]
    return True


def _dotted(root: str, path: tuple) -> str:
    out = root
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def _names(message: str, root: str, path: tuple, *, missing: bool = False) -> bool:
    """Does the message point at `path`? Its top-level field must appear as a path
    (`account.learning...`); a key inside a mapping must appear by name, since the
    message may report it from the mapping (`account.learning: 'ridge_alpha' is missing`)."""
    if missing and len(path) == 1:
        return f"{root}: '{path[0]}'" in message
    if _dotted(root, path[:1]) not in message:
        return False
    leaf = path[-1]
    if isinstance(leaf, str) and len(path) > 1 and leaf not in message:
        # A content type's name may be refused as a duplicate of another one.
        return path[0] == "content_types" and "names must be unique" in message
    return True


def _sane(cfg: AccountConfig) -> None:
    """What plan, post, scrape and learn assume about a parsed configuration."""
    def check(obj, where):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                check(v, f"{where}.{f.name}")
            elif isinstance(v, float):
                assert math.isfinite(v), f"{where}.{f.name} = {v}"
            elif isinstance(v, tuple):
                for item in v:
                    if dataclasses.is_dataclass(item):
                        check(item, f"{where}.{f.name}")
    check(cfg, "config")
    # The id names AWS resources (the X secret postloop/x/<id>): ASCII letters, digits, '-', '_'.
    assert ACCOUNT_ID.fullmatch(cfg.account_id) and cfg.account_id.isascii(), cfg.account_id
    assert all(type(h) is int and 0 <= h <= 23 for h in cfg.posting_hours)
    assert cfg.fixed_hour is None or (type(cfg.fixed_hour) is int and cfg.fixed_hour in cfg.posting_hours)
    assert type(cfg.the_fixed_hour) is int
    assert all(isinstance(t, str) for t in cfg.topics + cfg.domain_terms + cfg.banned_phrases)
    assert all(isinstance(c.name, str) and c.name and isinstance(c.prompt, str) and type(c.thread) is bool
               for c in cfg.content_types)
    assert type(cfg.learning.window_days) is int and type(cfg.learning.min_samples) is int
    # learn and plan look window_days back from the event's time (as early as 2000).
    datetime(2000, 1, 1, tzinfo=timezone.utc) - timedelta(days=cfg.learning.window_days)
    assert cfg.tz is not None
    for cap in (cfg.budget_x_usd, cfg.budget_openai_usd):
        assert cap is None or (math.isfinite(cap) and cap >= 0)


def _parse_account(doc, root="account"):
    try:
        cfg = parse_account(doc, where=root)
    except ConfigError as err:
        return None, str(err)
    _sane(cfg)
    return cfg, None


# One run per field, so every field sees its share of NaNs, huge numbers and wrong types.
@pytest.mark.parametrize("path", ACCOUNT_PATHS, ids=lambda p: ".".join(map(str, p)))
@settings(max_examples=40)
@given(value=st.one_of(json_values, numbers))
def test_account_field_with_any_value_is_usable_or_named(path, value):
    doc = copy.deepcopy(DEMO)
    _set(doc, path, value)
    _, message = _parse_account(doc)
    if message is not None:
        assert _names(message, "account", path), (path, message[:300])


@given(account_id=st.one_of(st.text(max_size=80), st.from_regex(ACCOUNT_ID, fullmatch=True),
                            st.text(alphabet=st.characters(min_codepoint=0x80), min_size=1, max_size=8)))
def test_any_text_as_account_id_is_an_ascii_id_or_refused_by_name(account_id):
    # str.isalnum() used to let "é", "٣" or "ｄ" through: Secrets Manager refuses them in a secret name.
    doc = {**copy.deepcopy(DEMO), "account_id": account_id}
    cfg, message = _parse_account(doc)
    if cfg is None:
        assert message.startswith("account.account_id: "), message[:300]
        assert not (account_id.isascii() and ACCOUNT_ID.fullmatch(account_id))
    else:
        assert cfg.account_id == account_id


@given(path=st.sampled_from(ACCOUNT_PATHS))
def test_account_field_missing_is_usable_or_named(path):
    doc = copy.deepcopy(DEMO)
    assume(_delete(doc, path))
    _, message = _parse_account(doc)
    if message is not None:
        assert _names(message, "account", path, missing=True), (path, message)


@given(where=st.sampled_from([(), ("thresholds",), ("learning",), ("budgets",), ("plausibility",),
                              ("content_types", 0)]),
       key=st.text(min_size=1, max_size=20), value=json_values)
def test_unknown_account_fields_are_refused_by_name(where, key, value):
    doc = copy.deepcopy(DEMO)
    target = doc
    for step in where:
        target = target.setdefault(step, {}) if isinstance(step, str) else target[step]
    assume(key not in target and key not in {p[len(where)] for p in ACCOUNT_PATHS
                                             if len(p) > len(where) and p[:len(where)] == where})
    target[key] = value
    with pytest.raises(ConfigError) as err:
        parse_account(doc)
    assert _dotted("account", where) in str(err.value) and key in str(err.value)


@given(doc=json_values)
def test_any_json_document_is_refused_as_an_account(doc):
    with pytest.raises(ConfigError):
        parse_account(doc)


@pytest.mark.parametrize("path, value", [
    (("learning", "ridge_alpha"), math.nan), (("learning", "logistic_c"), math.inf),
    (("budgets", "x_usd_per_month"), math.nan), (("budgets", "openai_usd_per_month"), math.inf),
    (("learning", "half_life_days"), math.inf), (("thresholds", "engagement_rate"), math.nan),
    (("learning", "ridge_alpha"), 10**400), (("learning", "window_days"), 10**9),
    (("plausibility", "max_engagement_rate"), math.nan), (("plausibility", "max_impressions_per_follower"), math.inf),
    (("plausibility", "max_impressions"), 10**12), (("plausibility", "max_impressions"), True),
    (("fixed_hour",), 7.0), (("fixed_hour",), True), (("fixed_hour",), "7"),
])
def test_non_finite_numbers_and_look_alike_hours_are_refused(path, value):
    # json.loads accepts NaN and Infinity; NaN compares false with everything, so a range
    # check alone let it through (a NaN budget never caps, a NaN ridge alpha fits nothing).
    # 7.0 and True compare equal to the hours 7 and 1. A huge int overflowed float(); a
    # window of 10**9 days overflowed datetime in learn.
    doc = copy.deepcopy(DEMO)
    doc["posting_hours"] = [1, 7, 9]
    _set(doc, path, value)
    with pytest.raises(ConfigError) as err:
        parse_account(doc)
    assert _dotted("account", path) in str(err.value)


# Files that are not quite an account list: wrong encodings, a BOM, NaN, a cut-off
# document, a 100 kB string, NUL bytes.
FLAT_FILES = [b"", b"\xff\xfe{}", b"\xef\xbb\xbf" + json.dumps(DEMO).encode(), b'{"account_id": NaN}', b"null",
              b"[]", b"[[]]", b"\x00" * 10, json.dumps(DEMO).encode()[:-20], json.dumps([DEMO, DEMO]).encode(),
              ('{"a": "' + "x" * 100_000 + '"}').encode(), b'{"account_id": 1' + b"0" * 5000 + b"}"]
# PyYAML needs seconds to give up on deep nesting, so the scenario property leaves
# these out and they are tried once each below.
DEEP_FILES = [b"[" * 100_000, b"[" * 900 + b"]" * 900, b"{" * 5000]
FILE_CONTENTS = st.one_of(st.binary(max_size=200), large(*FLAT_FILES, *DEEP_FILES),
                          shallow_values.map(lambda v: json.dumps(v).encode()))
SHALLOW_FILE_CONTENTS = st.one_of(st.binary(max_size=200), large(*FLAT_FILES),
                                  shallow_values.map(lambda v: json.dumps(v).encode()))


@given(content=FILE_CONTENTS)
def test_account_file_with_any_bytes_loads_or_names_the_file(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("accounts") / "accounts.json"
    path.write_bytes(content)
    try:
        accounts = load_accounts(path)
    except ConfigError as err:
        assert "accounts.json" in str(err) and len(str(err)) < 2_000, str(err)[:300]
    else:
        for cfg in accounts.values():
            _sane(cfg)


def test_account_path_that_is_a_directory_is_a_config_error(tmp_path):
    (tmp_path / "accounts.json").mkdir()
    with pytest.raises(ConfigError, match="accounts.json"):
        load_accounts(tmp_path / "accounts.json")


# -- scenario files ----------------------------------------------------------------

# YAML gives more than JSON: dates, timestamps, binary, non-string keys.
yaml_leaves = st.one_of(st.dates(), st.datetimes(timezones=st.just(timezone.utc)), st.binary(max_size=8))
yaml_values = st.one_of(json_values, yaml_leaves,
                        st.dictionaries(st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=4)),
                                        st.one_of(json_values, yaml_leaves), max_size=3))

SCENARIO_PATHS = (
    [(k,) for k in ("name", "description", "account", "audience_timezone", "start", "content_types", "hour_effects",
                    "quality_effect", "quality_center", "noise", "impressions", "engagement_split", "follow",
                    "followers", "drift", "accrual_hours")]
    + [("content_types", "hot_take", k) for k in ("base_rate", "noise_sigma")] + [("content_types", "hot_take")]
    + [("hour_effects", 7), ("hour_effects", 3), ("noise", "sigma"), ("impressions", "median"),
       ("impressions", "sigma"), ("engagement_split", "likes"), ("follow", "intercept"), ("follow", "viral"),
       ("follow", "viral", "hook"), ("followers", "initial")]
    + [("drift", 0), ("drift", 0, "day"), ("drift", 0, "set"), ("drift", 0, "set", "content_types"),
       ("drift", 0, "set", "content_types", "newcomer"), ("drift", 0, "set", "hour_effects"),
       ("drift", 0, "set", "follow", "viral"), ("drift", 0, "set", "quality_effect")]
)
START = datetime(2026, 1, 5, 5, tzinfo=timezone.utc)


def _usable(s: Scenario) -> None:
    """Drive the simulated audience through every parameter set the scenario defines."""
    assert isinstance(s.name, str) and s.name and isinstance(s.account, str) and s.account
    from postloop.core.events import parse_time
    parse_time(s.base.get("start", "2026-01-05T00:00:00Z"), "start")
    world = World(s, 1, START)
    days = sorted({0, *(d for d, _ in s.drift)})
    for i, day in enumerate(days):
        at = START + timedelta(days=min(day, 3000), hours=12)
        for ct in world.params(world.day(at))["content_types"]:
            rate = world.expected_rate(ct, 12, 0.6, at)
            assert math.isfinite(rate) and 0 < rate < 1
        post_id = str(1000 + i)
        world.on_post(post_id, "text", at, None)
        fate = world.register(post_id, next(iter(world.params(world.day(at))["content_types"])))
        m = world.metrics(post_id, at + timedelta(hours=48))
        assert m["impression_count"] >= m["like_count"] + m["retweet_count"] + m["reply_count"] >= 0
        assert fate.impressions >= 1
        world.followers(at)


def _parse_scenario(doc):
    try:
        s = parse_scenario(doc, Path("s.yaml"))
    except ScenarioError as err:
        return None, str(err)
    _usable(s)
    return s, None


@pytest.mark.parametrize("path", SCENARIO_PATHS, ids=lambda p: ".".join(map(str, p)))
@settings(max_examples=25)
@given(value=st.one_of(yaml_values, numbers))
def test_scenario_field_with_any_value_is_usable_or_named(path, value):
    doc = copy.deepcopy(SCENARIO)
    _set(doc, path, value)
    _, message = _parse_scenario(doc)
    if message is not None:
        assert _dotted("s.yaml", path[:1]) in message or f"s.yaml: '{path[0]}'" in message, (path, message[:300])
        assert len(message) < 500, message[:500]


@given(path=st.sampled_from(SCENARIO_PATHS))
def test_scenario_field_missing_is_usable_or_named(path):
    doc = copy.deepcopy(SCENARIO)
    assume(_delete(doc, path))
    _, message = _parse_scenario(doc)
    if message is not None:
        assert _dotted("s.yaml", path[:1]) in message or f"s.yaml: '{path[0]}'" in message, (path, message)


@given(doc=yaml_values)
def test_any_document_is_refused_as_a_scenario(doc):
    with pytest.raises(ScenarioError):
        parse_scenario(doc, Path("s.yaml"))


@settings(max_examples=80)
@given(content=st.one_of(SHALLOW_FILE_CONTENTS, shallow_values.map(lambda v: yaml.safe_dump(v).encode()),
                         large(b"a: &a [*a]", b"!!python/object:os.system {}", b"- " * 5000,
                               b"name: x\nstart: 2026-01-05\n", b"\xef\xbb\xbfname: x", b"\xff\xfe",
                               yaml.safe_dump(SCENARIO).encode(), json.dumps(SCENARIO, default=str).encode())),
       suffix=st.sampled_from([".yaml", ".json"]))
def test_scenario_file_with_any_bytes_loads_or_names_the_file(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("scenarios") / f"hostile{suffix}"
    path.write_bytes(content)
    try:
        s = load_scenario(str(path))
    except ScenarioError as err:
        assert f"hostile{suffix}" in str(err) and len(str(err)) < 2_000, str(err)[:300]
    else:
        _usable(s)


@pytest.mark.parametrize("change, field", [
    (lambda d: d.update(drift=5), "s.yaml.drift"),
    (lambda d: d.update(drift=True), "s.yaml.drift"),
    (lambda d: d["follow"].update(viral=[1, 2]), "s.yaml.follow.viral"),
    (lambda d: d["follow"].update(viral="hook"), "s.yaml.follow.viral"),
    (lambda d: d.update(quality_effect=math.nan), "s.yaml.quality_effect"),
    (lambda d: d["content_types"]["hot_take"].update(base_rate=math.nan), "s.yaml.content_types.hot_take.base_rate"),
    (lambda d: d.update(engagement_split={"likes": 0, "retweets": 0, "replies": 0}), "s.yaml.engagement_split"),
    (lambda d: d.update(audience_timezone="Mars/Olympus_Mons"), "s.yaml.audience_timezone"),
    (lambda d: d.update(start="soon"), "s.yaml.start"),
    (lambda d: d.update(name=["stationary"]), "s.yaml.name"),
    (lambda d: d.update(account={"id": "demo"}), "s.yaml.account"),
    (lambda d: d.update(description=[[["deep"]]]), "s.yaml.description"),
    (lambda d: d["hour_effects"].update({7.9: 0.01}), "s.yaml.hour_effects"),
    (lambda d: d.update({1: 2, "zzz": 3}), "s.yaml"),
    (lambda d: d["drift"][0]["set"]["content_types"].update(newcomer={"noise_sigma": 0.2}),
     "s.yaml.drift[0].set.content_types.newcomer"),
])
def test_scenario_crashes_found_by_the_properties(change, field):
    # Each of these raised TypeError, AttributeError or KeyError (some only later, in the
    # simulated audience) before the scenario validation covered them.
    doc = copy.deepcopy(SCENARIO)
    change(doc)
    with pytest.raises(ScenarioError) as err:
        parse_scenario(doc, Path("s.yaml"))
    assert field in str(err.value)


# Through PyYAML only the 900-deep one: it takes about 1 s; the others up to 3 s each.
@pytest.mark.parametrize("suffix, content", [(".json", c) for c in DEEP_FILES] + [(".yaml", DEEP_FILES[1])],
                         ids=["json-100k-brackets", "json-900-deep", "json-5k-braces", "yaml-900-deep"])
def test_deeply_nested_files_are_refused_by_name(tmp_path, content, suffix):
    path = tmp_path / f"deep{suffix}"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=f"deep{suffix}"):
        load_scenario(str(path))
    accounts = tmp_path / "accounts.json"
    accounts.write_bytes(content)
    with pytest.raises(ConfigError, match="accounts.json"):
        load_accounts(accounts)


@pytest.mark.parametrize("path", [("noise", "sigma"), ("impressions", "sigma"), ("content_types", "hot_take", "noise_sigma")])
def test_negative_zero_is_read_as_zero(path):
    # -0.0 passed the range check, then numpy refused it as a scale in the simulated audience.
    doc = copy.deepcopy(SCENARIO)
    _set(doc, path, -0.0)
    _usable(parse_scenario(doc, Path("s.yaml")))


def test_deeply_nested_scenario_is_refused_not_a_recursion_error():
    # copy.deepcopy of ~900 levels (what json.loads still accepts) exceeds Python's recursion limit.
    doc = copy.deepcopy(SCENARIO)
    value = "x"
    for _ in range(900):
        value = [value]
    doc["description"] = value
    with pytest.raises(ScenarioError, match=r"s\.yaml\.description"):
        parse_scenario(doc, Path("s.yaml"))


def test_an_unquoted_yaml_date_as_start_is_named():
    doc = copy.deepcopy(SCENARIO)
    doc["start"] = date(2026, 1, 5)   # `start: 2026-01-05` unquoted in YAML
    with pytest.raises(ScenarioError, match=r"s\.yaml\.start"):
        parse_scenario(doc, Path("s.yaml"))
