"""`postloop score`: a creator's drafts through the checks plan runs, one verdict per draft.

Input (a file, or `-` for standard input):

* **JSON lines** – one object per line, `{"parts": ["…", …], "content_type": "…"}`; `content_type`
  is optional (default `--content-type`, else the account's first content type) and `id` may name
  the draft (it is echoed). Chosen when the first non-blank character is `{`, or with `--format jsonl`.
* **plain text** – drafts separated by one or more blank lines; inside a draft, a line holding only
  `---` separates the parts of a thread. Line breaks inside a part are kept (lists). A post with a
  blank line inside it needs the JSON-lines form.

Every input is read and validated before anything is scored: a bad line is named with its number
and nothing is printed on stdout. Each draft then goes through plan's own `ContentChecks`
(core/plan.py) with the account's configuration: the quality score with its floors and minimum,
X's length rule and banned phrases, safety (banned words and topics, moderation when the account
asks for it), an LLM judge when configured, and novelty – word for word and near-duplicate –
against the drafts before it in the input (all of them, approved or not, as if each had been
posted), by the account's novelty method, or with `--novelty local` by the local sentence-embedding
model as `postloop simulate --novelty local` uses it. The verdict is `reject` exactly when plan would
reject the draft on its content; `approve` means it clears those checks (the engagement model, which
gates only once trusted, is not consulted).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from postloop.core.account import AccountConfig, ConfigError, parse_account
from postloop.core.ports import Draft, Embedder, Judge, Moderator

ACCOUNTS_DIR = Path(__file__).parent / "accounts"
DEFAULT_ACCOUNT = "demo"
FORMATS = ("auto", "jsonl", "text")
JSON_KEYS = {"parts", "content_type", "id"}
PART_SEPARATOR = "---"


class ScoreInputError(ValueError):
    """The input or the account cannot be scored; the message names the file, line or field."""


@dataclass
class HandDraft:
    line: int
    parts: tuple[str, ...]
    content_type: str
    id: Any = None


@dataclass
class Checkers:
    """The optional OpenAI-backed checks ContentChecks asks its deps for."""

    moderator: Moderator | None = None
    judge: Judge | None = None
    embedder: Embedder | None = None


def load_account(name_or_file: str | None) -> AccountConfig:
    """A shipped account by name (postloop_local/accounts/NAME.json) or an account JSON file; every
    problem of the file at once (postloop_local/account_file.py)."""
    from postloop_local.account_file import AccountFileError, load_one
    try:
        path, data = load_one(name_or_file or DEFAULT_ACCOUNT)
    except AccountFileError as err:
        raise ScoreInputError("account: " + "\n  ".join(err.problems)) from None
    return parse_account(data, where=str(path))


def read_input(source: str, stdin: TextIO | None = None) -> tuple[str, str]:
    """(the text, the name to give it in messages)."""
    if source == "-":
        stream = stdin or sys.stdin
        raw = getattr(stream, "buffer", None)   # bytes, so bad UTF-8 is refused rather than replaced
        try:
            return (raw.read().decode("utf-8-sig") if raw is not None else stream.read()), "<stdin>"
        except UnicodeDecodeError as err:
            raise ScoreInputError(f"<stdin>: not UTF-8 text ({err.reason} at byte {err.start})") from None
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8-sig"), source
    except FileNotFoundError:
        raise ScoreInputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise ScoreInputError(f"{source}: is a directory, not a file of drafts") from None
    except PermissionError:
        raise ScoreInputError(f"{source}: permission denied") from None
    except UnicodeDecodeError as err:
        raise ScoreInputError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise ScoreInputError(f"{source}: cannot be read ({err.strerror or type(err).__name__})") from None


def parse_drafts(text: str, name: str, config: AccountConfig, *, fmt: str = "auto",
                 content_type: str | None = None) -> list[HandDraft]:
    """The drafts of `text`, validated (ScoreInputError names the first bad line)."""
    if fmt not in FORMATS:
        raise ScoreInputError(f"--format must be one of {', '.join(FORMATS)}")
    default_type = content_type or config.content_types[0].name
    _check_type(default_type, config, "--content-type")
    if fmt == "auto":
        fmt = "jsonl" if text.lstrip().startswith("{") else "text"
    drafts = _jsonl(text, name, config, default_type) if fmt == "jsonl" else _plain(text, default_type)
    if not drafts:
        raise ScoreInputError(f"{name}: no drafts found (it is empty or holds only blank lines)")
    return drafts


def _check_type(name: str, config: AccountConfig, where: str) -> None:
    known = [c.name for c in config.content_types]
    if name not in known:
        raise ScoreInputError(f"{where}: unknown content type {name!r}; account {config.account_id!r} has "
                              f"{', '.join(known)}")


def _jsonl(text: str, name: str, config: AccountConfig, default_type: str) -> list[HandDraft]:
    drafts = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ScoreInputError(f"{where}: not valid JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise ScoreInputError(f"{where}: not valid JSON (nested too deeply)") from None
        if not isinstance(row, dict):
            raise ScoreInputError(f"{where}: expected an object like "
                                  f"{{\"parts\": [\"…\"], \"content_type\": \"…\"}}, got a JSON {type(row).__name__}")
        unknown = sorted(set(row) - JSON_KEYS)
        if unknown:
            raise ScoreInputError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                                  f"expected {', '.join(sorted(JSON_KEYS))}")
        if "parts" not in row:
            raise ScoreInputError(f"{where}: 'parts' is missing (a list of the post's text, one item per thread part)")
        parts = row["parts"]
        if not isinstance(parts, list) or not parts:
            raise ScoreInputError(f"{where}: 'parts' must be a non-empty list of strings")
        for k, part in enumerate(parts, start=1):
            if not isinstance(part, str):
                raise ScoreInputError(f"{where}: part {k} is a {type(part).__name__}, not a string")
            if not part.strip():
                raise ScoreInputError(f"{where}: part {k} is empty")
        ct = row.get("content_type", default_type)
        if not isinstance(ct, str):
            raise ScoreInputError(f"{where}: 'content_type' must be a string")
        _check_type(ct, config, where)
        drafts.append(HandDraft(line=number, parts=tuple(parts), content_type=ct, id=row.get("id")))
    return drafts


def _plain(text: str, default_type: str) -> list[HandDraft]:
    drafts: list[HandDraft] = []
    block: list[str] = []
    start = 0

    def close() -> None:
        parts, current = [], []
        for line in block:
            if line.strip() == PART_SEPARATOR:
                parts.append("\n".join(current).strip())
                current = []
            else:
                current.append(line)
        parts.append("\n".join(current).strip())
        parts = [p for p in parts if p]
        if parts:
            drafts.append(HandDraft(line=start, parts=tuple(parts), content_type=default_type))

    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line.rstrip())
        elif block:
            close()
            block = []
    if block:
        close()
    return drafts


def checkers_for(config: AccountConfig, env: dict[str, str] | None = None, embedder: Embedder | None = None
                 ) -> Checkers:
    """The OpenAI-backed checks the account asks for, from the environment; ScoreInputError when it
    asks for one and no key is set (plan refuses such an account too: safety fails closed). `embedder`,
    when given (the local model), serves the embeddings novelty method instead of the API."""
    from postloop.core.plan import require_checks

    env = os.environ if env is None else env
    wants = (config.safety.moderation or config.judge.weight > 0
             or (config.novelty.method == "embeddings" and embedder is None))
    if not wants:
        return Checkers(embedder=embedder)
    if not env.get("OPENAI_API_KEY"):
        try:
            require_checks(config, Checkers(embedder=embedder))
        except ConfigError as err:
            raise ScoreInputError(
                f"{err} — set OPENAI_API_KEY (and OPENAI_BASE_URL, POSTLOOP_OPENAI_API for a server other than "
                "OpenAI's; README, 'Using another LLM'), or score with an account that does not ask for them"
            ) from None
    from postloop.runtime.settings import SettingsError, load_settings

    try:
        # Only the OpenAI settings are read; the rest of a function's settings do not apply here.
        s = load_settings({**env, "AWS_REGION": env.get("AWS_REGION") or "us-east-1",
                           "POSTLOOP_ACCOUNTS_FILE": env.get("POSTLOOP_ACCOUNTS_FILE") or "-"})
    except SettingsError as err:
        raise ScoreInputError(str(err)) from None
    from openai import OpenAI

    client = OpenAI(api_key=env["OPENAI_API_KEY"], base_url=s.openai_base_url, timeout=s.openai_timeout,
                    max_retries=s.openai_max_retries)
    checkers = Checkers(embedder=embedder)
    if config.safety.moderation:
        from postloop.adapters.openai_moderation import OpenAIModerator
        checkers.moderator = OpenAIModerator("", model=s.openai_moderation_model, client=client)
    if config.judge.weight > 0:
        from postloop.adapters.openai_judge import OpenAIJudge
        checkers.judge = OpenAIJudge("", s.judge_model, client=client, api=s.openai_api,
                                     max_output_tokens=s.openai_max_output_tokens,
                                     malformed_retries=s.openai_malformed_retries)
    if config.novelty.method == "embeddings" and embedder is None:
        from postloop.adapters.openai_embeddings import OpenAIEmbedder
        checkers.embedder = OpenAIEmbedder("", model=s.openai_embedding_model, client=client)
    return checkers


def with_local_model(config: AccountConfig):
    """(the account switched to the embeddings novelty method, the local model serving it), as
    `postloop simulate --novelty local` does; ScoreInputError saying how to install a missing model."""
    from dataclasses import replace

    from postloop_local.local_embeddings import LocalModelUnavailable, shared
    try:
        embedder = shared()
    except LocalModelUnavailable as err:
        raise ScoreInputError(f"--novelty local: {err}") from None
    return replace(config, novelty=replace(config.novelty, method="embeddings")), embedder


def score_drafts(drafts: list[HandDraft], config: AccountConfig, checkers: Checkers | None = None):
    """Yield one verdict (a JSON-ready dict) per draft, in order, each checked against those before it."""
    from postloop.core.features import similarity
    from postloop.core.plan import ContentChecks, normal_part

    checkers = checkers or Checkers()
    earlier_texts: list[str] = []
    earlier_parts: list[set[str]] = []
    for number, hand in enumerate(drafts, start=1):
        draft = Draft(parts=hand.parts, topic="", generator="hand")
        checks = ContentChecks(config, checkers, [draft], config.content_type(hand.content_type))
        checks.safety()
        novelty = checks.novelty(earlier_texts)[0]
        checks.repeats(set().union(*earlier_parts))
        quality = checks.judged_quality()[0]
        report = checks.reports[0]
        reasons = checks.problems[0]
        out = {"draft": number, "line": hand.line}
        if hand.id is not None:
            out["id"] = hand.id
        out.update({
            "content_type": hand.content_type,
            "parts": len(hand.parts),
            "quality": round(quality, 4),
            "components": {k: round(v, 4) for k, v in report.components.items()},
            "novelty": round(novelty, 4),
            "verdict": "reject" if reasons else "approve",
            "reasons": list(reasons),
        })
        if checks.records[0]:
            out["checks"] = checks.records[0]
        repeated = [k for k, parts in enumerate(earlier_parts, start=1)
                    if parts & {normal_part(p) for p in hand.parts}]
        if repeated:
            out["repeats_draft"] = repeated[0]
        elif any(r.startswith("near-duplicate") for r in reasons):
            # The earlier draft it is nearest to (n-grams: what the reason measured, or its fallback).
            out["repeats_draft"] = 1 + max(range(len(earlier_texts)),
                                           key=lambda k: similarity(checks.texts[0], earlier_texts[k]))
        yield out
        earlier_texts.append(checks.texts[0])
        earlier_parts.append({normal_part(p) for p in hand.parts})


def run(args, stdout: TextIO | None = None, stderr: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """The command: 0 when every draft was scored (whatever the verdicts), 2 on bad input."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    try:
        config = load_account(args.account)
        embedder = None
        if getattr(args, "novelty", "ngrams") == "local":
            config, embedder = with_local_model(config)
        text, name = read_input(args.file, stdin)
        drafts = parse_drafts(text, name, config, fmt=args.format, content_type=args.content_type)
        checkers = checkers_for(config, embedder=embedder)
    except ScoreInputError as err:
        print(f"postloop score: {err}", file=stderr)
        return 2
    try:
        for verdict in score_drafts(drafts, config, checkers):
            print(json.dumps(verdict, ensure_ascii=False), file=stdout, flush=True)
    except BrokenPipeError:   # the reader stopped early (`| head`): nothing left to say
        return 0
    return 0

