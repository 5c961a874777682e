"""`./deploy.sh stackset`: the command line's values, the checks before anything starts,
operations that fail or partly fail (Stubber, in the API reference's shapes), and
whole runs against the emulator across accounts and regions."""

from __future__ import annotations

import io
import json

import pytest
from botocore.stub import Stubber

from tap.deploy import stackset_follow, stackset_preflight, stackset_targets, stacksets
from tap.deploy.commands import Console, Workspace
from tap.deploy.stackset_follow import InstanceRow, OperationFollower
from tap.deploy.stackset_targets import StackSetOptions, Targets
from tap.errors import DeployFailed, UserError
from tests.deploy.recorded import T0

OPERATION = "7b6f3ad0-3c3e-4d6b-9d1e-3f1b2a8c9e10"
STACK_SET = "tap-distribution-dev"


def options(**given) -> StackSetOptions:
    targets = given.pop("targets", Targets(accounts=("111111111111",), regions=("eu-west-1", "us-east-1")))
    return StackSetOptions(targets=targets, **given)


# --- the command line ----------------------------------------------------------------------


def test_targets_are_accounts_or_org_units_never_both():
    with pytest.raises(UserError, match="one of the two"):
        stackset_targets.targets_of("111111111111", "ou-abcd-12345678", "us-east-1")
    with pytest.raises(UserError, match="one of the two"):
        stackset_targets.targets_of(None, None, "us-east-1")


def test_a_malformed_account_or_region_is_named():
    with pytest.raises(UserError, match=r"--accounts: '12345' is not a 12-digit account id"):
        stackset_targets.targets_of("12345", None, "us-east-1")
    with pytest.raises(UserError, match=r"--regions: 'useast1' is not a region name"):
        stackset_targets.targets_of("111111111111", None, "useast1")
    with pytest.raises(UserError, match="--regions is required"):
        stackset_targets.targets_of("111111111111", None, None)


def test_service_managed_when_targets_are_org_units():
    targets = stackset_targets.targets_of(None, "ou-abcd-12345678", "us-east-1")
    assert targets.permission_model == "SERVICE_MANAGED"
    assert targets.deployment() == {"DeploymentTargets": {"OrganizationalUnitIds": ["ou-abcd-12345678"]}}
    assert targets.deployment(["111111111111"])["DeploymentTargets"]["AccountFilterType"] == "INTERSECTION"


def test_preferences_take_counts_and_percentages_and_keep_region_order():
    preferences = stackset_targets.operation_preferences(options(max_concurrent="25%", failure_tolerance="2",
                                                          region_order=("us-east-1", "eu-west-1")))
    assert preferences == {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentPercentage": 25,
                           "FailureToleranceCount": 2, "RegionOrder": ["us-east-1", "eu-west-1"]}
    assert stackset_targets.operation_preferences(options())["RegionOrder"] == ["eu-west-1", "us-east-1"]


@pytest.mark.parametrize(("given", "message"), [
    ({"max_concurrent": "many"}, "allowed: a count such as 2, or a percentage"),
    ({"failure_tolerance": "150%"}, "allowed: a count such as 2, or a percentage"),
    ({"max_concurrent": "0"}, "allowed: at least 1"),
    ({"max_concurrent": "5", "failure_tolerance": "1"}, "which StackSets refuses; allowed: at most 2"),
    ({"region_order": ("us-east-1",)}, "must name each region of --regions once"),
])
def test_bad_preferences_are_refused_with_what_is_allowed(given, message):
    with pytest.raises(UserError, match=message):
        stackset_targets.operation_preferences(options(**given))


def test_the_distribution_platform_is_refused_outside_us_east_1_with_the_reason():
    with pytest.raises(UserError, match=r"deploys only to us-east-1: its Lambda@Edge function.*asked for: "
                                        r"eu-west-1"):
        stackset_preflight.check_regions("distribution", Targets(accounts=("111111111111",),
                                                        regions=("us-east-1", "eu-west-1")))
    stackset_preflight.check_regions("distribution", Targets(accounts=("111111111111",), regions=("us-east-1",)))
    stackset_preflight.check_regions("microservices", Targets(accounts=("111111111111",), regions=("eu-west-1",)))


