"""plan: choose what to post and when, write it, score it, gate it, record the decision."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.core.events import parse_scheduled
from postloop.core.plan import PlanDeps, plan
from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    e = parse_scheduled(event, "plan")
    w = wiring.current()
    config = w.account(e.account_id)
    decision = plan(config, e.scheduled_time, PlanDeps(w.decisions, w.arms, w.writer, w.registry, w.model_cache))
    logger.set_correlation_id(decision.decision_id)
    metrics.add_dimension("account", config.account_id)
    metrics.add_metric(name=f"Decision_{decision.status.value}", unit=MetricUnit.Count, value=1)
    p = decision.prediction
    if p and p.engagement_rate is not None:
        metrics.add_metric(name="PredictedEngagementRate", unit=MetricUnit.NoUnit, value=p.engagement_rate)
    logger.info("planned", extra={"status": decision.status.value, "reason": decision.status_reason,
                                  "content_type": decision.content_type, "hour": decision.hour})
    return {
        "account_id": decision.account_id,
        "decision_id": decision.decision_id,
        "status": decision.status.value,
        "reason": decision.status_reason,
        "content_type": decision.content_type,
        "hour": decision.hour,
        "scheduled_for": decision.scheduled_for.isoformat().replace("+00:00", "Z") if decision.scheduled_for else None,
        "approved": decision.status.value in ("planned", "awaiting_approval"),
    }
