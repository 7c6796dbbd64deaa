"""scrape: read the metrics of every post past its 24 h or 48 h mark and store the outcomes."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.core.events import parse_scrape
from postloop.core.scrape import ScrapeDeps, scrape
from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    e = parse_scrape(event)
    if e.decision_id:
        logger.set_correlation_id(e.decision_id)
    w = wiring.current()
    config = w.account(e.account_id)
    result = scrape(config.account_id, e.now, ScrapeDeps(w.decisions, w.outcomes, w.x))
    metrics.add_dimension("account", config.account_id)
    metrics.add_metric(name="OutcomesWritten", unit=MetricUnit.Count, value=result.written)
    metrics.add_metric(name="OutcomesUnusable", unit=MetricUnit.Count, value=result.unusable)
    metrics.add_metric(name="PostsRead", unit=MetricUnit.Count, value=result.ids_read)
    logger.info("scrape finished", extra={"due": result.due, "written": result.written,
                                          "unusable": result.problems})
    return {"account_id": config.account_id, "due": result.due, "written": result.written,
            "unusable": result.unusable, "posts_read": result.ids_read}
