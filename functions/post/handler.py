"""post: publish a planned decision to X, exactly once."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import dashboard_metrics, logger, metrics
from postloop.runtime.tasks import post_task

# What the no-post alarm reads (infra monitoring.posted_metric_name): sent always, one a post.
ALARMED_ACTIONS = ("posted", "dry_run")


# No X-Ray Tracer here: its SDK alone costs about a bare boto3 import at every cold start
# (docs/performance.md). Active tracing still records the invocation's own segment.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    if isinstance(event, dict) and isinstance(event.get("decision_id"), str):
        logger.set_correlation_id(event["decision_id"])
    w = wiring.current()
    # X's calls end a reserve before Lambda would stop the function, so the outcome is recorded.
    with w.x_budget(context.get_remaining_time_in_millis() / 1000):
        out = post_task(event, w)
    metrics.add_dimension("account", out["account_id"])
    if out["action"] in ALARMED_ACTIONS:
        metrics.add_metric(name=f"Post_{out['action']}", unit=MetricUnit.Count, value=1)
    else:
        # No alarm reads the other actions (reconciled, already_done, failed, not_ready, late): the log
        # line below carries them for Logs Insights, and the dashboard's graphs get them where deployed.
        dashboard_metrics.add_metric(name=f"Post_{out['action']}", unit=MetricUnit.Count, value=1)
    logger.info("post finished", extra={k: out[k] for k in ("action", "status", "reason", "post_ids", "spend_usd")})
    return out
