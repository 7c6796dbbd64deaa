"""What one deployment costs a month, read from its CloudFormation template.

The fixed part comes from what the template creates (the cache, NATs, instances, public
addresses, endpoints, secrets, keys, alarms by the metrics they read, dashboards) and from
its schedules (learn's runs); the per-post part from the functions' memory and tracing, the
state machines, the metrics the handlers send (read from functions/*/handler.py), and the
usage figures in USAGE below; X's and the LLM's prices per post are added. Every price comes
from bench/prices.json (dated, with its sources). List prices, no free tier.

    .venv/bin/python bench/cost.py                                # the default deployment: the README's table
    .venv/bin/python bench/cost.py --posts-per-day 3 --json
    .venv/bin/python bench/cost.py --nat gateway --dashboard      # the other options
    .venv/bin/python bench/cost.py --template cdk.out/postloop.template.json

Without --template it synthesizes the CDK app in-process without bundling (a few seconds),
with one account (the demo account with monthly budgets, so its spend alarm exists) posting
--posts-per-day times a day. A resource type it has no price or rule for stops it with the
type named: nothing that costs money is skipped silently.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRICES = REPO / "bench" / "prices.json"
DEMO_ACCOUNT = REPO / "layers" / "local" / "python" / "postloop_local" / "accounts" / "demo.json"
HANDLERS = REPO / "functions"
TARGET_FIXED_USD = 10.0
TARGET_PER_POST_USD = 0.02

# How the loop uses what the template deploys, per post (one plan slot) and per learn run.
# Durations are docs/deploy.md's (plan ~3 s, learn ~2 s, post ~1.5 s, scrape ~1 s; the cache
# function a GET or a MULTI/EXEC); request counts from a local run with IAM enforced
# (postloop_local.iam counts every signed request per function: per plan about 9 DynamoDB
# requests, per post 4, per scrape 5, per learn 6, of items of a few KB); tokens from
# docs/deploy.md (a draft ~400 tokens in and ~250 out).
USAGE = {
    "invocations_per_post": {"plan": 1, "cache": 1, "post": 1, "scrape": 2},
    "invocations_per_learn": {"learn": 1, "cache": 1},
    "seconds": {"plan": 3.0, "post": 1.5, "scrape": 1.0, "learn": 2.0, "cache": 0.05, "approve": 0.5},
    # The start machine (plan, start the cycle) and the cycle (wait, post, wait, scrape twice).
    "transitions_per_post": 16,
    "dynamodb_read_units_per_post": 30, "dynamodb_write_units_per_post": 12,
    "dynamodb_read_units_per_learn": 40, "dynamodb_write_units_per_learn": 8,
    "log_kb_per_invocation": 4,
    "secrets_calls_per_post": 5,       # post and scrape read the X secret; an OAuth 2.0 refresh writes it back
    "ecpu_per_cache_call": 30,         # ElastiCache bills 1 ECPU per KB moved; a model is ~20 KB
    "nat_gb_per_month": 0.1,           # OpenAI, Secrets Manager and X-Ray through the NAT (NAT layouts only)
    # Each handler sends its always-on metrics in the hour it runs: plan and scrape send none (their
    # spend is in learn's MonthSpendUSD), post one (Post_posted, the no-post alarm's).
    "metric_hours_per_post": ("plan", "post", "scrape"),
    "llm_drafts_per_post": 3, "llm_input_tokens_per_draft": 400, "llm_output_tokens_per_draft": 250,
    # X, a single post without a link: created once; at 24 h and 48 h its metrics come from the
    # account's own timeline, in a window around it (core/metric_reads.py), so it is returned, and
    # billed as an owned read, about once per horizon (tests/integration/test_owned_metrics.py's four
    # simulated days, with threads and posts by hand: 46 owned reads for 23 live posts).
    "x_posts_created": 1, "x_owned_reads": 2,
    # The follower count is read at most once a day per account, whatever the posting rate: a fixed
    # user read a day, not a per-post one.
    "x_user_reads_per_day": 1,
}

# Types that cost nothing by being there (what they do is counted by USAGE, or is free).
NO_FIXED_PRICE = {
    "AWS::CDK::Metadata", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::Logs::LogGroup",
    "AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::Lambda::Permission", "AWS::Lambda::Url",
    "AWS::Lambda::EventInvokeConfig", "AWS::DynamoDB::Table", "AWS::SNS::Topic", "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription", "AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::StepFunctions::StateMachine",
    "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup", "AWS::EC2::VPC", "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable", "AWS::EC2::SubnetRouteTableAssociation", "AWS::EC2::Route", "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress", "AWS::EC2::FlowLog",
    "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::LaunchTemplate",
    "AWS::IAM::InstanceProfile",
}
PRICED = {"AWS::ElastiCache::ServerlessCache", "AWS::EC2::NatGateway", "AWS::EC2::EIP", "AWS::EC2::Instance",
          "AWS::EC2::VPCEndpoint", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::CloudWatch::Alarm",
          "AWS::CloudWatch::Dashboard"}


class CostError(ValueError):
    """The template or the prices cannot be costed; the message says what and where."""


@dataclass
class Line:
    item: str
    arithmetic: str
    usd: float


@dataclass
class Cost:
    posts_per_day: float
    accounts: list[str]
    fixed: list[Line] = field(default_factory=list)
    per_post: list[Line] = field(default_factory=list)
    prices_as_of: str = ""

    @property
    def fixed_usd(self) -> float:
        return sum(line.usd for line in self.fixed)

    @property
    def per_post_usd(self) -> float:
        return sum(line.usd for line in self.per_post)

    @property
    def fixed_aws_usd(self) -> float:
        """The fixed part without X's (the daily follower read)."""
        return sum(line.usd for line in self.fixed if not line.item.startswith("X"))

    def part(self, prefix: str) -> float:
        return sum(line.usd for line in self.per_post if line.item.startswith(prefix))

    @property
    def posts_per_month(self) -> float:
        return self.posts_per_day * 730 / 24

    def as_dict(self) -> dict:
        return {"posts_per_day": self.posts_per_day, "posts_per_month": round(self.posts_per_month, 2),
                "accounts": self.accounts, "prices_as_of": self.prices_as_of,
                "fixed_usd": round(self.fixed_usd, 4), "per_post_usd": round(self.per_post_usd, 6),
                "per_post_aws_usd": round(self.part("AWS"), 6), "per_post_llm_usd": round(self.part("LLM"), 6),
                "per_post_x_usd": round(self.part("X"), 6),
                "month_usd": round(self.fixed_usd + self.posts_per_month * self.per_post_usd, 2),
                "targets": {"fixed_usd": TARGET_FIXED_USD, "per_post_usd": TARGET_PER_POST_USD,
                            "fixed_met": self.fixed_usd <= TARGET_FIXED_USD,
                            "per_post_met": self.per_post_usd <= TARGET_PER_POST_USD},
                "fixed": [asdict(x) for x in self.fixed], "per_post": [asdict(x) for x in self.per_post]}


