"""`./deploy.sh execute <arn>` refuses a change set that no longer stands: one that is
not AVAILABLE, one whose stack changed since the review, one never reviewed here
(recorded shapes)."""

from __future__ import annotations

import io
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber

from tap.deploy.aws import Aws
from tap.deploy.commands import Console, Workspace, execute_reviewed, save_review
from tap.deploy.review import Review
from tap.errors import UserError
from tests.deploy.recorded import T0, change_set, change_set_arn, stack, stack_arn

NAME = "tap-distribution-dev"
CHANGE_SET = "tap-20261202-060000-0a1b2c"
ARN = change_set_arn(CHANGE_SET, "00000000-0000-4000-8000-000000000001")


@pytest.fixture
def aws():
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return Aws(session)


def run(aws, tmp_path, described: dict, deployed: dict | None = None):
    cloudformation = aws.client("cloudformation")
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_change_set", described, {"ChangeSetName": ARN})
        if deployed is not None:
            stubber.add_response("describe_stacks", {"Stacks": [deployed]}, {"StackName": stack_arn(NAME)})
        return execute_reviewed(aws, Console(io.StringIO()), Workspace(cache_dir=tmp_path), ARN, (), None)


def reviewed(tmp_path, stack_last_updated: str) -> None:
    save_review(Workspace(cache_dir=tmp_path), Review(
        NAME, ARN, "UPDATE", "123456789012", "us-east-1", rows=[], stack_last_updated=stack_last_updated,
        target="distribution dev"))


def test_a_change_set_no_longer_available_is_refused(aws, tmp_path):
    obsolete = change_set(CHANGE_SET, ARN, NAME, stack_arn(NAME), [])
    obsolete["ExecutionStatus"] = "OBSOLETE"
    with pytest.raises(UserError, match=f"change set {CHANGE_SET} is CREATE_COMPLETE/OBSOLETE, not AVAILABLE"):
        run(aws, tmp_path, obsolete)


def test_a_stack_updated_since_the_review_is_refused(aws, tmp_path):
    reviewed(tmp_path, str(T0))
    updated = stack(NAME, "UPDATE_COMPLETE")
    updated["LastUpdatedTime"] = T0 + timedelta(minutes=5)
    with pytest.raises(UserError, match=f"stack {NAME} changed since the review"):
        run(aws, tmp_path, change_set(CHANGE_SET, ARN, NAME, stack_arn(NAME), []), updated)


def test_a_change_set_never_reviewed_here_is_refused(aws, tmp_path):
    with pytest.raises(UserError, match=f"no saved review of {CHANGE_SET} at .*--review FILE"):
        run(aws, tmp_path, change_set(CHANGE_SET, ARN, NAME, stack_arn(NAME), []), stack(NAME, "UPDATE_COMPLETE"))
