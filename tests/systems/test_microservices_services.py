"""Microservices platform, service shards: the runtime of each service."""

from __future__ import annotations

import re

import pytest

from tap import names
from tap.errors import BuildError
from tap.systems.microservices.placement import derived_priority
from tests.helpers import inline_policy, resources_of_type, statement_by_sid
from tests.systems.microservices import Built, config, names_with_same_shard, service

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shared/stripe-AbCdEf"


@pytest.fixture(scope="module")
def platform() -> Built:
    return Built(config([
        service(
            "orders", port=8081, cpu=512, memory=2048, desired_count=3, min_capacity=2,
            max_capacity=6, cpu_target=60, health_check_path="/ready", keep_images=12,
            environment={"LOG_LEVEL": "info"},
            secrets={"DB": "database", "REDIS": "cache", "API_KEY": "api-key", "STRIPE": SECRET_ARN},
        ),
        service("catalog", path_pattern=None, host="catalog.example.com", priority=10,
                image_tag=None, capacity="FARGATE_SPOT"),
    ], cdn={"forward_host_header": True}))


@pytest.fixture(scope="module")
def orders(platform) -> dict:
    return platform[platform.stack_of("orders")]


def container(template: dict, prefix: str = "Orders") -> dict:
    (definition,) = template["Resources"][f"{prefix}TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def test_every_service_gets_its_own_resource_group(platform):
    assert sorted(platform.resources_of("orders")) == sorted(
        f"Orders{suffix}" for suffix in (
            "Repository", "LogGroup", "ExecutionRole", "TaskRole", "TaskDefinition", "TargetGroup",
            "ListenerRule", "SecurityGroup", "Service", "ScalableTarget", "CpuScaling", "CpuAlarm",
            "MemoryAlarm", "UnhealthyTargetsAlarm", "SecretApiKey",
        )
    )


def test_repository_has_immutable_scanned_images_and_keeps_the_last_n(orders):
    repository = orders["Resources"]["OrdersRepository"]
    props = repository["Properties"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert '"countNumber": 12' in props["LifecyclePolicy"]["LifecyclePolicyText"]
    assert repository["DeletionPolicy"] == "Retain"
    assert "RepositoryName" not in props


def test_task_runs_the_image_tag_the_deploy_passes(orders):
    image = container(orders)["Image"]
    assert image == {"Fn::Sub": ["${Repository}:${OrdersImageTag}",
                                 {"Repository": {"Fn::GetAtt": ["OrdersRepository", "RepositoryUri"]}}]}
    pattern = orders["Parameters"]["OrdersImageTag"]["AllowedPattern"]
    assert re.fullmatch(pattern, "0123456789abcdef0123456789abcdef01234567")
    assert not re.fullmatch(pattern, "latest") and not re.fullmatch(pattern, "")


def test_the_root_passes_each_service_its_element_of_the_shard_list_defaulting_to_the_config(platform):
    shard = platform.stack_of("orders")
    name = shard.replace("services-", "Services") + "ImageTags"
    listed = platform["root"]["Parameters"][name]
    assert listed["Type"] == "CommaDelimitedList"
    passed = platform["root"]["Resources"][name.removesuffix("ImageTags") + "Stack"]["Properties"]["Parameters"]
    (index,) = [i for i, tag in enumerate(listed["Default"].split(","))
                if passed["OrdersImageTag"] == {"Fn::Select": [i, {"Ref": name}]}]
    assert listed["Default"].split(",")[index] == "0123456789abcdef0123456789abcdef01234567"


def test_the_image_condition_is_false_only_for_the_no_image_tag(orders):
    assert orders["Conditions"]["OrdersHasImage"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrdersImageTag"}, "no-image-yet"]}]}


def test_task_size_port_and_health_check_come_from_config(orders):
    task = orders["Resources"]["OrdersTaskDefinition"]["Properties"]
    assert (task["Cpu"], task["Memory"]) == ("512", "2048")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert container(orders)["PortMappings"] == [{"ContainerPort": 8081, "Protocol": "tcp"}]
    group = orders["Resources"]["OrdersTargetGroup"]["Properties"]
    assert (group["Port"], group["HealthCheckPath"], group["TargetType"]) == (8081, "/ready", "ip")


def test_container_is_unprivileged_with_a_read_only_root_and_no_capabilities(orders):
    definition = container(orders)
    assert definition["Privileged"] is False
    assert definition["ReadonlyRootFilesystem"] is True
    assert definition["LinuxParameters"]["Capabilities"] == {"Drop": ["ALL"]}
    assert definition["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]


def test_logs_go_to_the_service_log_group_created_in_the_template(orders):
    options = container(orders)["LogConfiguration"]["Options"]
    assert options["awslogs-group"] == {"Ref": "OrdersLogGroup"}  # a Ref: created first
    assert orders["Resources"]["OrdersLogGroup"]["Properties"]["RetentionInDays"] == 14


def test_secrets_are_injected_by_arn_never_as_plain_environment(orders):
    definition = container(orders)
    secrets = {item["Name"]: item["ValueFrom"] for item in definition["Secrets"]}
    assert secrets == {
        "API_KEY": {"Ref": "OrdersSecretApiKey"},
        "DB": {"Ref": "DatabaseSecretArn"},
        "REDIS": {"Fn::Sub": ["${Secret}:token::", {"Secret": {"Ref": "CacheAuthSecretArn"}}]},
        "STRIPE": {"Ref": "OrdersStripeSecretArn"},
    }
    names = {item["Name"] for item in definition["Environment"]}
    assert not names & set(secrets)
    assert {"LOG_LEVEL", "PORT", "DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "CACHE_HOST",
            "CACHE_PORT"} == names


def test_platform_creates_the_named_secrets_with_a_generated_placeholder(orders):
    secret = orders["Resources"]["OrdersSecretApiKey"]
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"


def test_execution_role_reads_only_the_service_secrets_pulls_its_repository_and_writes_its_logs(orders):
    policy = inline_policy(orders["Resources"]["OrdersExecutionRole"])
    read = statement_by_sid(policy, "ReadContainerSecrets")
    assert read["Action"] == ["secretsmanager:GetSecretValue"]  # all ECS needs to inject secrets
    assert sorted(map(str, read["Resource"])) == sorted(map(str, [
        {"Ref": "CacheAuthSecretArn"}, {"Ref": "DatabaseSecretArn"}, {"Ref": "OrdersSecretApiKey"},
        {"Ref": "OrdersStripeSecretArn"},
    ]))
    assert statement_by_sid(policy, "PullOrdersRepository")["Resource"] == [
        {"Fn::GetAtt": ["OrdersRepository", "Arn"]}]
    assert statement_by_sid(policy, "WriteOrdersLogGroup")["Resource"] == [
        {"Fn::GetAtt": ["OrdersLogGroup", "Arn"]}]
    assert statement_by_sid(policy, "AuthorizeEcr")["Action"] == ["ecr:GetAuthorizationToken"]
    assert len(policy["Statement"]) == 4


def test_task_role_is_separate_and_trusted_only_by_ecs_tasks(orders):
    task = orders["Resources"]["OrdersTaskDefinition"]["Properties"]
    assert task["TaskRoleArn"] != task["ExecutionRoleArn"]
    trust = orders["Resources"]["OrdersTaskRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": ["ecs-tasks.amazonaws.com"]}


def test_service_runs_in_private_subnets_without_public_ips(orders):
    network = orders["Resources"]["OrdersService"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["Subnets"] == {"Ref": "PrivateSubnetIds"}
    assert network["SecurityGroups"] == [
        {"Fn::GetAtt": ["OrdersSecurityGroup", "GroupId"]}, {"Ref": "ServicesSecurityGroupId"}]


def test_deployments_roll_back_on_failure(orders):
    service_props = orders["Resources"]["OrdersService"]["Properties"]
    assert service_props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_a_service_runs_its_tasks_and_scales_only_with_an_image(orders):
    resources = orders["Resources"]
    assert resources["OrdersService"]["Properties"]["DesiredCount"] == {"Fn::If": ["OrdersHasImage", 3, 0]}
    assert resources["OrdersScalableTarget"]["Condition"] == "OrdersHasImage"
    assert resources["OrdersCpuScaling"]["Condition"] == "OrdersHasImage"


def test_service_waits_for_its_listener_rule(orders):
    assert orders["Resources"]["OrdersService"]["DependsOn"] == ["OrdersListenerRule"]


def test_service_security_group_admits_only_the_load_balancer_on_the_service_port(orders):
    (rule,) = orders["Resources"]["OrdersSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert rule["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroupId"}
    assert (rule["FromPort"], rule["ToPort"]) == (8081, 8081)


def test_path_rule_forwards_to_the_service_target_group(platform, orders):
    rule = orders["Resources"]["OrdersListenerRule"]["Properties"]
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/orders/*"]}}]
    assert rule["Actions"] == [{"TargetGroupArn": {"Ref": "OrdersTargetGroup"}, "Type": "forward"}]
    assert rule["Priority"] == derived_priority(platform.settings.services[0])
    assert rule["ListenerArn"] == {"Fn::Select": [0, {"Ref": "LoadBalancerListenerArns"}]}


def test_host_rule_uses_the_explicit_priority(platform):
    rule = platform[platform.stack_of("catalog")]["Resources"]["CatalogListenerRule"]["Properties"]
    assert rule["Conditions"] == [{"Field": "host-header", "HostHeaderConfig": {"Values": ["catalog.example.com"]}}]
    assert rule["Priority"] == 10


def test_cpu_target_tracking_between_min_and_max(orders):
    target = orders["Resources"]["OrdersScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert target["ResourceId"] == {"Fn::Join": ["/", [
        "service", {"Ref": "ClusterName"}, {"Fn::GetAtt": ["OrdersService", "Name"]}]]}
    policy = orders["Resources"]["OrdersCpuScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["TargetValue"] == 60.0
    assert policy["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"


def test_a_service_without_an_image_tag_starts_with_no_image(platform):
    shard = platform.stack_of("catalog")
    name = shard.replace("services-", "Services") + "ImageTags"
    passed = platform["root"]["Resources"][name.removesuffix("ImageTags") + "Stack"]["Properties"]["Parameters"]
    index = passed["CatalogImageTag"]["Fn::Select"][0]
    assert platform["root"]["Parameters"][name]["Default"].split(",")[index] == "no-image-yet"
    resources = platform.resources_of("catalog")
    assert resources["CatalogService"]["Properties"]["DesiredCount"] == {"Fn::If": ["CatalogHasImage", 2, 0]}


def test_capacity_provider_comes_from_config(platform):
    strategy = platform.resources_of("catalog")["CatalogService"]["Properties"]["CapacityProviderStrategy"]
    assert strategy == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]


def test_cpu_memory_and_unhealthy_target_alarms_notify_the_topic(orders):
    alarms = {logical_id: alarm["Properties"]
              for logical_id, alarm in resources_of_type(orders, "AWS::CloudWatch::Alarm").items()}
    assert set(alarms) == {"OrdersCpuAlarm", "OrdersMemoryAlarm", "OrdersUnhealthyTargetsAlarm"}
    assert all(alarm["AlarmActions"] == [{"Ref": "AlarmTopicArn"}] for alarm in alarms.values())
    unhealthy = {d["Name"]: d["Value"] for d in alarms["OrdersUnhealthyTargetsAlarm"]["Dimensions"]}
    assert unhealthy["TargetGroup"] == {"Fn::GetAtt": ["OrdersTargetGroup", "TargetGroupFullName"]}


def test_a_shard_declares_only_the_parameters_its_services_use(platform):
    catalog = platform[platform.stack_of("catalog")]
    assert "DatabaseSecretArn" not in catalog["Parameters"]
    assert "CacheAuthSecretArn" not in catalog["Parameters"]


def test_a_shard_nests_the_pipelines_of_its_services(platform, orders):
    nested = orders["Resources"][platform.pipelines_of("orders").replace("pipelines-", "Pipelines") + "Stack"]
    parameters = nested["Properties"]["Parameters"]
    assert parameters["OrdersRepositoryName"] == {"Ref": "OrdersRepository"}
    assert parameters["OrdersServiceName"] == {"Fn::GetAtt": ["OrdersService", "Name"]}
    assert parameters["OrdersTaskRoleArn"] == {"Fn::GetAtt": ["OrdersTaskRole", "Arn"]}


def test_services_sharing_a_shard_share_its_template():
    first, second = names_with_same_shard()
    built = Built(config([service(first), service(second)]))
    assert built.stack_of(first) == built.stack_of(second)
    assert len([name for name in built.templates if name.startswith("services-")]) == 1


def test_a_full_shard_fails_the_build_naming_the_service_and_the_setting_to_change():
    names = names_with_same_shard(40)
    services = [service(name, secrets={f"S{n}": f"secret-{n}" for n in range(3)}) for name in names]
    with pytest.raises(BuildError) as caught:
        Built(config(services))
    message = str(caught.value)
    assert "crosses CloudFormation quotas: resources: more than 500" in message
    assert "set `shard = 0`" in message
    assert "services[" in message


def test_each_shard_outputs_every_value_of_its_services_people_need(platform, orders):
    outputs = orders["Outputs"]
    assert {f"Orders{suffix}" for suffix in names.PER_UNIT_OUTPUTS} <= set(outputs)
    assert outputs["OrdersServiceName"]["Value"] == {"Fn::GetAtt": ["OrdersService", "Name"]}
    assert outputs["OrdersRepositoryUri"]["Value"] == {"Fn::GetAtt": ["OrdersRepository", "RepositoryUri"]}
    pipelines = platform.pipelines_of("orders").replace("pipelines-", "Pipelines") + "Stack"
    for name in ("OrdersDeployRoleArn", "OrdersPipelineName"):
        assert outputs[name]["Value"] == {"Fn::GetAtt": [pipelines, f"Outputs.{name}"]}
    catalog = platform[platform.stack_of("catalog")]["Outputs"]
    assert {f"Catalog{suffix}" for suffix in names.PER_UNIT_OUTPUTS} <= set(catalog)
