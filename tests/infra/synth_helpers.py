"""Synthesizing the CDK app for the infra tests, and reading the template it gives."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# The app imports its package from infra/, as `cdk synth` runs it.
if str(REPO / "infra") not in sys.path:
    sys.path.insert(0, str(REPO / "infra"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

DEMO_ACCOUNT = REPO / "layers" / "local" / "python" / "postloop_local" / "accounts" / "demo.json"
ALARM_EMAIL = "ops@example.com"
# The LLM options of the main synth: an OpenAI-compatible server (Bedrock's), two of the models set.
LLM_CONTEXT = {"openai_api": "chat", "openai_base_url": "https://bedrock-runtime.us-east-1.amazonaws.com/openai/v1",
               "openai_model": "openai.gpt-oss-20b-1:0", "openai_judge_model": "openai.gpt-oss-120b-1:0"}
NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


@dataclass
class Synth:
    stack: Any                   # postloop_infra.stack.PostloopStack
    template: dict               # the synthesized CloudFormation template
    nag_error: Exception | None  # what app.synth() raised with cdk-nag on, if anything
    outdir: Path                 # the cloud assembly (staged assets: asset.<hash>/)
    nag_report: Path             # CDK's validation report of the synth with cdk-nag

    def logical_id(self, construct) -> str:
        """The template's logical id of a construct (an L2's default child, or an L1)."""
        cfn = getattr(construct.node, "default_child", None) or construct
        return self.stack.resolve(self.stack.get_logical_id(cfn))

    def resource(self, construct) -> dict:
        return self.template["Resources"][self.logical_id(construct)]

    def of_type(self, cfn_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == cfn_type}

    def staged_asset(self, s3_key: str) -> Path:
        """The directory CDK staged for an asset, from the S3 key ('<hash>.zip') in the template."""
        return self.outdir / f"asset.{s3_key.removesuffix('.zip')}"

    def readable_names(self) -> dict[str, str]:
        """Logical id -> a readable name, for the resources policies and alarms refer to."""
        stack = self.stack
        named = {f"table:{k}": t for k, t in stack.storage.tables.items()}
        named.update({f"logs:{k}": g for k, g in stack.functions.log_groups.items()})
        named.update({f"function:{k}": f for k, f in stack.functions.functions.items()})
        named.update({f"secret:x/{k}": s for k, s in stack.credentials.x.items()})
        if stack.credentials.openai is not None:
            named["secret:openai"] = stack.credentials.openai
        named["secret:review-signing"] = stack.review.secret
        named["url:review"] = stack.review.url
        named["topic:approvals"] = stack.notifications.approvals
        named["topic:alarms"] = stack.notifications.alarms
        named["queue:dead-letters"] = stack.functions.dead_letters
        from aws_cdk import aws_stepfunctions as sfn
        for machine in stack.workflow.node.find_all():
            if isinstance(machine, sfn.StateMachine):
                named[f"state-machine:{machine.node.id.lower()}"] = machine
        for alarm in stack.monitoring.alarms:
            named[f"alarm:{alarm.node.id}"] = alarm
        return {self.logical_id(c): name for name, c in named.items()}


def synthesize(context: dict, tmp_path: Path) -> Synth:
    """Synthesize with cdk-nag; if it reports findings, keep the error and synthesize without it.

    The template is read from the cloud assembly rather than through
    assertions.Template.from_stack, which refuses a template with a dependency
    cycle: test_security.py checks for cycles on its own, so one defect fails one test.
    """
    from postloop_infra.stack import build_app

    nag_error = None
    outdir = tmp_path / "with-nag"
    nag_report = outdir / "validation-report.json"
    app, stack = build_app(context, outdir=str(outdir))
    try:
        assembly = app.synth()
    except Exception as err:  # ValidationFailed; the other tests still get a template
        nag_error = err
        outdir = tmp_path / "without-nag"
        app, stack = build_app(context, outdir=str(outdir), nag=False)
        assembly = app.synth()
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synth(stack, template, nag_error, outdir, nag_report)


def write_accounts(directory: Path) -> Path:
    """Two accounts: the demo one as a single object, and one in a list with budgets, 5 posts a day, approval."""
    directory.mkdir(parents=True, exist_ok=True)
    demo = json.loads(DEMO_ACCOUNT.read_text())
    (directory / "demo.json").write_text(json.dumps(demo))
    berlin = {**demo, "account_id": "berlin", "timezone": "Europe/Berlin", "posts_per_day": 5, "mode": "approval",
              "budgets": {"x_usd_per_month": 10, "openai_usd_per_month": 5}}
    (directory / "more.json").write_text(json.dumps([berlin]))
    return directory


def render(value: Any, names: dict[str, str]) -> Any:
    """A template value with Ref/GetAtt/Join of known resources turned into readable strings.

    `names` maps logical ids to names; a reference to any other resource raises,
    so a test cannot pass by ignoring an unexpected resource.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [render(v, names) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return _named(arg, names)
        if key == "Fn::GetAtt":
            return _named(arg[0], names) + ("" if arg[1] == "Arn" else f".{arg[1]}")
        if key == "Fn::Join":
            return arg[0].join(str(render(part, names)) for part in arg[1])
    raise AssertionError(f"unexpected template value {value!r}")


def _named(logical_id: str, names: dict[str, str]) -> str:
    if logical_id.startswith("AWS::"):
        return f"<{logical_id}>"
    if logical_id not in names:
        raise AssertionError(f"reference to an unexpected resource {logical_id}")
    return names[logical_id]
