"""Embedded backends for local runs: moto for DynamoDB, Secrets Manager and Lambda's Invoke API,
a real redis-server when one is installed (in cluster mode with TLS only, the shape of
ElastiCache Serverless; a plain in-process stand-in otherwise), and the fake X API on 127.0.0.1.
As deployed, plan and learn reach the cache through the cache function: their Invoke goes to
moto and the function runs in-process (postloop_local/local_lambda.py). Everything lives as long
as the `LocalBackends` context.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

X_SECRET_ID = "postloop/local/x/{account_id}"   # one secret per account
X_AUTH_KINDS = ("oauth2", "oauth1", "bearer")
OPENAI_SECRET_ID = "postloop/local/openai"
LOCAL_TOKEN = "local-x-user-token"
REGION = "us-east-1"
# The cache function, named as deployed (infra/postloop_infra/names.py function_name).
CACHE_FUNCTION = "postloop-cache"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


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


def _write_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost signed by it, as PEM files.

    Returns (ca, certificate, key). Python 3.13 verifies strictly (RFC 5280), so the
    certificates carry the key identifiers and constraints a real CA would.
    """
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "postloop local test CA")])

    def builder(subject, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=7))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))

    no_usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False)
    ca = (builder(ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, **no_usage),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


class RedisServerProcess:
    """A real redis-server shaped like ElastiCache Serverless: cluster mode, TLS only.

    One node on a free loopback port holding all 16384 slots, without persistence, with no
    plaintext port (`--port 0`). Its CA and certificate are made at the first start in a
    temporary folder; `stop()` ends the server and `start()` brings it back on the same port
    and certificates as a new, empty cluster (a fault run does this), `close()` also removes
    the folder. The URL names the CA file (`?ssl_ca_certs=`), which redis-py reads from it.
    """

    kind = "cluster mode, TLS only"

    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.bus_port = free_port()   # the cluster bus; one node never uses it, but it must listen
        self.proc: subprocess.Popen | None = None
        self.folder: Path | None = None
        self.ca_file: Path | None = None
        self._cert_file: Path | None = None
        self._key_file: Path | None = None

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}?ssl_ca_certs={self.ca_file}"

    def client(self, **options):
        """A plain (non-cluster) TLS client of this node, for checks and set-up: one node holds every slot."""
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, ssl=True, ssl_ca_certs=str(self.ca_file), **options)

    def start(self) -> str:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="postloop-redis-"))
            self.ca_file, self._cert_file, self._key_file = _write_tls_files(self.folder)
        nodes_file = self.folder / "nodes.conf"
        nodes_file.unlink(missing_ok=True)   # a restarted server is a new, empty node
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(self._cert_file), "--tls-key-file", str(self._key_file),
             "--tls-ca-cert-file", str(self.ca_file), "--tls-auth-clients", "no", "--tls-cluster", "yes",
             "--cluster-enabled", "yes", "--cluster-config-file", str(nodes_file),
             "--cluster-port", str(self.bus_port), "--dir", str(self.folder),
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
        try:
            self._assign_slots(time.monotonic() + 10)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _assign_slots(self, deadline: float) -> None:
        """Wait for the TLS port, give the node every slot, wait for cluster_state:ok."""
        import redis
        r = self.client(socket_timeout=1.0, socket_connect_timeout=0.5)
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with code {self.proc.returncode} "
                                       f"(does it support TLS? port {self.port})")
                try:
                    r.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not answer over TLS on port {self.port} "
                                           "within 10 s") from None
                    time.sleep(0.05)
            r.execute_command("CLUSTER", "ADDSLOTSRANGE", "0", "16383")
            while b"cluster_state:ok" not in r.execute_command("CLUSTER", "INFO"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the redis-server cluster on port {self.port} did not reach "
                                       "cluster_state:ok within 10 s")
                time.sleep(0.02)
        finally:
            r.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self) -> None:
        """Stop the server and remove its certificates and cluster file."""
        self.stop()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


class _Shared:
    enabled = False
    server: RedisServerProcess | None = None


def share_redis_server(enabled: bool = True) -> None:
    """Let every LocalBackends of this process use one redis-server, emptied at each start.

    For test sessions: a cluster node refuses keyed commands for its first two seconds
    (Redis's writable delay after a start), which would add that to every test's set-up.
    close_shared_redis_server() ends it.
    """
    _Shared.enabled = enabled


def shared_redis_server(binary: str) -> RedisServerProcess:
    """The process's shared server, running and empty (started, or restarted after a fault run stopped it)."""
    server = _Shared.server
    if server is not None and server.binary != binary:
        server.close()
        server = None
    if server is None:
        server = _Shared.server = RedisServerProcess(binary)
        server.start()
    elif server.proc is None or server.proc.poll() is not None:
        server.start()
    else:
        with server.client(socket_timeout=5.0) as r:
            r.flushall()
    return server


def close_shared_redis_server() -> None:
    if _Shared.server is not None:
        _Shared.server.close()
        _Shared.server = None


class StandInRedis:
    """fakeredis serving the Redis protocol on loopback, for machines without redis-server.

    A plain server (no cluster mode, no TLS), so its URL says redis://.
    """

    kind = "plain, no TLS"

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

    close = stop


