"""scrape: read the metrics of every post past its 24 h or 48 h mark and store the outcomes."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer
from postloop.runtime.tasks import scrape_task


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    if isinstance(event, dict) and isinstance(event.get("decision_id"), str):
        logger.set_correlation_id(event["decision_id"])
    out = scrape_task(event, wiring.current())
    metrics.add_dimension("account", out["account_id"])
    metrics.add_metric(name="OutcomesWritten", unit=MetricUnit.Count, value=out["written"])
    metrics.add_metric(name="OutcomesUnusable", unit=MetricUnit.Count, value=out["unusable"])
    metrics.add_metric(name="PostsRead", unit=MetricUnit.Count, value=out["posts_read"])
    metrics.add_metric(name="SpendUSD", unit=MetricUnit.NoUnit, value=out["spend_usd"])
    logger.info("scrape finished", extra={k: out[k] for k in ("due", "written", "problems")})
    return out
