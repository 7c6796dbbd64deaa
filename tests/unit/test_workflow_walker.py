"""The local walker follows the workflow's Retry and Catch, as the deployed state machine does."""
import dataclasses
import heapq
import itertools
from datetime import datetime, timedelta, timezone

from postloop.core.events import parse_post
from postloop.core.post import CLAIM_LEASE, PostDeps, RetryLater, post, reconcile_only
from postloop.core.records import Decision, Features, Status
from postloop.core.workflow import POST_CYCLE, TRANSIENT, Task
from postloop.core.x_errors import XRateLimited
from postloop_local import simulate
from postloop_local.fake_x import QuietAudience
from postloop_local.memory import DirectX, MemoryDecisionStore
from postloop_local.simulate import LambdaCrash, SimResult, iso

PLANNED_AT = datetime(2026, 3, 14, 6, tzinfo=timezone.utc)
POST_AT = PLANNED_AT + timedelta(hours=3)
POST_STEP = next(i for i, s in enumerate(POST_CYCLE) if isinstance(s, Task) and s.function == "post")
RECONCILE_WAIT = timedelta(seconds=POST_CYCLE[POST_STEP].reconcile_first.wait_seconds)
# The whole retry schedule of a task: the first attempt plus max_attempts retries with backoff.
RETRIES_SPAN = timedelta(seconds=sum(TRANSIENT.interval_seconds * TRANSIENT.backoff_rate ** k
                                     for k in range(TRANSIENT.max_attempts)))


class Script:
    """Answers the walker's calls: `post` raises the queued errors first, then succeeds; the
    reconcile-only post answers `reconciled` (a status), raising `reconcile_errors` first."""

    def __init__(self, store, post_errors=(), status_after="failed", reconciled="failed", reconcile_errors=()):
        self.store = store
        self.post_errors = list(post_errors)
        self.status_after = status_after
        self.reconciled = reconciled
        self.reconcile_errors = list(reconcile_errors)
        self.events = []

    def __call__(self, function, event):
        self.events.append((function, dict(event)))
        if function == "post" and event.get("mode") == "reconcile":
            if self.reconcile_errors:
                raise self.reconcile_errors.pop(0)
            return {"account_id": "a", "decision_id": "d1", "status": self.reconciled}
        if function == "post":
            if self.post_errors:
                raise self.post_errors.pop(0)
            return {"account_id": "a", "decision_id": "d1", "status": self.status_after}
        raise AssertionError(f"unexpected call {function}")


class NoWorld:
    """What _register_post needs of the simulated audience, for a post the walker records."""

    def register(self, *args):
        from postloop_local.world import PostFate
        return PostFate(PLANNED_AT, 0, 0, 0, 0, 0, 0, 0, expected_rate=0.0)

    def local_hour(self, t):
        return t.hour


def _walk(script, store, clock=None):
    """Walk one cycle from its post step until it ends or goes past post; returns the result, the
    times the walker ran the cycle, and where it stopped (the job)."""
    queue, seq, result = [], itertools.count(), SimResult("s", "p", 1, 1, "memory")
    job = {"state": {"account_id": "a", "scheduled_time": iso(PLANNED_AT), "decision_id": "d1"},
           "step": POST_STEP}
    heapq.heappush(queue, (POST_AT, next(seq), "cycle", job))
    times = []
    while queue:
        when, _, _, job = heapq.heappop(queue)
        if job["step"] > POST_STEP + 1 or (job["step"] > POST_STEP and "reconcile" not in job):
            break   # past post (a wait after it): the cycle goes on without us
        times.append(when)
        if clock is not None:
            clock.t = when
        simulate._advance_cycle(job, when, queue, seq, result, NoWorld(), store, {}, PLANNED_AT, frozenset(),
                                script)
    return result, times, job


def _store(status=Status.PLANNED):
    store = MemoryDecisionStore()
    store.put_new(Decision(account_id="a", decision_id="d1", planned_at=PLANNED_AT, status=status,
                           parts=["p"], content_type="fact", hour=9, scheduled_for=POST_AT,
                           features=Features(quality=0.5, novelty=0.5, expertise=0.5)))
    return store


def test_retry_later_is_retried_with_backoff_and_the_same_entered_time():
    store = _store()
    script = Script(store, [RetryLater("X 429"), RetryLater("X 429")])
    result, times, _ = _walk(script, store)
    assert [(t - POST_AT).total_seconds() for t in times] == [0, 60, 180]
    # $$.State.EnteredTime: every attempt of the state carries the first attempt's time.
    assert {e["now"] for f, e in script.events} == {iso(POST_AT)}
    assert result.retries == {("post", "RetryLater"): 2} and result.failures == []


def test_a_function_that_died_is_retried_too():
    store = _store()
    result, times, _ = _walk(Script(store, [LambdaCrash("died after X accepted")]), store)
    assert len(times) == 2 and result.retries == {("post", "Lambda.Unknown"): 1}


def test_retries_exhausted_the_catch_reconciles_past_the_lease_then_marks_the_decision_failed():
    store = _store()
    errors = [RetryLater(f"X 429 #{i}") for i in range(TRANSIENT.max_attempts + 1)]
    script = Script(store, errors)
    result, times, _ = _walk(script, store)
    # Every attempt, then one reconcile-only post once the claim lease has run out.
    assert len(times) == TRANSIENT.max_attempts + 2
    assert times[-1] - times[-2] == RECONCILE_WAIT > CLAIM_LEASE
    function, event = script.events[-1]
    assert event["mode"] == "reconcile" and event["error"] == "RetryLater" and event["now"] == iso(times[-1])
    assert parse_post(event).mode == "reconcile"   # the event the walker builds is one post accepts
    d = store.get("a", "d1")
    assert d.status is Status.FAILED and d.status_reason == "post failed: RetryLater: X 429 #4"
    (failure,) = result.failures
    assert failure["marked_failed"] and failure["attempts"] == TRANSIENT.max_attempts + 1
    assert failure["reconciled"] is False


