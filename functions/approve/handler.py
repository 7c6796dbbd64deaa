"""approve: a person's yes or no on a planned post (accounts in approval mode).

Step Functions invokes it with a task token (`action: "request"`) and waits;
a person invokes it by hand with `action: "answer"` and `approve` true or false,
which resumes the waiting workflow.
"""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer
from postloop.runtime.tasks import approve_task


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    if isinstance(event, dict) and isinstance(event.get("decision_id"), str):
        logger.set_correlation_id(event["decision_id"])
    out = approve_task(event, wiring.current())
    metrics.add_dimension("account", out["account_id"])
    metrics.add_metric(name=f"Approval_{out['action']}", unit=MetricUnit.Count, value=1)
    # The task token stays out of the log: it would let anyone resume the workflow.
    logger.info("approve finished", extra={k: out[k] for k in ("action", "status", "resumed")})
    return out
