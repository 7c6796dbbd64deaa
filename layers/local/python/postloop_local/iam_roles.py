"""Each function's role as the CDK app synthesizes it, resolved to the local resources.

The roles are read from the template `cdk synth` would produce for the given accounts
(infra/, without asset bundling): every policy attached to each function's role, with its
CloudFormation references kept. `resolved_policies` turns them into the policies of the local
run: `Ref` and `Fn::GetAtt ... Arn` of the tables, secrets, approval topic and state machine
become the local ones, the intrinsic functions and pseudo parameters are evaluated, and
anything it cannot resolve is an error, never a wildcard. `postloop_local.iam` enforces them.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

ACCOUNT = "123456789012"   # moto's default account: the local resources live there
PARTITION = "aws"
REPO_ROOT = Path(__file__).resolve().parents[4]
INFRA_DIR = REPO_ROOT / "infra"
# CloudFormation pseudo parameters, as they resolve in the local (moto) account.
PSEUDO = {"AWS::Partition": PARTITION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}


class IamError(RuntimeError):
    """The synthesized roles cannot be checked as asked (an unknown reference, a statement moto
    would evaluate wrongly, a request whose resource cannot be told)."""


# --- the roles, from the synthesized app ------------------------------------------------------


@dataclass(frozen=True)
class SynthesizedRoles:
    """Each function's role as the template has it, references unresolved (JSON-safe).

    policies: function -> [(policy name, policy document)]; trust: function -> the role's
    trust policy; resources: logical id -> what it is, e.g. {"kind": "table", "key": "outcomes"}.
    """

    policies: dict[str, list[tuple[str, dict]]]
    trust: dict[str, dict]
    resources: dict[str, dict]

    def without(self, function: str, action: str, resource_contains: str = "") -> "SynthesizedRoles":
        """The same roles with `action` taken out of `function`'s statements (on the resources whose
        unresolved form contains `resource_contains`): what a role that lost one permission looks like."""
        found = False
        policies = {}
        for fn, docs in self.policies.items():
            out = []
            for name, doc in docs:
                statements = []
                for st in doc["Statement"]:
                    actions = st.get("Action", [])
                    actions = actions if isinstance(actions, list) else [actions]
                    if fn == function and action in actions and resource_contains in json.dumps(st.get("Resource")):
                        found = True
                        actions = [a for a in actions if a != action]
                        if not actions:
                            continue
                        st = {**st, "Action": actions}
                    statements.append(st)
                if statements:   # a policy left with no statement is dropped (IAM refuses an empty one)
                    out.append((name, {**doc, "Statement": statements}))
            policies[fn] = out
        if not found:
            raise IamError(f"{function}'s role has no {action} on a resource matching {resource_contains!r}")
        return SynthesizedRoles(policies, self.trust, self.resources)


def roles_from_stack(stack, template: dict) -> SynthesizedRoles:
    """Read every function role out of a synthesized PostloopStack and its template."""
    from aws_cdk import aws_stepfunctions as sfn

    def logical(construct) -> str:
        cfn = getattr(construct.node, "default_child", None) or construct
        return stack.resolve(stack.get_logical_id(cfn))

    known: dict[str, dict] = {}
    for key, table in stack.storage.tables.items():
        known[logical(table)] = {"kind": "table", "key": key}
    for account_id, secret in stack.credentials.x.items():
        known[logical(secret)] = {"kind": "x_secret", "account_id": account_id}
    if stack.credentials.openai is not None:
        known[logical(stack.credentials.openai)] = {"kind": "openai_secret"}
    known[logical(stack.notifications.approvals)] = {"kind": "approval_topic"}
    known[logical(stack.review.secret)] = {"kind": "review_secret"}   # approve signs the review links with it
    for name, fn in stack.functions.functions.items():
        # plan and learn invoke the cache function (lambda:InvokeFunction on its ARN).
        known[logical(fn)] = {"kind": "function", "function": name}
    machines = [m for m in stack.workflow.node.find_all() if isinstance(m, sfn.StateMachine)]
    for machine in machines:
        which = "cycle" if machine is stack.workflow.cycle_state_machine else machine.node.id.lower()
        known[logical(machine)] = {"kind": "state_machine", "which": which}

    resources = template["Resources"]
    policies: dict[str, list[tuple[str, dict]]] = {}
    trust: dict[str, dict] = {}
    referenced: set[str] = set()
    for function, role in stack.functions.roles.items():
        role_id = logical(role)
        props = resources[role_id]["Properties"]
        for unsupported in ("ManagedPolicyArns", "PermissionsBoundary"):
            if props.get(unsupported):
                raise IamError(f"{function}'s role has {unsupported}, whose policies the local check cannot read")
        docs = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies", [])]
        for policy_id, r in sorted(resources.items()):
            if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                    {"Ref": role_id} in r["Properties"].get("Roles", []):
                docs.append((r["Properties"].get("PolicyName", policy_id), r["Properties"]["PolicyDocument"]))
        if not docs:
            raise IamError(f"{function}'s role ({role_id}) has no policy in the template")
        policies[function] = docs
        trust[function] = props["AssumeRolePolicyDocument"]
        for _, doc in docs:
            referenced |= _references(doc)

    described: dict[str, dict] = {}
    for lid in sorted(referenced):
        if lid not in resources:
            raise IamError(f"a function role refers to {lid}, which is not in the template")
        kind = resources[lid]["Type"]
        if lid in known:
            described[lid] = {**known[lid], "type": kind}
        elif kind == "AWS::Logs::LogGroup":
            name = resources[lid]["Properties"].get("LogGroupName")
            if not isinstance(name, str):
                raise IamError(f"log group {lid} has no literal LogGroupName")
            described[lid] = {"kind": "log_group", "name": name, "type": kind}
        elif kind == "AWS::SQS::Queue":
            # The dead-letter queue Lambda itself writes to; no handler code sends to it.
            described[lid] = {"kind": "queue", "name": lid, "type": kind}
        else:
            raise IamError(f"a function role refers to {lid} ({kind}), which the local check does not model")
    return SynthesizedRoles(policies, trust, described)


def _references(value: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(value, list):
        for v in value:
            out |= _references(v)
    elif isinstance(value, dict):
        if set(value) == {"Ref"} and not value["Ref"].startswith("AWS::"):
            out.add(value["Ref"])
        elif set(value) == {"Fn::GetAtt"}:
            out.add(value["Fn::GetAtt"][0])
        else:
            for v in value.values():
                out |= _references(v)
    return out


_synth_cache: dict[tuple, SynthesizedRoles] = {}
_synth_lock = threading.Lock()


def synthesized_roles(accounts: Sequence[dict]) -> SynthesizedRoles:
    """The function roles of the CDK app synthesized for these accounts (without asset bundling).

    A synth takes 8-45 s on two cores, so it is done once per process and set of account ids,
    and its result is kept on disk (`cache_dir()`) for the next process, keyed by everything
    that can change it (`cache_key`): a change to infra/ synthesizes again.
    """
    ids = tuple(sorted(str(a.get("account_id")) for a in accounts))
    with _synth_lock:
        if ids not in _synth_cache:
            _synth_cache[ids] = _cached_or_synthesized(accounts)
        return _synth_cache[ids]


# --- the roles, kept on disk between processes ----------------------------------------------

CACHE_ENV = "POSTLOOP_IAM_CACHE"   # a directory to keep the roles in, or "off"
CACHE_FORMAT = 1
# The files whose change can change the synthesized roles, relative to the repository: the CDK
# app, the handlers it stages, the lock that pins aws-cdk-lib and its kin, cdk.json, and this file
# (it reads the roles out of the template). Directories count every file under them. Of the core
# (CORE_ROOT), the modules the app imports count, found by following its imports (`_imported_core`):
# an edit to a module the app never imports (scrape, learn, the X client) keeps the cached roles.
KEY_INPUTS = ("infra", "functions", "cdk.json", "pyproject.toml", "uv.lock",
              "layers/local/python/postloop_local/iam_roles.py")
CORE_ROOT = "layers/core/python"
# The installed packages that synthesize (the venv may differ from uv.lock when built by hand).
KEY_PACKAGES = ("aws-cdk-lib", "constructs", "jsii", "cdk-nag")
_KEEP_ENTRIES = 8   # older entries (other accounts, earlier trees) are removed when one is written


def cache_dir(root: Path | None = None) -> Path | None:
    """Where the synthesized roles are kept: `.postloop/iam-cache/` in the repository (git-ignored),
    `$POSTLOOP_IAM_CACHE` when set, nowhere when that is "off"."""
    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    return Path(setting) if setting else (root or REPO_ROOT) / ".postloop" / "iam-cache"


def cache_key(accounts: Sequence[dict], root: Path | None = None) -> str:
    """A hash of everything a synth of the roles reads: every file of KEY_INPUTS (path and
    content; bytecode caches left out), the accounts as given, the synthesizing packages'
    versions and the Python version. Equal keys mean the synth would give the same roles."""
    from importlib import metadata

    root = root or REPO_ROOT
    h = hashlib.sha256()

    def part(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    part("format", str(CACHE_FORMAT).encode())
    for path in [*_key_files(root), *_imported_core(root)]:
        rel = path.relative_to(root)
        try:
            part(f"file:{rel.as_posix()}", path.read_bytes())
        except FileNotFoundError:
            part(f"missing:{rel.as_posix()}", b"")
    part("accounts", json.dumps(list(accounts), sort_keys=True, default=str).encode())
    for package in KEY_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        part(f"package:{package}", version.encode())
    part("python", f"{sys.implementation.name} {sys.version}".encode())
    return h.hexdigest()


def _key_files(root: Path) -> list[Path]:
    out = []
    for name in KEY_INPUTS:
        top = root / name
        for path in sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]:
            if "__pycache__" not in path.relative_to(root).parts and path.suffix != ".pyc":
                out.append(path)
    return out


def _imported_core(root: Path) -> list[Path]:
    """The core modules (CORE_ROOT) the CDK app imports, directly or through each other: every
    `import` and `from ... import` anywhere in infra/*.py and in each module reached (inside
    functions and TYPE_CHECKING blocks too), with the packages' __init__.py files on the way."""
    core = root / CORE_ROOT

    def files_of(module: str) -> list[Path]:
        parts, out = module.split("."), []
        for i in range(1, len(parts) + 1):
            base = core.joinpath(*parts[:i])
            out += [c for c in (base / "__init__.py", base.with_suffix(".py")) if c.is_file()]
        return out

    seen: set[Path] = set()
    todo = [p for p in (root / "infra").rglob("*.py") if "__pycache__" not in p.parts]
    while todo:
        path = todo.pop()
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue   # hashed as it is; a synth of it would fail anyway
        package: list[str] = []
        if path.is_relative_to(core):
            package = list(path.relative_to(core).with_suffix("").parts)
            package = package[:-1]   # the module's package (an __init__.py is its package's)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level and not package:
                    continue       # relative, inside infra/ (hashed whole)
                anchor = package[:len(package) - node.level + 1] if node.level else []
                base = ".".join([*anchor, *([node.module] if node.module else [])])
                modules = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for module in modules:
                for f in files_of(module):
                    if f not in seen:
                        seen.add(f)
                        todo.append(f)
    return sorted(seen)


def _cached_or_synthesized(accounts: Sequence[dict]) -> SynthesizedRoles:
    directory = cache_dir()
    if directory is None or not (INFRA_DIR / "postloop_infra").is_dir():
        return _synthesize(accounts)   # (which says what is missing)
    key = cache_key(accounts)
    path = directory / f"{key}.json"
    roles = read_cached_roles(path, key)
    if roles is None:
        roles = _synthesize(accounts)
        write_cached_roles(path, key, roles)
    return roles


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def read_cached_roles(path: Path, key: str) -> SynthesizedRoles | None:
    """The roles kept in `path` under `key`; None when there are none, or they were kept under
    another key, or the file is damaged (it is then written again after the synth)."""
    try:
        entry = json.loads(path.read_bytes())
        return _roles_from_json(entry["roles"]) if _intact(entry, key) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _intact(entry: Any, key: str) -> bool:
    """Whether a cache entry was written under `key`, by this format, and is whole (its checksum)."""
    return (isinstance(entry, dict) and entry.get("format") == CACHE_FORMAT and entry.get("key") == key
            and hashlib.sha256(_canonical(entry.get("roles"))).hexdigest() == entry.get("sha256"))


def write_cached_roles(path: Path, key: str, roles: SynthesizedRoles) -> None:
    """Keep the roles in `path` under `key`, atomically (a reader sees the old file or the new
    one, never half of one). A tree that cannot be written to just goes without the cache."""
    body = {"policies": {fn: [[name, doc] for name, doc in docs] for fn, docs in roles.policies.items()},
            "trust": roles.trust, "resources": roles.resources}
    entry = {"format": CACHE_FORMAT, "key": key, "sha256": hashlib.sha256(_canonical(body)).hexdigest(),
             "roles": body}
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".writing-", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True)
        os.replace(tmp, path)
        tmp = None
        others = sorted((p for p in path.parent.glob("*.json") if p != path),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[_KEEP_ENTRIES - 1:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _roles_from_json(body: dict) -> SynthesizedRoles:
    policies = {}
    for fn, docs in body["policies"].items():
        policies[fn] = []
        for name, doc in docs:
            if not isinstance(name, str) or not isinstance(doc, dict) or not isinstance(doc.get("Statement"), list):
                raise ValueError(f"a cached policy of {fn} is not a named policy document")
            policies[fn].append((name, doc))
    trust, resources = body["trust"], body["resources"]
    for mapping in (trust, resources):
        if not isinstance(mapping, dict) or not all(isinstance(v, dict) for v in mapping.values()):
            raise ValueError("a cached mapping is not one of documents")
    if set(trust) != set(policies):
        raise ValueError("the cached trust policies are not those of the cached roles")
    return SynthesizedRoles(policies, trust, resources)


def _synthesize(accounts: Sequence[dict]) -> SynthesizedRoles:
    if not (INFRA_DIR / "postloop_infra").is_dir():
        raise IamError(f"IAM enforcement reads the roles from the CDK app, which is not at {INFRA_DIR}; "
                       "pass --no-iam (or enforce_iam=False) to run without it")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    if str(INFRA_DIR) not in sys.path:
        sys.path.insert(0, str(INFRA_DIR))
    try:
        from postloop_infra.stack import build_app
    except Exception as err:   # ImportError without the dev extra; jsii's own error without Node.js
        raise IamError(f"IAM enforcement synthesizes the CDK app, which needs the dev extra and Node.js "
                       f"({err}); install them (bash .ci/setup) or pass --no-iam") from None
    with tempfile.TemporaryDirectory(prefix="postloop-iam-") as tmp:
        accounts_dir = Path(tmp) / "accounts"
        accounts_dir.mkdir()
        for i, account in enumerate(accounts):
            (accounts_dir / f"{i}.json").write_text(json.dumps(account))
        context = {"aws:cdk:bundling-stacks": [], "accounts_dir": str(accounts_dir)}
        app, stack = build_app(context, outdir=str(Path(tmp) / "out"), nag=False)
        template = app.synth().get_stack_by_name(stack.stack_name).template
        return roles_from_stack(stack, template)


# --- resolution to the local resources ------------------------------------------------------


@dataclass
class LocalResources:
    """The local resources that stand for the deployed ones, by what they are."""

    region: str
    tables: dict[str, str]                        # table key -> local table name
    x_secrets: dict[str, str] = field(default_factory=dict)   # account id -> secret ARN
    openai_secret: str | None = None              # secret ARN
    approval_topic: str | None = None             # topic ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # "cycle" -> state machine ARN
    review_secret: str | None = None              # secret ARN of the review links' key
    functions: dict[str, str] = field(default_factory=dict)        # "cache" -> local function name

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{ACCOUNT}:{resource}"

    def ref_and_arn(self, lid: str, what: dict) -> tuple[str, str]:
        kind = what["kind"]
        if kind == "table":
            name = self.tables.get(what["key"])
            if name:
                return name, self.arn("dynamodb", f"table/{name}")
        elif kind in ("x_secret", "openai_secret"):
            arn = self.x_secrets.get(what["account_id"]) if kind == "x_secret" else self.openai_secret
            if arn:
                return arn, arn
        elif kind == "approval_topic" and self.approval_topic:
            return self.approval_topic, self.approval_topic
        elif kind == "state_machine" and what["which"] in self.state_machines:
            arn = self.state_machines[what["which"]]
            return arn, arn
        elif kind == "function" and what["function"] in self.functions:
            name = self.functions[what["function"]]
            return name, self.arn("lambda", f"function:{name}")
        elif kind == "review_secret":
            # Local runs sign no review links unless given a key: then an ARN of nothing that exists here.
            arn = self.review_secret or self.arn("secretsmanager", "secret:postloop/review-signing-not-local")
            return arn, arn
        elif kind == "log_group":
            # Not modelled locally: Lambda's own log delivery. An ARN of nothing that exists here.
            return what["name"], self.arn("logs", f"log-group:{what['name']}:*")
        elif kind == "queue":
            return what["name"], self.arn("sqs", what["name"])
        raise IamError(f"a function role refers to {lid} ({what}), and the local run has nothing standing for it")


def resolve(value: Any, roles: SynthesizedRoles, local: LocalResources) -> Any:
    """A template value with every CloudFormation reference resolved; anything unknown is an error."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [resolve(v, roles, local) for v in value]
    if not isinstance(value, dict):
        raise IamError(f"unexpected template value {value!r}")
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return _ref(arg, roles, local)
        if key == "Fn::GetAtt":
            lid, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if attribute != "Arn":
                raise IamError(f"cannot resolve {lid}.{attribute} (only Arn is modelled)")
            return _described(lid, roles, local)[1]
        if key == "Fn::Join":
            sep, parts = arg
            return sep.join(_text(resolve(p, roles, local)) for p in parts)
        if key == "Fn::Select":
            index, items = arg
            return resolve(items, roles, local)[int(index)]
        if key == "Fn::Split":
            sep, text = arg
            return _text(resolve(text, roles, local)).split(sep)
        if key == "Fn::Sub":
            return _sub(arg, roles, local)
        if key.startswith("Fn::"):
            raise IamError(f"cannot resolve {key} {arg!r}")
    return {k: resolve(v, roles, local) for k, v in value.items()}


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise IamError(f"expected text, got {v!r}")
    return v


def _ref(name: str, roles: SynthesizedRoles, local: LocalResources) -> str:
    if name == "AWS::Region":
        return local.region
    if name in PSEUDO:
        return PSEUDO[name]
    if name.startswith("AWS::"):
        raise IamError(f"cannot resolve the pseudo parameter {name}")
    return _described(name, roles, local)[0]


def _described(lid: str, roles: SynthesizedRoles, local: LocalResources) -> tuple[str, str]:
    what = roles.resources.get(lid)
    if what is None:
        raise IamError(f"cannot resolve a reference to {lid}: it is not a resource the roles were read with")
    return local.ref_and_arn(lid, what)


def _sub(arg: Any, roles: SynthesizedRoles, local: LocalResources) -> str:
    template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

    def one(m) -> str:
        name = m.group(1)
        if name in variables:
            return _text(resolve(variables[name], roles, local))
        if "." in name:
            return _text(resolve({"Fn::GetAtt": name.split(".", 1)}, roles, local))
        return _ref(name, roles, local)

    return re.sub(r"\$\{([^}!]+)\}", one, template)


def resolved_policies(roles: SynthesizedRoles, local: LocalResources) -> dict[str, list[tuple[str, dict]]]:
    """Each function's policies with the local ARNs in them, checked for what moto can evaluate."""
    out = {}
    for function, docs in roles.policies.items():
        out[function] = []
        for name, doc in docs:
            resolved = resolve(doc, roles, local)
            for st in resolved["Statement"]:
                _check_evaluable(function, st)
            out[function].append((name, resolved))
    return out


def _check_evaluable(function: str, st: dict) -> None:
    for element in ("Condition", "NotResource", "Principal", "NotPrincipal"):
        if element in st:
            raise IamError(f"{function}'s role has a statement with {element}, which moto's IAM check does not "
                           f"evaluate as AWS does: {st}")
    resources = st.get("Resource")
    for r in resources if isinstance(resources, list) else [resources]:
        if not isinstance(r, str) or "?" in r or "${" in r:
            raise IamError(f"{function}'s role names a resource moto cannot match: {r!r}")
