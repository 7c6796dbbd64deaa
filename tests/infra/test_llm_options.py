"""The deploy-time LLM options (`cdk deploy -c openai_api=chat -c openai_base_url=...`): checked by the
settings code that will read them, so a bad value stops the synth naming the context key."""
from __future__ import annotations

import pytest

from postloop_infra import names
from postloop_infra.options import OPENAI_CONTEXT, DeployOptions, OptionsError


def test_unset_options_leave_the_codes_defaults():
    assert DeployOptions.from_context({}.get).openai_environment() == {}


def test_given_options_become_the_environment_plan_reads():
    options = DeployOptions.from_context({"openai_api": "chat", "openai_base_url": "http://10.0.0.5:8000/v1",
                                          "openai_model": "Qwen/Qwen3-8B", "openai_embedding_model": "bge-m3",
                                          "openai_moderation_model": " "}.get)
    assert options.openai_environment() == {
        names.ENV_OPENAI_API: "chat", names.ENV_OPENAI_BASE_URL: "http://10.0.0.5:8000/v1",
        names.ENV_OPENAI_MODEL: "Qwen/Qwen3-8B", names.ENV_OPENAI_EMBEDDING_MODEL: "bge-m3"}


def test_every_llm_option_has_a_setting_of_the_same_meaning():
    assert set(OPENAI_CONTEXT.values()) == {"POSTLOOP_OPENAI_MODEL", "POSTLOOP_OPENAI_API", "OPENAI_BASE_URL",
                                            "POSTLOOP_OPENAI_JUDGE_MODEL", "POSTLOOP_OPENAI_EMBEDDING_MODEL",
                                            "POSTLOOP_OPENAI_MODERATION_MODEL"}


@pytest.mark.parametrize("key, value, message", [
    ("openai_api", "completions", "context 'openai_api': environment variable POSTLOOP_OPENAI_API must be one of "
                                  "responses, chat"),
    ("openai_base_url", "bedrock-runtime.us-east-1.amazonaws.com/openai/v1",
     "context 'openai_base_url': environment variable OPENAI_BASE_URL must be an http:// or https:// URL"),
])
def test_a_bad_llm_option_stops_the_synth_naming_the_key(key, value, message):
    with pytest.raises(OptionsError) as caught:
        DeployOptions.from_context({key: value}.get)
    assert str(caught.value).startswith(message)
