"""Stack states the emulator cannot produce, on recorded DescribeStacks shapes: a failed
first deploy (ROLLBACK_COMPLETE), a stack busy with another operation, a rollback that
could not finish."""

from __future__ import annotations

import io

import pytest
from botocore.stub import ANY, Stubber

from tap.deploy import stacks
from tap.deploy.commands import Console, Workspace, current_stack
from tap.errors import UserError
from tests.deploy.recorded import stack, stack_arn

NAME = "tap-distribution-dev"


def workspace(sleeps: list) -> Workspace:
    return Workspace(poll_seconds=7.0, sleep=sleeps.append)


def test_a_failed_first_deploy_is_explained_and_left_alone(cloudformation):
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "ROLLBACK_COMPLETE")]},
                             {"StackName": NAME})
        with pytest.raises(UserError) as refused:
            current_stack(cloudformation, NAME, Console(io.StringIO()), workspace([]), recreate=False)
    message = str(refused.value)
    assert "ROLLBACK_COMPLETE" in message and "first deploy failed" in message and "--recreate" in message


def test_recreate_deletes_a_failed_first_deploy_and_waits_for_it(cloudformation):
    out = io.StringIO()
    sleeps: list = []
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "ROLLBACK_COMPLETE")]},
                             {"StackName": NAME})
        stubber.add_response("delete_stack", {}, {"StackName": stack_arn(NAME)})
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "DELETE_IN_PROGRESS")]},
                             {"StackName": stack_arn(NAME)})
        # Asked by id, CloudFormation still answers for a deleted stack.
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "DELETE_COMPLETE")]},
                             {"StackName": stack_arn(NAME)})
        assert current_stack(cloudformation, NAME, Console(out), workspace(sleeps), recreate=True) is None
        stubber.assert_no_pending_responses()
    assert "deleting tap-distribution-dev (ROLLBACK_COMPLETE)" in out.getvalue()
    assert sleeps == [7.0]


def test_a_busy_stack_is_waited_for_then_used(cloudformation):
    out = io.StringIO()
    sleeps: list = []
    with Stubber(cloudformation) as stubber:
        for status in ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"):
            stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, status)]}, {"StackName": NAME})
        found = current_stack(cloudformation, NAME, Console(out), workspace(sleeps), recreate=False)
    assert found["StackStatus"] == "UPDATE_COMPLETE"
    assert sleeps == [7.0, 7.0]
    assert out.getvalue().count("is UPDATE_IN_PROGRESS (another operation); waiting") == 1


def test_a_stack_awaiting_its_first_change_set_is_not_busy(cloudformation):
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "REVIEW_IN_PROGRESS")]}, {"StackName": NAME})
        found = current_stack(cloudformation, NAME, Console(io.StringIO()), workspace([]), recreate=False)
    assert found["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_a_rollback_that_could_not_finish_is_refused_with_the_way_out(cloudformation):
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [stack(NAME, "UPDATE_ROLLBACK_FAILED")]},
                             {"StackName": NAME})
        with pytest.raises(UserError, match="Continue update rollback"):
            current_stack(cloudformation, NAME, Console(io.StringIO()), workspace([]), recreate=False)


def test_a_missing_stack_is_none(cloudformation):
    with Stubber(cloudformation) as stubber:
        stubber.add_client_error("describe_stacks", "ValidationError", f"Stack with id {NAME} does not exist",
                                 400, expected_params={"StackName": ANY})
        assert stacks.describe(cloudformation, NAME) is None
