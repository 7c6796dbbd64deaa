"""A fault-injection run of the simulated loop: the real handlers, with the outside world failing.

Each fault is injected where it happens in production, so the code that must cope with it
is the code that runs:

* X: the fake X API on 127.0.0.1 answers from a fault schedule (`x_schedule`): bursts of
  503 (some after the post was created), 429 windows with `x-rate-limit-reset`, answers held
  past the client's timeout (some after the post was created: the lost answer), a thread's
  later part refused; the real `XApiClient` handles them.
* OpenAI: the fake Responses endpoint times out, answers 429 or returns output that is not
  the requested JSON, in blips (the SDK's own retries absorb them) and in outage windows;
  the real `OpenAIWriter` handles them.
* Redis: the real redis-server is stopped for hours of simulated time and restarted empty.
* DynamoDB: a botocore `before-call` hook on the moto-backed clients answers a share of
  requests with ProvisionedThroughputExceededException or ThrottlingException (as if the
  SDK's own retries had run out); conditional-write conflicts come from real concurrent
  writers (below).
* Crashes: a function's process dies (`LambdaCrash`, which Step Functions sees as
  `Lambda.Unknown`) after X accepted a post and before the decision was saved, after a
  thread's first part, after claiming a decision and before calling X, after plan stored
  its decision and after scrape stored an outcome.
* The scheduler: a plan event delivered twice, minutes apart or at the same moment; the
  second execution runs in its own container (its own wiring and clients), and when both
  plan at once they run at once, in threads, so the conditional write decides. As deployed,
  the cycle after plan is started once per decision (its execution is named after the
  decision), so the second execution ends there. Learn events are delivered twice too.

The cycles follow `postloop.core.workflow` through the simulator's walker, with its Retry
and Catch. After the last plan the run drains: every cycle runs to its end, then a last
learn rebuilds the arms, and the figures are measured from the stores and from the fake
X's own record of what it holds.

The embedded backends slow down as the stores fill, so a long run is split into lanes:
independent runs of `lane_days` days, each with fresh backends and its own seed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import math
import random
import re
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from postloop_local import simulate
from postloop_local.fake_x import ScheduledFault, reply_refused
from postloop_local.simulate import LambdaCrash, SimClock, error_name, iso

# Timeouts are real seconds, so the run shortens them (10 s for X and 20 s for OpenAI deployed);
# they stay well above a loaded machine's answer times, so only the injected holds time out.
X_TIMEOUT_SECONDS = 0.8
X_HOLD_SECONDS = 1.2          # how long a "timeout" answer is held back, past the client's timeout
OPENAI_TIMEOUT_SECONDS = 0.5
OPENAI_HANG_SECONDS = 0.9
LEARN_RETRY_MINUTES = (1, 2)  # Lambda retries a failed asynchronous invocation twice
DYNAMO_THROTTLE_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException")


@dataclass(frozen=True)
class FaultRates:
    """How often each fault strikes. Probabilities are per opportunity, as commented."""

    x_5xx: float = 0.05             # per X create: a burst of 1-5 answers of 503 (the client retries 3 times)
    x_5xx_after_create: float = 0.3  # share of those bursts whose first 503 comes after X created the post
    x_429: float = 0.02             # per X create: a rate-limit window of 1-15 minutes opens
    x_timeout: float = 0.03         # per X create: the answer is held past the client's timeout
    x_timeout_after_create: float = 0.5  # share of those held answers sent after X created the post
    x_reply_refused: float = 0.12   # per reply (a thread's later part): X refuses it (403)
    x_read_5xx: float = 0.02        # per X read: a burst of 1-5 answers of 503
    x_read_429: float = 0.003       # per X read: a rate-limit window of 1-15 minutes for reads
    crash_after_accept: float = 0.04   # per post that X accepted: the function dies before saving it
    crash_mid_thread: float = 0.08     # per thread posted: the function dies after the first part
    crash_after_claim: float = 0.02    # per claim: the function dies before calling X
    crash_after_plan_saved: float = 0.02   # per decision stored by plan: dies before answering
    crash_after_outcome_saved: float = 0.01  # per outcome stored by scrape: dies before answering
    dynamo_throttle: float = 0.004  # per DynamoDB request
    openai_timeout: float = 0.02    # per OpenAI request: held past the client's timeout
    openai_429: float = 0.02        # per OpenAI request: 429
    openai_malformed: float = 0.01  # per OpenAI request: the output is not the requested JSON
    openai_outage_per_day: float = 0.25   # an outage (every request times out or gets 429) of 5-40 minutes
    redis_outage_per_day: float = 0.4     # redis-server stopped for 1-10 hours, restarted empty
    duplicate_delivery: float = 0.05      # per plan or learn event: delivered again 5 s - 10 min later
    overlapping_delivery: float = 0.05    # per plan or learn event: delivered twice at the same moment


@dataclass
class FaultPlan:
    """The seeded schedule of faults and the record of what was injected."""

    seed: int
    clock: Callable[[], datetime]
    rates: FaultRates = field(default_factory=FaultRates)
    injected: Counter = field(default_factory=Counter)
    enabled: bool = False
    # Texts whose create got a lost answer (X made the post, the client never heard).
    lost_answer_texts: set = field(default_factory=set)

    def __post_init__(self):
        self.rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._x_burst = 0               # 503s still to answer to creates
        self._x_read_burst = 0
        self._x_window_end: datetime | None = None
        self._x_read_window_end: datetime | None = None
        self.openai_windows: list[tuple[datetime, datetime, str]] = []
        self._openai_seq = itertools.count(1)
        self.x_clients: dict[int, object] = {}   # every container's X client, for what they report

    def chance(self, p: float) -> bool:
        with self._lock:
            return self.rng.random() < p

    # --- X ------------------------------------------------------------------------------

    def x_schedule(self, method: str, path: str, query: dict, body) -> ScheduledFault | None:
        """The fake X's fault schedule (called under its lock, once per request)."""
        if not self.enabled or not path.startswith("/2/"):
            return None   # the OAuth token endpoint is left alone: its refresh is not under test here
        now = self.clock()
        r = self.rates
        with self._lock:
            if method == "POST" and path == "/2/tweets":
                return self._x_create(now, r, body if isinstance(body, dict) else {})
            if method == "GET":
                return self._x_read(now, r)
        return None

    def _x_create(self, now: datetime, r: FaultRates, body: dict) -> ScheduledFault | None:
        if self._x_window_end is not None and now < self._x_window_end:
            self.injected["x.create.429"] += 1
            return _rate_limited(self._x_window_end)
        if self._x_burst > 0:
            self._x_burst -= 1
            self.injected["x.create.503"] += 1
            return ScheduledFault(status=503)
        roll = self.rng.random()
        if roll < r.x_5xx:
            self._x_burst = self.rng.randint(1, 5) - 1
            self.injected["x.create.503"] += 1
            self.injected["x.create.503_bursts"] += 1
            if self.rng.random() < r.x_5xx_after_create:
                self.injected["x.create.503_after_create"] += 1
                self.lost_answer_texts.add(body.get("text"))
                return ScheduledFault(status=503, handle_first=True)
            return ScheduledFault(status=503)
        roll -= r.x_5xx
        if roll < r.x_429:
            self._x_window_end = now + timedelta(seconds=self.rng.randint(60, 900))
            self.injected["x.create.429"] += 1
            self.injected["x.create.429_windows"] += 1
            return _rate_limited(self._x_window_end)
        roll -= r.x_429
        if roll < r.x_timeout:
            if self.rng.random() < r.x_timeout_after_create:
                self.injected["x.create.timeout_after_create"] += 1
                self.lost_answer_texts.add(body.get("text"))
                return ScheduledFault(handle_first=True, delay=X_HOLD_SECONDS)
            self.injected["x.create.timeout_before_create"] += 1
            return ScheduledFault(status=504, delay=X_HOLD_SECONDS)
        roll -= r.x_timeout
        if body.get("reply") is not None and roll < r.x_reply_refused:
            self.injected["x.reply_refused"] += 1
            return ScheduledFault(status=403, body=reply_refused())
        return None

    def _x_read(self, now: datetime, r: FaultRates) -> ScheduledFault | None:
        if self._x_read_window_end is not None and now < self._x_read_window_end:
            self.injected["x.read.429"] += 1
            return _rate_limited(self._x_read_window_end)
        if self._x_read_burst > 0:
            self._x_read_burst -= 1
            self.injected["x.read.503"] += 1
            return ScheduledFault(status=503)
        roll = self.rng.random()
        if roll < r.x_read_5xx:
            self._x_read_burst = self.rng.randint(1, 5) - 1
            self.injected["x.read.503"] += 1
            return ScheduledFault(status=503)
        if roll - r.x_read_5xx < r.x_read_429:
            self._x_read_window_end = now + timedelta(seconds=self.rng.randint(60, 900))
            self.injected["x.read.429"] += 1
            self.injected["x.read.429_windows"] += 1
            return _rate_limited(self._x_read_window_end)
        return None

    def x_backoff(self, seconds: float) -> None:
        """The X client's backoff: recorded, not slept (seconds are nothing on the simulated clock)."""
        self.injected["x.client_backoffs"] += 1

    # --- OpenAI -------------------------------------------------------------------------

    def plan_openai_outages(self, start: datetime, days: int) -> None:
        for d in range(days):
            if self.rng.random() < self.rates.openai_outage_per_day:
                begin = start + timedelta(days=d, seconds=self.rng.randint(0, 86399))
                length = timedelta(minutes=self.rng.randint(5, 40))
                self.openai_windows.append((begin, begin + length, self.rng.choice(("timeout", "429"))))

    def openai_schedule(self, endpoint: str, body: dict) -> str | None:
        """The fake OpenAI's fault schedule: "timeout", "429", "malformed" or None."""
        if not self.enabled:
            return None
        now = self.clock()
        for begin, end, mode in self.openai_windows:
            if begin <= now < end:
                self.injected[f"openai.{mode}"] += 1
                return mode
        r = self.rates
        with self._lock:
            roll = self.rng.random()
        for mode, p in (("timeout", r.openai_timeout), ("429", r.openai_429), ("malformed", r.openai_malformed)):
            if roll < p:
                self.injected[f"openai.{mode}"] += 1
                return mode
            roll -= p
        return None

    def openai_reply(self, account: dict) -> Callable[[dict], dict]:
        """Drafts for the fake Responses endpoint, from the offline writer with fresh seeds."""
        from postloop.core.offline_writer import OfflineWriter
        from postloop.core.ports import WriteRequest

        writer = OfflineWriter()
        prompts = {c["name"]: c for c in account["content_types"]}

        def reply(body: dict) -> dict:
            said = str(body.get("input", ""))
            match = re.search(r"Content type: ([^.\s]+)\.", said)
            ct = prompts.get(match.group(1) if match else "", next(iter(prompts.values())))
            thread = "a thread of" in str(body.get("instructions", ""))
            draft = writer.write(WriteRequest(
                content_type=ct["name"], prompt=ct.get("prompt", ""), persona=account["persona"],
                niche=account["niche"], topics=tuple(account["topics"]), thread=thread,
                seed=(self.seed * 1_000_003 + next(self._openai_seq)) % (2**32)))
            return {"topic": draft.topic, "parts": list(draft.parts)}

        return reply

    # --- DynamoDB -----------------------------------------------------------------------

    def dynamo_before_call(self, model=None, **kwargs):
        """botocore `before-call` hook: answer with a throttling error instead of calling moto."""
        if not self.enabled or model is None or model.name == "CreateTable":
            return None
        if not self.chance(self.rates.dynamo_throttle):
            return None
        from botocore.awsrequest import AWSResponse
        with self._lock:
            code = self.rng.choice(DYNAMO_THROTTLE_CODES)
        self.injected["dynamo.throttled"] += 1
        self.injected[f"dynamo.throttled.{model.name}"] += 1
        parsed = {"Error": {"Code": code, "Message": "Throughput exceeds the current capacity (injected)"},
                  "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0}}
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed

    def dynamo_after_call(self, http_response=None, parsed=None, model=None, **kwargs):
        """botocore `after-call` hook: count the conditional writes DynamoDB (moto) refused."""
        code = ((parsed or {}).get("Error") or {}).get("Code")
        if code == "ConditionalCheckFailedException" and model is not None:
            self.injected[f"dynamo.conditional_conflict.{model.name}"] += 1


def _rate_limited(reset: datetime) -> ScheduledFault:
    return ScheduledFault(status=429, headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                                               "x-rate-limit-reset": str(math.ceil(reset.timestamp()))})


