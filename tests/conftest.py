"""Shared fixtures: sample events, a real redis-server (cluster mode, TLS only), and the full local stack."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

REPO = Path(__file__).resolve().parents[1]

# Property tests stay bounded (the hostile-input suite runs in well under a
# minute) and never fail on timing. No example database: nothing is written
# into the tree; a failure prints the blob that reproduces it. On CI (CI=true)
# the examples are also derandomised, so a red build reproduces exactly.
hypothesis_settings.register_profile("dev", max_examples=150, deadline=None, database=None, print_blob=True)
hypothesis_settings.register_profile("ci", parent=hypothesis_settings.get_profile("dev"), derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

EVENTS = REPO / "events"


def load_event(name: str) -> dict:
    """A sample event from events/, the same files a user invokes."""
    return json.loads((EVENTS / f"{name}.json").read_text())


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if not binary:
        pytest.fail("redis-server is not installed; the Redis tests use a real one "
                    "(Debian: apt-get install redis-server, or run .ci/setup as root)")
    return binary


@pytest.fixture(scope="session", autouse=True)
def _one_redis_server_per_session():
    """Every local stack of the session shares one redis-server (emptied for each), started on
    first need: a cluster node takes two seconds after its start before it serves keys."""
    from postloop_local import backends
    backends.share_redis_server()
    yield
    backends.close_shared_redis_server()
    backends.share_redis_server(False)


@pytest.fixture()
def redis_server(redis_binary):
    """The real redis-server as ElastiCache Serverless runs: cluster mode, TLS only, every slot on
    one node; empty. A RedisServerProcess: `.url` for the handlers, `.client()` for checks."""
    from postloop_local.backends import shared_redis_server
    server = shared_redis_server(redis_binary)
    yield server
    if server.proc is None or server.proc.poll() is not None:
        server.start()   # a test stopped it: leave it running for the next one


@pytest.fixture()
def stack(redis_binary):
    """moto + a real redis-server + the fake X API over a simulated audience, with the handlers' settings."""
    from postloop.runtime.observability import logger
    from postloop_local import simulate
    from postloop_local.backends import LocalBackends
    from postloop_local.scenario import load_scenario
    from postloop_local.world import World

    logger.setLevel("WARNING")
    scenario = load_scenario("stationary")
    start = utc(2026, 1, 5, 5)
    clock = simulate.SimClock(start)
    world = World(scenario, 7, start)
    account = simulate.load_account("demo")

    class Stack:
        pass

    s = Stack()
    s.clock, s.world, s.scenario, s.account, s.start = clock, world, scenario, account, start
    # Metrics are printed as EMF JSON on stdout; keep test output readable.
    with contextlib.redirect_stdout(io.StringIO()), LocalBackends([account], world, clock.now) as backends:
        from postloop.runtime import wiring
        s.backends = backends
        s.x = backends.x_server
        s.wiring = wiring.current()
        yield s
