"""ECS on Fargate: cluster, task roles, task definition, service and CPU autoscaling."""

from __future__ import annotations

from dataclasses import replace

import pytest
from troposphere import Ref

from tap.blocks.alb import forward_rule, ip_target_group
from tap.blocks.ecs import (
    Container,
    SecretValue,
    cpu_autoscaling,
    fargate_cluster,
    fargate_service,
    fargate_task_definition,
    task_roles,
)
from tap.blocks.iam import LogGroupRef, RepositoryRef, SecretRef
from tap.stacktree import Stack
from tests.helpers import as_dict, inline_policy, only_resource, statement_by_sid

DB = SecretRef("DbCredentials", arn="db-secret-arn")
KEY = SecretRef("ApiKey", arn="key-secret-arn")
CONTAINER = Container(
    name="api",
    repository=RepositoryRef("ApiRepository", name="repo", arn="repo-arn"),
    repository_uri="repo-uri",
    image_tag="abc123",
    port=8080,
    log_group=LogGroupRef("ApiLogs", name="api-logs", arn="logs-arn"),
    environment={"STAGE": "dev", "A_FIRST": "x"},
    secrets={"DB_PASSWORD": SecretValue(DB, json_key="password"), "API_KEY": SecretValue(KEY)},
)


def build(container: Container = CONTAINER, **service_options) -> dict:
    stack = Stack("services", "ecs")
    roles = task_roles(stack, "Api", "the API")
    definition = fargate_task_definition(stack, "ApiTask", cpu=256, memory=512,
                                         container=container, roles=roles)
    service = fargate_service(
        stack, "ApiService", cluster="cluster-arn", task_definition=definition, container=container,
        desired_count=2, subnets=["subnet-a"], security_groups=[Ref("ApiGroup")],
        target_group=Ref("ApiTargets"), **service_options,
    )
    cpu_autoscaling(stack, "Api", cluster_name="cluster", service=service, minimum=2, maximum=6,
                    target_percent=60)
    return as_dict(stack)


@pytest.fixture(scope="module")
def template() -> dict:
    return build()


def container_of(template: dict) -> dict:
    (definition,) = template["Resources"]["ApiTask"]["Properties"]["ContainerDefinitions"]
    return definition


def service_of(template: dict) -> dict:
    return template["Resources"]["ApiService"]["Properties"]


# --- cluster -----------------------------------------------------------------


def test_cluster_has_container_insights_and_fargate_by_default():
    stack = Stack("cluster", "c")
    fargate_cluster(stack, "Cluster")
    props = only_resource(as_dict(stack), "AWS::ECS::Cluster")["Properties"]
    assert props["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assert props["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    assert props["DefaultCapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]


def test_cluster_container_insights_level_can_be_raised():
    stack = Stack("cluster", "c")
    fargate_cluster(stack, "Cluster", container_insights="enhanced")
    props = only_resource(as_dict(stack), "AWS::ECS::Cluster")["Properties"]
    assert props["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enhanced"}]


# --- roles -------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", ["ApiExecutionRole", "ApiTaskRole"])
def test_both_roles_are_trusted_by_ecs_tasks_of_this_account_only(template, logical_id):
    trust = template["Resources"][logical_id]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_task_role_has_no_permissions_until_the_caller_grants_some(template):
    assert "Policies" not in template["Resources"]["ApiTaskRole"]["Properties"]


def test_execution_role_pulls_only_its_repository_and_writes_only_its_log_group(template):
    policy = inline_policy(template["Resources"]["ApiExecutionRole"])
    assert statement_by_sid(policy, "PullApiRepository")["Resource"] == ["repo-arn"]
    assert statement_by_sid(policy, "WriteApiLogs")["Resource"] == ["logs-arn"]
    assert [s["Sid"] for s in policy["Statement"] if "*" in s["Resource"]] == ["AuthorizeEcr"]


def test_execution_role_reads_only_the_secrets_the_container_names(template):
    policy = inline_policy(template["Resources"]["ApiExecutionRole"])
    read = statement_by_sid(policy, "ReadContainerSecrets")
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == ["key-secret-arn", "db-secret-arn"]  # sorted by label


def test_without_secrets_the_execution_role_reads_none():
    template = build(replace(CONTAINER, secrets={}))
    policy = inline_policy(template["Resources"]["ApiExecutionRole"])
    assert "ReadContainerSecrets" not in [s["Sid"] for s in policy["Statement"]]
    assert container_of(template)["Secrets"] == []


# --- task definition ---------------------------------------------------------


def test_container_is_essential_and_not_privileged(template):
    container = container_of(template)
    assert (container["Essential"], container["Privileged"]) == (True, False)


def test_every_linux_capability_is_dropped_and_an_init_process_reaps_zombies(template):
    assert container_of(template)["LinuxParameters"] == {
        "Capabilities": {"Drop": ["ALL"]}, "InitProcessEnabled": True,
    }


def test_root_filesystem_is_read_only_with_a_writable_tmp_volume(template):
    container = container_of(template)
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"SourceVolume": "tmp", "ContainerPath": "/tmp", "ReadOnly": False}]
    assert template["Resources"]["ApiTask"]["Properties"]["Volumes"] == [{"Name": "tmp"}]


