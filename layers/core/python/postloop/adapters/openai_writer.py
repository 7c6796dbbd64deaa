"""The writer backed by OpenAI's Responses API with strict structured output.

The model returns {"topic", "parts"}; every part is checked against X's length
rule and repaired or dropped, so nothing that X would refuse reaches a plan.
"""
from __future__ import annotations

import json

from postloop.core import text_rules
from postloop.core.ports import Draft, WriteRequest

DRAFT_SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "description": "what the post is about, in a few words"},
        "parts": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the post, or a thread's posts in order; each at most 280 characters",
        },
    },
    "required": ["topic", "parts"],
    "additionalProperties": False,
}

# USD per million tokens (input, output); the model is configuration, so unknown
# models fall back to the cheapest current price and the spend is marked as an estimate.
PRICES = {"gpt-5.4-nano": (0.20, 1.25), "gpt-5.6-luna": (0.20, 1.20)}


class WriterError(RuntimeError):
    """The model's answer could not be turned into a post."""


class OpenAIWriter:
    generator = "openai"

    def __init__(self, api_key: str, model: str, *, base_url: str | None = None, timeout: float = 20.0,
                 max_retries: int = 2, client=None):
        if client is None:
            from openai import OpenAI
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._client = client
        self.model = model

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
        response = self._client.responses.create(
            model=self.model,
            instructions=instructions,
            input=prompt,
            max_output_tokens=800,
            text={"format": {"type": "json_schema", "name": "post_draft", "schema": DRAFT_SCHEMA, "strict": True}},
        )
        try:
            data = json.loads(response.output_text)
            raw_parts = data["parts"]
            topic = str(data["topic"])
        except (ValueError, KeyError, TypeError):
            raise WriterError("the model's answer is not the requested JSON") from None
        if not isinstance(raw_parts, list) or not raw_parts:
            raise WriterError("the model returned no post")
        parts = []
        for raw in raw_parts if request.thread else raw_parts[:1]:
            fixed = text_rules.repair(str(raw))
            if fixed:
                parts.append(fixed)
        if not parts:
            raise WriterError("no part of the model's answer fits X's length rule")
        return Draft(parts=tuple(parts), topic=topic, generator=self.generator, cost_usd=self._cost(response))

    def _cost(self, response) -> float:
        usage = getattr(response, "usage", None)
        if usage is None:
            return 0.0
        price_in, price_out = PRICES.get(self.model, min(PRICES.values()))
        return (usage.input_tokens * price_in + usage.output_tokens * price_out) / 1e6
