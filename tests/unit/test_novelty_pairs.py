"""The labelled pairs behind novelty's thresholds (docs/novelty.md) and bench/novelty_eval.py's
reading of them; the local model's figures are in tests/integration/test_local_embeddings.py."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from bench import novelty_eval


def test_the_set_has_enough_pairs_of_each_kind_in_both_splits():
    rows = novelty_eval.load()
    counts = Counter((r["label"], r["split"]) for r in rows)
    for label in novelty_eval.LABELS:
        assert counts[(label, "dev")] >= 18 and counts[(label, "test")] >= 18
    assert Counter(r["wording"] for r in rows if r["label"] == "paraphrase") == {"kept": 36, "reworded": 12}
    texts = [t for r in rows for t in (r["a"], r["b"])]
    assert len(set(texts)) == len(texts)   # no post in two pairs: the history figure would count it twice


@pytest.mark.parametrize("row, message", [
    ("not json", "pairs.jsonl:2: not JSON"),
    ({"label": "similar"}, "pairs.jsonl:2: label must be one of paraphrase, same_topic, different_topic"),
    ({"label": "same_topic", "split": "train"}, "pairs.jsonl:2: split must be dev or test"),
    ({"label": "same_topic", "split": "dev", "id": "x", "niche": "n", "a": "", "b": "b"}, "pairs.jsonl:2: a must be"),
    ({"label": "paraphrase", "split": "dev", "id": "x", "niche": "n", "a": "a", "b": "b"}, "wording kept or reworded"),
    ({"label": "same_topic", "split": "dev", "id": "one", "niche": "n", "a": "a", "b": "b"}, "id 'one' appears twice"),
])
def test_a_bad_line_is_named(tmp_path, row, message):
    first = {"label": "same_topic", "split": "dev", "id": "one", "niche": "n", "a": "x", "b": "y"}
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(first) + "\n" + (row if isinstance(row, str) else json.dumps(row)) + "\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        novelty_eval.load(path)


def test_ngrams_at_the_default_threshold_let_every_paraphrase_through():
    # The finding the local model answers (issue: 0 of 12); docs/novelty.md has the full table.
    f = novelty_eval.run(("ngrams",))["ngrams"]
    assert f["in_use_min_novelty"] == 0.25
    assert all(f["at_in_use"][s]["paraphrase"] == 0.0 for s in ("dev", "test"))
    assert f["chosen_min_novelty"] == 0.65
