"""Synthesized templates of the CDK app, shared: a synth takes 20-30 s on two cores.

`main_synth` is the deployment as most people run it (no NAT: only the cache function in
the VPC; two accounts, OpenAI on, alarm email) with the opt-in dashboard on, its LLM options
pointing at an OpenAI-compatible server; `variant_synth` flips every option the other way
(a NAT instance with plan and learn in the VPC, no account, no OpenAI, so the same LLM options
are dropped, no reserved concurrency, no dashboard). Both skip asset bundling;
tests/infra/test_bundling.py is the one that bundles. The NAT gateway layout is synthesized
on its own, network only, in test_network.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from synth_helpers import ALARM_EMAIL, LLM_CONTEXT, NO_BUNDLING, Synth, synthesize, write_accounts


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: bundles the Lambda layers (downloads wheels from PyPI)")


@pytest.fixture(scope="session")
def accounts_dir(tmp_path_factory) -> Path:
    return write_accounts(tmp_path_factory.mktemp("accounts"))


@pytest.fixture(scope="session")
def main_synth(tmp_path_factory, accounts_dir) -> Synth:
    context = {**NO_BUNDLING, "accounts_dir": str(accounts_dir), "alarm_email": ALARM_EMAIL, "dashboard": "true",
               **LLM_CONTEXT}
    return synthesize(context, tmp_path_factory.mktemp("main"))


@pytest.fixture(scope="session")
def variant_synth(tmp_path_factory) -> Synth:
    empty = tmp_path_factory.mktemp("no-accounts")
    context = {**NO_BUNDLING, "accounts_dir": str(empty), "nat": "instance", "openai": "false",
               "post_concurrency": "0", **LLM_CONTEXT}
    return synthesize(context, tmp_path_factory.mktemp("variant"))