# --- reading the template -------------------------------------------------------------------------

def load_prices(path: Path = PRICES) -> dict:
    try:
        prices = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CostError(f"cannot read the price table {path}: {err}") from None
    for key in ("as_of", "aws", "x", "openai"):
        if key not in prices:
            raise CostError(f"{path}: the price table has no '{key}'")
    return prices


def read_template(path: Path) -> dict:
    try:
        template = json.loads(Path(path).read_text())
    except OSError as err:
        raise CostError(f"cannot read the template {path}: {err.strerror}") from None
    except ValueError as err:
        raise CostError(f"{path} is not JSON ({err})") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise CostError(f"{path} is not a CloudFormation template: it has no 'Resources' object")
    return template


def synthesize(posts_per_day: int = 6, nat: str = "none", dashboard: bool = False) -> dict:
    """The default deployment's template (or with the options given), one account, no bundling."""
    import os
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    if str(REPO / "infra") not in sys.path:
        sys.path.insert(0, str(REPO / "infra"))
    from postloop_infra.stack import build_app
    account = {**json.loads(DEMO_ACCOUNT.read_text()), "posts_per_day": posts_per_day,
               "budgets": {"x_usd_per_month": 10, "openai_usd_per_month": 5}}
    with tempfile.TemporaryDirectory(prefix="postloop-cost-") as tmp:
        accounts = Path(tmp) / "accounts"
        accounts.mkdir()
        (accounts / "demo.json").write_text(json.dumps(account))
        context = {"aws:cdk:bundling-stacks": [], "accounts_dir": str(accounts), "nat": nat,
                   "dashboard": "true" if dashboard else "false"}
        app, stack = build_app(context, outdir=str(Path(tmp) / "out"), nag=False)
        return app.synth().get_stack_by_name(stack.stack_name).template


