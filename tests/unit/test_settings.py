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
