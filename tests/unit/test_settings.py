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


BASE = {"AWS_REGION": "us-east-1", "POSTLOOP_ACCOUNTS_FILE": "a.json"}


def test_the_llm_settings_have_openai_defaults():
    s = load_settings(BASE)
    assert s.openai_api == "responses" and s.openai_base_url is None
    assert (s.openai_model, s.judge_model) == ("gpt-5.4-nano", "gpt-5.4-nano")
    assert (s.openai_embedding_model, s.openai_moderation_model) == ("text-embedding-3-small", "omni-moderation-latest")
    assert (s.openai_max_output_tokens, s.openai_malformed_retries) == (800, 2)


def test_every_llm_setting_can_point_elsewhere():
    s = load_settings({**BASE, "POSTLOOP_OPENAI_API": "Chat", "OPENAI_BASE_URL": "http://localhost:11434/v1",
                       "POSTLOOP_OPENAI_MODEL": "qwen3:8b", "POSTLOOP_OPENAI_JUDGE_MODEL": "llama3.2",
                       "POSTLOOP_OPENAI_EMBEDDING_MODEL": "nomic-embed-text",
                       "POSTLOOP_OPENAI_MODERATION_MODEL": "text-moderation-stable",
                       "POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS": "2000", "POSTLOOP_OPENAI_MALFORMED_RETRIES": "0"})
    assert s.openai_api == "chat" and s.openai_base_url == "http://localhost:11434/v1"
    assert (s.openai_model, s.judge_model, s.openai_embedding_model, s.openai_moderation_model) == (
        "qwen3:8b", "llama3.2", "nomic-embed-text", "text-moderation-stable")
    assert (s.openai_max_output_tokens, s.openai_malformed_retries) == (2000, 0)


@pytest.mark.parametrize("name, value, message", [
    ("POSTLOOP_OPENAI_API", "completions", "POSTLOOP_OPENAI_API must be one of responses, chat, got 'completions'"),
    ("OPENAI_BASE_URL", "localhost:11434/v1", "OPENAI_BASE_URL must be an http:// or https:// URL"),
    ("POSTLOOP_OPENAI_MALFORMED_RETRIES", "9", "POSTLOOP_OPENAI_MALFORMED_RETRIES must be between 0 and 5, got 9"),
    ("POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS", "10", "POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS must be between 64 and 32768"),
    ("POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS", "lots", "POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS must be a whole number"),
])
def test_a_bad_llm_setting_is_named(name, value, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings({**BASE, name: value})