def test_read_only_root_filesystem_can_be_turned_off():
    template = build(replace(CONTAINER, read_only_root_filesystem=False))
    assert container_of(template)["ReadonlyRootFilesystem"] is False


def test_secrets_are_injected_by_arn_and_never_as_plain_environment(template):
    container = container_of(template)
    assert container["Secrets"] == [
        {"Name": "API_KEY", "ValueFrom": "key-secret-arn"},
        {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": ["${Secret}:password::", {"Secret": "db-secret-arn"}]}},
    ]
    names = [variable["Name"] for variable in container["Environment"]]
    assert names == ["A_FIRST", "STAGE"]
    assert "secret-arn" not in str(container["Environment"])


def test_image_is_the_repository_at_the_given_tag(template):
    assert container_of(template)["Image"] == {"Fn::Sub": ["${Repository}:abc123", {"Repository": "repo-uri"}]}
    assert container_of(template)["PortMappings"] == [{"ContainerPort": 8080, "Protocol": "tcp"}]


def test_logs_go_to_the_given_group_without_blocking_the_application(template):
    log = container_of(template)["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == "api-logs"
    assert log["Options"]["awslogs-region"] == {"Ref": "AWS::Region"}
    assert log["Options"]["mode"] == "non-blocking"
    assert "awslogs-create-group" not in log["Options"]


def test_task_runs_on_fargate_linux_x86_with_the_two_roles(template):
    props = template["Resources"]["ApiTask"]["Properties"]
    assert (props["RequiresCompatibilities"], props["NetworkMode"]) == (["FARGATE"], "awsvpc")
    assert (props["Cpu"], props["Memory"]) == ("256", "512")
    assert props["RuntimePlatform"] == {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"}
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": ["ApiExecutionRole", "Arn"]}
    assert props["TaskRoleArn"] == {"Fn::GetAtt": ["ApiTaskRole", "Arn"]}


# --- service -----------------------------------------------------------------


def test_service_has_no_public_ip(template):
    network = service_of(template)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network == {"AssignPublicIp": "DISABLED", "Subnets": ["subnet-a"],
                       "SecurityGroups": [{"Ref": "ApiGroup"}]}


def test_failed_deployments_roll_back_through_the_circuit_breaker(template):
    deployment = service_of(template)["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert service_of(template)["DeploymentController"] == {"Type": "ECS"}


def test_service_runs_the_latest_platform_on_fargate_behind_the_target_group(template):
    service = service_of(template)
    assert service["PlatformVersion"] == "LATEST"
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE", "Weight": 1}]
    assert service["LoadBalancers"] == [
        {"ContainerName": "api", "ContainerPort": 8080, "TargetGroupArn": {"Ref": "ApiTargets"}}
    ]
    assert (service["EnableECSManagedTags"], service["PropagateTags"]) == (True, "SERVICE")
    assert "DependsOn" not in template["Resources"]["ApiService"]


def test_service_can_run_on_fargate_spot():
    template = build(capacity_provider="FARGATE_SPOT")
    assert service_of(template)["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]


def test_an_unknown_capacity_provider_is_refused():
    with pytest.raises(ValueError, match="capacity provider 'EC2'"):
        build(capacity_provider="EC2")


def test_service_waits_for_the_listener_rule_it_names():
    stack = Stack("services", "ecs")
    targets = ip_target_group(stack, "ApiTargets", vpc_id="v", port=8080, health_check_path="/")
    rule = forward_rule(stack, "ApiRule", listener_arn="l", priority=1, target_group=targets,
                        path_pattern="/api/*")
    roles = task_roles(stack, "Api", "the API")
    definition = fargate_task_definition(stack, "ApiTask", cpu=256, memory=512, container=CONTAINER,
                                         roles=roles)
    fargate_service(stack, "ApiService", cluster="c", task_definition=definition, container=CONTAINER,
                    desired_count=1, subnets=[], security_groups=[], target_group=Ref(targets),
                    depends_on=[rule])
    assert as_dict(stack)["Resources"]["ApiService"]["DependsOn"] == ["ApiRule"]


# --- autoscaling -------------------------------------------------------------


def test_autoscaling_tracks_average_cpu_between_minimum_and_maximum(template):
    target = template["Resources"]["ApiScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert (target["ServiceNamespace"], target["ScalableDimension"]) == ("ecs", "ecs:service:DesiredCount")
    assert target["ResourceId"] == {"Fn::Join": ["/", ["service", "cluster", {"Fn::GetAtt": ["ApiService", "Name"]}]]}
    assert "RoleARN" not in target  # Application Auto Scaling's service-linked role
    policy = template["Resources"]["ApiCpuScaling"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 60.0
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }
