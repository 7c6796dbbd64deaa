"""The tracer is built only where Powertools would trace, so the X-Ray SDK stays out of other cold starts."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postloop.runtime.observability import LazyTracer, tracing_enabled

LAYER = Path(__file__).resolve().parents[2] / "layers" / "core" / "python"


@pytest.mark.parametrize("env, expected", [
    ({}, False),                                                   # not in Lambda
    ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
])
def test_tracing_follows_powertools_rule(env, expected):
    assert tracing_enabled(env) is expected


def test_without_tracing_the_handler_is_left_as_it_is(monkeypatch):
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)

    def handler(event, context):
        return event

    assert LazyTracer("t").capture_lambda_handler(handler) is handler
    assert LazyTracer("t").capture_lambda_handler(capture_response=False)(handler) is handler


def _probe(env: dict, code: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "AWS_"))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True,
                          env={**base, "PYTHONPATH": str(LAYER), "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR", **env})
    return json.loads(proc.stdout.strip().splitlines()[-1])


PROBE = """
import json, sys
from postloop.runtime.observability import tracer
handler = tracer.capture_lambda_handler(lambda event, context: {"echo": event})
out = handler({"a": 1}, None)
print(json.dumps({"xray": "aws_xray_sdk" in sys.modules, "out": out}))
"""


def test_the_x_ray_sdk_is_imported_only_when_tracing():
    off = _probe({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, PROBE)
    on = _probe({"LAMBDA_TASK_ROOT": "/var/task"}, PROBE)
    assert off == {"xray": False, "out": {"echo": {"a": 1}}}
    assert on == {"xray": True, "out": {"echo": {"a": 1}}}     # traced, same result
