"""A throttled or failing service makes a task RetryLater, which the workflow retries; other errors pass."""
from datetime import datetime, timedelta, timezone

import pytest

from postloop.core.post import RetryLater
from postloop.core.ports import WriterFailed
from postloop.core.records import Decision, Status
from postloop.core.scrape import ScrapeDeps, scrape
from postloop.core.x_errors import XRateLimited, XServerError
from postloop.runtime.tasks import RetryableWriter, plan_task, retry_when_throttled
from postloop_local import simulate
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import MemoryDecisionStore, MemoryOutcomeStore, MemoryWiring

T0 = datetime(2026, 4, 1, 9, tzinfo=timezone.utc)


class PynamoLikeError(Exception):
    """The shape of PynamoDB's errors: the AWS error code of their cause."""

    def __init__(self, code):
        super().__init__(f"Failed: {code}")
        self.cause_response_code = code


class BotocoreLikeError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


@pytest.mark.parametrize("err", [PynamoLikeError("ProvisionedThroughputExceededException"),
                                 PynamoLikeError("ThrottlingException"),
                                 BotocoreLikeError("RequestLimitExceeded")])
def test_aws_throttling_anywhere_in_a_task_is_retry_later(err):
    @retry_when_throttled
    def task(event, w):
        raise err

    with pytest.raises(RetryLater) as caught:
        task({}, None)
    assert caught.value.__cause__ is err


@pytest.mark.parametrize("err", [PynamoLikeError("ConditionalCheckFailedException"), ValueError("a bug"),
                                 BotocoreLikeError("ValidationException")])
def test_other_errors_pass_unchanged(err):
    @retry_when_throttled
    def task(event, w):
        raise err

    with pytest.raises(type(err)):
        task({}, None)


def test_a_writer_that_fails_makes_plan_retry_later_and_store_nothing():
    class Unreachable:
        generator = "openai"

        def write(self, request):
            raise TimeoutError("the model did not answer in time")

    account = simulate.load_account("demo")
    w = MemoryWiring([account], QuietAudience(), lambda: T0)
    w.writer = Unreachable()
    event = {"account_id": "demo", "scheduled_time": "2026-04-01T09:00:00Z"}
    with pytest.raises(RetryLater, match="writer unavailable: TimeoutError"):
        plan_task(event, w)
    assert w.decisions.planned_between("demo", T0 - timedelta(days=1), T0 + timedelta(days=1)) == []
    assert RetryableWriter(Unreachable()).generator == "openai"


class StatusError(Exception):
    """The shape of the openai SDK's status errors: an HTTP status on the exception."""

    def __init__(self, status_code):
        super().__init__(f"Error code: {status_code} - Incorrect API key provided: sk-ab***cdef")
        self.status_code = status_code


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_refused_writer_request_is_permanent_and_says_so_without_the_servers_words(status):
    class Refused:
        def write(self, request):
            raise StatusError(status)

    with pytest.raises(WriterFailed) as caught:
        RetryableWriter(Refused()).write(None)
    assert str(caught.value) == f"StatusError ({status}): the request was refused; trying again will not help"
    assert not caught.value.this_draft_only


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503])
def test_a_not_now_status_is_retried_later(status):
    class Busy:
        def write(self, request):
            raise StatusError(status)

    with pytest.raises(RetryLater, match=rf"writer unavailable: StatusError \({status}\)"):
        RetryableWriter(Busy()).write(None)


def test_the_writers_own_permanent_verdict_passes_through_unchanged():
    verdict = WriterFailed("404 Not Found from http://127.0.0.1:1/v1/responses", cost_usd=0.001)

    class Refused:
        def write(self, request):
            raise verdict

    with pytest.raises(WriterFailed) as caught:
        RetryableWriter(Refused()).write(None)
    assert caught.value is verdict


def test_a_permanent_writer_error_is_a_failed_decision_in_plan():
    class Refused:
        generator = "openai"

        def write(self, request):
            raise StatusError(401)

    account = simulate.load_account("demo")
    w = MemoryWiring([account], QuietAudience(), lambda: T0)
    w.writer = Refused()
    out = plan_task({"account_id": "demo", "scheduled_time": "2026-04-01T09:00:00Z"}, w)
    assert out["status"] == "failed" and out["approved"] is False
    assert out["reason"] == "writer: StatusError (401): the request was refused; trying again will not help"
    assert w.decisions.get("demo", out["decision_id"]).status is Status.FAILED


class ReadsFail:
    def __init__(self, err):
        self.err = err

    def get_metrics(self, post_ids, private_ids=()):
        raise self.err

    def get_followers_count(self):
        raise AssertionError("not reached")


@pytest.mark.parametrize("err", [XRateLimited("429", reset_at=T0 + timedelta(hours=1, minutes=10)),
                                 XServerError("503")])
def test_scrape_retries_later_when_x_cannot_be_read_and_writes_nothing(err):
    decisions, outcomes = MemoryDecisionStore(), MemoryOutcomeStore()
    decisions.put_new(Decision("a", "d1", T0 - timedelta(hours=1), Status.POSTED, parts=["x"], post_ids=["11"],
                               posted_at=T0, followers_at_post=1000))
    with pytest.raises(RetryLater) as caught:
        scrape("a", T0 + timedelta(hours=25), ScrapeDeps(decisions, outcomes, ReadsFail(err)))
    assert caught.value.retry_at == getattr(err, "reset_at", None)
    assert outcomes.for_decision("a", "d1") == []
