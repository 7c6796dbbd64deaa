"""cache: the model cache's door for plan and learn, which run outside the VPC.

The only function inside the VPC (docs/decisions.md): plan invokes it to `get` an account's
latest model, learn to `put` one (adapters/lambda_model_cache.py). It calls no AWS API and
reaches nothing but the cache, so it needs no NAT; it is not traced, since X-Ray's daemon
would need a way out of the VPC, and plan's and learn's traces time the invocation.
"""
from postloop.runtime import wiring
from postloop.runtime.observability import logger
from postloop.runtime.tasks import cache_task


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    out = cache_task(event, wiring.current())
    if "error" in out:
        # The caller falls back (plan) or counts the failed write (learn); the type says why here.
        logger.warning("model cache unreachable", extra={"action": event.get("action"), "error": out["error"]})
    return out
