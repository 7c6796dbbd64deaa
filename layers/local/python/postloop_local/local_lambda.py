"""Lambda's Invoke API in local runs: moto authorizes the call, the function runs in-process.

plan and learn reach the model cache through the cache function (adapters/lambda_model_cache.py)
with boto3's Lambda client, as deployed. Locally that client talks to moto like every other
AWS client of the run: the request is signed with the calling function's role and, with IAM
enforced (postloop_local.iam), moto's access control decides it against the function's ARN.
moto runs no Python function without Docker: its simple Lambda backend (LocalBackends starts
moto with `"use_docker": False`) answers an allowed Invoke with a placeholder. The botocore
hooks below then run the named function's real handler in-process, with its own role
(postloop_local.invoke.invoke), and put its answer in the response as Lambda would: the JSON it
returned, or Lambda's error payload with `FunctionError: Unhandled` when it raised. An Invoke
that moto refused (AccessDenied) raises as usual and runs nothing.

Only functions registered with `serve` (while a LocalBackends is up) are run; any other
Invoke is left to moto.
"""
from __future__ import annotations

import contextlib
import io
import json
import threading
import traceback
from typing import Callable, Iterator

_CONTEXT_KEY = "postloop_local_invoke"
_served: dict[str, Callable[[dict], object]] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def serve(function_name: str, run: Callable[[dict], object]) -> Iterator[None]:
    """Run `run(event)` for every Invoke of `function_name` (a name, not an ARN) while inside."""
    with _lock:
        if function_name in _served:
            raise RuntimeError(f"{function_name} is already served in this process")
        _served[function_name] = run
    try:
        yield
    finally:
        with _lock:
            _served.pop(function_name, None)


def served() -> tuple[str, ...]:
    return tuple(_served)


def _function_name(name_or_arn: str) -> str:
    # "postloop-cache", or "arn:aws:lambda:<region>:<account>:function:postloop-cache[:qualifier]".
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else name_or_arn
    return name_or_arn


def _remember_request(params=None, context=None, **kwargs) -> None:
    """before-parameter-build.lambda.Invoke: keep what was asked for the answer's hook."""
    if params is None or context is None:
        return
    name = _function_name(str(params.get("FunctionName", "")))
    if name in _served:
        context[_CONTEXT_KEY] = (name, params.get("Payload", b""), params.get("InvocationType", "RequestResponse"))


def _payload_text(payload) -> str:
    if hasattr(payload, "read"):
        payload = payload.read()
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    return payload or "{}"


def _answer(parsed=None, context=None, **kwargs) -> None:
    """after-call.lambda.Invoke: moto allowed the call; run the function and answer with its result."""
    if parsed is None or context is None or _CONTEXT_KEY not in context:
        return
    name, payload, invocation_type = context.pop(_CONTEXT_KEY)
    if "Error" in parsed or parsed.get("StatusCode") not in (200, 202, 204):
        return   # refused (AccessDenied, no such function): the client raises, nothing runs
    run = _served.get(name)
    if run is None:
        return
    if invocation_type != "RequestResponse":
        raise NotImplementedError(f"local Invoke of {name} supports RequestResponse only, not {invocation_type}")
    from botocore.response import StreamingBody
    try:
        body = json.dumps(run(json.loads(_payload_text(payload)))).encode("utf-8")
        parsed.pop("FunctionError", None)
    except Exception as err:   # what Lambda's Python runtime answers for an unhandled exception
        body = json.dumps({"errorMessage": str(err), "errorType": type(err).__name__,
                           "stackTrace": traceback.format_tb(err.__traceback__)}).encode("utf-8")
        parsed["FunctionError"] = "Unhandled"
    parsed["Payload"] = StreamingBody(io.BytesIO(body), len(body))


def _install() -> None:
    # Every botocore session made from now on registers them (as postloop_local.iam's signing
    # hook); they do nothing for a function that is not served.
    from botocore.handlers import BUILTIN_HANDLERS
    for event, handler in (("before-parameter-build.lambda.Invoke", _remember_request),
                           ("after-call.lambda.Invoke", _answer)):
        if not any(h is handler for _, h, *_ in BUILTIN_HANDLERS):
            BUILTIN_HANDLERS.append((event, handler))


_install()
