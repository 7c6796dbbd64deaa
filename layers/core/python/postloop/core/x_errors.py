"""Errors an X publisher raises, in terms the core can act on.

The adapter turns X's HTTP answers (problem-details JSON) into these; the core catches them
without knowing anything about HTTP clients. Messages never carry credential values.
"""
from __future__ import annotations

from datetime import datetime


class XApiError(Exception):
    """X refused or failed a request.

    `status` is the HTTP status (None when no answer arrived), `title` and `detail` come from
    X's problem-details body when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, title: str = "", detail: str = ""):
        super().__init__(message)
        self.status = status
        self.title = title
        self.detail = detail


class XAuthError(XApiError):
    """X rejected the credential (401). The message names the credential, never its value."""


class XDuplicateContent(XApiError):
    """X refused a post because the account already published the same text (403)."""


class XForbidden(XApiError):
    """X refused the action for another reason (403), e.g. a reply the app may not make."""


class XRateLimited(XApiError):
    """X answered 429. `reset_at` is when the window reopens, if X said so."""

    def __init__(
        self,
        message: str,
        *,
        reset_at: datetime | None = None,
        status: int | None = 429,
        title: str = "",
        detail: str = "",
    ):
        super().__init__(message, status=status, title=title, detail=detail)
        self.reset_at = reset_at


class XServerError(XApiError):
    """X kept failing (5xx), timing out or dropping the connection after all retries."""


class XBadRequest(XApiError):
    """X found the request itself wrong (400 and other 4xx not covered above)."""


class ThreadPartiallyPublished(XApiError):
    """A thread stopped after some parts went live.

    `published_ids` are the parts X accepted, in order (never empty); `cause` is the error that
    stopped the next part. Nothing is rolled back: the caller decides what to record.
    """

    def __init__(self, published_ids: list[str], cause: XApiError):
        super().__init__(
            f"thread stopped after {len(published_ids)} published part(s): {cause}",
            status=cause.status,
            title=cause.title,
            detail=cause.detail,
        )
        self.published_ids = list(published_ids)
        self.cause = cause
