"""The local walker follows the workflow's Retry and Catch, as the deployed state machine does."""
import heapq
import itertools
from datetime import datetime, timedelta, timezone

from postloop.core.post import RetryLater
from postloop.core.records import Decision, Status
from postloop.core.workflow import POST_CYCLE, TRANSIENT, Task
from postloop_local import simulate
from postloop_local.memory import MemoryDecisionStore
from postloop_local.simulate import LambdaCrash, SimResult, iso

PLANNED_AT = datetime(2026, 3, 14, 6, tzinfo=timezone.utc)
POST_AT = PLANNED_AT + timedelta(hours=3)
POST_STEP = next(i for i, s in enumerate(POST_CYCLE) if isinstance(s, Task) and s.function == "post")


class Script:
    """Answers the walker's calls: `post` raises the queued errors first, then succeeds."""

    def __init__(self, store, post_errors=(), status_after="failed"):
        self.store = store
        self.post_errors = list(post_errors)
        self.status_after = status_after
        self.events = []

    def __call__(self, function, event):
        self.events.append((function, dict(event)))
        if function == "post":
            if self.post_errors:
                raise self.post_errors.pop(0)
            return {"account_id": "a", "decision_id": "d1", "status": self.status_after}
        raise AssertionError(f"unexpected call {function}")


def _walk(script, store):
    """Walk one cycle from its post step until it ends; returns the result and the post times."""
    queue, seq, result = [], itertools.count(), SimResult("s", "p", 1, 1, "memory")
    job = {"state": {"account_id": "a", "scheduled_time": iso(PLANNED_AT), "decision_id": "d1"},
           "step": POST_STEP}
    heapq.heappush(queue, (POST_AT, next(seq), "cycle", job))
    times = []
    while queue:
        when, _, _, job = heapq.heappop(queue)
        if job["step"] > POST_STEP:   # past post (a wait after it): the cycle goes on without us
            break
        times.append(when)
        simulate._advance_cycle(job, when, queue, seq, result, None, store, {}, PLANNED_AT, frozenset(), script)
    return result, times


def _store(status=Status.PLANNED):
    store = MemoryDecisionStore()
    store.put_new(Decision(account_id="a", decision_id="d1", planned_at=PLANNED_AT, status=status,
                           parts=["p"], content_type="fact", hour=9))
    return store


def test_retry_later_is_retried_with_backoff_and_the_same_entered_time():
    store = _store()
    script = Script(store, [RetryLater("X 429"), RetryLater("X 429")])
    result, times = _walk(script, store)
    assert [(t - POST_AT).total_seconds() for t in times] == [0, 60, 180]
    # $$.State.EnteredTime: every attempt of the state carries the first attempt's time.
    assert {e["now"] for f, e in script.events} == {iso(POST_AT)}
    assert result.retries == {("post", "RetryLater"): 2} and result.failures == []


def test_a_function_that_died_is_retried_too():
    store = _store()
    result, times = _walk(Script(store, [LambdaCrash("died after X accepted")]), store)
    assert len(times) == 2 and result.retries == {("post", "Lambda.Unknown"): 1}


def test_retries_exhausted_the_catch_marks_the_decision_failed_with_the_error():
    store = _store()
    errors = [RetryLater(f"X 429 #{i}") for i in range(TRANSIENT.max_attempts + 1)]
    result, times = _walk(Script(store, errors), store)
    assert len(times) == TRANSIENT.max_attempts + 1
    d = store.get("a", "d1")
    assert d.status is Status.FAILED and d.status_reason == "post failed: RetryLater: X 429 #4"
    (failure,) = result.failures
    assert failure["marked_failed"] and failure["attempts"] == TRANSIENT.max_attempts + 1


def test_an_error_the_retry_does_not_name_goes_straight_to_the_catch():
    store = _store()
    result, times = _walk(Script(store, [ValueError("a bug")]), store)
    assert len(times) == 1 and store.get("a", "d1").status is Status.FAILED
    assert result.failures[0]["error"] == "ValueError"


def test_the_catch_leaves_a_decision_that_already_ended_alone():
    store = _store(Status.POSTED)
    result, _ = _walk(Script(store, [ValueError("late")]), store)
    assert store.get("a", "d1").status is Status.POSTED and not result.failures[0]["marked_failed"]


def test_a_plan_that_fails_before_a_decision_exists_is_reported_not_recorded():
    store = MemoryDecisionStore()
    queue, seq, result = [], itertools.count(), SimResult("s", "p", 1, 1, "memory")
    job = {"state": {"account_id": "a", "scheduled_time": iso(PLANNED_AT)}, "step": 0}

    def call(function, event):
        raise ValueError("no writer")

    simulate._advance_cycle(job, PLANNED_AT, queue, seq, result, None, store, {}, PLANNED_AT, frozenset(), call)
    assert queue == [] and result.failures[0]["decision_id"] is None and not result.failures[0]["marked_failed"]
