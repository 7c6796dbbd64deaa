"""Step Functions side of the approval wait: resume a paused execution, notify a person."""
from __future__ import annotations

import json


class StepFunctionsResumer:
    """Hands a paused execution (waitForTaskToken) its output."""

    def __init__(self, client):
        self._sfn = client

    def resume(self, token: str, output: dict) -> None:
        self._sfn.send_task_success(taskToken=token, output=json.dumps(output))


class SnsApprovalNotifier:
    def __init__(self, client, topic_arn: str):
        self._sns = client
        self._topic = topic_arn

    def notify(self, subject: str, message: str) -> None:
        # SNS caps subjects at 100 characters.
        self._sns.publish(TopicArn=self._topic, Subject=subject[:100], Message=message)
