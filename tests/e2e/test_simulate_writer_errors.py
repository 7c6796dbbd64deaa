"""A writer that cannot write is visible in `postloop simulate`: the reasons of failed plans are printed
and a run that could not make a single decision exits non-zero."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from postloop.runtime.tasks import TASKS
from postloop_local import cli, simulate
from postloop_local.fake_openai import FakeOpenAI
from postloop_local.memory import MemoryWiring
from postloop_local.scenario import load_scenario
from postloop_local.world import World

DRAFT = {"topic": "naps", "parts": ["A 20-minute nap ends before deep sleep, so you wake without grogginess."]}


@pytest.fixture()
def chat_only_server(monkeypatch):
    """A Chat-Completions-only server (llama.cpp's, say), with the local run pointed at it."""
    server = FakeOpenAI(lambda body: DRAFT, responses_api=False)
    url = server.start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.delenv("POSTLOOP_OPENAI_API", raising=False)
    server.url = url
    yield server
    server.stop()


def test_simulate_against_a_server_without_the_responses_api_says_why_and_exits_non_zero(chat_only_server, capsys):
    code = cli.main(["simulate", "--days", "1", "--no-baseline"])
    out, err = capsys.readouterr()
    reason = (f"writer: 404 Not Found from {chat_only_server.url}/responses — the server has no Responses API; "
              "set POSTLOOP_OPENAI_API=chat")
    assert code == 1
    assert "decisions 6: failed 6" in out and f"      6  {reason}" in out and "NO DECISION COULD BE MADE" in out
    assert f"postloop simulate: no decision could be made ({reason}" in err
    # A refusal is not retried: one request per plan, and the key never reaches the report.
    assert chat_only_server.calls("responses") == 6 and "sk-local-test" not in out + err


def _memory_run(writer, days=1):
    scenario = load_scenario("stationary")
    account = simulate.load_account("demo")
    start = datetime(2026, 1, 5, 5, tzinfo=timezone.utc)
    clock = simulate.SimClock(start)
    world = World(scenario, 1, start)
    mw = MemoryWiring([account], world, clock.now)
    mw.writer = writer
    return simulate.run_in(None, world, clock, scenario, account, start, days,
                           call=lambda fn, event: TASKS[fn](event, mw), stores=(mw.decisions, mw.outcomes),
                           backend_name="in-memory", writer="test writer")


def test_a_writer_that_is_never_reachable_is_retried_then_reported_by_the_catch():
    class Unreachable:
        generator = "openai"

        def write(self, request):
            raise TimeoutError("no answer")

    result = _memory_run(Unreachable())
    # "Not now" is retried by the workflow (4 retries), then the Catch ends the cycle: no decision exists.
    assert result.decisions == 0 and simulate.made_no_decision(result)
    [(count, reason)] = simulate.failure_reasons(result)
    assert count == 6 and reason == ("plan failed after 5 attempt(s): RetryLater: writer unavailable: "
                                     "TimeoutError")
    text = simulate.summary(result, None, load_scenario("stationary"))
    assert f"      6  {reason}" in text and "NO DECISION COULD BE MADE" in text


def test_a_run_with_decisions_is_not_reported_as_undecided():
    from postloop.core.offline_writer import OfflineWriter
    result = _memory_run(OfflineWriter())
    assert result.decisions == 6 and not simulate.made_no_decision(result)
    assert "NO DECISION COULD BE MADE" not in simulate.summary(result, None, load_scenario("stationary"))
