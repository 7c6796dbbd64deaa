"""The quality judge backed by OpenAI's Responses API with strict structured output.

The model answers {"score": 0..1, "reasons": [...]}. The range is stated in the
schema's description and checked here rather than with `minimum`/`maximum`, which
not every model's strict mode accepts. Any unusable answer raises; the core then
keeps the rule-based quality score and records that the judge was unavailable.
"""
from __future__ import annotations

import json
import math

from postloop.adapters.openai_writer import PRICES
from postloop.core.ports import CheckError, Judgement, JudgeRequest

FORMAT_NAME = "post_judgement"
JUDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number", "description": "overall quality from 0 (worthless) to 1 (excellent)"},
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "at most three short reasons for the score"},
    },
    "required": ["score", "reasons"],
    "additionalProperties": False,
}
MAX_REASONS = 3
MAX_REASON_CHARS = 300


class JudgeError(CheckError):
    """The judge's answer is not a usable score."""


class OpenAIJudge:
    def __init__(self, api_key: str, model: str, *, base_url: str | None = None, timeout: float = 15.0,
                 max_retries: int = 2, client=None):
        if client is None:
            from openai import OpenAI
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._client = client
        self.model = model

    def judge(self, request: JudgeRequest) -> Judgement:
        instructions = (
            f"You review drafts of posts for X written as: {request.persona}\nNiche: {request.niche}.\n"
            f"The brief for this content type ({request.content_type}): {request.prompt}\n"
            "Score the draft from 0 to 1 for how much a reader in this niche gains from it: specific and "
            "plausible facts, a clear point, an opening that earns attention, fit with the brief. Penalise hype, "
            "vagueness, clickbait and spam. Give at most three short reasons."
        )
        draft = "\n\n".join(f"[{i}/{len(request.parts)}] {part}" if len(request.parts) > 1 else part
                            for i, part in enumerate(request.parts, start=1))
        response = self._client.responses.create(
            model=self.model,
            instructions=instructions,
            input=draft,
            max_output_tokens=300,
            text={"format": {"type": "json_schema", "name": FORMAT_NAME, "schema": JUDGE_SCHEMA, "strict": True}},
        )
        cost = self._cost(response)
        try:
            data = json.loads(response.output_text)
            score, reasons = data["score"], data["reasons"]
        except (ValueError, KeyError, TypeError):
            raise JudgeError("the judge's answer is not the requested JSON", cost_usd=cost) from None
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) \
                or not 0 <= score <= 1:
            raise JudgeError(f"the judge's score {score!r} is not a number in [0, 1]", cost_usd=cost)
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise JudgeError("the judge's reasons are not a list of text", cost_usd=cost)
        # Bounded: the reasons are stored on the decision, whose item has a size limit.
        return Judgement(score=float(score), reasons=tuple(r.strip()[:MAX_REASON_CHARS] for r in reasons[:MAX_REASONS]),
                         cost_usd=cost)

    def _cost(self, response) -> float:
        usage = getattr(response, "usage", None)
        if usage is None:
            return 0.0
        price_in, price_out = PRICES.get(self.model, min(PRICES.values()))
        return (usage.input_tokens * price_in + usage.output_tokens * price_out) / 1e6