def _of_type(template: dict, cfn_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v.get("Type") == cfn_type}


def _props(resource: dict) -> dict:
    return resource.get("Properties") or {}


def _functions(template: dict) -> dict[str, tuple[str, dict]]:
    """Function name without the stack's prefix ('plan') -> (logical id, properties)."""
    out = {}
    for lid, r in _of_type(template, "AWS::Lambda::Function").items():
        name = _props(r).get("FunctionName")
        key = name.split("-", 1)[1] if isinstance(name, str) and "-" in name else (name if isinstance(name, str)
                                                                                     else lid)
        out[key] = (lid, _props(r))
    return out


def runs_per_day(expression: str, where: str) -> float:
    """How often a schedule expression fires a day: cron(minute hour ...) or rate(N unit)."""
    m = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+)(?: (\S+))?\)", expression.strip())
    if m:
        minute, hour, day, month, weekday = m.groups()[:5]
        if day not in ("*", "?") or month != "*" or weekday not in ("*", "?") or not re.fullmatch(r"\d+", minute):
            raise CostError(f"{where}: cannot tell how often {expression!r} runs (only daily crons are read)")
        if hour == "*":
            return 24.0
        step = re.fullmatch(r"(\d+)/(\d+)", hour)
        if step:
            return float(len(range(int(step.group(1)), 24, int(step.group(2)))))
        if re.fullmatch(r"\d+(,\d+)*", hour):
            return float(len(hour.split(",")))
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        return {"minute": 1440.0, "hour": 24.0, "day": 1.0}[unit] / n
    raise CostError(f"{where}: cannot tell how often {expression!r} runs")


def _schedules(template: dict, learn_id: str | None) -> tuple[dict[str, float], dict[str, float]]:
    """(account -> plan slots a day, account -> learn runs a day), from the schedules and their input."""
    plans: dict[str, float] = {}
    learns: dict[str, float] = {}
    for lid, r in _of_type(template, "AWS::Scheduler::Schedule").items():
        props = _props(r)
        target = props.get("Target") or {}
        try:
            account = json.loads(target.get("Input", "{}")).get("account_id")
        except (TypeError, ValueError):
            account = None
        if not isinstance(account, str):
            raise CostError(f"{lid}: a schedule whose input names no account_id")
        per_day = runs_per_day(props.get("ScheduleExpression", ""), lid)
        is_learn = learn_id is not None and target.get("Arn") == {"Fn::GetAtt": [learn_id, "Arn"]}
        book = learns if is_learn else plans
        book[account] = book.get(account, 0.0) + per_day
    return plans, learns


def _alarm_metrics(lid: str, props: dict) -> tuple[int, bool]:
    """(metrics the alarm reads, high resolution?): CloudWatch bills each metric of a math expression."""
    if "MetricName" in props:
        return 1, int(props.get("Period", 60)) < 60
    metrics = props.get("Metrics")
    if not isinstance(metrics, list):
        raise CostError(f"alarm {lid} reads neither a metric nor a list of metrics")
    count, high = 0, False
    for m in metrics:
        if "MetricStat" in m:
            count += 1
            high |= int(m["MetricStat"].get("Period", 60)) < 60
        elif "Expression" in m and "SELECT" in str(m["Expression"]).upper():
            raise CostError(f"alarm {lid} runs a Metrics Insights query; its metric count is not in the template")
    return count, high


def handler_metrics(function: str, dashboard: bool) -> int:
    """How many metrics functions/<function>/handler.py sends an invocation (at most): each
    add_metric call counts once (a name built with an f-string is one name an invocation), one in a
    loop over a literal tuple once per entry; `dashboard_metrics` only with the dashboard."""
    path = HANDLERS / function / "handler.py"
    if not path.exists():
        return 0
    tree = ast.parse(path.read_text())
    loops = {id(c): len(n.iter.elts) for n in ast.walk(tree) if isinstance(n, ast.For) and isinstance(n.iter, ast.Tuple)
             for c in ast.walk(n)}
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
            receiver = getattr(node.func.value, "id", "")
            if receiver == "metrics" or (receiver == "dashboard_metrics" and dashboard):
                count += loops.get(id(node), 1)
    return count