def _run_cache_function(event: dict):
    """The cache function's real handler, with its role, for an Invoke by plan or learn."""
    from postloop.runtime.observability import logger
    from postloop_local.invoke import invoke
    # On Lambda it is a process of its own; here it shares the caller's logger, whose keys
    # (the caller's Lambda context, its correlation id) are put back afterwards.
    keys = logger.get_current_keys()
    try:
        return invoke("cache", event)
    finally:
        logger.clear_state()
        logger.append_keys(**keys)


def describe_llm(env) -> str:
    """Which model, API and server plan writes with (no credentials: the URL without user info or query)."""
    from urllib.parse import urlsplit
    url = urlsplit(env.get("OPENAI_BASE_URL") or "https://api.openai.com/v1")
    where = f"{url.scheme}://{url.hostname}{f':{url.port}' if url.port else ''}{url.path}"
    api = "Chat Completions" if (env.get("POSTLOOP_OPENAI_API") or "").strip().lower() == "chat" else "Responses"
    return f"{env.get('POSTLOOP_OPENAI_MODEL') or 'gpt-5.4-nano'} over the {api} API at {where}"


@dataclass
class BackendInfo:
    redis_kind: str       # "redis-server (<path>), cluster mode, TLS only" or "in-process stand-in (fakeredis)…"
    writer: str           # "offline" or "openai (<model>)"
    redis_url: str
    x_base_url: str
    accounts_file: str


class LocalBackends:
    """Start everything and point the handlers' settings at it (environment variables)."""

    def __init__(self, accounts: list[dict], audience, clock: Callable[[], datetime], *,
                 use_redis_server: bool = True, log_level: str = "WARNING", x_auth: str = "oauth2",
                 x_fault_schedule=None, extra_env: dict[str, str] | None = None, enforce_iam: bool | None = None,
                 iam_roles=None):
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
        # Each handler's AWS calls are checked against its role as synthesized (postloop_local/iam.py);
        # `iam_roles` replaces the synthesized roles (a test taking a permission away). On unless told
        # otherwise (`postloop ... --no-iam`).
        from postloop_local import iam
        self.enforce_iam = iam.enforced_by_default() if enforce_iam is None else enforce_iam
        self.iam_roles = iam_roles
        self.iam = None
        self.local_functions: dict[str, str] = {}   # function -> its name in moto's Lambda ("cache" -> ...)

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

        from postloop_local import local_lambda  # noqa: F401  its hooks join the sessions made below
        import boto3
        boto3.setup_default_session()
        # Lambda without Docker: moto checks each Invoke, the function runs in-process (local_lambda).
        self._stack.enter_context(mock_aws(config={"lambda": {"use_docker": False}}))
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
            writer = describe_llm(os.environ)

        binary = shutil.which("redis-server") if self.use_redis_server else None
        if binary and _Shared.enabled:
            redis = shared_redis_server(binary)   # stays up for the next LocalBackends of the session
            redis_url = redis.url
        else:
            redis = RedisServerProcess(binary) if binary else StandInRedis()
            redis_url = redis.start()
            self._stack.callback(redis.close)
        self.redis = redis
        if binary:
            kind = f"redis-server ({binary}), {redis.kind}"
        elif self.use_redis_server:
            kind = f"in-process stand-in (fakeredis), {redis.kind}: redis-server not found"
        else:
            kind = f"in-process stand-in (fakeredis), {redis.kind}, as asked"

        from postloop_local.fake_x import FakeXServer
        self.x_server = FakeXServer(self.audience, self.clock, auth=x_check, fault_schedule=self.x_fault_schedule)
        x_url = self.x_server.start()
        self._stack.callback(self.x_server.stop)

        self._serve_cache_function()
        self._setenv(
            POSTLOOP_ACCOUNTS_FILE=str(accounts_file), POSTLOOP_REDIS_URL=redis_url,
            POSTLOOP_X_API_BASE_URL=x_url, POSTLOOP_X_SECRET_ID=X_SECRET_ID,
            # plan and learn ask the cache function; it alone uses POSTLOOP_REDIS_URL.
            POSTLOOP_MODEL_CACHE_FUNCTION=CACHE_FUNCTION,
        )
        self._setenv(**self.extra_env)
        if self.enforce_iam:
            from postloop_local import iam
            self.iam = iam.enforce(self)
        self.info = BackendInfo(kind, writer, redis_url, x_url, str(accounts_file))
        self._reset_caches()
        from postloop.runtime import wiring
        # Token expiry and leases follow the simulated clock, as X's side does.
        wiring.current().clock = self.clock
        return self

    def _serve_cache_function(self) -> None:
        """The cache function in moto's Lambda (so an Invoke is signed and checked as deployed),
        run in-process by postloop_local/local_lambda.py with its own role."""
        import io
        import zipfile

        import boto3

        from postloop_local import local_lambda
        iam = boto3.client("iam", region_name=REGION)
        try:
            # The name IAM enforcement gives the function's role; it reuses this one.
            role = iam.create_role(RoleName=CACHE_FUNCTION, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
        except iam.exceptions.EntityAlreadyExistsException:
            role = iam.get_role(RoleName=CACHE_FUNCTION)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("handler.py", "# Runs in-process in local runs: postloop_local/local_lambda.py\n")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=CACHE_FUNCTION, Runtime="python3.13", Role=role["Role"]["Arn"],
            Handler="handler.lambda_handler", Code={"ZipFile": code.getvalue()})
        self._stack.enter_context(local_lambda.serve(CACHE_FUNCTION, _run_cache_function))
        self.local_functions["cache"] = CACHE_FUNCTION

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
