"""The quality judge backed by an OpenAI-compatible model, through the Responses API or Chat Completions.

The model answers {"score": 0..1, "reasons": [...]}, asked for and validated by
`openai_structured`. The range is stated in the schema's description and checked here rather
than with `minimum`/`maximum`, which not every model's strict mode accepts; an answer out of
range is asked for again, a bounded number of times. Any failure raises `JudgeError`; the core
then keeps the rule-based quality score and records that the judge was unavailable, and why.
"""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from postloop.adapters.openai_structured import StructuredClient, StructuredError
from postloop.adapters.openai_writer import token_cost
from postloop.core.ports import CheckError, Judgement, JudgeRequest

FORMAT_NAME = "post_judgement"
MAX_REASONS = 3
MAX_REASON_CHARS = 300


class JudgementAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, title=FORMAT_NAME)
    score: float = Field(description="overall quality from 0 (worthless) to 1 (excellent)")
    reasons: list[str] = Field(description="at most three short reasons for the score")


JUDGE_SCHEMA = JudgementAnswer.model_json_schema()


class JudgeError(CheckError):
    """The judge's answer is not a usable score, or the server refused the request."""


class OpenAIJudge:
    def __init__(self, api_key: str, model: str, *, base_url: str | None = None, timeout: float = 15.0,
                 max_retries: int = 2, client=None, api: str = "responses", max_output_tokens: int = 800,
                 malformed_retries: int = 2):
        if client is None:
            from openai import OpenAI
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._structured = StructuredClient(client, api=api, max_output_tokens=max_output_tokens,
                                            malformed_retries=malformed_retries,
                                            model_setting="POSTLOOP_OPENAI_JUDGE_MODEL")
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
        try:
            answer = self._structured.ask(model=self.model, name=FORMAT_NAME, shape=JudgementAnswer,
                                          instructions=instructions, prompt=draft, check=_in_range)
        except StructuredError as err:
            raise JudgeError(str(err), cost_usd=token_cost(self.model, err.input_tokens, err.output_tokens)) from None
        value = answer.value
        # Bounded: the reasons are stored on the decision, whose item has a size limit.
        return Judgement(score=float(value.score),
                         reasons=tuple(r.strip()[:MAX_REASON_CHARS] for r in value.reasons[:MAX_REASONS]),
                         cost_usd=token_cost(self.model, answer.input_tokens, answer.output_tokens))


def _in_range(answer: JudgementAnswer) -> None:
    if not math.isfinite(answer.score) or not 0 <= answer.score <= 1:
        raise ValueError(f"the judge's score {answer.score!r} is not a number in [0, 1]")
