"""plan: choose what to post and when, write it, score it, gate it, record the decision."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import dashboard_metrics, logger, metrics, tracer
from postloop.runtime.tasks import plan_task


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    out = plan_task(event, wiring.current())
    logger.set_correlation_id(out["decision_id"])
    metrics.add_dimension("account", out["account_id"])
    dashboard_metrics.add_metric(name=f"Decision_{out['status']}", unit=MetricUnit.Count, value=1)
    if out["predicted_engagement_rate"] is not None:
        dashboard_metrics.add_metric(name="PredictedEngagementRate", unit=MetricUnit.NoUnit,
                                     value=out["predicted_engagement_rate"])
    logger.info("planned", extra={k: out[k] for k in ("status", "reason", "content_type", "hour",
                                                      "predicted_engagement_rate", "spend_usd")})
    return out