def test_when_the_reconcile_finds_the_post_the_cycle_goes_on_to_the_scrapes():
    store = _store()
    result, times, job = _walk(Script(store, [ValueError("died")], reconciled="posted"), store)
    # The ContinueIf let it through: it waits for its first scrape.
    assert len(times) == 2 and POST_CYCLE[job["step"]].function == "scrape"
    assert store.get("a", "d1").status is Status.PLANNED      # the script records nothing itself
    (failure,) = result.failures
    assert failure["reconciled"] is True and not failure["marked_failed"]


def test_a_reconcile_that_keeps_failing_is_retried_then_the_original_error_is_recorded():
    store = _store()
    script = Script(store, [ValueError("a bug")],
                    reconcile_errors=[RetryLater("X unreadable")] * (TRANSIENT.max_attempts + 1))
    result, times, _ = _walk(script, store)
    assert len(times) == 1 + TRANSIENT.max_attempts + 1
    assert result.retries == {("post (reconcile)", "RetryLater"): TRANSIENT.max_attempts}
    d = store.get("a", "d1")
    assert d.status is Status.FAILED and d.status_reason == "post failed: ValueError: a bug"
    assert result.failures[0]["error"] == "ValueError" and result.failures[0]["reconciled"] is False


def test_an_error_the_retry_does_not_name_goes_straight_to_the_catch():
    store = _store()
    result, times, _ = _walk(Script(store, [ValueError("a bug")]), store)
    assert len(times) == 2 and store.get("a", "d1").status is Status.FAILED   # the attempt, the reconcile
    assert result.failures[0]["error"] == "ValueError"


def test_the_catch_leaves_a_decision_that_already_ended_alone():
    store = _store(Status.POSTED)
    result, _, _ = _walk(Script(store, [ValueError("late")], reconciled="posted"), store)
    assert store.get("a", "d1").status is Status.POSTED and not result.failures[0]["marked_failed"]


# --- the real post use case behind the walker: the last attempt dies after X took the post --------

class Clock:
    t = POST_AT

    def __call__(self):
        return self.t


class LastAttemptDies(DirectX):
    """X throttles every attempt but the last, which X accepts before the function dies."""

    def __init__(self, clock):
        super().__init__(QuietAudience(), clock)
        self.attempts = 0

    def create_post(self, text, reply_to=None):
        self.attempts += 1
        if self.attempts <= TRANSIENT.max_attempts:
            raise XRateLimited("X answered 429", status=429)
        super().create_post(text, reply_to)
        raise LambdaCrash("injected: died after X accepted the post")


def _real_post(store, x, clock):
    def call(function, event):
        e = parse_post(event)
        deps = PostDeps(store, x, clock=clock)
        if e.mode == "reconcile":
            return _out(reconcile_only(e.account_id, e.decision_id, e.now, deps, error=e.error))
        return _out(post(e.account_id, e.decision_id, e.now, deps))
    return call


def _out(result):
    d = result.decision
    return {"account_id": d.account_id, "decision_id": d.decision_id, "status": d.status.value,
            "post_ids": d.post_ids}


def _orphans(store, x):
    """Posts live on X that no decision records as posted."""
    recorded = {pid for d in [store.get("a", "d1")] if d.status is Status.POSTED for pid in d.post_ids}
    return [pid for pid, p in x.posts.items() if not p["deleted"] and pid not in recorded]


def test_a_post_whose_last_attempt_died_after_x_took_it_is_recorded_posted_not_failed():
    store, clock = _store(), Clock()
    x = LastAttemptDies(clock)
    result, times, _ = _walk(_real_post(store, x, clock), store, clock)
    d = store.get("a", "d1")
    assert d.status is Status.POSTED and d.post_ids == list(x.posts)
    # Recorded at the time X took it (the last attempt), not when the reconcile ran.
    assert d.posted_at == POST_AT + RETRIES_SPAN and d.status_reason.startswith("reconciled after post failed")
    assert _orphans(store, x) == [] and len(x.posts) == 1
    assert result.failures[0]["reconciled"] is True and len(result.posts) == 1


def test_without_the_reconcile_step_the_same_crash_leaves_an_orphan(monkeypatch):
    cycle = tuple(dataclasses.replace(s, reconcile_first=None) if isinstance(s, Task) else s for s in POST_CYCLE)
    monkeypatch.setattr(simulate, "POST_CYCLE", cycle)
    store, clock = _store(), Clock()
    x = LastAttemptDies(clock)
    _walk(_real_post(store, x, clock), store, clock)
    assert store.get("a", "d1").status is Status.FAILED
    assert len(_orphans(store, x)) == 1   # live on X, recorded by a decision marked failed


def test_a_plan_that_fails_before_a_decision_exists_is_reported_not_recorded():
    store = MemoryDecisionStore()
    queue, seq, result = [], itertools.count(), SimResult("s", "p", 1, 1, "memory")
    job = {"state": {"account_id": "a", "scheduled_time": iso(PLANNED_AT)}, "step": 0}

    def call(function, event):
        raise ValueError("no writer")

    simulate._advance_cycle(job, PLANNED_AT, queue, seq, result, None, store, {}, PLANNED_AT, frozenset(), call)
    assert queue == [] and result.failures[0]["decision_id"] is None and not result.failures[0]["marked_failed"]
