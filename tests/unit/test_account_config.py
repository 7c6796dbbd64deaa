"""Account configuration: the shipped example parses; broken variants name the wrong field."""
import copy
import json
import re
from pathlib import Path

import pytest

from postloop.core.account import AccountConfig, ConfigError, load_accounts, parse_account

DEMO = Path(__file__).resolve().parents[2] / "layers/local/python/postloop_local/accounts/demo.json"


@pytest.fixture
def demo() -> dict:
    return json.loads(DEMO.read_text(encoding="utf-8"))


def test_shipped_demo_parses(demo):
    cfg = parse_account(demo)
    assert isinstance(cfg, AccountConfig)
    assert cfg.account_id == "demo"
    assert cfg.timezone == "America/New_York"
    assert str(cfg.tz) == "America/New_York"
    assert [c.name for c in cfg.content_types] == ["factual_single", "educational_thread", "question", "hot_take"]
    assert cfg.content_type("educational_thread").thread is True
    assert cfg.content_type("question").thread is False
    assert cfg.posting_hours == (7, 9, 11, 13, 15, 17, 19, 21)
    assert cfg.thresholds.engagement_rate == 0.02
    assert cfg.thresholds.follow_probability == 0.3
    assert cfg.learning.window_days == 56
    assert cfg.learning.success == "relative"
    # Fields the file leaves out take their defaults.
    assert cfg.learning.ridge_alpha == 1.0
    assert cfg.learning.ucb_variant == "tuned"
    assert cfg.policy == "postloop" and cfg.mode == "live"
    assert cfg.banned_phrases == ("guaranteed cure", "doctors hate")


def test_load_accounts_reads_the_shipped_file():
    accounts = load_accounts(DEMO)
    assert list(accounts) == ["demo"]
    assert accounts["demo"].handle == "postloop_sim"


def _without(key):
    def change(d):
        del d[key]
    return change


def _set(*path_and_value):
    *path, value = path_and_value

    def change(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _duplicate_content_type(d):
    d["content_types"].append(copy.deepcopy(d["content_types"][0]))


BROKEN = {
    "missing timezone": (_without("timezone"), "'timezone' is missing"),
    "unknown time zone": (_set("timezone", "Mars/Olympus_Mons"), "timezone"),
    "hour 24": (_set("posting_hours", [7, 24]), "posting_hours[1]"),
    "duplicate content type names": (_duplicate_content_type, "content_types"),
    "unknown top-level key": (_set("colour", "blue"), "colour"),
    "engagement_rate 2": (_set("thresholds", "engagement_rate", 2), "thresholds.engagement_rate"),
    "success sometimes": (_set("learning", "success", "sometimes"), "learning.success"),
    "posting_hours a string": (_set("posting_hours", "7,9,11"), "posting_hours"),
    "posting_hours an int": (_set("posting_hours", 9), "posting_hours"),
    "hour a string": (_set("posting_hours", [7, "9"]), "posting_hours[1]"),
    "hour a boolean": (_set("posting_hours", [True]), "posting_hours[0]"),
    "follow_probability -0.1": (_set("thresholds", "follow_probability", -0.1), "thresholds.follow_probability"),
    "unknown learning key": (_set("learning", "speed", 3), "speed"),
    "content type without prompt": (_set("content_types", [{"name": "x"}]), "content_types[0]"),
    "bad ucb variant": (_set("learning", "ucb_variant", "ucb2"), "learning.ucb_variant"),
    "window_days float": (_set("learning", "window_days", 7.5), "learning.window_days"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_variant_names_the_field(demo, case):
    change, field = BROKEN[case]
    change(demo)
    with pytest.raises(ConfigError) as err:
        parse_account(demo)
    assert field in str(err.value)


def test_specific_messages(demo):
    bad = copy.deepcopy(demo)
    bad["timezone"] = "Mars/Olympus_Mons"
    with pytest.raises(ConfigError, match=r"account\.timezone: unknown time zone 'Mars/Olympus_Mons'"):
        parse_account(bad)
    bad = copy.deepcopy(demo)
    _duplicate_content_type(bad)
    with pytest.raises(ConfigError, match=r"content_types: names must be unique"):
        parse_account(bad)
    bad = copy.deepcopy(demo)
    bad["posting_hours"] = "7,9"
    with pytest.raises(ConfigError, match=r"account\.posting_hours: expected list, got str"):
        parse_account(bad)
    bad = copy.deepcopy(demo)
    bad["learning"]["success"] = "sometimes"
    with pytest.raises(ConfigError, match=r"'relative' or an engagement rate in \(0, 1\), got 'sometimes'"):
        parse_account(bad)


def test_absolute_success_rate_is_accepted(demo):
    demo["learning"]["success"] = 0.04
    assert parse_account(demo).learning.success == 0.04


def test_non_object_account_raises():
    with pytest.raises(ConfigError, match="expected dict, got list"):
        parse_account([1, 2])


def test_load_accounts_missing_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match="not found") as err:
        load_accounts(missing)
    assert "nope.json" in str(err.value)


def test_load_accounts_invalid_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"account_id": "demo",\n  "handle": }', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.json: not valid JSON .* at line 2"):
        load_accounts(path)


def test_load_accounts_list_with_duplicate_id(tmp_path, demo):
    other = copy.deepcopy(demo)
    other["handle"] = "someone_else"
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([demo, other]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"accounts\.json: account_id 'demo' appears twice"):
        load_accounts(path)


def test_load_accounts_list_keys_by_id_and_names_the_bad_item(tmp_path, demo):
    second = copy.deepcopy(demo)
    second["account_id"] = "second"
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps([demo, second]), encoding="utf-8")
    assert sorted(load_accounts(path)) == ["demo", "second"]

    del second["timezone"]
    path.write_text(json.dumps([demo, second]), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"accounts\.json\[1\]: 'timezone' is missing"):
        load_accounts(path)


