"""The embedder backed by an OpenAI-compatible embeddings endpoint, for the embeddings novelty method.

The model is a setting (POSTLOOP_OPENAI_EMBEDDING_MODEL; vLLM, Ollama and llama.cpp serve
embedding models under their own names).

One call embeds a whole batch (the account's recent posts and a plan's drafts).
The answer is checked (one finite, non-zero vector per text, all of one length)
and anything else raises; the core then falls back to character n-grams.
"""
from __future__ import annotations

import math
from typing import Sequence

from postloop.core.ports import CheckError, Embeddings

MODEL = "text-embedding-3-small"
# USD per million input tokens; an unknown model is priced like the dearest known one
# so that a budget is never under-counted.
PRICES = {"text-embedding-3-small": 0.02, "text-embedding-3-large": 0.13}


class EmbeddingError(CheckError):
    """The embeddings answer could not be used."""


class OpenAIEmbedder:
    def __init__(self, api_key: str, *, model: str = MODEL, base_url: str | None = None, timeout: float = 10.0,
                 max_retries: int = 2, client=None):
        if client is None:
            from openai import OpenAI
            client = OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
        self._client = client
        self.model = model

    def embed(self, texts: Sequence[str]) -> Embeddings:
        texts = list(texts)
        if not texts:
            return Embeddings(vectors=())
        # The SDK asks for base64 and decodes it to floats itself (smaller answers than JSON floats).
        try:
            response = self._client.embeddings.create(model=self.model, input=texts)
        except Exception as err:
            if getattr(err, "status_code", None) == 404:
                raise EmbeddingError(f"404: the server has no embeddings endpoint or no model {self.model!r} "
                                     "(POSTLOOP_OPENAI_EMBEDDING_MODEL)") from None
            raise
        cost = self._cost(response)
        data = sorted(getattr(response, "data", None) or [], key=lambda e: getattr(e, "index", -1))
        if len(data) != len(texts) or [getattr(e, "index", None) for e in data] != list(range(len(texts))):
            raise EmbeddingError(f"expected {len(texts)} embedding(s) indexed 0-{len(texts) - 1}, got {len(data)}",
                                 cost_usd=cost)
        vectors = []
        for e in data:
            vector = getattr(e, "embedding", None)
            if not isinstance(vector, list) or not vector or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in vector):
                raise EmbeddingError("an embedding is not a list of finite numbers", cost_usd=cost)
            if not any(vector):
                raise EmbeddingError("an embedding is the zero vector", cost_usd=cost)
            vectors.append(tuple(float(x) for x in vector))
        if len({len(v) for v in vectors}) != 1:
            raise EmbeddingError("embeddings of different lengths", cost_usd=cost)
        return Embeddings(vectors=tuple(vectors), cost_usd=cost)

    def _cost(self, response) -> float:
        usage = getattr(response, "usage", None)
        tokens = getattr(usage, "prompt_tokens", None)
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0:
            return 0.0
        return tokens * PRICES.get(self.model, max(PRICES.values())) / 1e6
