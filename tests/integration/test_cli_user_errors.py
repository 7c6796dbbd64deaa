"""User errors are messages, not tracebacks: `postloop simulate`, `invoke` and `score` as a user runs
them (the installed script in a subprocess where signals or stdout matter, `cli.main` otherwise).
Each guard has a run with the guard taken away, to show the check going red without it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from postloop_local import cli
from postloop_local.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
POSTLOOP = Path(sys.executable).parent / "postloop"
EVENTS = REPO / "events"
DEMO = REPO / "layers" / "local" / "python" / "postloop_local" / "accounts" / "demo.json"


def run(*args: str, env: dict | None = None, timeout: float = 120, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([str(POSTLOOP), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})})


def bad_account(tmp_path: Path, name: str = "mine.json") -> Path:
    account = json.loads(DEMO.read_text())
    account.update(posts_per_day=100, colour="red")
    account["learning"] = {"decider": "greedy"}
    path = tmp_path / name
    path.write_text(json.dumps(account))
    return path


@pytest.mark.parametrize("args, message", [
    (("simulate", "--seed", "-1"), "argument --seed: -1 is outside 0-"),
    (("simulate", "--days", "1e9"), "argument --days: expected a whole number, got '1e9'"),
    (("simulate", "--days", "100000"), "argument --days: 100000 is outside 1-730"),
    (("simulate", "--days", "0"), "argument --days: 0 is outside 1-730"),
    (("invoke", "plan", "--event", "events/plan.json", "--log-level", "LOUD"), "argument --log-level: invalid choice"),
    (("invoke", "plan", "--event", "events/plan.json", "--history-days", "-3"),
     "argument --history-days: -3 is outside 0-60"),
    (("invoke", "tweet", "--event", "events/plan.json"), "argument FUNCTION: invalid choice: 'tweet'"),
])
def test_numeric_and_choice_flags_are_range_checked(capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(args))
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err, err


def test_invoke_help_lists_every_function(capsys):
    with pytest.raises(SystemExit):
        cli.main(["invoke", "--help"])
    out = capsys.readouterr().out
    assert "plan, approve, post, scrape, learn" in out


def test_a_bad_account_file_lists_every_problem_in_a_real_process(tmp_path):
    path = bad_account(tmp_path)
    for command in (("simulate", "--account", str(path)),
                    ("invoke", "plan", "--event", "events/plan.json", "--account", str(path)),
                    ("score", "--account", str(path), "-")):
        proc = run(*command)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        for field in ("posts_per_day", "colour: unknown field", "learning.decider"):
            assert f"{path}: {field}" in proc.stderr, (command, proc.stderr)
        assert proc.stdout == ""


@pytest.mark.parametrize("content, message", [
    (b"{\"account_id\": \"x\",,}", "not valid JSON: Expecting property name"),
    (bytes(range(200, 256)) * 4, "not a UTF-8 text file"),
    (None, "account file not found"),
])
def test_junk_syntax_and_missing_files_are_one_message(capsys, tmp_path, content, message):
    path = tmp_path / "mine.json"
    if content is not None:
        path.write_bytes(content)
    assert cli.main(["simulate", "--account", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {message}" in err and len(err.strip().splitlines()) == 2, err


def test_a_scenarios_relative_account_path_resolves_from_the_scenarios_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sc.yaml").write_text(textwrap.dedent("""\
        name: mine
        account: acc.json
        content_types: {factual_single: {base_rate: 0.03}}
        """))
    bad_account(folder, "acc.json")
    scenario = load_scenario(str(folder / "sc.yaml"))
    assert scenario.account == str((folder / "acc.json").resolve())
    # From another folder, the error names the file next to the scenario.
    monkeypatch.chdir(tmp_path)
    assert cli.main(["simulate", "--scenario", str(folder / "sc.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"scenario mine: account {folder / 'acc.json'}" in err and "posts_per_day" in err, err


def test_invoke_refuses_a_wrong_event_before_starting_backends(tmp_path):
    cases = [({"account_id": "demo"}, "plan event: 'scheduled_time' is missing"),
             ({"account_id": "someone", "scheduled_time": "2026-01-09T05:00:00Z"},
              "account_id 'someone' is not the account of this run ('demo')")]
    for event, message in cases:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(event))
        started = time.monotonic()
        proc = run("invoke", "plan", "--event", str(path))
        seconds = time.monotonic() - started
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "local backends" not in proc.stderr and proc.stdout == ""
        # The backends take 10 s and more; the check comes first (generous: the machine is shared).
        assert seconds < 6, seconds


def test_invoke_prints_only_the_result_on_stdout(tmp_path):
    # With the dashboard's metrics on, plan sends EMF metrics too (without it plan sends none).
    proc = run("invoke", "plan", "--event", "events/plan.json", "--history-days", "0", timeout=300,
               env={"POSTLOOP_DASHBOARD_METRICS": "true"})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)   # what `| jq` needs
    assert result["account_id"] == "demo" and result["decision_id"]
    assert '"message":"planned"' in proc.stderr.replace(" ", "")      # the handler's log line, on stderr
    assert "CloudWatchMetrics" in proc.stderr                        # and its EMF metrics
    assert "UserWarning" not in proc.stderr and "Traceback" not in proc.stderr


def test_invoke_guard_off_logs_reach_stdout(tmp_path):
    # Without sending the handler's output to stderr, its log lines and metrics land in the result's stream.
    script = textwrap.dedent(f"""
        import contextlib, sys
        from postloop_local import cli
        cli._logs_to_stderr = contextlib.nullcontext
        contextlib.redirect_stdout = lambda stream: contextlib.nullcontext()
        sys.exit(cli.main(["invoke", "plan", "--event", "events/plan.json", "--history-days", "0"]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


INTERRUPTIBLE = ["simulate", "--backend", "memory", "--days", "300", "--no-baseline"]


def _start_and_wait_for_progress(argv: list[str], env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "day " in line and "decisions" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"no progress line: {proc.stderr.read()}")


def _interrupt(proc: subprocess.Popen, sig: int) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_ctrl_c_ends_with_a_partial_summary_and_exit_130():
    proc = _start_and_wait_for_progress([str(POSTLOOP), *INTERRUPTIBLE])
    code, out, err = _interrupt(proc, signal.SIGINT)
    assert code == 130, err
    assert "interrupted during the postloop run of 300 days" in err and "stopped at day" in err, err
    assert "Traceback" not in err


def test_ctrl_c_guard_off_is_a_traceback():
    script = ("import sys\nfrom postloop_local import cli\n"
              "cli.KeyboardInterrupt = type('Never', (BaseException,), {})\n"   # the except clause no longer matches
              f"sys.exit(cli.main({INTERRUPTIBLE!r}))\n")
    proc = _start_and_wait_for_progress([sys.executable, "-c", script])
    code, out, err = _interrupt(proc, signal.SIGINT)
    assert code != 130 and "Traceback" in err


def _sigterm_run(tmp_path: Path, script: str) -> list[str]:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = _start_and_wait_for_progress([sys.executable, "-c", script], env={"TMPDIR": str(scratch)})
    assert any(p.name.startswith("postloop-") for p in scratch.iterdir())   # the run's own temp folder
    _interrupt(proc, signal.SIGTERM)
    return [p.name for p in scratch.iterdir()]


EMBEDDED = ["simulate", "--days", "300", "--no-baseline", "--in-process-redis", "--no-iam"]


def test_sigterm_leaves_no_temp_folder(tmp_path):
    script = f"import sys\nfrom postloop_local import cli\nsys.exit(cli.main({EMBEDDED!r}))\n"
    assert _sigterm_run(tmp_path, script) == []


def test_sigterm_guard_off_leaves_the_temp_folder(tmp_path):
    script = ("import signal, sys\nfrom postloop_local import cli\n"
              "real = signal.signal\n"
              "signal.signal = lambda s, h: None if s == signal.SIGTERM else real(s, h)\n"
              f"sys.exit(cli.main({EMBEDDED!r}))\n")
    assert any(name.startswith("postloop-") for name in _sigterm_run(tmp_path, script))


def test_memory_backend_describes_itself_truthfully(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["simulate", "--backend", "memory", "--days", "3", "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "backends: in-memory adapters" in out
    assert "moto" not in out and "127.0.0.1" not in out and "handler logs" not in out, out
