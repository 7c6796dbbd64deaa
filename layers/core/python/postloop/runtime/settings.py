"""Each function's settings, read from the environment once at cold start.

A missing or malformed variable fails the cold start with a message naming it;
secrets are referenced by id here and fetched by the adapters, never logged.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from postloop.adapters.tables import TableNames


class SettingsError(RuntimeError):
    pass


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, default)
    if value is None or value == "":
        raise SettingsError(f"environment variable {name} is not set")
    return value


def _float(env, name, default) -> float:
    raw = _get(env, name, default)
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from None


def _int(env, name, default) -> int:
    raw = _get(env, name, default)
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SettingsError(f"environment variable {name} must be a whole number >= 0, got {raw!r}")
    return value


def _redis_url(env) -> str | None:
    """POSTLOOP_REDIS_URL, the model cache; unset means no cache (plan reads DynamoDB).

    The scheme decides the client (runtime.wiring.redis_client): `rediss://host:port` is a
    cluster-mode, TLS-only server such as ElastiCache Serverless (what the CDK app sets);
    `redis://host:port` a plain server, neither cluster nor TLS (the local stand-in).
    """
    url = env.get("POSTLOOP_REDIS_URL") or None
    if url is not None and not url.startswith(("rediss://", "redis://")):
        raise SettingsError("environment variable POSTLOOP_REDIS_URL must start with rediss:// (cluster mode, "
                            "TLS, as ElastiCache Serverless) or redis:// (a plain server)")
    return url


OPENAI_APIS = ("responses", "chat")


def _choice(env, name, choices) -> str:
    value = _get(env, name, choices[0]).strip().lower()
    if value not in choices:
        raise SettingsError(f"environment variable {name} must be one of {', '.join(choices)}, "
                            f"got {env.get(name)!r}")
    return value


def _bounded(env, name, default, low: int, high: int) -> int:
    value = _int(env, name, default)
    if not low <= value <= high:
        raise SettingsError(f"environment variable {name} must be between {low} and {high}, got {value}")
    return value


def _base_url(env) -> str | None:
    """OPENAI_BASE_URL (the SDK's own name for it): the server's API root, e.g. http://localhost:11434/v1."""
    url = (env.get("OPENAI_BASE_URL") or "").strip() or None
    if url is not None and not url.startswith(("https://", "http://")):
        raise SettingsError("environment variable OPENAI_BASE_URL must be an http:// or https:// URL "
                            "(the API root, usually ending in /v1)")
    return url


@dataclass(frozen=True)
class Settings:
    """Everything any handler may need; each handler checks the parts it uses."""

    region: str
    tables: TableNames
    accounts_file: str
    dynamodb_endpoint: str | None
    redis_url: str | None
    x_api_base_url: str
    x_secret_id: str | None
    openai_secret_id: str | None
    openai_model: str
    openai_base_url: str | None
    x_timeout: float
    approval_topic_arn: str | None = None
    openai_timeout: float = 20.0
    openai_max_retries: int = 2
    # Any OpenAI-compatible server (README, "Using another LLM"): which API the writer and the
    # judge use, and the model of each job.
    openai_api: str = "responses"
    openai_judge_model: str | None = None      # None: the writer's model
    openai_embedding_model: str = "text-embedding-3-small"
    openai_moderation_model: str = "omni-moderation-latest"
    openai_max_output_tokens: int = 800
    openai_malformed_retries: int = 2
    # The cache function plan and learn ask for the model cache when they run outside the VPC
    # (adapters/lambda_model_cache.py); when set, it is used rather than POSTLOOP_REDIS_URL,
    # which is then the cache function's own setting.
    model_cache_function: str | None = None

    @property
    def judge_model(self) -> str:
        return self.openai_judge_model or self.openai_model

    def require(self, *names: str) -> "Settings":
        env_names = {
            "redis_url": "POSTLOOP_REDIS_URL",
            "x_secret_id": "POSTLOOP_X_SECRET_ID",
            "model_cache_function": "POSTLOOP_MODEL_CACHE_FUNCTION",
        }
        for n in names:
            if not getattr(self, n):
                raise SettingsError(f"environment variable {env_names.get(n, n)} is not set")
        return self


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        region=_get(env, "AWS_REGION", env.get("AWS_DEFAULT_REGION")),
        tables=TableNames(
            content_metadata=_get(env, "POSTLOOP_CONTENT_TABLE", "postloop-content-metadata"),
            outcomes=_get(env, "POSTLOOP_OUTCOMES_TABLE", "postloop-outcomes"),
            bandit_arms=_get(env, "POSTLOOP_ARMS_TABLE", "postloop-bandit-arms"),
            model_versions=_get(env, "POSTLOOP_MODELS_TABLE", "postloop-model-versions"),
            locks=_get(env, "POSTLOOP_LOCKS_TABLE", "postloop-locks"),
            follower_readings=_get(env, "POSTLOOP_FOLLOWERS_TABLE", "postloop-follower-readings"),
        ),
        accounts_file=_get(env, "POSTLOOP_ACCOUNTS_FILE"),
        dynamodb_endpoint=env.get("POSTLOOP_DYNAMODB_ENDPOINT") or None,
        redis_url=_redis_url(env),
        x_api_base_url=_get(env, "POSTLOOP_X_API_BASE_URL", "https://api.x.com"),
        x_secret_id=env.get("POSTLOOP_X_SECRET_ID") or None,
        openai_secret_id=env.get("POSTLOOP_OPENAI_SECRET_ID") or None,
        openai_model=_get(env, "POSTLOOP_OPENAI_MODEL", "gpt-5.4-nano"),
        openai_base_url=_base_url(env),
        x_timeout=_float(env, "POSTLOOP_X_TIMEOUT_SECONDS", "10"),
        approval_topic_arn=env.get("POSTLOOP_APPROVAL_TOPIC_ARN") or None,
        # Short by default: the SDK's own default timeout is 10 minutes, longer than a Lambda may run.
        openai_timeout=_float(env, "POSTLOOP_OPENAI_TIMEOUT_SECONDS", "20"),
        openai_max_retries=_int(env, "POSTLOOP_OPENAI_MAX_RETRIES", "2"),
        openai_api=_choice(env, "POSTLOOP_OPENAI_API", OPENAI_APIS),
        openai_judge_model=env.get("POSTLOOP_OPENAI_JUDGE_MODEL") or None,
        openai_embedding_model=_get(env, "POSTLOOP_OPENAI_EMBEDDING_MODEL", "text-embedding-3-small"),
        openai_moderation_model=_get(env, "POSTLOOP_OPENAI_MODERATION_MODEL", "omni-moderation-latest"),
        openai_max_output_tokens=_bounded(env, "POSTLOOP_OPENAI_MAX_OUTPUT_TOKENS", "800", 64, 32768),
        # Each retry is a whole answer more per draft: bounded so a plan ends inside its Lambda timeout.
        openai_malformed_retries=_bounded(env, "POSTLOOP_OPENAI_MALFORMED_RETRIES", "2", 0, 5),
        model_cache_function=(env.get("POSTLOOP_MODEL_CACHE_FUNCTION") or "").strip() or None,
    )
