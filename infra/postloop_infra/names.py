"""Every name the deployment shares with the code, a person or another resource, defined once.

Physical names are given only where a person types them (function names for
`aws lambda invoke`, secret names for `put-secret-value`, the dashboard) or
where the code builds them (the X secret template). Tables, queues and roles
keep CloudFormation's generated names: a retained table with a fixed name would
block the next deploy after a teardown.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = REPO / "functions"
CORE_LAYER_DIR = REPO / "layers" / "core"
DEFAULT_ACCOUNTS_DIR = REPO / "infra" / "accounts"

PREFIX = "postloop"
STACK_NAME = PREFIX

# The Lambda functions: the five of the loop, in the order it runs them, and the cache function
# plan and learn ask for the model cache (deployed without a NAT, the default).
FUNCTIONS = ("plan", "approve", "post", "scrape", "learn", "cache")
HANDLER = "handler.lambda_handler"


def function_name(function: str) -> str:
    return f"{PREFIX}-{function}"


# The environment variables postloop.runtime.settings reads (tests check them against it).
TABLE_ENV = {
    "content_metadata": "POSTLOOP_CONTENT_TABLE",
    "outcomes": "POSTLOOP_OUTCOMES_TABLE",
    "bandit_arms": "POSTLOOP_ARMS_TABLE",
    "model_versions": "POSTLOOP_MODELS_TABLE",
    "locks": "POSTLOOP_LOCKS_TABLE",
    "follower_readings": "POSTLOOP_FOLLOWERS_TABLE",
}
ENV_ACCOUNTS_FILE = "POSTLOOP_ACCOUNTS_FILE"
ENV_REDIS_URL = "POSTLOOP_REDIS_URL"
ENV_MODEL_CACHE_FUNCTION = "POSTLOOP_MODEL_CACHE_FUNCTION"
ENV_DASHBOARD_METRICS = "POSTLOOP_DASHBOARD_METRICS"   # postloop.runtime.observability.DashboardMetrics
ENV_X_SECRET_ID = "POSTLOOP_X_SECRET_ID"
ENV_OPENAI_SECRET_ID = "POSTLOOP_OPENAI_SECRET_ID"
ENV_OPENAI_MODEL = "POSTLOOP_OPENAI_MODEL"
# An OpenAI-compatible server other than OpenAI's (README, "Using another LLM").
ENV_OPENAI_API = "POSTLOOP_OPENAI_API"
ENV_OPENAI_BASE_URL = "OPENAI_BASE_URL"
ENV_OPENAI_JUDGE_MODEL = "POSTLOOP_OPENAI_JUDGE_MODEL"
ENV_OPENAI_EMBEDDING_MODEL = "POSTLOOP_OPENAI_EMBEDDING_MODEL"
ENV_OPENAI_MODERATION_MODEL = "POSTLOOP_OPENAI_MODERATION_MODEL"
ENV_APPROVAL_TOPIC_ARN = "POSTLOOP_APPROVAL_TOPIC_ARN"

# The accounts layer is unpacked under /opt like every layer.
ACCOUNTS_LAYER_FILE = "accounts/accounts.json"
ACCOUNTS_FILE = f"/opt/{ACCOUNTS_LAYER_FILE}"

# One X secret per account; the code fills `{account_id}` in (postloop.runtime.wiring).
X_SECRET_TEMPLATE = f"{PREFIX}/x/{{account_id}}"
OPENAI_SECRET_NAME = f"{PREFIX}/openai"


def x_secret_name(account_id: str) -> str:
    return X_SECRET_TEMPLATE.replace("{account_id}", account_id)


CACHE_NAME = f"{PREFIX}-models"
CACHE_PORT = 6379  # the serverless cache's read-write endpoint

SCHEDULE_GROUP = PREFIX
DASHBOARD_NAME = PREFIX


def alarm_name(what: str) -> str:
    return f"{PREFIX}-{what}"