# --- the estimate -------------------------------------------------------------------------------

def estimate(template: dict, prices: dict, posts_per_day: float | None = None, *,
             llm_model: str | None = None) -> Cost:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise CostError("not a CloudFormation template: it has no 'Resources' object")
    unknown = sorted({f"{r.get('Type')} ({lid})" for lid, r in resources.items()
                      if r.get("Type") not in NO_FIXED_PRICE | PRICED})
    if unknown:
        raise CostError("no price or rule for " + ", ".join(unknown) + " (bench/cost.py NO_FIXED_PRICE, PRICED)")
    aws = prices["aws"]
    hours = aws["hours_per_month"]
    days = hours / 24
    cw = aws["cloudwatch"]
    metric_hour = cw["custom_metric_month"] / hours
    functions = _functions(template)
    learn_id = functions["learn"][0] if "learn" in functions else None
    plans, learns = _schedules(template, learn_id)
    accounts = sorted(set(plans) | set(learns))
    if posts_per_day is None:
        rates = sorted(set(plans.values()))
        if len(rates) != 1:
            raise CostError("give --posts-per-day: the template's accounts post at different rates "
                            f"({', '.join(f'{a} {plans[a]:g}' for a in sorted(plans)) or 'none scheduled'})")
        posts_per_day = rates[0]
    if posts_per_day <= 0:
        raise CostError(f"the posting rate must be above 0 a day, got {posts_per_day}")
    dashboard = bool(_of_type(template, "AWS::CloudWatch::Dashboard"))
    cost = Cost(posts_per_day, accounts, prices_as_of=prices["as_of"])
    fixed = cost.fixed

    # The cache.
    cache = aws["elasticache_serverless_valkey"]
    for lid, r in _of_type(template, "AWS::ElastiCache::ServerlessCache").items():
        engine = _props(r).get("Engine")
        if engine != "valkey":
            raise CostError(f"{lid}: no price for an ElastiCache Serverless cache of engine {engine!r}")
        fixed.append(Line("ElastiCache Serverless (Valkey), storage", f"{cache['minimum_gb']} GB minimum × {hours} h "
                          f"× ${cache['storage_gb_hour']}/GB-h", cache["minimum_gb"] * hours * cache["storage_gb_hour"]))

    # The ways out of the VPC and their addresses.
    nats = _of_type(template, "AWS::EC2::NatGateway")
    if nats:
        nat = aws["nat_gateway"]
        fixed.append(Line(f"NAT gateway × {len(nats)}", f"{len(nats)} × {hours} h × ${nat['hour']}/h",
                          len(nats) * hours * nat["hour"]))
    public_subnets = {lid for lid, r in _of_type(template, "AWS::EC2::Subnet").items()
                      if _props(r).get("MapPublicIpOnLaunch")}
    instances = _of_type(template, "AWS::EC2::Instance")
    public_instances = 0
    for lid, r in instances.items():
        props = _props(r)
        kind = props.get("InstanceType")
        price = aws["ec2_instance_hour"].get(kind)
        if price is None:
            raise CostError(f"{lid}: no price for instance type {kind!r} in bench/prices.json")
        fixed.append(Line(f"EC2 instance {kind}", f"{hours} h × ${price}/h", hours * price))
        volume = sum(int((m.get("Ebs") or {}).get("VolumeSize", 8)) for m in props.get("BlockDeviceMappings", [])) or 8
        fixed.append(Line(f"its EBS gp3 volume ({volume} GB)", f"{volume} × ${aws['ebs_gp3_gb_month']}/GB-month",
                          volume * aws["ebs_gp3_gb_month"]))
        if (props.get("SubnetId") or {}).get("Ref") in public_subnets or any(
                n.get("AssociatePublicIpAddress") for n in props.get("NetworkInterfaces", [])):
            public_instances += 1
    addresses = len(_of_type(template, "AWS::EC2::EIP")) + public_instances
    if addresses:
        fixed.append(Line(f"public IPv4 address × {addresses}", f"{addresses} × {hours} h × "
                          f"${aws['public_ipv4_address_hour']}/h", addresses * hours * aws["public_ipv4_address_hour"]))
    if nats or instances:
        nat_gb = USAGE["nat_gb_per_month"]
        per_gb = aws["nat_gateway"]["gb_processed"] if nats else 0.0
        if per_gb:
            fixed.append(Line("NAT data", f"~{nat_gb} GB × ${per_gb}/GB", nat_gb * per_gb))
    for lid, r in _of_type(template, "AWS::EC2::VPCEndpoint").items():
        props = _props(r)
        if props.get("VpcEndpointType", "Gateway") == "Interface":
            zones = len(props.get("SubnetIds", [])) or 1
            ep = aws["interface_endpoint"]
            fixed.append(Line(f"interface endpoint {lid}", f"{zones} zones × {hours} h × ${ep['hour_per_az']}/h",
                              zones * hours * ep["hour_per_az"]))

    # Secrets, keys, alarms, dashboards.
    secrets = len(_of_type(template, "AWS::SecretsManager::Secret"))
    if secrets:
        sm = aws["secrets_manager"]["secret_month"]
        fixed.append(Line(f"Secrets Manager, {secrets} secrets", f"{secrets} × ${sm}", secrets * sm))
    keys = len(_of_type(template, "AWS::KMS::Key"))
    if keys:
        fixed.append(Line(f"KMS keys × {keys}", f"{keys} × ${aws['kms_key_month']}", keys * aws["kms_key_month"]))
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    if alarms:
        usd, read = 0.0, 0
        for lid, r in alarms.items():
            n, high = _alarm_metrics(lid, _props(r))
            read += n
            usd += n * (cw["high_resolution_alarm_metric_month"] if high else cw["alarm_metric_month"])
        fixed.append(Line(f"CloudWatch alarms: {len(alarms)} reading {read} metrics", f"{read} × "
                          f"${cw['alarm_metric_month']}/metric", usd))
    boards = len(_of_type(template, "AWS::CloudWatch::Dashboard"))
    if boards:
        fixed.append(Line(f"CloudWatch dashboard × {boards}", f"{boards} × ${cw['dashboard_month']}",
                          boards * cw["dashboard_month"]))

    # What an invocation costs: compute, requests, logs, traces (traced functions on their own).
    lam = aws["lambda_arm64"]
    logs_kb = USAGE["log_kb_per_invocation"]

    def invocation(name: str) -> tuple[float, str]:
        if name not in functions:
            return 0.0, ""
        props = functions[name][1]
        gb = int(props.get("MemorySize", 128)) / 1024
        seconds = USAGE["seconds"].get(name, 1.0)
        usd = gb * seconds * lam["gb_second"] + lam["per_million_requests"] / 1e6 \
            + logs_kb / 1e6 * cw["logs_ingested_gb"]
        return usd, f"{name} {int(props.get('MemorySize', 128))} MB × {seconds:g} s"

    def traced(name: str) -> bool:
        return name in functions and (functions[name][1].get("TracingConfig") or {}).get("Mode") == "Active"

    xray = aws["xray"]["per_million_traces_recorded"] / 1e6
    ddb = aws["dynamodb_on_demand"]
    ecpu = aws["elasticache_serverless_valkey"]["ecpu_per_million"] / 1e6 * USAGE["ecpu_per_cache_call"]

    # learn's runs, per account: fixed whatever is posted.
    learn_runs = sum(learns.values()) * days
    if learn_runs:
        per_run, parts = 0.0, []
        for name, n in USAGE["invocations_per_learn"].items():
            usd, text = invocation(name)
            if text:
                per_run += n * usd
                parts.append(text)
        per_run += USAGE["dynamodb_read_units_per_learn"] * ddb["per_million_read_units"] / 1e6 \
            + USAGE["dynamodb_write_units_per_learn"] * ddb["per_million_write_units"] / 1e6
        per_run += aws["eventbridge_scheduler"]["per_million_invocations"] / 1e6
        per_run += xray if traced("learn") else 0.0
        per_run += ecpu if "cache" in functions else 0.0
        metrics = handler_metrics("learn", dashboard)
        per_run += metrics * metric_hour
        fixed.append(Line(f"learn every {24 / (sum(learns.values()) / len(learns)):g} h: {learn_runs:.0f} runs",
                          f"{', '.join(parts)}; {metrics} metrics sent an hour; DynamoDB, traces", learn_runs * per_run))

    # X's follower count, per account: at most one user read a day (USAGE).
    x = prices["x"]
    follower_reads = len(accounts) * USAGE["x_user_reads_per_day"] * days
    if follower_reads:
        fixed.append(Line("X: the follower count, read at most once a day",
                          f"{follower_reads:.1f} user reads × ${x['user_read']}", follower_reads * x["user_read"]))

    # A post.
    post = cost.per_post
    for name, n in USAGE["invocations_per_post"].items():
        usd, text = invocation(name)
        if text:
            post.append(Line(f"AWS Lambda: {name}" + (f" × {n}" if n > 1 else ""), text + " arm64, + request, logs",
                             n * usd))
    sfn = aws["step_functions_standard"]["per_1k_transitions"] / 1000
    post.append(Line("AWS Step Functions", f"{USAGE['transitions_per_post']} transitions × ${sfn * 1000}/1k",
                     USAGE["transitions_per_post"] * sfn))
    machines_traced = sum(bool((_props(r).get("TracingConfiguration") or {}).get("Enabled"))
                          for r in _of_type(template, "AWS::StepFunctions::StateMachine").values())
    # A traced execution carries its functions' segments; untraced, each traced function records its own.
    traces = machines_traced or sum(n for name, n in USAGE["invocations_per_post"].items() if traced(name))
    post.append(Line("AWS X-Ray", f"{traces} traces × ${aws['xray']['per_million_traces_recorded']}/M", traces * xray))
    metric_hours = sum(handler_metrics(f, dashboard) for f in USAGE["metric_hours_per_post"])
    post.append(Line("AWS CloudWatch metrics", f"{metric_hours} metric-hour{'s' if metric_hours != 1 else ''} × ${cw['custom_metric_month']}/"
                     f"{hours} h ({'with' if dashboard else 'without'} the dashboard's)", metric_hours * metric_hour))
    post.append(Line("AWS DynamoDB", f"{USAGE['dynamodb_read_units_per_post']} read + "
                     f"{USAGE['dynamodb_write_units_per_post']} write units",
                     USAGE["dynamodb_read_units_per_post"] * ddb["per_million_read_units"] / 1e6
                     + USAGE["dynamodb_write_units_per_post"] * ddb["per_million_write_units"] / 1e6))
    calls = USAGE["secrets_calls_per_post"]
    post.append(Line("AWS Secrets Manager calls, Scheduler, cache requests",
                     f"{calls} calls × ${aws['secrets_manager']['per_10k_api_calls']}/10k; 1 slot; ECPUs",
                     calls * aws["secrets_manager"]["per_10k_api_calls"] / 1e4
                     + aws["eventbridge_scheduler"]["per_million_invocations"] / 1e6
                     + (ecpu if "cache" in functions else 0.0)))

    # The LLM, if plan has a key to write with.
    plan_env = (functions.get("plan", ("", {}))[1].get("Environment") or {}).get("Variables", {})
    if plan_env.get("POSTLOOP_OPENAI_SECRET_ID"):
        model = llm_model or plan_env.get("POSTLOOP_OPENAI_MODEL") or "gpt-5.4-nano"
        if not isinstance(model, str) or model not in prices["openai"]:
            raise CostError(f"no price for the LLM {model!r} in bench/prices.json: give --llm-model with one "
                            f"that is ({', '.join(prices['openai'])})")
        p = prices["openai"][model]
        drafts, tin, tout = (USAGE["llm_drafts_per_post"], USAGE["llm_input_tokens_per_draft"],
                             USAGE["llm_output_tokens_per_draft"])
        post.append(Line(f"LLM: {model}", f"{drafts} drafts × ({tin} in × ${p['input_per_million']}/M + {tout} out "
                         f"× ${p['output_per_million']}/M)",
                         drafts * (tin * p["input_per_million"] + tout * p["output_per_million"]) / 1e6))
    else:
        post.append(Line("LLM: none (offline writer)", "no OpenAI secret deployed", 0.0))

    post.append(Line("X: the post", f"{USAGE['x_posts_created']} × ${x['post_create']} (no link; a thread pays each "
                     f"part, ${x['post_create_with_url']} with a link)", USAGE["x_posts_created"] * x["post_create"]))
    post.append(Line("X: reads", f"{USAGE['x_owned_reads']} owned reads (its metrics at 24 h and 48 h, from the "
                     f"account's timeline) × ${x['owned_read']}", USAGE["x_owned_reads"] * x["owned_read"]))
    return cost


