"""Builds each function's dependencies from its settings, once per container.

Nothing happens at import: the first invocation builds what it uses and keeps
it for the warm container. Heavy clients (redis, requests, openai) are imported
only by the functions that use them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from typing import Callable

from postloop.adapters.tables import BoundTables, bind_tables
from postloop.core.account import AccountConfig, load_accounts
from postloop.runtime.settings import Settings, SettingsError, load_settings


class UnknownAccount(LookupError):
    pass


# The end of an invocation that X's creates leave alone (adapters/deadline.py): reads to reconcile
# may use the first X_READ_GRACE_SECONDS of it (one read of POSTLOOP_X_TIMEOUT_SECONDS fits), and
# the rest is for the claim's conditional write (DynamoDB, milliseconds) and the handler's logs
# and metrics.
X_BUDGET_RESERVE_SECONDS = 20.0
X_READ_GRACE_SECONDS = 10.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Wiring:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings
        # Adapters that judge expiry (OAuth tokens, leases) read this; a simulation sets its own.
        self.clock: Callable[[], datetime] = _utc_now

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
    def followers(self):
        from postloop.adapters.dynamo_stores import DynamoFollowerReadings
        return DynamoFollowerReadings(self.tables)

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
        """The Redis copy of the latest model, or None when no cache is configured.

        Outside the VPC (POSTLOOP_MODEL_CACHE_FUNCTION set, the default deployment) it is reached
        through the cache function; inside it (POSTLOOP_REDIS_URL, the NAT layouts) directly.
        Either way nothing connects before first use, so a cache that is down costs plan a
        read of DynamoDB and learn a counted write failure, never the invocation.
        """
        if self.settings.model_cache_function:
            import boto3
            from botocore.config import Config

            from postloop.adapters.lambda_model_cache import LambdaModelCache
            client = boto3.client("lambda", region_name=self.settings.region, config=Config(
                connect_timeout=CACHE_FUNCTION_CONNECT_SECONDS, read_timeout=CACHE_FUNCTION_READ_SECONDS,
                retries={"total_max_attempts": 2, "mode": "standard"}))
            return LambdaModelCache(client, self.settings.model_cache_function, on_reject=report_cache_rejection)
        if not self.settings.redis_url:
            return None
        import redis  # noqa: F401  imported with the wiring (the cold start pays for it), connected on first use

        from postloop.adapters.redis_model_cache import RedisModelCache
        url = self.settings.redis_url
        return RedisModelCache(connect=lambda: redis_client(url), on_reject=report_cache_rejection)

    @cached_property
    def redis_cache(self):
        """The cache itself, for the cache function (which serves plan and learn outside the VPC)."""
        url = self.settings.require("redis_url").redis_url
        import redis  # noqa: F401  as model_cache: imported at wiring, connected on first use

        from postloop.adapters.redis_model_cache import RedisModelCache
        return RedisModelCache(connect=lambda: redis_client(url))

    @cached_property
    def pause_flags(self):
        from postloop.adapters.pause_flags import DynamoPauseFlags
        return DynamoPauseFlags(self.tables.locks)

    @cached_property
    def review_links(self):
        """(decision, now) -> the review page's approve and reject links for the approval message, or
        None when the deployment has no review page (POSTLOOP_REVIEW_URL / POSTLOOP_REVIEW_SECRET_ID unset)."""
        from postloop.runtime.review_http import review_links, review_settings, signer_from_secret
        secret_id, url = review_settings()
        if not (secret_id and url):
            return None
        from aws_lambda_powertools.utilities import parameters
        signer = signer_from_secret(parameters.get_secret(secret_id, max_age=300))
        return lambda d, now: review_links(signer, url, d, now)

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

    @property
    def x(self):
        """The X client of a single-account deployment (a secret id without `{account_id}`)."""
        return self.x_for(None)

    def x_secret_id(self, account_id: str | None) -> str:
        """The X secret of an account: POSTLOOP_X_SECRET_ID with `{account_id}` filled in."""
        template = self.settings.require("x_secret_id").x_secret_id
        if "{account_id}" in template:
            if account_id is None:
                raise SettingsError("POSTLOOP_X_SECRET_ID names one secret per account; an account id is needed")
            return template.replace("{account_id}", account_id)
        return template

    def x_for(self, account_id: str | None):
        """The X client for an account, built once per container and secret."""
        secret_id = self.x_secret_id(account_id)
        clients = self.__dict__.setdefault("_x_clients", {})
        if secret_id not in clients:
            clients[secret_id] = self._build_x(secret_id)
        return clients[secret_id]

    def _build_x(self, secret_id: str):
        import boto3

        from postloop.adapters.credentials import DynamoLease, SecretsManagerCredentials
        from postloop.adapters.deadline import DeadlineSession
        from postloop.adapters.x_api import XApiClient
        from postloop.adapters.x_auth import TOKEN_PATH, CredentialError, auth_from_secret

        s = self.settings
        store = SecretsManagerCredentials(boto3.client("secretsmanager", region_name=s.region), secret_id)
        try:
            auth = auth_from_secret(store.read(), where=f"secret {secret_id}", store=store,
                                    token_url=s.x_api_base_url.rstrip("/") + TOKEN_PATH,
                                    lease=DynamoLease(self.tables.locks, self.clock),
                                    lease_name=f"x-oauth2:{secret_id}", clock=self.clock, timeout=s.x_timeout)
        except CredentialError as err:
            raise SettingsError(str(err)) from None
        # Every X request and backoff is bounded by the invocation's budget (x_budget).
        return XApiClient(s.x_api_base_url, auth, timeout=s.x_timeout,
                          session=DeadlineSession(self.x_deadline), sleep=self.x_deadline.sleep)

    @cached_property
    def x_deadline(self):
        from postloop.adapters.deadline import Deadline
        return Deadline()

    def x_budget(self, remaining_seconds: float | None):
        """A context in which the X clients' creates end `X_BUDGET_RESERVE_SECONDS` before the
        invocation's `remaining_seconds` do, and their reads `X_READ_GRACE_SECONDS` later (None:
        no limit), leaving the function time to record what happened before Lambda stops it."""
        budget = None if remaining_seconds is None else remaining_seconds - X_BUDGET_RESERVE_SECONDS
        return self.x_deadline.budget(budget, read_grace=X_READ_GRACE_SECONDS)

    @cached_property
    def writer(self):
        if self.settings.openai_secret_id:
            from postloop.adapters.openai_writer import OpenAIWriter
            s = self.settings
            return OpenAIWriter(api_key="", model=s.openai_model, client=self.openai_client, api=s.openai_api,
                                max_output_tokens=s.openai_max_output_tokens,
                                malformed_retries=s.openai_malformed_retries)
        from postloop.core.offline_writer import OfflineWriter
        return OfflineWriter()

    @cached_property
    def openai_client(self):
        """One OpenAI client (one connection pool) shared by the writer and the content checks."""
        from openai import OpenAI
        s = self.settings
        return OpenAI(api_key=self._openai_api_key(), base_url=s.openai_base_url, timeout=s.openai_timeout,
                      max_retries=s.openai_max_retries)

    def _openai_api_key(self) -> str:
        creds = self._secret(self.settings.openai_secret_id)
        if not creds.get("api_key"):
            raise SettingsError(f"secret {self.settings.openai_secret_id} has no 'api_key'")
        return creds["api_key"]

    # The optional content checks use the writer's OpenAI secret. Without one they are
    # None, and plan refuses an account that asks for them (it fails closed).
    @cached_property
    def moderator(self):
        if not self.settings.openai_secret_id:
            return None
        from postloop.adapters.openai_moderation import OpenAIModerator
        return OpenAIModerator("", model=self.settings.openai_moderation_model, client=self.openai_client)

    @cached_property
    def judge(self):
        if not self.settings.openai_secret_id:
            return None
        from postloop.adapters.openai_judge import OpenAIJudge
        s = self.settings
        return OpenAIJudge("", s.judge_model, client=self.openai_client, api=s.openai_api,
                           max_output_tokens=s.openai_max_output_tokens, malformed_retries=s.openai_malformed_retries)

    @cached_property
    def embedder(self):
        if not self.settings.openai_secret_id:
            return None
        from postloop.adapters.openai_embeddings import OpenAIEmbedder
        return OpenAIEmbedder("", model=self.settings.openai_embedding_model, client=self.openai_client)


# Short timeouts and one quick retry: a slow cache must cost less than reading DynamoDB.
REDIS_TIMEOUT_SECONDS = 1.0
# The cache function's own timeout is 10 s (infra functions.py); a cold start in the VPC with the
# redis import takes about a second, the calls below a few milliseconds each.
CACHE_FUNCTION_CONNECT_SECONDS = 2.0
CACHE_FUNCTION_READ_SECONDS = 12.0


def redis_client(url: str):
    """A redis-py client for POSTLOOP_REDIS_URL; the scheme says which kind of server it is.

    `rediss://host:port` is ElastiCache Serverless's shape (and the one the CDK app sets):
    cluster mode, TLS only. The client is a RedisCluster, which reads the slot map and sends
    each key to its slot's node, over TLS that verifies the server's certificate against the
    system's CAs (a `?ssl_ca_certs=<file>` query names another CA, as the local runs do).
    `redis://` is a plain server without cluster mode or TLS (the in-process stand-in).
    """
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
    options = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
               "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 1)}
    if url.startswith("rediss://"):
        from redis.cluster import RedisCluster
        return RedisCluster.from_url(url, **options)
    import redis
    return redis.Redis.from_url(url, **options)


def report_cache_rejection(account_id: str, reason: str, detail: str) -> None:
    """A cached model blob was not used: a warning, and ModelCacheRejected{service, account, reason}."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from postloop.runtime.observability import logger, metrics
    logger.warning("model cache blob rejected; plan reads the durable copy",
                   extra={"account_id": account_id, "reason": reason, "detail": detail})
    # A metric of its own (not the handler's set), so `reason` is a dimension of this one only.
    with single_metric(name="ModelCacheRejected", unit=MetricUnit.Count, value=1, namespace=metrics.namespace,
                       default_dimensions={"service": metrics.service, "account": account_id, "reason": reason}):
        pass


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