def test_overrides_file_is_checked_per_account(tmp_path):
    path = tmp_path / "overrides.json"
    declared = {"AlarmEmail": {}, "ArtifactAccount": {}}
    path.write_text(json.dumps({"111111111111": [{"ParameterKey": "AlarmEmail", "ParameterValue": "a@x.org"}]}))
    assert stackset_targets.read_overrides(path, declared, ["111111111111"]) == {"111111111111": {"AlarmEmail": "a@x.org"}}
    path.write_text(json.dumps({"222222222222": []}))
    with pytest.raises(UserError, match="account 222222222222 is not a target"):
        stackset_targets.read_overrides(path, declared, ["111111111111"])
    path.write_text(json.dumps({"111111111111": [{"ParameterKey": "Nope", "ParameterValue": "x"}]}))
    with pytest.raises(UserError, match="has no parameter 'Nope'; allowed: AlarmEmail, ArtifactAccount"):
        stackset_targets.read_overrides(path, declared, ["111111111111"])
    path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        stackset_targets.read_overrides(path, declared, ["111111111111"])


def test_instances_with_the_same_overrides_go_in_one_call_in_region_order():
    overrides = {("111111111111", "us-east-1"): {}, ("222222222222", "us-east-1"): {},
                 ("111111111111", "eu-west-1"): {"AlarmEmail": "eu@example.com"},
                 ("222222222222", "eu-west-1"): {"AlarmEmail": "eu@example.com"}}
    assert stacksets.groups(overrides, ["us-east-1", "eu-west-1"]) == [
        (["111111111111", "222222222222"], ["us-east-1"], {}),
        (["111111111111", "222222222222"], ["eu-west-1"], {"AlarmEmail": "eu@example.com"}),
    ]


