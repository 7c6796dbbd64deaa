"""learn: rebuild the bandit arms and refit both predictors from the settled window."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.core.events import parse_scheduled
from postloop.core.learn import LearnDeps, learn
from postloop.runtime import wiring
from postloop.runtime.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event, context):
    e = parse_scheduled(event, "learn")
    w = wiring.current()
    config = w.account(e.account_id)
    result = learn(config, e.scheduled_time,
                   LearnDeps(w.decisions, w.outcomes, w.arms, w.registry, w.model_cache))
    metrics.add_dimension("account", config.account_id)
    metrics.add_metric(name="SettledSamples", unit=MetricUnit.Count, value=result.samples)
    eng = result.model.payload["engagement"] if result.model else {}
    fol = result.model.payload["follow"] if result.model else {}
    for name, value in (("HeldOutR2", eng.get("r2")), ("HeldOutMAE", eng.get("mae")),
                        ("HeldOutAUC", fol.get("auc")), ("HeldOutLogLoss", fol.get("log_loss"))):
        if value is not None:
            metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
    logger.info("learn finished", extra={"samples": result.samples, "notes": result.notes,
                                         "model_version": result.model.version if result.model else None})
    return {
        "account_id": config.account_id,
        "samples": result.samples,
        "model_version": result.model.version if result.model else None,
        "model_written": result.model_written,
        "cache_written": result.cache_written,
        "engagement": {k: eng.get(k) for k in ("n", "r2", "mae", "baseline_mae", "trusted", "reason")},
        "follow": {k: fol.get(k) for k in ("n", "auc", "log_loss", "baseline_log_loss", "trusted", "reason")},
        "arms": {a.arm_id: {"pulls": a.pulls, "successes": a.successes, "failures": a.failures,
                            "reward_sum": round(a.reward_sum, 6)} for a in result.arms},
        "coefficients": {
            "engagement": dict(zip(eng.get("features", []), eng.get("coef") or [])),
            "follow": dict(zip(fol.get("features", []), fol.get("coef") or [])),
        },
        "notes": result.notes,
    }