# --- crashes: a process dying between two steps --------------------------------------------


class _Proxy:
    def __init__(self, inner, plan: FaultPlan):
        self._inner = inner
        self._plan = plan

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def _crash(self, kind: str, p: float, what: str) -> None:
        if self._plan.enabled and self._plan.chance(p):
            self._plan.injected[f"crash.{kind}"] += 1
            raise LambdaCrash(f"injected: the function died {what}")


class CrashingDecisions(_Proxy):
    """The decision store of a container whose process may die right after a write."""

    def put_new(self, decision) -> None:
        self._inner.put_new(decision)
        self._crash("after_plan_saved", self._plan.rates.crash_after_plan_saved,
                    "after plan stored its decision")

    def claim_for_posting(self, account_id, decision_id, now):
        d = self._inner.claim_for_posting(account_id, decision_id, now)
        self._crash("after_claim", self._plan.rates.crash_after_claim, "after claiming, before calling X")
        return d

    def save_claimed(self, decision, held_since) -> None:
        from postloop.core.records import Status
        if decision.status is Status.POSTED and decision.post_ids:
            # X has answered 201 for every part; the record of it is not written yet.
            self._crash("after_accept", self._plan.rates.crash_after_accept,
                        "after X accepted the post, before the decision was saved")
        self._inner.save_claimed(decision, held_since)


