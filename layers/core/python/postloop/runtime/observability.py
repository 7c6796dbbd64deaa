"""Logger, Metrics and Tracer shared by the handlers (Powertools).

Powertools' Tracer imports the X-Ray SDK when it is built, even with tracing off, and that
import costs about as much as boto3's (bench/cold_start.py, docs/performance.md). So `tracer`
builds it only where it will trace: the decision is taken once, when a handler is decorated
(at cold start), with Powertools' own rule — inside Lambda, unless POWERTOOLS_TRACE_DISABLED
is true. Elsewhere the handler is left as it is and the SDK is never imported.
"""
from __future__ import annotations

import logging
import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.shared.functions import strtobool

logger = Logger(service="postloop")

# Some libraries log request details at DEBUG, credentials included: botocore the secret values
# it fetched, oauthlib the OAuth 1.0a keys it signs with. A Lambda at AWS_LAMBDA_LOG_LEVEL=DEBUG
# sets the root logger to DEBUG, so these are held at WARNING whatever the level.
for _name in ("botocore", "boto3", "urllib3", "oauthlib", "requests_oauthlib", "openai", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)
metrics = Metrics(namespace="postloop", service="postloop")
# Without the dashboard plan and scrape send no metric at all (their spend is in learn's MonthSpendUSD):
# an empty flush is expected there, not a mistake worth Powertools' warning in every container's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# Set by the CDK app when it deploys the dashboard (`-c dashboard=true`).
DASHBOARD_METRICS_ENV = "POSTLOOP_DASHBOARD_METRICS"


class DashboardMetrics:
    """The metrics only the dashboard reads (no alarm does): sent only where it is deployed.

    CloudWatch bills a custom metric by each hour it is sent in ($0.30 a metric-month, so about
    $0.0004 a metric-hour: docs/deploy.md, "What it costs"), which makes these most of the AWS cost
    of a post; without the dashboard nothing would look at them, and the handlers' log lines carry
    the same figures. The alarms' metrics (learn's MonthSpendUSD, Post_posted, ModelCacheWriteFailed) go
    through `metrics` itself, always.
    """

    def __init__(self, env=os.environ):
        self._env = env

    @property
    def enabled(self) -> bool:
        return strtobool(self._env.get(DASHBOARD_METRICS_ENV, "false"))

    def add_metric(self, *, name: str, unit, value) -> None:
        if self.enabled:
            metrics.add_metric(name=name, unit=unit, value=value)


dashboard_metrics = DashboardMetrics()


def tracing_enabled(env=os.environ) -> bool:
    """Whether Powertools' Tracer would trace here (its `_is_tracer_disabled`, inverted)."""
    if strtobool(env.get("POWERTOOLS_TRACE_DISABLED", "false")):
        return False
    if env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE"):
        return False
    return bool(env.get("LAMBDA_TASK_ROOT"))


class LazyTracer:
    """Powertools' Tracer, built on first need; `capture_lambda_handler` passes the handler
    through untouched where tracing is off."""

    def __init__(self, service: str):
        self._service = service
        self._tracer = None

    @property
    def powertools(self):
        if self._tracer is None:
            from aws_lambda_powertools import Tracer
            self._tracer = Tracer(service=self._service)
        return self._tracer

    def capture_lambda_handler(self, lambda_handler=None, **options):
        if not tracing_enabled():
            return lambda_handler if lambda_handler is not None else (lambda handler: handler)
        return self.powertools.capture_lambda_handler(lambda_handler, **options)

    def __getattr__(self, name):
        # Anything else (put_annotation, capture_method, ...) is Powertools' own.
        return getattr(self.powertools, name)


tracer = LazyTracer(service="postloop")
