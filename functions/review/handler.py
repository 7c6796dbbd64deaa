"""review: the page behind the approval message's links (a Lambda function URL, auth NONE).

Every request must carry a valid review token; postloop.runtime.review_http checks it,
shows the draft with its scores, rescores an edited text, and answers the approval.
The token and the request body never reach the log.
"""
from types import SimpleNamespace

from postloop.runtime import wiring
from postloop.runtime.observability import logger
from postloop.runtime.review_http import ReviewDeps, handle, settings_from_env, signer_from_secret

_deps = None


def _checkers(w):
    def for_config(config):
        return SimpleNamespace(moderator=w.moderator if config.safety.moderation else None,
                               judge=w.judge if config.judge.weight > 0 else None,
                               embedder=w.embedder if config.novelty.method == "embeddings" else None)
    return for_config


def deps() -> ReviewDeps:
    global _deps
    if _deps is None:
        from aws_lambda_powertools.utilities import parameters

        from postloop.adapters.pause_flags import DynamoTokenLedger
        secret_id, _ = settings_from_env()
        w = wiring.current()
        _deps = ReviewDeps(signer=signer_from_secret(parameters.get_secret(secret_id, max_age=300)),
                           ledger=DynamoTokenLedger(w.tables.locks), decisions=w.decisions, resumer=w.resumer,
                           account=w.account, checkers=_checkers(w))
    return _deps


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    out = handle(event, deps())
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    logger.info("review answered", extra={"method": method, "status": out["statusCode"]})
    return out