class CrashingOutcomes(_Proxy):
    def put_if_absent(self, outcome) -> bool:
        written = self._inner.put_if_absent(outcome)
        if written:
            self._crash("after_outcome_saved", self._plan.rates.crash_after_outcome_saved,
                        "after scrape stored an outcome")
        return written


class CrashingX(_Proxy):
    """The X client of a container whose process may die between a thread's parts."""

    def create_thread(self, parts):
        if len(parts) > 1 and self._plan.enabled and self._plan.chance(self._plan.rates.crash_mid_thread):
            self._inner.create_post(parts[0])
            self._plan.injected["crash.mid_thread"] += 1
            raise LambdaCrash("injected: the function died after the thread's first part went live")
        return self._inner.create_thread(parts)


def prepare_container(w, plan: FaultPlan, clock: SimClock, openai_url: str, rng_salt: str) -> None:
    """Give a wiring (one Lambda container) the run's writer, clocks, hooks and crash points."""
    from postloop.adapters.openai_writer import OpenAIWriter

    w.clock = clock.now
    w.rng_salt = rng_salt
    # The real writer class and SDK, with a timeout short enough that held answers cost little.
    w.__dict__["writer"] = OpenAIWriter("sk-local-fault-run", "gpt-5.4-nano", base_url=openai_url,
                                        timeout=OPENAI_TIMEOUT_SECONDS, max_retries=2)
    w.__dict__["decisions"] = CrashingDecisions(w.decisions, plan)
    w.__dict__["outcomes"] = CrashingOutcomes(w.outcomes, plan)
    build_x = w.x_for

    def x_for(account_id):
        client = build_x(account_id)
        if hasattr(client, "_sleep"):
            client._sleep = plan.x_backoff
        plan.x_clients[id(client)] = client
        return CrashingX(client, plan)

    w.x_for = x_for
    for f in dataclasses.fields(w.tables):
        events = getattr(w.tables, f.name)._get_connection().connection.client.meta.events
        events.register_first("before-call.dynamodb", plan.dynamo_before_call)
        events.register("after-call.dynamodb", plan.dynamo_after_call)


@contextlib.contextmanager
def atomic_moto():
    """Serialise moto's request handling: DynamoDB applies each request atomically, moto does not
    lock, and concurrent conditional writes must be decided as DynamoDB would decide them."""
    from moto.core.models import botocore_stubber
    original = botocore_stubber.process_request
    lock = threading.Lock()

    def locked(request):
        with lock:
            return original(request)

    botocore_stubber.process_request = locked
    try:
        yield
    finally:
        del botocore_stubber.process_request


# --- the run --------------------------------------------------------------------------------


@dataclass
class Observed:
    """What the harness saw the handlers do, per invocation."""

    calls: Counter = field(default_factory=Counter)
    transient: Counter = field(default_factory=Counter)       # (function, cause) -> RetryLater raised
    crashes: Counter = field(default_factory=Counter)         # function -> injected crashes seen
    unhandled: list = field(default_factory=list)             # exceptions no code of ours handled
    delays: dict = field(default_factory=lambda: defaultdict(list))  # decision id -> causes of retries
    history: dict = field(default_factory=lambda: defaultdict(list))  # decision id -> what each call did
    learn_failures: Counter = field(default_factory=Counter)
    # The cycle machine's executions are named after their decision: a second start is refused.
    cycle_owners: dict = field(default_factory=dict)
    cycle_starts_refused: int = 0
    redis_outages: int = 0
    redis_down_hours: float = 0.0
    plans_while_redis_down: int = 0
    learns_while_redis_down: int = 0

    def __post_init__(self):
        self.lock = threading.Lock()


def _cause(err: BaseException) -> str:
    """Why a RetryLater was raised, for the report: the error it came from."""
    cause = err.__cause__
    if cause is not None:
        code = getattr(cause, "cause_response_code", None)
        return f"{type(cause).__name__}" + (f" ({code})" if code else "")
    return re.sub(r"\d.*", "", str(err).split(":")[0]).strip()[:60]


def _caller(fn_call: Callable[[str, dict], dict], obs: Observed, account_id: str):
    """Wrap a container's task runner to record what each invocation raised."""
    from postloop.core.plan import decision_id_for
    from postloop.core.post import RetryLater
    from postloop.core.events import parse_time

    def call(function: str, event: dict) -> dict:
        with obs.lock:
            obs.calls[function] += 1
        key = event.get("decision_id")
        if key is None and function == "plan":
            key = decision_id_for(account_id, parse_time(event["scheduled_time"], "scheduled_time"))

        def note(what: str) -> None:
            if key:
                with obs.lock:
                    obs.history[key].append(f"{event.get('now') or event.get('scheduled_time')} {function}: {what}")

        try:
            out = fn_call(function, event)
            note(f"{out.get('status')} {out.get('action') or ''} {out.get('reason') or ''}".strip())
            return out
        except RetryLater as err:
            note(f"RetryLater ({_cause(err)}): {err}")
            with obs.lock:
                obs.transient[(function, _cause(err))] += 1
                if key and function in ("plan", "post"):
                    obs.delays[key].append(f"{function}: {_cause(err)}")
            raise
        except LambdaCrash as err:
            note(f"crashed: {err}")
            with obs.lock:
                obs.crashes[function] += 1
                if key and function in ("plan", "post"):
                    obs.delays[key].append(f"{function}: crashed")
            raise
        except Exception as err:
            note(f"unhandled {type(err).__name__}: {err}")
            with obs.lock:
                obs.unhandled.append({"function": function, "error": type(err).__name__,
                                      "message": str(err)[:300], "event": {k: v for k, v in event.items()
                                                                           if k != "now"}})
            raise

    return call


