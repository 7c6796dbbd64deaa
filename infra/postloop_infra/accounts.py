"""The accounts deployed with the stack: every `*.json` in the accounts directory, validated at synth.

Each file holds one account object or a list of them (docs/accounts.md). They are
validated with the same `parse_account` the functions use, so a bad file fails
`cdk synth` with the message that names the field, instead of failing every
invocation after the deploy.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from postloop.core.account import AccountConfig, ConfigError, parse_account
from postloop_infra.names import ACCOUNTS_LAYER_FILE


@dataclass(frozen=True)
class DeployedAccount:
    config: AccountConfig
    raw: dict        # the object as written, packaged unchanged for the functions
    source: Path


def load_account_dir(directory: Path) -> list[DeployedAccount]:
    """Every account in `directory/*.json`, sorted by id; raises ConfigError naming the file and field."""
    if not directory.is_dir():
        raise ConfigError(f"accounts directory not found: {directory}")
    accounts: dict[str, DeployedAccount] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
        items = data if isinstance(data, list) else [data]
        for i, item in enumerate(items):
            where = f"{path}[{i}]" if isinstance(data, list) else str(path)
            config = parse_account(item, where=where)
            if config.account_id in accounts:
                raise ConfigError(f"{where}: account_id {config.account_id!r} is also defined in "
                                  f"{accounts[config.account_id].source}")
            accounts[config.account_id] = DeployedAccount(config, item, path)
    return [accounts[k] for k in sorted(accounts)]


def write_accounts_layer(accounts: list[DeployedAccount], layer_dir: Path) -> Path:
    """Write the accounts file the functions read (a list, the format load_accounts takes); returns its path."""
    target = layer_dir / ACCOUNTS_LAYER_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    # Sorted and stably formatted, so the layer's asset hash changes only when an account does.
    target.write_text(json.dumps([a.raw for a in accounts], indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target
