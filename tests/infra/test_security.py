"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized templates, and a deployable dependency graph."""
from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

# CDK's Lambda construct always declares DependsOn on the function's role next to the
# GetAtt of its ARN; cfn-lint calls the DependsOn redundant. It is harmless and not ours to change.
CFN_LINT_IGNORED = ["W3005"]


@pytest.fixture(params=["main", "variant"])
def synth(request):
    return request.getfixturevalue(f"{request.param}_synth")


def test_cdk_nag_reports_no_unacknowledged_finding(synth):
    # ValidationFailed is what app.synth() raises when AwsSolutions has a finding left.
    assert synth.nag_error is None, str(synth.nag_error)
    report = json.loads(synth.nag_report.read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []


def test_every_acknowledgement_is_on_a_resource_and_gives_a_reason(synth):
    report = json.loads(synth.nag_report.read_text())
    (nag,) = [r for r in report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["suppressedViolations"], "expected the documented acknowledgements"
    for ack in nag["suppressedViolations"]:
        # Acknowledged on the resource (or its L2), never for the whole stack or app.
        assert ack["acknowledgedAt"].count("/") >= 2, ack["acknowledgedAt"]
        assert len(ack["reason"]) >= 40, ack


def test_cfn_lint_is_clean(synth):
    matches = lint(json.dumps(synth.template), config=ManualArgs(regions=["us-east-1"],
                                                                 ignore_checks=CFN_LINT_IGNORED))
    assert [str(m) for m in matches] == []


def test_template_has_no_dependency_cycle(synth):
    from aws_cdk.assertions import Template

    # Template.from_json refuses a template CloudFormation could not order.
    Template.from_json(synth.template)