def fault_account(posts_per_day: int) -> dict:
    """The demo account, posting more often and without the memory's decay, so arm pulls are counts."""
    account = simulate.load_account("demo")
    account["posts_per_day"] = posts_per_day
    account["learning"] = {**account.get("learning", {}), "half_life_days": None}
    # Every hour open and an hour's spacing: the posting rules leave room for every slot of a dense
    # schedule, so the faults, not the spacing, decide what is lost.
    account["posting_hours"] = list(range(24))
    account["min_post_spacing_minutes"] = 60
    return account


@dataclass
class LaneResult:
    lane: int
    seed: int
    days: int
    seconds: float
    figures: dict
    injected: Counter
    observed: Observed
    sim: simulate.SimResult


def run_lane(lane: int, seed: int, days: int, posts_per_day: int, rates: FaultRates | None = None,
             progress: Callable[[str], None] | None = None, *, x_duplicate_refusal: bool = False) -> LaneResult:
    """One fault run of `days` simulated days on fresh embedded backends."""
    from postloop.core.events import parse_time
    from postloop.runtime import wiring as wiring_module
    from postloop.runtime.tasks import TASKS
    from postloop_local.backends import LocalBackends
    from postloop_local.fake_openai import FakeOpenAI
    from postloop_local.invoke import invoke, run_as
    from postloop_local.scenario import load_scenario
    from postloop_local.world import World

    began = time.monotonic()
    scenario = load_scenario("stationary")
    account = fault_account(posts_per_day)
    account_id = account["account_id"]
    start = parse_time(simulate.DEFAULT_START)
    end = start + timedelta(days=days)
    clock = SimClock(start)
    world = World(scenario, seed, start)
    plan = FaultPlan(seed, clock.now, rates or FaultRates())
    plan.plan_openai_outages(start, days)
    obs = Observed()
    fake_openai = FakeOpenAI(plan.openai_reply(account), fault_schedule=plan.openai_schedule,
                             hang_seconds=OPENAI_HANG_SECONDS)
    openai_url = fake_openai.start()
    try:
        with atomic_moto(), LocalBackends([account], world, clock.now, x_fault_schedule=plan.x_schedule,
                                          extra_env={"POSTLOOP_X_TIMEOUT_SECONDS": str(X_TIMEOUT_SECONDS)}
                                          ) as backends:
            backends.x_server.duplicate_refusal = x_duplicate_refusal
            main = wiring_module.current()
            twin = wiring_module.Wiring()   # the container a second delivery lands in
            for w in (main, twin):
                prepare_container(w, plan, clock, openai_url, f"seed-{seed}")
            # The harness reads and the Catch's update go through tables of their own, unhooked.
            from postloop.adapters.dynamo_stores import DynamoDecisionStore, DynamoOutcomeStore, DynamoArmStore
            from postloop.adapters.tables import bind_tables
            s = main.settings
            tables = bind_tables(s.tables, s.region, s.dynamodb_endpoint)
            store = DynamoDecisionStore(tables)
            callers = {
                "main": _caller(invoke, obs, account_id),
                # A second container: its calls signed with the function's role too (postloop_local/iam.py).
                "twin": _caller(lambda fn, event: run_as(fn, TASKS[fn], event, twin), obs, account_id),
            }
            redis_windows = _redis_outages(plan, start, days, backends)
            sim = simulate.SimResult(scenario.name, "postloop", seed, days, backend=backends.info.redis_kind,
                                     writer="openai (fake, on 127.0.0.1)")
            plan.enabled = True
            _walk(plan, obs, sim, callers, clock, world, store, account, start, end, redis_windows, backends,
                  progress, lane)
            plan.enabled = False
            _redis_up(backends)
            # A last learn, after every cycle ended: the arms as they stand on the run's data.
            final = callers["main"]("learn", {"account_id": account_id, "scheduled_time": iso(clock.t)})
            figures = measure(backends.x_server, store, DynamoOutcomeStore(tables), DynamoArmStore(tables),
                              account, start, clock.t, final, plan, obs, sim)
    finally:
        fake_openai.stop()
    return LaneResult(lane, seed, days, time.monotonic() - began, figures, plan.injected, obs, sim)


def _redis_outages(plan: FaultPlan, start: datetime, days: int, backends) -> list[tuple[datetime, datetime]]:
    from postloop_local.backends import RedisServerProcess
    if not isinstance(backends.redis, RedisServerProcess):
        return []   # the in-process stand-in cannot be restarted on its port; no Redis outages then
    windows = []
    for d in range(days):
        if plan.rng.random() < plan.rates.redis_outage_per_day:
            begin = start + timedelta(days=d, seconds=plan.rng.randint(0, 86399))
            windows.append((begin, begin + timedelta(seconds=plan.rng.randint(3600, 36000))))
    return windows


def _redis_up(backends) -> None:
    proc = getattr(backends.redis, "proc", None)
    if proc is not None and proc.poll() is not None:
        backends.redis.start()