def test_named_iam_resources_are_refused_across_regions_unless_their_condition_is_off():
    class Release:
        def templates_by_path(self):
            return {(): {
                "Parameters": {"Admin": {"Type": "String", "Default": ""}},
                "Conditions": {"AdminGiven": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Admin"}, ""]}]}},
                "Resources": {
                    "Provider": {"Type": "AWS::IAM::OIDCProvider", "Properties": {"Url": "https://x"}},
                    "Named": {"Type": "AWS::IAM::Role", "Condition": "AdminGiven",
                              "Properties": {"RoleName": "R"}},
                    "Unnamed": {"Type": "AWS::IAM::Role", "Properties": {}},
                }}}

    found = stackset_preflight.account_wide_names(Release(), {}, ("us-east-1", "eu-west-1"))
    assert len(found) == 1 and found[0].startswith("Provider (AWS::IAM::OIDCProvider) exists once per account")
    found = stackset_preflight.account_wide_names(Release(), {"Admin": "111111111111"}, ("us-east-1", "eu-west-1"))
    assert [problem.split(" ")[0] for problem in found] == ["Named", "Provider"]
    assert stackset_preflight.account_wide_names(Release(), {}, ("us-east-1",)) == []


# --- following operations that fail (Stubber, API reference shapes) ---------------------------


def operation(status: str, reason: str | None = None, failed: int = 0) -> dict:
    found = {"OperationId": OPERATION, "StackSetId": f"{STACK_SET}:0c5e0a4a-52b8-4d4f-9f4e-2c5f4b8d1c3a",
             "Action": "CREATE", "Status": status, "CreationTimestamp": T0,
             "OperationPreferences": {"FailureToleranceCount": 0, "MaxConcurrentCount": 1,
                                      "RegionOrder": ["us-east-1"]},
             "StatusDetails": {"FailedStackInstancesCount": failed}}
    if reason:
        found["StatusReason"] = reason
    return {"StackSetOperation": found}


def results(*rows: tuple[str, str, str, str | None]) -> dict:
    summaries = []
    for account, region, status, reason in rows:
        summary = {"Account": account, "Region": region, "Status": status,
                   "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "No account gate"}}
        if reason:
            summary["StatusReason"] = reason
        summaries.append(summary)
    return {"Summaries": summaries}


EXECUTION_ROLE_MISSING = ("Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role "
                          "with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.")
CANCELLED = "Cancelled since failure tolerance has exceeded"


def follow(cloudformation, responses: list[tuple[str, dict]]) -> tuple[OperationFollower, dict, str]:
    out = io.StringIO()
    follower = OperationFollower(cloudformation, STACK_SET, Console(out=out),
                                 Workspace(poll_seconds=0, sleep=lambda _: None))
    with Stubber(cloudformation) as stubber:
        for method, response in responses:
            stubber.add_response(method, response)
        final = follower.follow(OPERATION, "creating")
        stubber.assert_no_pending_responses()
    return follower, final, out.getvalue()


def test_a_failed_operation_shows_each_instance_as_it_changes_and_exits_with_the_reason(cloudformation):
    running = results(("111111111111", "us-east-1", "SUCCEEDED", None),
                      ("222222222222", "us-east-1", "RUNNING", None),
                      ("333333333333", "us-east-1", "PENDING", None))
    done = results(("111111111111", "us-east-1", "SUCCEEDED", None),
                   ("222222222222", "us-east-1", "FAILED", EXECUTION_ROLE_MISSING),
                   ("333333333333", "us-east-1", "CANCELLED", CANCELLED))
    reason = "The Operation failed to complete because the failure tolerance was exceeded."
    follower, final, printed = follow(cloudformation, [
        ("describe_stack_set_operation", operation("RUNNING")), ("list_stack_set_operation_results", running),
        ("describe_stack_set_operation", operation("FAILED", reason, failed=1)),
        ("list_stack_set_operation_results", done), ("list_stack_set_operation_results", done),
    ])
    lines = printed.splitlines()
    assert "  222222222222  us-east-1      RUNNING" in lines
    assert f"  222222222222  us-east-1      FAILED  {EXECUTION_ROLE_MISSING}" in lines
    assert f"  333333333333  us-east-1      CANCELLED  {CANCELLED}" in lines
    assert sum("111111111111" in line for line in lines) == 1  # unchanged rows are not repeated
    out = io.StringIO()
    with pytest.raises(DeployFailed) as failure:
        stackset_follow.finish(Console(out=out), follower, [final])
    assert failure.value.exit_code == 1
    assert f"CREATE FAILED ({reason})" in str(failure.value)
    assert f"222222222222 us-east-1: {EXECUTION_ROLE_MISSING}" in str(failure.value)
    assert EXECUTION_ROLE_MISSING in out.getvalue()  # in the final table too


def test_an_operation_that_succeeded_with_a_failure_within_tolerance_still_fails_the_command(cloudformation):
    done = results(("111111111111", "us-east-1", "SUCCEEDED", None),
                   ("222222222222", "us-east-1", "FAILED",
                    "ResourceLogicalId:LicensesTable, ResourceType:AWS::DynamoDB::Table, "
                    "ResourceStatusReason:tap-distribution-dev-licenses already exists."))
    follower, final, _ = follow(cloudformation, [
        ("describe_stack_set_operation", operation("SUCCEEDED", failed=1)),
        ("list_stack_set_operation_results", done), ("list_stack_set_operation_results", done),
    ])
    with pytest.raises(DeployFailed, match=r"failed instances: 222222222222 us-east-1: ResourceLogicalId:"
                                           r"LicensesTable.*already exists"):
        stackset_follow.finish(Console(out=io.StringIO()), follower, [final])


def test_a_table_lists_every_instance_by_region_then_account():
    text = stackset_follow.table([InstanceRow("222222222222", "us-east-1", "SUCCEEDED"),
                            InstanceRow("111111111111", "us-east-1", "FAILED", "why"),
                            InstanceRow("111111111111", "eu-west-1", "SUCCEEDED")])
    assert [line.split()[:3] for line in text.splitlines()[1:]] == [
        ["111111111111", "eu-west-1", "SUCCEEDED"], ["111111111111", "us-east-1", "FAILED"],
        ["222222222222", "us-east-1", "SUCCEEDED"]]
    assert text.splitlines()[2].endswith("why")


def test_an_arn_of_one_account_must_be_overridden_for_every_other_target():
    certificate = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    values = {"CdnCertificateArn": certificate, "ArtifactAccount": "123456789012"}
    targets = Targets(accounts=("111111111111", "222222222222", "333333333333"), regions=("us-east-1",))
    (problem,) = stackset_preflight.foreign_values(values, targets, {"333333333333": {"CdnCertificateArn": "arn:x"}})
    assert problem.startswith("CdnCertificateArn is arn:aws:acm:us-east-1:111111111111:certificate/")
    assert problem.endswith("accounts 222222222222 need their own in --overrides")
    assert stackset_preflight.foreign_values(values, Targets(accounts=("111111111111",), regions=("us-east-1",)), {}) == []
    (problem,) = stackset_preflight.foreign_values(values, Targets(org_units=("ou-abcd-12345678",), regions=("us-east-1",)), {})
    assert "would reach every account under the OUs" in problem
