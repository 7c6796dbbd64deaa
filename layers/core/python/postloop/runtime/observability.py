"""Logger, Metrics and Tracer shared by the handlers (Powertools)."""
from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="postloop")
metrics = Metrics(namespace="postloop", service="postloop")
tracer = Tracer(service="postloop")