# --- output ----------------------------------------------------------------------------------------

def _usd(value: float, per_post: bool = False) -> str:
    return f"${value:.5f}" if per_post else f"${value:.2f}"


def markdown(cost: Cost, title: str) -> str:
    lines = [title, "", "| fixed, a month | arithmetic | USD |", "| --- | --- | ---: |"]
    lines += [f"| {x.item} | {x.arithmetic} | {_usd(x.usd)} |" for x in cost.fixed]
    mark = "met" if cost.fixed_usd <= TARGET_FIXED_USD else "NOT met"
    lines += [f"| **fixed total** | target ≤ ${TARGET_FIXED_USD:.2f}: {mark} | **{_usd(cost.fixed_usd)}** |", "",
              "| a post | arithmetic | USD |", "| --- | --- | ---: |"]
    lines += [f"| {x.item} | {x.arithmetic} | {_usd(x.usd, True)} |" for x in cost.per_post]
    mark = "met" if cost.per_post_usd <= TARGET_PER_POST_USD else "NOT met"
    lines += [f"| AWS, LLM and X: ${cost.part('AWS'):.5f} + ${cost.part('LLM'):.5f} + ${cost.part('X'):.5f} "
              f"| target ≤ ${TARGET_PER_POST_USD:.2f}: {mark} | **{_usd(cost.per_post_usd, True)}** |", "",
              f"At {cost.posts_per_day:g} posts a day ({cost.posts_per_month:.1f} a month): "
              f"${cost.fixed_usd:.2f} + {cost.posts_per_month:.1f} × ${cost.per_post_usd:.5f} = "
              f"**${cost.fixed_usd + cost.posts_per_month * cost.per_post_usd:.2f} a month**, of which AWS "
              f"${cost.fixed_aws_usd + cost.posts_per_month * cost.part('AWS'):.2f}."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--template", type=Path, help="a synthesized template (default: synthesize one account)")
    p.add_argument("--posts-per-day", type=float, help="the posting rate (default 6, or the template's accounts')")
    p.add_argument("--nat", choices=("none", "gateway", "instance"), default="none", help="when synthesizing")
    p.add_argument("--dashboard", action="store_true", help="when synthesizing: with the dashboard")
    p.add_argument("--llm-model", help="price the writer as this model (default: plan's, or the code's default)")
    p.add_argument("--prices", type=Path, default=PRICES)
    p.add_argument("--json", action="store_true", help="one JSON object instead of the tables")
    args = p.parse_args(argv)
    try:
        prices = load_prices(args.prices)
        if args.template:
            template, source = read_template(args.template), str(args.template)
            rate = args.posts_per_day
        else:
            rate = args.posts_per_day or 6
            if rate != int(rate) or not 1 <= rate <= 24:
                raise CostError(f"--posts-per-day must be a whole number from 1 to 24 to synthesize, got {rate:g}")
            template = synthesize(int(rate), args.nat, args.dashboard)
            options = [f"NAT {args.nat}" if args.nat != "none" else "no NAT",
                       "with the dashboard" if args.dashboard else "no dashboard"]
            source = f"the {'default ' if options == ['no NAT', 'no dashboard'] else ''}deployment " \
                     f"({', '.join(options)})"
        cost = estimate(template, prices, rate, llm_model=args.llm_model)
    except CostError as err:
        print(f"bench/cost.py: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"template": source, **cost.as_dict()}, indent=2))
        return 0
    title = (f"Monthly cost of {source}, {len(cost.accounts)} account{'s' if len(cost.accounts) != 1 else ''} "
             f"at {cost.posts_per_day:g} posts a day, {prices['region']} list prices as of {prices['as_of']} "
             "(bench/prices.json), no free tier:")
    print(markdown(cost, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
