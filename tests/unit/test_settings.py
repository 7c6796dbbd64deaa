"""Settings fail at cold start with a message naming the variable."""
import pytest

from postloop.runtime.settings import SettingsError, load_settings


def test_missing_region_is_named():
    with pytest.raises(SettingsError, match="AWS_REGION"):
        load_settings({"POSTLOOP_ACCOUNTS_FILE": "a.json"})


def test_missing_accounts_file_is_named():
    with pytest.raises(SettingsError, match="POSTLOOP_ACCOUNTS_FILE"):
        load_settings({"AWS_REGION": "eu-west-1"})


def test_bad_number_is_named():
    with pytest.raises(SettingsError, match="POSTLOOP_X_TIMEOUT_SECONDS"):
        load_settings({"AWS_REGION": "eu-west-1", "POSTLOOP_ACCOUNTS_FILE": "a.json",
                       "POSTLOOP_X_TIMEOUT_SECONDS": "soon"})


def test_defaults_and_overrides():
    s = load_settings({"AWS_DEFAULT_REGION": "eu-west-1", "POSTLOOP_ACCOUNTS_FILE": "a.json",
                       "POSTLOOP_OUTCOMES_TABLE": "custom-outcomes"})
    assert s.region == "eu-west-1"
    assert s.tables.outcomes == "custom-outcomes" and s.tables.content_metadata == "postloop-content-metadata"
    assert s.redis_url is None and s.x_secret_id is None
    with pytest.raises(SettingsError, match="POSTLOOP_X_SECRET_ID"):
        s.require("x_secret_id")


def test_openai_timeout_and_retries_are_settings_with_short_defaults():
    from postloop.runtime.settings import load_settings
    base = {"AWS_REGION": "us-east-1", "POSTLOOP_ACCOUNTS_FILE": "a.json"}
    s = load_settings(base)
    assert (s.openai_timeout, s.openai_max_retries) == (20.0, 2)
    s = load_settings({**base, "POSTLOOP_OPENAI_TIMEOUT_SECONDS": "5", "POSTLOOP_OPENAI_MAX_RETRIES": "0"})
    assert (s.openai_timeout, s.openai_max_retries) == (5.0, 0)
    with pytest.raises(SettingsError, match="POSTLOOP_OPENAI_MAX_RETRIES must be a whole number"):
        load_settings({**base, "POSTLOOP_OPENAI_MAX_RETRIES": "many"})
