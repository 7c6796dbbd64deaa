"""Acknowledging a cdk-nag finding on one resource, with its reason."""
from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

# cdk-nag 3 reports through CDK's policy validation: a finding's id is
# '<plugin>::<rule>[<finding>]', and an acknowledgement must name it that way.
PLUGIN = "AwsSolutions"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge `rule` (e.g. 'AwsSolutions-IAM5[Resource::*]') on `scope` and the resources under it."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PLUGIN}::{rule}", reason=reason))
