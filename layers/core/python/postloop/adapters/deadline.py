"""A time budget for one invocation's calls to X.

X's client retries with backoff and, before a create's retry, asks X what it
holds, each request with its own timeout: when X is slow, how long a post
takes grows with the thread's parts and the retries, past the Lambda's
timeout, which stops the function mid-thread and leaves its claim to expire.
Within a budget, a request starts only if its whole timeout fits before its
limit, and no backoff sleeps past the last limit; a request that cannot start
fails as a timeout (`DeadlineExceeded`), which the client and post handle like
any other, while the function still runs to record it.

Two limits: creates and deletes must end by the budget's end; reads (GET) may
also use a grace after it. A read publishes nothing, and it is what lets post
record every part of a thread X took, or find the post whose answer was lost,
instead of leaving one live post that no decision records.

`DeadlineSession` offers what the X client calls of a `requests.Session`
(`request`); `Deadline.sleep` is the client's sleep. The OAuth 2.0 refresh keeps
its own session: one call of at most the X timeout, normally at an invocation's
start (inside the budget's time), which must not turn into an auth failure
because the budget ran out. docs/decisions.md ("The post function's time
budget") has the figures.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import requests

READ_METHODS = frozenset({"GET", "HEAD"})


class DeadlineExceeded(requests.Timeout):
    """Too little left of the invocation's budget to start this request to X."""


class Deadline:
    """The limits of the current budget, if any, on a monotonic clock."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._monotonic = monotonic
        self._sleep = sleep
        self._end: float | None = None        # creates and deletes
        self._read_end: float | None = None   # reads

    @contextmanager
    def budget(self, seconds: float | None, read_grace: float = 0.0) -> Iterator[Deadline]:
        """Inside the block, writes end within `seconds` from now and reads within `read_grace`
        more (None: no limit); the previous limits come back after it."""
        previous = self._end, self._read_end
        if seconds is None:
            self._end = self._read_end = None
        else:
            self._end = self._monotonic() + max(0.0, seconds)
            self._read_end = self._end + max(0.0, read_grace)
        try:
            yield self
        finally:
            self._end, self._read_end = previous

    def remaining(self, method: str = "POST") -> float | None:
        """Seconds left for a request of `method`, or None when no budget is running."""
        end = self._read_end if method.upper() in READ_METHODS else self._end
        return None if end is None else max(0.0, end - self._monotonic())

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds`, but never past the last limit."""
        left = self.remaining("GET")
        self._sleep(seconds if left is None else min(seconds, left))

    def check(self, method: str, timeout: Any) -> None:
        """Raise DeadlineExceeded unless a request of `method` with `timeout` (seconds, a
        (connect, read) pair, or None for none) would end before its limit."""
        left = self.remaining(method)
        if left is None:
            return
        parts = timeout if isinstance(timeout, tuple) else (timeout,)
        if any(p is None for p in parts):
            needed = float("inf")
        else:
            needed = float(sum(parts))
        if needed > left:
            raise DeadlineExceeded(f"the invocation's time budget for X is spent: {left:.1f} s left for a "
                                   f"{method.upper()}, which may take {needed:g} s")


class DeadlineSession:
    """A `requests.Session` whose every request must fit in `deadline`'s budget."""

    def __init__(self, deadline: Deadline, session: Any = None):
        self.deadline = deadline
        self._session = session if session is not None else requests.Session()

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.deadline.check(method, kwargs.get("timeout"))
        return self._session.request(method, url, **kwargs)
