"""The writer backed by an OpenAI-compatible model, through the Responses API or Chat Completions.

The model returns {"topic", "parts"}, asked for and checked by `openai_structured` (strict
structured output where the server has it, JSON mode or the prompt where it does not); every
part is checked against X's length rule and repaired or dropped, so nothing that X would refuse
reaches a plan. An answer with no usable part is asked for again, a bounded number of times.

Errors: a refused request (no such endpoint or model, a bad key) raises `WriterError` for the
whole plan; an answer still unusable after the retries raises `WriterError` for this draft only;
both are `WriterFailed`, which plan records as a failed decision. Timeouts, rate limits and 5xx
pass through: the workflow retries the plan later.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from postloop.adapters.openai_structured import AnswerUnusable, RequestRefused, StructuredClient
from postloop.core import text_rules
from postloop.core.ports import Draft, WriteRequest, WriterFailed

FORMAT_NAME = "post_draft"


class DraftAnswer(BaseModel):
    """The answer's shape; its JSON Schema is what the server is asked to follow."""

    model_config = ConfigDict(extra="forbid", strict=True, title=FORMAT_NAME)
    topic: str = Field(description="what the post is about, in a few words")
    parts: list[str] = Field(description="the post, or a thread's posts in order; each at most 280 characters")


DRAFT_SCHEMA = DraftAnswer.model_json_schema()

# USD per million tokens (input, output); the model is configuration, so unknown
# models fall back to the cheapest current price and the spend is marked as an estimate.
PRICES = {"gpt-5.4-nano": (0.20, 1.25), "gpt-5.6-luna": (0.20, 1.20)}


def token_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    price_in, price_out = PRICES.get(model, min(PRICES.values()))
    return (input_tokens * price_in + output_tokens * price_out) / 1e6


class WriterError(WriterFailed):
    """The model's answer could not be turned into a post, or the server refused the request."""


class OpenAIWriter:
    generator = "openai"

    def __init__(self, api_key: str, model: str, *, base_url: str | None = None, timeout: float = 20.0,
                 max_retries: int = 2, client=None, api: str = "responses", max_output_tokens: int = 800,
                 malformed_retries: int = 2):
        if client is None:
            from openai import OpenAI
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._structured = StructuredClient(client, api=api, max_output_tokens=max_output_tokens,
                                            malformed_retries=malformed_retries,
                                            model_setting="POSTLOOP_OPENAI_MODEL")
        self.model = model

    @property
    def api(self) -> str:
        return self._structured.api

    def write(self, request: WriteRequest) -> Draft:
        shape = ("a thread of 3 to 5 posts, each able to stand on its own" if request.thread
                 else "exactly one post")
        instructions = (
            f"You write posts for X as: {request.persona}\nNiche: {request.niche}.\n"
            f"Write {shape}. Every post must fit in 280 characters (a URL counts 23). "
            "Be specific: numbers, mechanisms, examples. No hashtags beyond one, no more than one emoji."
        )
        topics = ", ".join(request.topics) or request.niche
        prompt = f"Content type: {request.content_type}. {request.prompt}\nPick one topic from: {topics}."
        fitted: list[tuple[str, ...]] = []

        def check(answer: DraftAnswer) -> None:
            if not answer.parts:
                raise ValueError("the model returned no post")
            parts = tuple(p for p in (text_rules.repair(raw) for raw in
                                      (answer.parts if request.thread else answer.parts[:1])) if p)
            if not parts:
                raise ValueError("no part of the model's answer fits X's length rule")
            fitted.append(parts)

        try:
            answer = self._structured.ask(model=self.model, name=FORMAT_NAME, shape=DraftAnswer,
                                          instructions=instructions, prompt=prompt, check=check)
        except RequestRefused as err:
            raise WriterError(str(err), cost_usd=self._cost(err.input_tokens, err.output_tokens)) from None
        except AnswerUnusable as err:
            raise WriterError(str(err), cost_usd=self._cost(err.input_tokens, err.output_tokens),
                              this_draft_only=True) from None
        return Draft(parts=fitted[-1], topic=answer.value.topic, generator=self.generator,
                     cost_usd=self._cost(answer.input_tokens, answer.output_tokens))

    def _cost(self, input_tokens: int, output_tokens: int) -> float:
        return token_cost(self.model, input_tokens, output_tokens)
