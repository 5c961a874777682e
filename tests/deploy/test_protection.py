"""Stack policies, termination protection and rollback triggers."""

from __future__ import annotations

from botocore.stub import Stubber

from tap.deploy import protection
from tap.deploy.stacks import DeployedStack
from tests.deploy.recorded import stack, stack_arn


def denied(policy: dict) -> list[str]:
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    return deny[0]["Resource"] if deny else []


def test_the_standing_policy_denies_replacing_or_deleting_every_stateful_resource(distribution_dev):
    policies = protection.standing_policies(
        {path: protection.protected_ids(t) for path, t in distribution_dev.items()})
    assert denied(policies[("DatabaseStack",)]) == [
        "LogicalResourceId/AnalyticsTable", "LogicalResourceId/LicensesTable"]
    assert denied(policies[()]) == []  # the root holds only nested stacks
    deny = [s for s in policies[("DatabaseStack",)]["Statement"] if s["Effect"] == "Deny"][0]
    assert deny["Action"] == ["Update:Replace", "Update:Delete"] and deny["Principal"] == "*"
    assert policies[("DatabaseStack",)]["Statement"][0] == {
        "Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}


def test_an_update_lifts_the_policy_only_for_what_the_review_allowed(distribution_dev):
    protected = {path: protection.protected_ids(t) for path, t in distribution_dev.items()}
    policies = protection.policies_for_update(protected, protected, {"DatabaseStack/LicensesTable"})
    assert denied(policies[("DatabaseStack",)]) == ["LogicalResourceId/AnalyticsTable"]
    assert "LogicalResourceId/LicensesTable" in denied(
        protection.policies_for_update(protected, protected, set())[("DatabaseStack",)])


def test_policies_are_set_on_each_deployed_stack(cloudformation):
    deployed = {(): DeployedStack((), stack_arn("root")),
                ("DatabaseStack",): DeployedStack(("DatabaseStack",), stack_arn("root-DatabaseStack-1"))}
    policies = {(): protection.stack_policy([]), ("DatabaseStack",): protection.stack_policy(["LicensesTable"]),
                ("NewStack",): protection.stack_policy(["Bucket"])}  # not deployed yet: later
    with Stubber(cloudformation) as stubber:
        stubber.add_response("set_stack_policy", {}, {"StackName": stack_arn("root"),
                                                     "StackPolicyBody": '{"Statement": [{"Action": "Update:*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]}'})
        stubber.add_response("set_stack_policy", {}, {
            "StackName": stack_arn("root-DatabaseStack-1"),
            "StackPolicyBody": '{"Statement": [{"Action": "Update:*", "Effect": "Allow", "Principal": "*", '
                               '"Resource": "*"}, {"Action": ["Update:Replace", "Update:Delete"], '
                               '"Effect": "Deny", "Principal": "*", "Resource": ["LogicalResourceId/LicensesTable"]}]}'})
        assert protection.apply_policies(cloudformation, policies, deployed) == 2


def test_termination_protection_is_turned_on_once(cloudformation):
    with Stubber(cloudformation) as stubber:
        stubber.add_response("update_termination_protection", {"StackId": stack_arn("root")},
                             {"EnableTerminationProtection": True, "StackName": stack_arn("root")})
        protection.protect_from_deletion(cloudformation, stack("root", "CREATE_COMPLETE"))
        protection.protect_from_deletion(cloudformation, stack("root", "UPDATE_COMPLETE", protected=True))


def test_rollback_triggers_are_the_platforms_deploy_alarms():
    arns = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:tap-{n}" for n in range(6)]
    deployed = stack("root", "UPDATE_COMPLETE", outputs={"RollbackAlarmArns": ",".join(arns)})
    configuration = protection.rollback_configuration(deployed)
    assert configuration["RollbackTriggers"] == [
        {"Arn": arn, "Type": "AWS::CloudWatch::Alarm"} for arn in arns[:5]]  # CloudFormation's limit
    assert configuration["MonitoringTimeInMinutes"] == 5


def test_a_composite_alarm_is_a_trigger_of_its_own_type():
    """The microservices root names one composite alarm over every load balancer's 5xx alarms."""
    composite = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:tap-microservices-LoadBalancers5xxAlarm"
    deployed = stack("root", "UPDATE_COMPLETE", outputs={"RollbackCompositeAlarmArns": composite})
    assert protection.rollback_configuration(deployed)["RollbackTriggers"] == [
        {"Arn": composite, "Type": "AWS::CloudWatch::CompositeAlarm"}]


def test_a_first_deploy_has_no_rollback_triggers():
    assert protection.rollback_configuration(None) == {}
    assert protection.rollback_configuration(stack("root", "REVIEW_IN_PROGRESS")) == {}
