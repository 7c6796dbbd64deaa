"""The secrets: one per account for X, one for OpenAI. Values are never in the template.

Each X secret is its own: OAuth 2.0 refresh tokens are single-use and rotate, and
the functions write the new one back (PutSecretValue). With one shared secret, a
refresh for one account would rewrite every account's tokens and two accounts
refreshing at once would lose one of the writes, locking that account out. One
secret per account also keeps each account's credentials readable and auditable
on their own. The OpenAI key is one organisation key, so it is shared.
"""
from __future__ import annotations

import json

from aws_cdk import RemovalPolicy, aws_secretsmanager as secretsmanager
from constructs import Construct

from postloop_infra.names import OPENAI_SECRET_NAME, x_secret_name
from postloop_infra.nag import acknowledge

# What a new secret holds until a person puts the real value: JSON the code
# rejects with a message (no 'auth' / 'api_key'), pointing at the documentation.
_PLACEHOLDER = json.dumps({"placeholder": "put the real value: see docs/deploy.md"})


def _secret(scope: Construct, construct_id: str, name: str, description: str) -> secretsmanager.Secret:
    secret = secretsmanager.Secret(
        scope, construct_id,
        secret_name=name,
        description=description,
        # CloudFormation generates a random string into this JSON at creation, so no
        # value is ever in the template; people overwrite it with put-secret-value.
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=_PLACEHOLDER, generate_string_key="random", exclude_punctuation=True),
        # A teardown schedules the deletion (recoverable for 30 days): credentials should not
        # outlive the deployment that used them. The names are fixed (the code derives them),
        # so a retained secret would make the next deploy fail on "already exists".
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge(
        secret, "AwsSolutions-SMG4",
        "Third-party credentials (X OAuth tokens, the OpenAI key) cannot be rotated by a Secrets "
        "Manager rotation function; OAuth 2.0 tokens are refreshed and written back by the functions.")
    return secret


class Credentials(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, account_ids: list[str], openai: bool) -> None:
        super().__init__(scope, construct_id)
        self.x: dict[str, secretsmanager.Secret] = {
            account_id: _secret(self, f"X-{account_id}", x_secret_name(account_id),
                                f"X API credentials of postloop account {account_id} (JSON, see docs/deploy.md)")
            for account_id in account_ids
        }
        self.openai: secretsmanager.Secret | None = (
            _secret(self, "OpenAI", OPENAI_SECRET_NAME, "OpenAI API key for postloop's writer: {\"api_key\": ...}")
            if openai else None
        )
