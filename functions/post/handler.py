"""post: publish a planned decision to X, exactly once."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.core.events import parse_post
from postloop.core.post import PostDeps, post
from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    e = parse_post(event)
    logger.set_correlation_id(e.decision_id)
    w = wiring.current()
    config = w.account(e.account_id)
    dry_run = config.mode == "dry_run"
    result = post(e.account_id, e.decision_id, e.now,
                  PostDeps(w.decisions, None if dry_run else w.x, dry_run=dry_run))
    d = result.decision
    metrics.add_dimension("account", config.account_id)
    metrics.add_metric(name=f"Post_{result.action}", unit=MetricUnit.Count, value=1)
    logger.info("post finished", extra={"action": result.action, "status": d.status.value,
                                        "reason": d.status_reason, "post_ids": d.post_ids})
    return {"account_id": d.account_id, "decision_id": d.decision_id, "status": d.status.value,
            "action": result.action, "post_ids": d.post_ids, "reason": d.status_reason}
