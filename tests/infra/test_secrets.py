"""Secrets Manager: one X secret per account and one OpenAI secret, named as the code looks them up, no values."""
from __future__ import annotations

import json

import pytest

from postloop.runtime.settings import load_settings
from postloop.runtime.wiring import Wiring


def env_of(synth, name: str) -> dict:
    return synth.resource(synth.stack.functions.functions[name])["Properties"]["Environment"]["Variables"]


def secrets_by_name(synth) -> dict[str, dict]:
    return {r["Properties"]["Name"]: r for r in synth.of_type("AWS::SecretsManager::Secret").values()}


def test_no_secret_value_is_in_the_template(main_synth):
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                if k in ("SecretString", "SecretBinary"):
                    found.append(path + [k])
                walk(v, path + [k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, path + [i])

    walk(main_synth.template, [])
    assert found == []
    for name, secret in secrets_by_name(main_synth).items():
        if name == "postloop/review-signing":
            # The review links' key: CloudFormation generates it at deploy; no template, no value here.
            assert "SecretStringTemplate" not in secret["Properties"]["GenerateSecretString"]
            continue
        generated = secret["Properties"]["GenerateSecretString"]
        # The placeholder CloudFormation fills in is JSON without credentials, and says where to look.
        assert json.loads(generated["SecretStringTemplate"]) == {
            "placeholder": "put the real value: see docs/deploy.md"}


@pytest.mark.parametrize("function", ["post", "scrape"])
@pytest.mark.parametrize("account_id", ["demo", "berlin"])
def test_each_account_has_the_x_secret_the_code_looks_up(main_synth, function, account_id):
    env = {k: v for k, v in env_of(main_synth, function).items() if isinstance(v, str)}
    settings = load_settings({"AWS_REGION": "us-east-1", **env})
    secret_id = Wiring(settings).x_secret_id(account_id)   # what the function will ask Secrets Manager for
    assert secret_id == f"postloop/x/{account_id}"
    assert secret_id in secrets_by_name(main_synth)


def test_one_x_secret_per_account_and_one_openai_secret(main_synth, variant_synth):
    assert sorted(secrets_by_name(main_synth)) == ["postloop/openai", "postloop/review-signing",
                                                   "postloop/x/berlin", "postloop/x/demo"]
    assert env_of(main_synth, "plan")["POSTLOOP_OPENAI_SECRET_ID"] == "postloop/openai"
    # No account, no OpenAI: nothing to hold.
    assert sorted(secrets_by_name(variant_synth)) == ["postloop/review-signing"]   # the review links' key
    assert "POSTLOOP_X_SECRET_ID" not in env_of(variant_synth, "post")


def test_secrets_go_with_the_stack(main_synth):
    # A teardown schedules them for deletion (recoverable 30 days); the names are fixed, so a
    # retained secret would make the next deploy fail.
    for secret in secrets_by_name(main_synth).values():
        assert secret["DeletionPolicy"] == "Delete"