def test_half_life_must_be_positive_or_null():
    import json
    from pathlib import Path

    from postloop.core.account import ConfigError, parse_account

    demo = json.loads((Path(__file__).resolve().parents[2] / "layers/local/python/postloop_local/accounts/demo.json").read_text())
    assert parse_account({**demo, "learning": {"half_life_days": None}}).learning.half_life_days is None
    assert parse_account({**demo, "learning": {"half_life_days": 3}}).learning.half_life_days == 3.0
    with pytest.raises(ConfigError, match="learning.half_life_days"):
        parse_account({**demo, "learning": {"half_life_days": 0}})


# --- account_id: what the AWS names built from it accept ------------------------------------

# Secrets Manager's rule for a secret name (CreateSecret's Name: ASCII letters, digits and
# /_+=.@-, up to 512 characters), checked on the name the deployment builds: postloop/x/<id>.
SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
# Step Functions' rule for names (StartExecution's name): 1-80 characters, none of whitespace,
# brackets, wildcards, the listed special characters or control characters.
EXECUTION_FORBIDDEN = set(" \t\n\r<>{}[]?*\"#%\\^|~`$&,;:/") | {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}

BAD_IDS = ["", "dé", "٣", "ｄemo", "demo\n", "de mo", "a/b", "a:b", "a*b", "a.b", "x" * 65, "dem\u00a0o", "demo\x00",
           "\u200bdemo"]
GOOD_IDS = ["demo", "A-b_9", "x" * 64, "0", "-", "brand_2026"]


@pytest.mark.parametrize("account_id", BAD_IDS, ids=repr)
def test_an_account_id_outside_the_rule_is_refused_naming_file_and_field(tmp_path, demo, account_id):
    path = tmp_path / "brand.json"
    path.write_text(json.dumps({**demo, "account_id": account_id}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"brand\.json\.account_id: .* is not a usable id: use 1-64 ASCII") as err:
        load_accounts(path)
    assert len(str(err.value)) < 400


@pytest.mark.parametrize("account_id", GOOD_IDS)
def test_a_usable_account_id_is_accepted_and_every_aws_name_takes_it(demo, account_id):
    assert parse_account({**demo, "account_id": account_id}).account_id == account_id
    assert SECRET_NAME.fullmatch(f"postloop/x/{account_id}")
    assert not set(account_id) & EXECUTION_FORBIDDEN and 1 <= len(account_id) <= 80


def test_without_the_id_check_a_non_ascii_id_reaches_a_secret_name_aws_refuses(demo, monkeypatch):
    """The guard can fail: with it switched off, "dé" parses, and its secret name breaks the rule."""
    import postloop.core.account as account

    monkeypatch.setattr(account, "ACCOUNT_ID", re.compile(r".+", re.DOTALL))
    cfg = parse_account({**demo, "account_id": "dé"})
    assert not SECRET_NAME.fullmatch(f"postloop/x/{cfg.account_id}")


def test_the_lateness_window_defaults_to_the_planned_hour_and_refuses_more(demo):
    assert parse_account(demo).max_post_delay_minutes == 60
    assert parse_account({**demo, "max_post_delay_minutes": 15}).max_post_delay_minutes == 15
    for bad in (0, 61, 24 * 60, 1.5, "60", True):
        with pytest.raises(ConfigError, match=r"max_post_delay_minutes"):
            parse_account({**demo, "max_post_delay_minutes": bad})
