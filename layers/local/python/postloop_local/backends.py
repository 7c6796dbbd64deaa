"""Embedded backends for local runs: moto for DynamoDB and Secrets Manager, a real
redis-server when one is installed (an in-process stand-in otherwise), and the
fake X API on 127.0.0.1. Everything lives as long as the `LocalBackends` context.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

X_SECRET_ID = "postloop/local/x/{account_id}"   # one secret per account
X_AUTH_KINDS = ("oauth2", "oauth1", "bearer")
OPENAI_SECRET_ID = "postloop/local/openai"
LOCAL_TOKEN = "local-x-user-token"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: ask Linux to end it when its parent dies, so a killed run leaves no server behind."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the context manager's stop() still ends it on a normal exit


class RedisServerProcess:
    """A real redis-server on a free loopback port, without persistence."""

    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return f"redis://127.0.0.1:{self.port}/0"
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class StandInRedis:
    """fakeredis serving the Redis protocol on loopback, for machines without redis-server."""

    def __init__(self):
        self.port = free_port()
        self.server = None

    def start(self) -> str:
        from fakeredis import TcpFakeServer
        self.server = TcpFakeServer(("127.0.0.1", self.port), server_type="redis")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class BackendInfo:
    redis_kind: str       # "redis-server <path>" or "in-process stand-in (fakeredis)"
    writer: str           # "offline" or "openai (<model>)"
    redis_url: str
    x_base_url: str
    accounts_file: str


class LocalBackends:
    """Start everything and point the handlers' settings at it (environment variables)."""

    def __init__(self, accounts: list[dict], audience, clock: Callable[[], datetime], *,
                 use_redis_server: bool = True, log_level: str = "WARNING", x_auth: str = "oauth2",
                 x_fault_schedule=None, extra_env: dict[str, str] | None = None):
        if x_auth not in X_AUTH_KINDS:
            raise ValueError(f"x_auth must be one of {', '.join(X_AUTH_KINDS)}")
        self.x_auth = x_auth
        self.accounts = accounts
        self.audience = audience
        self.clock = clock
        self.use_redis_server = use_redis_server
        self.log_level = log_level
        self._stack = ExitStack()
        self._saved_env: dict[str, str | None] = {}
        self.info: BackendInfo | None = None
        self.x_server = None
        self.redis = None                          # the Redis process (a fault run stops and restarts it)
        self.x_fault_schedule = x_fault_schedule   # see fake_x.FakeXServer(fault_schedule=...)
        self.extra_env = dict(extra_env or {})     # more settings for the handlers, restored on exit

    def _setenv(self, **values: str) -> None:
        for k, v in values.items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v

    def __enter__(self) -> "LocalBackends":
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> "LocalBackends":
        tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="postloop-")))
        accounts_file = tmp / "accounts.json"
        accounts_file.write_text(json.dumps(self.accounts, indent=2))
        # Fake credentials before any AWS client exists; moto intercepts every call.
        self._setenv(
            AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
            AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
            POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="postloop",
            POWERTOOLS_LOG_LEVEL=self.log_level,
        )
        from moto import mock_aws
        self._stack.enter_context(mock_aws())
        self._create_tables()

        import boto3
        secrets = boto3.client("secretsmanager", region_name=REGION)
        x_check = self._x_credentials(secrets)
        writer = "offline (deterministic, no key needed)"
        # With a key in the environment, plan writes with OpenAI; the key goes
        # into the (mocked) secret store, the same path as in production.
        if os.environ.get("OPENAI_API_KEY"):
            secrets.create_secret(Name=OPENAI_SECRET_ID,
                                  SecretString=json.dumps({"api_key": os.environ["OPENAI_API_KEY"]}))
            self._setenv(POSTLOOP_OPENAI_SECRET_ID=OPENAI_SECRET_ID)
            writer = f"openai ({os.environ.get('POSTLOOP_OPENAI_MODEL', 'gpt-5.4-nano')})"

        binary = shutil.which("redis-server") if self.use_redis_server else None
        redis = RedisServerProcess(binary) if binary else StandInRedis()
        redis_url = redis.start()
        self._stack.callback(redis.stop)
        self.redis = redis
        if binary:
            kind = f"redis-server ({binary})"
        elif self.use_redis_server:
            kind = "in-process stand-in (fakeredis): redis-server not found"
        else:
            kind = "in-process stand-in (fakeredis), as asked"

        from postloop_local.fake_x import FakeXServer
        self.x_server = FakeXServer(self.audience, self.clock, auth=x_check, fault_schedule=self.x_fault_schedule)
        x_url = self.x_server.start()
        self._stack.callback(self.x_server.stop)

        self._setenv(
            POSTLOOP_ACCOUNTS_FILE=str(accounts_file), POSTLOOP_REDIS_URL=redis_url,
            POSTLOOP_X_API_BASE_URL=x_url, POSTLOOP_X_SECRET_ID=X_SECRET_ID,
        )
        self._setenv(**self.extra_env)
        self.info = BackendInfo(kind, writer, redis_url, x_url, str(accounts_file))
        self._reset_caches()
        from postloop.runtime import wiring
        # Token expiry and leases follow the simulated clock, as X's side does.
        wiring.current().clock = self.clock
        return self

    def _x_credentials(self, secrets):
        """One X secret per account, of the kind asked for, and the fake X's matching check."""
        from postloop_local.fake_x_auth import BearerCheck, OAuth1Check, OAuth2Check
        if self.x_auth == "oauth1":
            creds = {"consumer_key": "local-consumer-key", "consumer_secret": "local-consumer-secret",
                     "access_token": "local-access-token", "access_token_secret": "local-access-secret"}
            check = OAuth1Check(**creds)
        elif self.x_auth == "oauth2":
            # Access tokens expire every two simulated hours and refresh through the secret and the lease.
            check = OAuth2Check(self.clock, client_id="local-client")
        else:
            check = BearerCheck(LOCAL_TOKEN)
        for account in self.accounts:
            if self.x_auth == "oauth1":
                value = {"auth": "oauth1", **creds}
            elif self.x_auth == "oauth2":
                pair = check.issue()
                value = {"auth": "oauth2", "client_id": "local-client", "access_token": pair["access_token"],
                         "refresh_token": pair["refresh_token"],
                         "expires_at": (self.clock() + timedelta(seconds=pair["expires_in"])).isoformat()}
            else:
                value = {"auth": "bearer", "bearer_token": LOCAL_TOKEN}
            name = X_SECRET_ID.replace("{account_id}", str(account.get("account_id")))
            secrets.create_secret(Name=name, SecretString=json.dumps(value))
        return check

    def _create_tables(self) -> None:
        from postloop.adapters.tables import bind_tables
        from postloop.runtime.settings import load_settings
        s = load_settings({**os.environ, "POSTLOOP_ACCOUNTS_FILE": "unused"})
        bound = bind_tables(s.tables, s.region, s.dynamodb_endpoint)
        for f in dataclasses.fields(bound):
            getattr(bound, f.name).create_table(billing_mode="PAY_PER_REQUEST", wait=False)

    @staticmethod
    def _reset_caches() -> None:
        from aws_lambda_powertools.utilities import parameters

        from postloop.runtime import wiring
        wiring.reset()
        parameters.clear_caches()

    def __exit__(self, *exc) -> None:
        self._stack.close()
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()
        self._reset_caches()
