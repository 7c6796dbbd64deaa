"""Run a function's real handler in-process with a Lambda context, as `sam local invoke -e` would."""
from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

# "cache" is the model cache's door, which plan and learn invoke themselves (postloop_local/local_lambda.py).
FUNCTIONS = ("plan", "approve", "post", "scrape", "learn", "cache")
REPO_ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS_DIR = REPO_ROOT / "functions"


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:postloop-{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


_loaded: dict[str, ModuleType] = {}


def load_handler(function: str):
    """The `lambda_handler` of functions/<function>/handler.py, imported under a unique name."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown function {function!r}; one of {', '.join(FUNCTIONS)}")
    if function not in _loaded:
        path = FUNCTIONS_DIR / function / "handler.py"
        name = f"postloop_function_{function}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[function] = module
    return _loaded[function].lambda_handler


def invoke(function: str, event: dict):
    # Its AWS calls are signed with its own role when IAM is enforced (postloop_local/iam.py).
    from postloop_local.iam import as_function   # here: botocore costs a second the CLI's checks need not pay
    with as_function(function):
        return load_handler(function)(event, LambdaContext(function_name=function))


def run_as(function: str, task, *args, **kwargs):
    """Run `task` (e.g. one of postloop.runtime.tasks.TASKS) with `function`'s role."""
    from postloop_local.iam import as_function
    with as_function(function):
        return task(*args, **kwargs)
