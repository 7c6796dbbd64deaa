"""Builds each function's dependencies from its settings, once per container.

Nothing happens at import: the first invocation builds what it uses and keeps
it for the warm container. Heavy clients (redis, requests, openai) are imported
only by the functions that use them.
"""
from __future__ import annotations

from functools import cached_property

from postloop.adapters.tables import BoundTables, bind_tables
from postloop.core.account import AccountConfig, load_accounts
from postloop.runtime.settings import Settings, SettingsError, load_settings


class UnknownAccount(LookupError):
    pass


class Wiring:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings

    @cached_property
    def settings(self) -> Settings:
        return self._settings or load_settings()

    @cached_property
    def accounts(self) -> dict[str, AccountConfig]:
        return load_accounts(self.settings.accounts_file)

    def account(self, account_id: str) -> AccountConfig:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(f"account {account_id!r} is not in {self.settings.accounts_file}") from None

    @cached_property
    def tables(self) -> BoundTables:
        s = self.settings
        return bind_tables(s.tables, s.region, s.dynamodb_endpoint)

    @cached_property
    def decisions(self):
        from postloop.adapters.dynamo_stores import DynamoDecisionStore
        return DynamoDecisionStore(self.tables)

    @cached_property
    def outcomes(self):
        from postloop.adapters.dynamo_stores import DynamoOutcomeStore
        return DynamoOutcomeStore(self.tables)

    @cached_property
    def arms(self):
        from postloop.adapters.dynamo_stores import DynamoArmStore
        return DynamoArmStore(self.tables)

    @cached_property
    def registry(self):
        from postloop.adapters.dynamo_stores import DynamoModelRegistry
        return DynamoModelRegistry(self.tables)

    @cached_property
    def model_cache(self):
        """The Redis copy of the latest model, or None when no cache is configured."""
        if not self.settings.redis_url:
            return None
        import redis

        from postloop.adapters.redis_model_cache import RedisModelCache
        # Short timeouts: a slow cache must cost less than falling back to DynamoDB.
        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return RedisModelCache(client)

    @cached_property
    def resumer(self):
        import boto3

        from postloop.adapters.workflow_resumer import StepFunctionsResumer
        return StepFunctionsResumer(boto3.client("stepfunctions", region_name=self.settings.region))

    @cached_property
    def approval_notifier(self):
        """The SNS topic that asks a person for an answer, or None when none is configured."""
        if not self.settings.approval_topic_arn:
            return None
        import boto3

        from postloop.adapters.workflow_resumer import SnsApprovalNotifier
        return SnsApprovalNotifier(boto3.client("sns", region_name=self.settings.region),
                                   self.settings.approval_topic_arn)

    def _secret(self, secret_id: str) -> dict:
        from aws_lambda_powertools.utilities import parameters
        value = parameters.get_secret(secret_id, transform="json", max_age=300)
        if not isinstance(value, dict):
            raise SettingsError(f"secret {secret_id} must hold a JSON object")
        return value

    @cached_property
    def x(self):
        from postloop.adapters.x_api import XApiClient
        secret_id = self.settings.require("x_secret_id").x_secret_id

        def token() -> str:
            creds = self._secret(secret_id)
            if not creds.get("bearer_token"):
                raise SettingsError(f"secret {secret_id} has no 'bearer_token'")
            return creds["bearer_token"]

        return XApiClient(self.settings.x_api_base_url, token, timeout=self.settings.x_timeout)

    @cached_property
    def writer(self):
        if self.settings.openai_secret_id:
            from postloop.adapters.openai_writer import OpenAIWriter
            creds = self._secret(self.settings.openai_secret_id)
            if not creds.get("api_key"):
                raise SettingsError(f"secret {self.settings.openai_secret_id} has no 'api_key'")
            return OpenAIWriter(api_key=creds["api_key"], model=self.settings.openai_model,
                                base_url=self.settings.openai_base_url)
        from postloop.core.offline_writer import OfflineWriter
        return OfflineWriter()


_current: Wiring | None = None


def current() -> Wiring:
    """The container's wiring, built on first use."""
    global _current
    if _current is None:
        _current = Wiring()
    return _current


def reset(wiring: Wiring | None = None) -> None:
    """Forget the cached wiring (tests and local runs that change settings)."""
    global _current
    _current = wiring