def _walk(plan: FaultPlan, obs: Observed, sim: simulate.SimResult, callers: dict, clock: SimClock, world,
          store, account: dict, start: datetime, end: datetime, redis_windows, backends, progress, lane) -> None:
    """The simulator's loop, with twin deliveries, Redis outages, learn retries and a drain."""
    from zoneinfo import ZoneInfo
    account_id = account["account_id"]
    seq = itertools.count()
    queue: list = []
    twin_ids = itertools.count(1)

    def deliver(t: datetime, kind: str, make_payload: Callable[[str], dict]) -> None:
        roll = plan.rng.random()
        r = plan.rates
        heapq.heappush(queue, (t, next(seq), kind, make_payload("main")))
        if roll < r.overlapping_delivery:
            plan.injected[f"schedule.{kind}.delivered_twice_at_once"] += 1
            heapq.heappush(queue, (t, next(seq), kind, make_payload("twin")))
        elif roll < r.overlapping_delivery + r.duplicate_delivery:
            plan.injected[f"schedule.{kind}.delivered_twice_later"] += 1
            later = t + timedelta(seconds=plan.rng.randint(5, 600))
            heapq.heappush(queue, (later, next(seq), kind, make_payload("twin")))

    for t in simulate.plan_times(start, (end - start).days, account["posts_per_day"], ZoneInfo(account["timezone"])):
        group = next(twin_ids)
        deliver(t, "cycle", lambda c, t=t, g=group: {"state": {"account_id": account_id, "scheduled_time": iso(t)},
                                                      "step": 0, "container": c, "twin": g})
    t = start
    while t < end:
        group = next(twin_ids)
        deliver(t, "learn", lambda c, t=t, g=group: {"container": c, "twin": g, "scheduled_time": iso(t),
                                                      "attempt": 0})
        t += timedelta(hours=6)

    posts_by_decision: dict = {}
    last_day = -1
    redis_down = False
    while queue:
        when = queue[0][0]
        batch = []
        while queue and queue[0][0] == when:
            batch.append(heapq.heappop(queue))
        clock.t = when
        down_now = any(b <= when < e for b, e in redis_windows)
        if down_now and not redis_down:
            backends.redis.stop()
            obs.redis_outages += 1
            plan.injected["redis.outages"] += 1
        elif redis_down and not down_now:
            backends.redis.start()
        redis_down = down_now
        day = int((when - start).total_seconds() // 86400)
        if progress and day != last_day:
            last_day = day
            progress(f"lane {lane}: day {day + 1}: {sim.decisions} decisions, {len(sim.posts)} posted")
        # Entries of one delivery pair that fall due together run at once, each in its container.
        groups: dict = defaultdict(list)
        for entry in batch:
            groups[entry[3].get("twin") or ("solo", entry[1])].append(entry)
        for entries in groups.values():
            if redis_down:
                for e in entries:
                    if e[2] == "learn":
                        obs.learns_while_redis_down += 1
                    elif e[3].get("step") == 0:
                        obs.plans_while_redis_down += 1
            if len(entries) == 1:
                pushed = _run_entry(entries[0], when, seq, sim, callers, world, store, posts_by_decision, start,
                                    account_id, obs)
            else:
                pushed = _run_together(entries, when, seq, sim, callers, world, store, posts_by_decision, start,
                                       account_id, obs)
            for item in pushed:
                heapq.heappush(queue, item)
    if redis_windows:
        obs.redis_down_hours = sum((min(e, clock.t) - b).total_seconds() / 3600 for b, e in redis_windows
                                   if b < clock.t)


def _run_entry(entry, when, seq, sim, callers, world, store, posts_by_decision, start, account_id, obs) -> list:
    _, _, kind, payload = entry
    local: list = []
    call = callers[payload["container"]]
    if kind == "learn":
        try:
            call("learn", {"account_id": account_id, "scheduled_time": payload["scheduled_time"]})
        except (Exception, LambdaCrash) as err:
            name = error_name(err)
            if payload["attempt"] < len(LEARN_RETRY_MINUTES):
                retry = dict(payload, attempt=payload["attempt"] + 1)
                at = when + timedelta(minutes=LEARN_RETRY_MINUTES[payload["attempt"]])
                local.append((at, next(seq), "learn", retry))
                obs.learn_failures[f"retried after {name}"] += 1
            else:
                obs.learn_failures[f"given up after {name}"] += 1
        return local
    known = bool(payload["state"].get("decision_id"))
    simulate._advance_cycle(payload, when, local, seq, sim, world, store, posts_by_decision, start,
                            frozenset(), call)
    decision_id = payload["state"].get("decision_id")
    if decision_id and not known:
        # Plan is done: the start machine starts the decision's cycle, named after it. A second
        # delivery's start is refused (ExecutionAlreadyExists) and that execution ends there.
        with obs.lock:
            owner = obs.cycle_owners.setdefault(decision_id, id(payload))
            if owner != id(payload):
                obs.cycle_starts_refused += 1
                local = [item for item in local if item[3] is not payload]
    return local


def _run_together(entries, when, seq, sim, callers, world, store, posts_by_decision, start, account_id,
                  obs) -> list:
    """Run two executions' steps at the same moment, each in its own thread and container."""
    outs: list[tuple[list, simulate.SimResult, dict]] = []
    errors: list[BaseException] = []

    def one(entry):
        part = simulate.SimResult(sim.scenario, sim.policy, sim.seed, sim.days, sim.backend)
        mine: dict = {}
        try:
            pushed = _run_entry(entry, when, seq, part, callers, world, store, mine, start, account_id, obs)
        except BaseException as err:   # reported by the caller: the harness itself must not fail silently
            errors.append(err)
            return
        outs.append((pushed, part, mine))

    threads = [threading.Thread(target=one, args=(e,)) for e in entries]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    pushed_all = []
    for pushed, part, mine in outs:
        pushed_all.extend(pushed)
        _merge(sim, part)
        for k, v in mine.items():
            posts_by_decision.setdefault(k, v)
    return pushed_all


def _merge(sim: simulate.SimResult, part: simulate.SimResult) -> None:
    for decision_id in part.plan_ids:
        if decision_id not in sim.plan_ids:
            sim.plan_ids.append(decision_id)
            sim.decisions += 1
    known = {p.decision_id for p in sim.posts}
    sim.posts.extend(p for p in part.posts if p.decision_id not in known)
    sim.handler_calls.update(part.handler_calls)
    sim.retries.update(part.retries)
    sim.failures.extend(part.failures)


# --- the figures ----------------------------------------------------------------------------


def measure(x_server, decisions, outcomes, arms, account: dict, start: datetime, end: datetime, final_learn: dict,
            plan: FaultPlan, obs: Observed, sim: simulate.SimResult) -> dict:
    """The run's figures, from the stores and from the fake X's own record."""
    from postloop.core.records import SETTLED_HORIZON_HOURS, Status

    account_id = account["account_id"]
    all_decisions = decisions.planned_between(account_id, start - timedelta(days=1), end + timedelta(days=1))
    statuses = Counter(d.status.value for d in all_decisions)
    non_terminal = [d.decision_id for d in all_decisions if not d.status.terminal]

    # What X holds, by the fake's own store: the independent truth every figure below is held against.
    live = x_server.live_posts()
    live_by_id = {p.post_id: p for p in live}
    by_text: dict[str, list] = defaultdict(list)
    for p in live:
        by_text[p.text].append(p)
    drafted_by: dict[str, set] = defaultdict(set)   # text -> decisions that drafted it
    for d in all_decisions:
        for part in d.parts:
            drafted_by[part].add(d.decision_id)
    # No post is live twice: every text X holds more than once is a duplicate, whoever made it.
    duplicates = {t: len(ps) - 1 for t, ps in by_text.items() if len(ps) > 1}
    duplicates_one_decision = sum(n for t, n in duplicates.items() if len(drafted_by[t]) <= 1)
    recorded_ids: dict[str, list[str]] = defaultdict(list)
    for d in all_decisions:
        for pid in d.post_ids:
            recorded_ids[pid].append(d.decision_id)
    posted_records = {pid for d in all_decisions if d.status is Status.POSTED for pid in d.post_ids}
    shared_ids = {pid: ds for pid, ds in recorded_ids.items() if len(set(ds)) > 1}
    phantom = [d.decision_id for d in all_decisions if any(pid not in live_by_id for pid in d.post_ids)]
    # Every live post belongs to a decision marked posted that records its id; one that does not is
    # an orphan: never scraped, learned from, counted in spend or seen by the repeat check.
    orphans = [p for p in live if p.post_id not in posted_records]
    unrecorded = [p for p in live if p.post_id not in recorded_ids]
    unrecorded_texts = {p.text for p in unrecorded}
    orphan_texts = {p.text for p in orphans}
    # A decision recorded as not posted while X holds one of its parts that no posted decision
    # records: a post the loop lost track of. (A rejected draft may repeat a post another decision
    # made and records; that is no loss.)
    lost = [d.decision_id for d in all_decisions
            if d.status is not Status.POSTED and any(part in orphan_texts for part in d.parts)]
    partial_records = [d.decision_id for d in all_decisions if d.status is Status.POSTED
                       and any(part in unrecorded_texts for part in d.parts)]
    # Creates of a text X already held live (refused, or made twice with the refusal off). The client
    # asks X before retrying a create, so one that reaches X means a retry went out blind or X did
    # not yet show the post; a text two decisions drafted is the repeat check's to stop.
    repeated = list(x_server.repeated_creates)
    repeated_shared = sum(1 for t in repeated if len(drafted_by[t]) > 1)
    repeated_after_lost = sum(1 for t in repeated if len(drafted_by[t]) <= 1 and t in plan.lost_answer_texts)
    threads = [d for d in all_decisions if d.status is Status.POSTED and len(d.parts) > 1]
    cut = Counter(_thread_cut(d) for d in threads if len(d.post_ids) < len(d.parts))

    # Settled outcomes against the arms the last learn rebuilt, and against X: each must stand for
    # a post X holds (its decision's first post, saying what the decision drafted), and the arms
    # must count each live post learned from once.
    window_start = end - timedelta(days=account.get("learning", {}).get("window_days", 56))
    settled = [o for o in outcomes.collected_between(account_id, window_start, end + timedelta(seconds=1))
               if o.horizon_hours == SETTLED_HORIZON_HOURS and o.usable and o.engagement_rate is not None]
    posted = {d.decision_id: d for d in all_decisions if d.posted_at is not None}

    def live_head(o) -> str | None:
        d = posted.get(o.decision_id)
        head = live_by_id.get(d.post_ids[0]) if d is not None and d.post_ids else None
        return head.post_id if head is not None and head.text == d.parts[0] else None

    learnable = [o for o in settled if o.decision_id in posted and posted[o.decision_id].features is not None
                 and posted[o.decision_id].content_type and posted[o.decision_id].hour is not None]
    distinct = {o.decision_id for o in learnable}
    of_no_live_post = [o.decision_id for o in settled if live_head(o) is None]
    learned_posts = {live_head(o) for o in learnable} - {None}
    expected_type = Counter(f"type#{posted[d].content_type}" for d in distinct)
    expected_hour = Counter(f"hour#{posted[d].hour}" for d in distinct)
    stored = {a.arm_id: a.pulls for a in arms.load(account_id)}
    type_pulls = sum(v for k, v in stored.items() if k.startswith("type#"))
    hour_pulls = sum(v for k, v in stored.items() if k.startswith("hour#"))
    arm_mismatch = {k: (stored.get(k, 0.0), float(n)) for k, n in {**expected_type, **expected_hour}.items()
                    if abs(stored.get(k, 0.0) - n) > 1e-9}
    arm_mismatch.update({k: (v, 0.0) for k, v in stored.items()
                         if v and k not in expected_type and k not in expected_hour})
    # Pulls beyond the distinct live posts learned from (outcomes of no live post are their own figure).
    not_live_learned = sum(1 for o in learnable if live_head(o) is None)
    counted_twice = max(0, round(max(type_pulls, hour_pulls)) - len(learned_posts) - not_live_learned)

    delayed = {k: v for k, v in obs.delays.items() if k in posted or k in {d.decision_id for d in all_decisions}}
    delay_causes = Counter(cause for causes in delayed.values() for cause in set(causes))
    delayed_posted = [k for k in delayed if k in posted]
    post_delays = []
    for k in delayed_posted:
        d = posted[k]
        created = [p.created_at for p in live if p.post_id in d.post_ids]
        if created and d.scheduled_for:
            post_delays.append((min(created) - d.scheduled_for).total_seconds() / 60)
    return {
        "decisions": len(all_decisions),
        "statuses": dict(statuses),
        "non_terminal": len(non_terminal),
        "non_terminal_ids": non_terminal[:20],
        "x": {
            "duplicate_refusal": x_server.duplicate_refusal,
            "live_posts": len(live),
            "duplicate_posts": sum(duplicates.values()),
            "duplicate_posts_of_one_decisions_text": duplicates_one_decision,
            "duplicate_posts_of_a_text_two_decisions_drafted": sum(duplicates.values()) - duplicates_one_decision,
            "duplicate_refusals": len(x_server.duplicate_refusals),
            "repeated_creates": len(repeated),
            "repeated_creates_by_the_loop": len(repeated) - repeated_shared,
            "repeated_creates_after_a_lost_answer": repeated_after_lost,
            "repeated_creates_of_a_text_two_decisions_drafted": repeated_shared,
            # Lost answers whose post the client found on X before it would have retried the create.
            "creates_found_on_x_before_a_retry": sum(getattr(c, "creates_found_on_x", 0)
                                                     for c in plan.x_clients.values()),
            "posts_recorded_by_two_decisions": len(shared_ids),
            "recorded_posts_missing_on_x": len(phantom),
            "orphaned_posts": len(orphans),
            "posts_on_x_recorded_by_no_decision": len(unrecorded),
            "decisions_not_posted_while_x_holds_them": len(lost),
            "lost_ids": lost[:20],
            "lost_histories": {k: obs.history.get(k, []) for k in lost[:5]},
            "posted_records_missing_parts_x_holds": len(partial_records),
            "partial_histories": {k: obs.history.get(k, []) for k in partial_records[:5]},
            "shared_histories": {f"{pid} {k}": obs.history.get(k, []) for pid, ds in list(shared_ids.items())[:3]
                                 for k in set(ds)},
            "unrecorded": [{"post_id": p.post_id, "text": p.text[:60], "reply_to": p.reply_to,
                            "drafted_by": [(d.decision_id, d.status.value, d.status_reason, len(d.post_ids),
                                            d.parts.index(p.text)) for d in all_decisions if p.text in d.parts]}
                           for p in orphans[:5]],
            "duplicate_texts": [t[:60] for t in list(duplicates)[:5]],
            "threads_posted": len(threads),
            "threads_cut": dict(cut),
        },
        "arms": {
            "settled_outcomes": len(learnable),
            "distinct_settled_decisions": len(distinct),
            "live_posts_learned_from": len(learned_posts),
            "settled_outcomes_of_no_live_post": len(of_no_live_post),
            "learn_samples": final_learn.get("samples"),
            "type_pulls": type_pulls,
            "hour_pulls": hour_pulls,
            "outcomes_counted_twice": counted_twice,
            "arms_differing_from_settled_outcomes": len(arm_mismatch),
            "mismatch": {k: v for k, v in list(arm_mismatch.items())[:10]},
        },
        "unhandled_exceptions": len(obs.unhandled),
        "unhandled": obs.unhandled[:20],
        "delayed_decisions": len(delayed),
        "delayed_by_cause": dict(delay_causes.most_common()),
        "post_delay_minutes": _spread(post_delays),
        "workflow_retries": {f"{f}: {e}": n for (f, e), n in sim.retries.most_common()},
        "workflow_catches": Counter(f"{f['function']}: {f['error']}" for f in sim.failures),
        "plan_slots_without_decision": sum(1 for f in sim.failures if f["function"] == "plan"
                                           and not f["decision_id"]),
        "final_reasons": _reasons(all_decisions),
        "learn_failures": dict(obs.learn_failures),
        "cycle_starts_refused": obs.cycle_starts_refused,
        "redis": {"outages": obs.redis_outages, "down_hours": round(obs.redis_down_hours, 1),
                  "plans_while_down": obs.plans_while_redis_down, "learns_while_down": obs.learns_while_redis_down},
        "handler_calls": dict(obs.calls),
        "crashes_seen": dict(obs.crashes),
        "transient_raised": {f"{f}: {c}": n for (f, c), n in obs.transient.most_common()},
    }


def _thread_cut(d) -> str:
    """Why a posted thread holds fewer parts than were written."""
    reason = d.status_reason or ""
    if "parts on X" in reason:
        return "found partial on X after a crash or a lost answer"
    match = re.search(r"\(([^)]*)\)\s*$", reason)
    return f"a later part refused: {match.group(1)}" if match else "other"


def _spread(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)
    return {"n": len(v), "median": round(v[len(v) // 2], 1), "max": round(v[-1], 1)}


_REASON_PREFIXES = (
    ("content: ", "rejected: content"), ("predicted engagement", "rejected: predicted engagement"),
    ("predicted follow", "rejected: predicted follow"), ("thread_partial", "posted: thread partial"),
    ("reconciled after duplicate", "posted: reconciled after duplicate refusal"),
    ("budget", "skipped: budget"), ("duplicate content refused", "failed: duplicate refused by X"),
    ("refused by X", "failed: refused by X"),
)


def _reasons(decisions) -> dict:
    """Final statuses by reason, for decisions that did not simply post."""
    out: Counter = Counter()
    for d in decisions:
        reason = d.status_reason or ""
        if d.status.value == "posted" and not reason:
            continue
        if d.status.value == "planned" or d.status.value == "posting":
            out[f"{d.status.value} (not terminal)"] += 1
            continue
        label = next((name for prefix, name in _REASON_PREFIXES if reason.startswith(prefix)), None)
        if label is None:
            head = re.sub(r"[0-9a-f]{8,}|\d+", "#", reason)[:80]
            label = f"{d.status.value}: {head}" if reason else d.status.value
        out[label] += 1
    return dict(out.most_common())


# --- the whole run --------------------------------------------------------------------------


def run_faults(decisions: int = 1000, seed: int = 1, posts_per_day: int = 12, lane_days: int = 7,
               rates: FaultRates | None = None, progress: Callable[[str], None] | None = None,
               x_duplicate_refusal: bool = False) -> dict:
    """Lanes of `lane_days` days until at least `decisions` decisions; the figures summed over lanes.

    X's refusal of a text the account already holds is off unless `x_duplicate_refusal`: X does not
    promise it, so the run shows what the loop does without it.
    """
    per_lane = posts_per_day * lane_days
    lanes = max(1, math.ceil(decisions / per_lane))
    results = [run_lane(i + 1, seed * 1000 + i, lane_days, posts_per_day, rates, progress,
                        x_duplicate_refusal=x_duplicate_refusal) for i in range(lanes)]
    flag = " --x-duplicate-refusal" if x_duplicate_refusal else ""
    summary = summarise(results, f"postloop faults --decisions {decisions} --seed {seed} "
                                 f"--posts-per-day {posts_per_day} --lane-days {lane_days}{flag}")
    summary["x_duplicate_refusal"] = x_duplicate_refusal
    return summary


def summarise(results: list[LaneResult], command: str) -> dict:
    total: dict = {}

    def add(into: dict, key, value):
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            into[key] = into.get(key, 0) + value
        elif isinstance(value, dict):
            sub = into.setdefault(key, {})
            for k, v in value.items():
                add(sub, k, v)

    skip = {"non_terminal_ids", "unhandled", "post_delay_minutes", "mismatch", "lost_ids", "lost_histories",
            "partial_histories", "unrecorded", "shared_histories", "duplicate_texts"}
    for r in results:
        for k, v in r.figures.items():
            if k not in skip:
                add(total, k, v)
    injected: Counter = Counter()
    for r in results:
        injected.update(r.injected)
    return {
        "command": command,
        "lanes": [{"lane": r.lane, "seed": r.seed, "days": r.days, "decisions": r.figures["decisions"],
                   "seconds": round(r.seconds, 1)} for r in results],
        "seconds": round(sum(r.seconds for r in results), 1),
        "figures": total,
        "injected": dict(sorted(injected.items())),
        "unhandled": [u for r in results for u in r.figures["unhandled"]][:20],
        "non_terminal_ids": [i for r in results for i in r.figures["non_terminal_ids"]][:20],
        "lost_ids": [i for r in results for i in r.figures["x"]["lost_ids"]][:20],
        "lost_histories": {k: v for r in results for k, v in r.figures["x"]["lost_histories"].items()},
        "partial_histories": {k: v for r in results for k, v in r.figures["x"]["partial_histories"].items()},
        "shared_histories": {k: v for r in results for k, v in r.figures["x"]["shared_histories"].items()},
        "unrecorded": [u for r in results for u in r.figures["x"]["unrecorded"]][:10],
        "duplicate_texts": [t for r in results for t in r.figures["x"]["duplicate_texts"]][:10],
        "arm_mismatch": [r.figures["arms"]["mismatch"] for r in results if r.figures["arms"]["mismatch"]][:5],
        "post_delay_minutes": _spread_merge([r.figures["post_delay_minutes"] for r in results]),
    }


def _spread_merge(spreads: list[dict]) -> dict:
    n = sum(s.get("n", 0) for s in spreads)
    if not n:
        return {"n": 0}
    return {"n": n, "max": max(s["max"] for s in spreads if s.get("n"))}


# The figures a fault run must hold at zero, with what each means. The X and outcome figures are
# computed against the fake X's own store of what it holds, not against the loop's records.
HELD = (
    (("x", "duplicate_posts"), "posts live on X twice (the same text, in the fake X's own store)"),
    (("x", "orphaned_posts"), "posts live on X that no decision marked posted records"),
    (("x", "posts_recorded_by_two_decisions"), "X posts recorded by two decisions"),
    (("x", "recorded_posts_missing_on_x"), "decisions recording posts X does not hold"),
    (("x", "repeated_creates_by_the_loop"), "creates of a text X already held, by the only decision that drafted it"),
    (("arms", "settled_outcomes_of_no_live_post"), "settled outcomes whose post is not live on X"),
    (("arms", "outcomes_counted_twice"), "outcomes counted twice: arm pulls beyond the distinct live X posts "
                                         "learned from"),
    (("arms", "arms_differing_from_settled_outcomes"), "arms whose pulls differ from the distinct settled outcomes"),
    (("non_terminal",), "decisions left without a terminal status after the run drained"),
    (("unhandled_exceptions",), "exceptions no code of ours handled"),
)


def broken_invariants(summary: dict) -> list[str]:
    """The held figures that are not zero, as sentences; empty when the run held them all."""
    broken = []
    for path, label in HELD:
        value = summary["figures"]
        for key in path:
            value = value.get(key, 0) if isinstance(value, dict) else 0
        if value:
            broken.append(f"{value} {label}")
    return broken


def format_report(summary: dict) -> str:
    f = summary["figures"]
    x, arms = f["x"], f["arms"]
    lines = [
        f"postloop faults — {f['decisions']} decisions in {len(summary['lanes'])} lanes "
        f"({summary['seconds']:.0f} s); {summary['command']}",
        "",
        "Held at zero:",
    ]
    for path, label in HELD:
        value = f
        for key in path:
            value = value.get(key, 0) if isinstance(value, dict) else 0
        lines.append(f"  {value:>6}  {label}")
    lines += ["", "Final statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(f["statuses"].items())),
              f"X's duplicate refusal {'on' if summary.get('x_duplicate_refusal') else 'off'}. "
              f"Posts on X {x['live_posts']}; duplicates {x['duplicate_posts']} "
              f"({x['duplicate_posts_of_one_decisions_text']} of one decision's text, "
              f"{x['duplicate_posts_of_a_text_two_decisions_drafted']} of a text two decisions drafted); "
              f"creates of a text X already held {x['repeated_creates']} "
              f"({x['repeated_creates_after_a_lost_answer']} after a lost answer, "
              f"{x['repeated_creates_of_a_text_two_decisions_drafted']} a text two decisions drafted), "
              f"of which X refused {x['duplicate_refusals']}; lost answers whose post the client found "
              f"on X before retrying {x['creates_found_on_x_before_a_retry']}; "
              f"decisions recorded as not posted while X holds them {x['decisions_not_posted_while_x_holds_them']}; "
              f"posts on X no decision records {x['posts_on_x_recorded_by_no_decision']}",
              f"Arms: {arms['type_pulls']:.0f} type pulls and {arms['hour_pulls']:.0f} hour pulls for "
              f"{arms['distinct_settled_decisions']} distinct settled outcomes of "
              f"{arms['live_posts_learned_from']} live posts on X",
              "", "Injected:"]
    for k, v in summary["injected"].items():
        lines.append(f"  {v:>6}  {k}")
    lines += ["", f"Delayed decisions: {f['delayed_decisions']} (post delay, minutes: "
                  f"{summary['post_delay_minutes']})"]
    for k, v in f["delayed_by_cause"].items():
        lines.append(f"  {v:>6}  {k}")
    lines += ["", "Not posted, or posted differently, by reason:"]
    for k, v in f["final_reasons"].items():
        lines.append(f"  {v:>6}  {k}")
    lines.append(f"  {f['plan_slots_without_decision']:>6}  plan slots the workflow gave up on before a decision existed")
    lines += ["", "Workflow retries: " + ", ".join(f"{k} {v}" for k, v in f["workflow_retries"].items()),
              "Workflow catches: " + ", ".join(f"{k} {v}" for k, v in f["workflow_catches"].items()),
              f"Redis: {f['redis']}", f"Learn failures: {f['learn_failures'] or 'none'}"]
    if summary.get("unhandled"):
        lines += ["", "Unhandled:"] + [f"  {u['function']}: {u['error']}: {u['message']}" for u in summary["unhandled"]]
    broken = summary.get("broken_invariants")
    lines += ["", "BROKEN: " + "; ".join(broken) if broken else "All held figures are zero."]
    return "\n".join(lines)
