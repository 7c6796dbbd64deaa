"""learn: rebuild the bandit arms and refit both predictors from the settled window."""
from aws_lambda_powertools.metrics import MetricUnit

from postloop.runtime import wiring
from postloop.runtime.observability import dashboard_metrics, logger, metrics, tracer
from postloop.runtime.tasks import learn_task


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    out = learn_task(event, wiring.current())
    metrics.add_dimension("account", out["account_id"])
    dashboard_metrics.add_metric(name="SettledSamples", unit=MetricUnit.Count, value=out["samples"])
    for name, value in (("HeldOutR2", out["engagement"]["r2"]), ("HeldOutMAE", out["engagement"]["mae"]),
                        ("HeldOutAUC", out["follow"]["auc"]), ("HeldOutLogLoss", out["follow"]["log_loss"])):
        if value is not None:
            dashboard_metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)
    # 0 when the write succeeded (or no cache is configured), so the alarm sees a steady series.
    metrics.add_metric(name="ModelCacheWriteFailed", unit=MetricUnit.Count, value=int(out["cache_write_failed"]))
    # The month's spend so far, as plan's caps count it: the spend alarm's one metric. Sent here, every
    # 6 h, rather than by plan, post and scrape, where it cost a metric-hour each per post.
    metrics.add_metric(name="MonthSpendUSD", unit=MetricUnit.NoUnit, value=out["month_spend_usd"])
    if out["cache_write_failed"]:
        logger.warning("model cache write failed; plan reads the durable copy", extra={"notes": out["notes"]})
    sweep = out["sweep"]
    if "suspects" in sweep:
        dashboard_metrics.add_metric(name="OrphansAdopted", unit=MetricUnit.Count, value=len(sweep["adopted"]))
        dashboard_metrics.add_metric(name="UnmatchedLivePosts", unit=MetricUnit.Count, value=sweep["unmatched"])
        if sweep["adopted"] or sweep["unmatched"]:
            logger.warning("sweep found live posts no decision recorded", extra={
                "adopted": sweep["adopted"], "unmatched_post_ids": sweep["unmatched_ids"]})
    elif "error" in sweep:
        dashboard_metrics.add_metric(name="SweepFailed", unit=MetricUnit.Count, value=1)
    logger.info("learn finished", extra={"samples": out["samples"], "notes": out["notes"],
                                         "model_version": out["model_version"], "sweep": sweep,
                                         "month_spend_usd": out["month_spend_usd"]})
    return out
