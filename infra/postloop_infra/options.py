"""The deploy-time choices, read from CDK context (`cdk deploy -c nat=instance -c alarm_email=...`)."""
from __future__ import annotations

import json
import re

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from postloop_infra import names
from postloop_infra.names import DEFAULT_ACCOUNTS_DIR, REPO

# "none": only the cache function in the VPC, no NAT (docs/decisions.md); "gateway" or
# "instance": plan and learn in the VPC too, reaching X, OpenAI and AWS through a NAT.
NAT_OPTIONS = ("none", "gateway", "instance")
# The LLM's settings: context key -> the environment variable plan reads (postloop.runtime.settings).
OPENAI_CONTEXT = {
    "openai_model": names.ENV_OPENAI_MODEL,
    "openai_api": names.ENV_OPENAI_API,
    "openai_base_url": names.ENV_OPENAI_BASE_URL,
    "openai_judge_model": names.ENV_OPENAI_JUDGE_MODEL,
    "openai_embedding_model": names.ENV_OPENAI_EMBEDDING_MODEL,
    "openai_moderation_model": names.ENV_OPENAI_MODERATION_MODEL,
}


class OptionsError(ValueError):
    """A context value is invalid; the message names the key."""


@dataclass(frozen=True)
class DeployOptions:
    # "none": no NAT and no public address; plan and learn run outside the VPC and reach the cache
    # through the cache function. "gateway" (a managed NAT gateway, $36.50 a month with its address)
    # or "instance" (a t4g.nano, $7.36, one instance to look after): plan and learn in the VPC.
    nat: str = "none"
    alarm_email: str | None = None
    # The CloudWatch dashboard, $3 a month at list price (docs/deploy.md, "What it costs").
    dashboard: bool = False
    # Who is asked to approve posts of accounts in approval mode; defaults to alarm_email.
    approval_email: str | None = None
    accounts_dir: Path = DEFAULT_ACCOUNTS_DIR
    # False: no OpenAI secret is created or read, and plan writes with the offline writer.
    openai: bool = True
    openai_model: str | None = None
    # Any OpenAI-compatible server (README, "Using another LLM"); unset: the code's defaults (OpenAI).
    openai_api: str | None = None
    openai_base_url: str | None = None
    openai_judge_model: str | None = None
    openai_embedding_model: str | None = None
    openai_moderation_model: str | None = None
    # Reserved concurrency of post (0: none reserved, for accounts whose Lambda quota is 10).
    post_concurrency: int = 1
    # Tables kept from an earlier deployment (their RemovalPolicy is RETAIN), adopted instead of
    # created: {table key: table name} for every table (docs/deploy.md, "Keeping the memory").
    existing_tables: dict[str, str] | None = None

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeployOptions:
        """Options from `get(key)` (e.g. `app.node.try_get_context`); absent keys keep their defaults."""
        d = cls()
        nat = str(get("nat") or d.nat)
        if nat not in NAT_OPTIONS:
            raise OptionsError(f"context 'nat' must be one of {', '.join(NAT_OPTIONS)}, got {nat!r}")
        accounts_dir = get("accounts_dir")
        return cls(
            nat=nat,
            alarm_email=get("alarm_email") or None,
            dashboard=_bool(get("dashboard"), d.dashboard, "dashboard"),
            approval_email=get("approval_email") or get("alarm_email") or None,
            accounts_dir=(REPO / accounts_dir) if accounts_dir else d.accounts_dir,
            openai=_bool(get("openai"), d.openai, "openai"),
            **_openai_options(get),
            post_concurrency=_int(get("post_concurrency"), d.post_concurrency, "post_concurrency", 0),
            existing_tables=_existing_tables(get("existing_tables")),
        )


    def openai_environment(self) -> dict[str, str]:
        """The LLM options given, as the environment variables plan reads."""
        return {env: getattr(self, key) for key, env in OPENAI_CONTEXT.items() if getattr(self, key)}


def _openai_options(get: Callable[[str], Any]) -> dict[str, str | None]:
    """The LLM options, checked by the code that will read them, so a bad value stops the synth."""
    from postloop.runtime.settings import SettingsError, load_settings
    values = {key: (str(get(key)).strip() or None) if get(key) is not None else None for key in OPENAI_CONTEXT}
    for key, env in OPENAI_CONTEXT.items():
        if values[key] is None:
            continue
        try:
            load_settings({"AWS_REGION": "us-east-1", names.ENV_ACCOUNTS_FILE: "unused", env: values[key]})
        except SettingsError as err:
            raise OptionsError(f"context {key!r}: {err}") from None
    return values


def _bool(value: Any, default: bool, key: str) -> bool:
    # `-c key=false` arrives as the string "false".
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise OptionsError(f"context {key!r} must be true or false, got {value!r}")


def _int(value: Any, default: int, key: str, minimum: int) -> int:
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise OptionsError(f"context {key!r} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise OptionsError(f"context {key!r} must be at least {minimum}, got {number}")
    return number


# DynamoDB's rule for table names.
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def _existing_tables(value: Any) -> dict[str, str] | None:
    """`-c existing_tables=FILE` (a JSON object, path relative to the repository) or the object itself."""
    from postloop.adapters.tables import ALL_TABLES

    if value in (None, ""):
        return None
    where = "context 'existing_tables'"
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        path = Path(value) if Path(value).is_absolute() else REPO / value
        where = f"context 'existing_tables' ({path})"
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as err:
            raise OptionsError(f"{where}: cannot be read ({err.strerror or err})") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise OptionsError(f"{where}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(value, dict):
        raise OptionsError(f"{where}: must be an object of table key to table name")
    problems = []
    missing = sorted(set(ALL_TABLES) - set(value))
    unknown = sorted(set(value) - set(ALL_TABLES))
    if missing:
        problems.append(f"missing {', '.join(missing)} (adopt every table or none)")
    if unknown:
        problems.append(f"unknown {', '.join(map(repr, unknown))} (one of {', '.join(sorted(ALL_TABLES))})")
    for key, name in sorted(value.items()):
        if key in ALL_TABLES and not (isinstance(name, str) and _TABLE_NAME.fullmatch(name)):
            problems.append(f"{key}: {name!r} is not a DynamoDB table name")
    if problems:
        raise OptionsError(f"{where}: " + "; ".join(problems))
    return dict(value)
