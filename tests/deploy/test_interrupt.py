"""Ctrl-C while a change set executes: the tool stops following, says the stack keeps
going and how to follow it, and exits 130 (recorded shapes)."""

from __future__ import annotations

import io

import boto3
from botocore.stub import Stubber

from tap.deploy.aws import RETRIES, Aws
from tap.deploy.commands import INTERRUPTED, Console, Workspace, execute
from tap.deploy.review import Review
from tests.deploy.recorded import change_set_arn, event, stack, stack_arn

NAME = "tap-distribution-dev"
ARN = change_set_arn("tap-20261202-060000", "00000000-0000-4000-8000-000000000001")


def interrupt(seconds: float) -> None:
    raise KeyboardInterrupt


def test_ctrl_c_while_executing_says_the_stack_goes_on():
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    aws = Aws(session)
    cloudformation = aws.client("cloudformation")
    assert cloudformation.meta.config.retries["mode"] == RETRIES.retries["mode"]
    out = io.StringIO()
    review = Review(NAME, ARN, "CREATE", "123456789012", "us-east-1", rows=[], target="distribution dev")
    started = event(NAME, stack_arn(NAME), NAME, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", 1,
                    physical_id=stack_arn(NAME), reason="User Initiated")
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "REVIEW_IN_PROGRESS")]}, {"StackName": NAME})
        stubber.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_arn(NAME)})
        stubber.add_response("execute_change_set", {}, {"ChangeSetName": ARN})
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "CREATE_IN_PROGRESS")]},
                             {"StackName": stack_arn(NAME)})
        stubber.add_response("describe_stack_events", {"StackEvents": [started]}, {"StackName": stack_arn(NAME)})
        status = execute(aws, Console(out), Workspace(poll_seconds=1, sleep=interrupt), review, {}, 0.0)
        stubber.assert_no_pending_responses()
    assert status == INTERRUPTED
    assert out.getvalue().rstrip().endswith(
        f"stopped following; CloudFormation keeps going on {NAME}. Follow it with "
        "`./deploy.sh events distribution dev --follow`")
