"""The moderator backed by OpenAI's moderation endpoint (free of charge at OpenAI).

The model is a setting (POSTLOOP_OPENAI_MODERATION_MODEL). A server without the endpoint
answers 404, which raises like any other failure: the draft is blocked (fail closed).

All drafts of a plan go in one call; the answer is checked before it is believed
(one result per draft, a real yes/no `flagged`, scores in [0, 1]), and anything
else raises, which the core turns into a blocked draft: moderation fails closed.
"""
from __future__ import annotations

import math
from typing import Sequence

from postloop.core.ports import CheckError, ModerationResult

MODEL = "omni-moderation-latest"


class ModerationError(CheckError):
    """The moderation answer could not be trusted."""


class OpenAIModerator:
    def __init__(self, api_key: str, *, model: str = MODEL, base_url: str | None = None, timeout: float = 10.0,
                 max_retries: int = 2, client=None):
        if client is None:
            from openai import OpenAI
            # A short timeout and bounded retries: a plan must end well inside the Lambda's limit.
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._client = client
        self.model = model

    def moderate(self, texts: Sequence[str]) -> list[ModerationResult]:
        texts = list(texts)
        if not texts:
            return []
        try:
            response = self._client.moderations.create(model=self.model, input=texts)
        except Exception as err:
            if getattr(err, "status_code", None) == 404:
                # Most OpenAI-compatible servers (vLLM, Ollama, llama.cpp, Bedrock) have no moderation endpoint.
                raise ModerationError(f"404: the server has no moderation endpoint or no model {self.model!r} "
                                      "(POSTLOOP_OPENAI_MODERATION_MODEL)") from None
            raise
        # The SDK builds its objects without validating them, so read the answer as data and check it.
        data = response.to_dict(warnings=False) if hasattr(response, "to_dict") else response
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list) or len(results) != len(texts):
            got = len(results) if isinstance(results, list) else "none"
            raise ModerationError(f"expected {len(texts)} result(s), got {got}")
        return [_result(r) for r in results]


def _result(raw) -> ModerationResult:
    if not isinstance(raw, dict) or not isinstance(raw.get("flagged"), bool):
        raise ModerationError("a result has no yes/no 'flagged'")
    categories = raw.get("categories")
    scores = raw.get("category_scores")
    if not isinstance(categories, dict) or not isinstance(scores, dict):
        raise ModerationError("a result lacks 'categories' or 'category_scores'")
    flagged = []
    for name, value in categories.items():
        if value is None:   # optional categories may come back empty
            continue
        if not isinstance(value, bool):
            raise ModerationError(f"category {name!r} is not yes/no")
        if value:
            flagged.append(str(name))
    checked = {}
    for name, value in scores.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= 1:
            raise ModerationError(f"score of {name!r} is not a number in [0, 1]")
        checked[str(name)] = float(value)
    return ModerationResult(flagged=raw["flagged"], categories=tuple(flagged), scores=checked)
