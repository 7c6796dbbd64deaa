"""The post handler bounds its calls to X by the time Lambda leaves it (runtime.wiring.x_budget)."""
from __future__ import annotations

import pytest

from postloop.core.post import RetryLater
from postloop.core.records import Status
from postloop.runtime.wiring import X_BUDGET_RESERVE_SECONDS, X_READ_GRACE_SECONDS
from postloop_local import invoke as local_invoke
from postloop_local.invoke import invoke


def _x_calls(stack) -> list[tuple[str, str]]:
    return [(method, path) for method, path, *_ in stack.x.requests_log]


def test_with_too_little_time_left_post_sends_nothing_to_x_and_releases_its_claim(stack, monkeypatch):
    when = stack.start
    stack.clock.t = when
    planned = invoke("plan", {"account_id": "demo", "scheduled_time": when.isoformat()})
    assert planned["status"] == "planned", planned
    before = len(_x_calls(stack))
    event = {"account_id": "demo", "decision_id": planned["decision_id"], "now": when.isoformat()}

    # Lambda says only the part of the reserve that no X call may use is left: no request fits.
    monkeypatch.setattr(local_invoke.LambdaContext, "get_remaining_time_in_millis",
                        lambda self: int((X_BUDGET_RESERVE_SECONDS - X_READ_GRACE_SECONDS) * 1000))
    with pytest.raises(RetryLater, match="DeadlineExceeded"):
        invoke("post", event)
    assert _x_calls(stack)[before:] == []
    d = stack.wiring.decisions.get("demo", planned["decision_id"])
    assert d.status is Status.PLANNED and d.status_reason.startswith("retrying: ") and not d.post_ids

    # The workflow's retry with a whole minute left: the budget of the first invocation is gone.
    monkeypatch.setattr(local_invoke.LambdaContext, "get_remaining_time_in_millis", lambda self: 60_000)
    out = invoke("post", event)
    assert out["status"] == "posted" and len(out["post_ids"]) == len(d.parts)
    assert [stack.x.posts[i].text for i in out["post_ids"]] == d.parts
