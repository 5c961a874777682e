"""Following a deploy whose nested child fails, on recorded DescribeStackEvents shapes:
events of the root and of the nested stack it discovers, and the root cause in plain
words rather than "Embedded stack ... was not successfully created"."""

from __future__ import annotations

import io

from botocore.stub import Stubber

from tap.deploy.progress import Follower, explain_failure
from tests.deploy.recorded import event, stack, stack_arn

ROOT = "tap-distribution-dev"
ROOT_ID = stack_arn(ROOT)
CHILD = f"{ROOT}-DatabaseStack-1ABCDEFGHIJK"
CHILD_ID = stack_arn(CHILD, "11111111-2222-3333-4444-555555555555")
TABLE_EXISTS = ("Resource handler returned message: \"Resource of type 'AWS::DynamoDB::Table' with "
                "identifier 'tap-distribution-dev-licenses' already exists.\"")
EMBEDDED = (f"Embedded stack {CHILD_ID} was not successfully created: The following resource(s) "
            "failed to create: [LicensesTable].")


def root_event(logical_id, resource_type, status, seconds, **kwargs):
    return event(ROOT, ROOT_ID, logical_id, resource_type, status, seconds, **kwargs)


def child_event(logical_id, resource_type, status, seconds, **kwargs):
    return event(CHILD, CHILD_ID, logical_id, resource_type, status, seconds, **kwargs)


def newest_first(*events):
    return {"StackEvents": list(reversed(events))}


def test_a_failed_nested_child_is_followed_and_its_cause_named(cloudformation):
    review_event = root_event(ROOT, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", 0, physical_id=ROOT_ID)
    first_root = [
        review_event,
        root_event(ROOT, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", 10, physical_id=ROOT_ID,
                   reason="User Initiated"),
        root_event("DatabaseStack", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", 11),
        root_event("DatabaseStack", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", 12,
                   physical_id=CHILD_ID, reason="Resource creation Initiated"),
    ]
    child = [
        child_event(CHILD, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", 12, physical_id=CHILD_ID),
        child_event("AnalyticsTable", "AWS::DynamoDB::Table", "CREATE_IN_PROGRESS", 13),
        child_event("LicensesTable", "AWS::DynamoDB::Table", "CREATE_IN_PROGRESS", 13),
        child_event("LicensesTable", "AWS::DynamoDB::Table", "CREATE_FAILED", 14, reason=TABLE_EXISTS),
        child_event("AnalyticsTable", "AWS::DynamoDB::Table", "CREATE_FAILED", 15,
                    reason="Resource creation cancelled"),
    ]
    child_end = [
        child_event(CHILD, "AWS::CloudFormation::Stack", "CREATE_FAILED", 16, physical_id=CHILD_ID,
                    reason="The following resource(s) failed to create: [AnalyticsTable, LicensesTable]. "),
    ]
    second_root = [
        root_event("DatabaseStack", "AWS::CloudFormation::Stack", "CREATE_FAILED", 17,
                   physical_id=CHILD_ID, reason=EMBEDDED),
        root_event(ROOT, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS", 18, physical_id=ROOT_ID,
                   reason="The following resource(s) failed to create: [DatabaseStack]. Rollback requested by user."),
        root_event(ROOT, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", 30, physical_id=ROOT_ID),
    ]
    out = io.StringIO()
    sleeps = []
    follower = Follower(cloudformation, ROOT_ID, out, poll_seconds=3.0, sleep=sleeps.append,
                        clock=iter(range(100, 200, 5)).__next__, expected=2)
    with Stubber(cloudformation) as stubber:
        def events_of(stack_id, *events):
            stubber.add_response("describe_stack_events", newest_first(*events), {"StackName": stack_id})

        def status(value):
            stubber.add_response("describe_stacks", {"Stacks": [stack(ROOT, value)]}, {"StackName": ROOT_ID})

        events_of(ROOT_ID, review_event)  # before executing: what is already there
        status("CREATE_IN_PROGRESS")
        events_of(ROOT_ID, *first_root)  # the root names its nested stack ...
        events_of(CHILD_ID, *child)  # ... which is read in the same round
        status("ROLLBACK_COMPLETE")
        events_of(CHILD_ID, *child, *child_end)  # the child's id sorts before the root's
        events_of(ROOT_ID, *first_root, *second_root)
        events_of(CHILD_ID, *child, *child_end)  # one last look at the finished child
        follower.start()
        final = follower.follow()
        stubber.assert_no_pending_responses()

    assert final == "ROLLBACK_COMPLETE"
    assert sleeps == [3.0]
    cause = follower.root_cause()
    assert (cause.address, cause.status) == ("DatabaseStack/LicensesTable", "CREATE_FAILED")
    line = explain_failure(final, cause, "distribution dev")
    assert line == (f"the stack ended ROLLBACK_COMPLETE: DatabaseStack/LicensesTable "
                    f"(AWS::DynamoDB::Table) failed to create: {TABLE_EXISTS}")
    shown = out.getvalue().splitlines()
    assert any("CREATE_FAILED" in text and "DatabaseStack/LicensesTable" in text and "already exists" in text
               for text in shown)
    # Shown in the order they happened across stacks: the table failed before its stack.
    failed = [text.split()[3] for text in shown if "CREATE_FAILED" in text]
    assert failed == ["DatabaseStack/LicensesTable", "DatabaseStack/AnalyticsTable", "DatabaseStack"]
    # The review-time event was there before: it is not shown again.
    assert not any("REVIEW_IN_PROGRESS" in text for text in shown)
    # The nested stack's own status lines are left to its parent's events.
    assert not any(f" {CHILD} " in text for text in shown)


def test_without_a_resource_failure_the_status_itself_is_reported():
    assert explain_failure("UPDATE_ROLLBACK_COMPLETE", None, "distribution dev") == (
        "the stack ended UPDATE_ROLLBACK_COMPLETE; no resource reported a cause "
        "(see `./deploy.sh events distribution dev`)")


def test_a_status_from_before_the_operation_is_not_taken_for_its_end(cloudformation):
    """DescribeStacks is eventually consistent: just after ExecuteChangeSet it may still
    say UPDATE_COMPLETE. The follower waits for the root's first event of this run."""
    done = root_event(ROOT, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", 5, physical_id=ROOT_ID)
    began = root_event(ROOT, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", 10, physical_id=ROOT_ID,
                       reason="User Initiated")
    ended = root_event(ROOT, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", 20, physical_id=ROOT_ID)
    sleeps = []
    follower = Follower(cloudformation, ROOT_ID, io.StringIO(), poll_seconds=2.0, sleep=sleeps.append)
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stack_events", newest_first(done), {"StackName": ROOT_ID})
        stubber.add_response("describe_stacks", {"Stacks": [stack(ROOT, "UPDATE_COMPLETE")]}, {"StackName": ROOT_ID})
        stubber.add_response("describe_stack_events", newest_first(done), {"StackName": ROOT_ID})
        stubber.add_response("describe_stacks", {"Stacks": [stack(ROOT, "UPDATE_COMPLETE")]}, {"StackName": ROOT_ID})
        stubber.add_response("describe_stack_events", newest_first(done, began, ended), {"StackName": ROOT_ID})
        follower.start()
        assert follower.follow() == "UPDATE_COMPLETE"
        stubber.assert_no_pending_responses()
    assert sleeps == [2.0]
