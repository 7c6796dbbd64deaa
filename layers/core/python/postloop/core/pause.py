"""An account paused by a person: plan records each slot as skipped and writes nothing.

The flag lives in the tables (adapters/pause_flags.py), so pausing and resuming a
deployed account needs no redeploy (`postloop pause|resume --account ID`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PAUSED_REASON = "paused"


@dataclass(frozen=True)
class Pause:
    since: datetime
    by: str
    reason: str | None = None

    def describe(self) -> str:
        """The skipped decision's reason: 'paused' first, then who and since when."""
        why = f": {self.reason}" if self.reason else ""
        return f"{PAUSED_REASON} by {self.by} since {self.since.isoformat().replace('+00:00', 'Z')}{why}"


class PauseFlags(Protocol):
    def paused(self, account_id: str) -> Pause | None: ...

    def pause(self, account_id: str, pause: Pause) -> None: ...

    def resume(self, account_id: str) -> bool:
        """Clear the flag; False when the account was not paused."""
        ...


class MemoryPauseFlags:
    """The flags in a dict (tests and the in-memory simulator)."""

    def __init__(self):
        self._flags: dict[str, Pause] = {}

    def paused(self, account_id: str) -> Pause | None:
        return self._flags.get(account_id)

    def pause(self, account_id: str, pause: Pause) -> None:
        self._flags[account_id] = pause

    def resume(self, account_id: str) -> bool:
        return self._flags.pop(account_id, None) is not None
