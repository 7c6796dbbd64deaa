"""scrape: read the metrics of every post past its 24 h or 48 h mark and store the outcomes."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import dashboard_metrics, logger, metrics
from postloop.runtime.tasks import scrape_task


# No X-Ray Tracer here: its SDK alone costs about a bare boto3 import at every cold start
# (docs/performance.md). Active tracing still records the invocation's own segment.
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event, context):
    if isinstance(event, dict) and isinstance(event.get("decision_id"), str):
        logger.set_correlation_id(event["decision_id"])
    out = scrape_task(event, wiring.current())
    metrics.add_dimension("account", out["account_id"])
    dashboard_metrics.add_metric(name="OutcomesWritten", unit=MetricUnit.Count, value=out["written"])
    dashboard_metrics.add_metric(name="OutcomesUnusable", unit=MetricUnit.Count, value=out["unusable"])
    dashboard_metrics.add_metric(name="PostsRead", unit=MetricUnit.Count, value=out["posts_read"])
    if out["engagement_rate"] is not None:
        dashboard_metrics.add_metric(name="ActualEngagementRate", unit=MetricUnit.NoUnit,
                                     value=out["engagement_rate"])
    logger.info("scrape finished", extra={k: out[k] for k in ("due", "written", "unusable", "posts_read",
                                                              "engagement_rate", "problems",
                                                              "spend_usd")})
    return out
