"""The X time budget: a request starts only if it fits, writes end first, reads may use a grace."""
from __future__ import annotations

import pytest

from postloop.adapters.deadline import Deadline, DeadlineExceeded, DeadlineSession


class Clock:
    def __init__(self):
        self.t = 100.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.t += seconds


class Recorder:
    def __init__(self):
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, kwargs.get("timeout")))
        return "answer"


def test_without_a_budget_every_request_goes_and_sleeps_are_whole():
    clock = Clock()
    d = Deadline(monotonic=clock.monotonic, sleep=clock.sleep)
    session = DeadlineSession(d, Recorder())
    assert d.remaining() is None
    assert session.request("POST", "http://x/2/tweets", timeout=10.0) == "answer"
    session.request("GET", "http://x/2/users/me", timeout=None)
    d.sleep(7.5)
    assert clock.t == 107.5


def test_a_request_starts_only_if_its_whole_timeout_fits_writes_first_reads_after_the_grace():
    clock = Clock()
    d = Deadline(monotonic=clock.monotonic, sleep=clock.sleep)
    inner = Recorder()
    session = DeadlineSession(d, inner)
    with d.budget(25.0, read_grace=10.0):
        session.request("POST", "http://x/2/tweets", timeout=10.0)
        clock.t += 15.0                       # 10 s left for writes, 20 s for reads
        session.request("POST", "http://x/2/tweets", timeout=10.0)
        clock.t += 1.0                        # 9 s left for writes: a 10 s create could outlast them
        with pytest.raises(DeadlineExceeded, match="9.0 s left for a POST, which may take 10 s"):
            session.request("POST", "http://x/2/tweets", timeout=10.0)
        with pytest.raises(DeadlineExceeded):
            session.request("DELETE", "http://x/2/tweets/1", timeout=(3.0, 7.0))
        session.request("GET", "http://x/2/users/1/tweets", timeout=10.0)    # a read may use the grace
        clock.t += 10.0
        with pytest.raises(DeadlineExceeded):
            session.request("GET", "http://x/2/users/1/tweets", timeout=10.0)
        with pytest.raises(DeadlineExceeded):
            session.request("GET", "http://x/", timeout=None)            # no timeout never fits a budget
    assert [m for m, _ in inner.sent] == ["POST", "POST", "GET"]
    # Nothing is cut short: what is sent keeps its own timeout.
    assert [t for _, t in inner.sent] == [10.0, 10.0, 10.0]
    # After the block the budget is lifted.
    assert d.remaining() is None
    session.request("POST", "http://x/2/tweets", timeout=10.0)


def test_no_sleep_outlasts_the_last_limit_and_budgets_nest():
    clock = Clock()
    d = Deadline(monotonic=clock.monotonic, sleep=clock.sleep)
    with d.budget(60.0):
        with d.budget(3.0, read_grace=1.0):
            d.sleep(8.0)
            assert clock.t == 104.0 and d.remaining("GET") == 0.0
        assert d.remaining() == pytest.approx(56.0)
    with d.budget(-5.0):   # already spent (less time left than the reserve)
        with pytest.raises(DeadlineExceeded):
            d.check("GET", 1.0)


def test_deadline_exceeded_is_a_timeout_to_the_x_client():
    import requests
    assert issubclass(DeadlineExceeded, requests.Timeout)
