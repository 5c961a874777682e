"""ECS on Fargate: a cluster, task roles, task definitions and services.

Secure defaults:
- cluster: Container Insights on; FARGATE and FARGATE_SPOT capacity
  providers available, FARGATE by default.
- task roles: an execution role (pull the image, write the task's own log
  group, read only the secrets the container names) separate from the
  task role the application runs as; both trusted only by ECS tasks.
- task definition: one essential container, non-privileged, every Linux
  capability dropped (so it cannot bind ports below 1024), an init process
  to reap zombies, read-only root filesystem with a writable `/tmp`
  volume, logs to a log group the caller created first (non-blocking, so a
  slow log stream never stalls the application), secrets injected from
  Secrets Manager by ARN (never as plain environment), an image referenced
  by an immutable tag.
- service: private subnets without public IPs, latest Fargate platform,
  deployment circuit breaker with rollback, 100-200 % rolling deployments,
  ECS-managed tags propagated from the service.
- autoscaling: target tracking on average CPU between a minimum and
  maximum task count, through Application Auto Scaling's service-linked
  role (no role to manage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from troposphere import GetAtt, Join, Ref, Sub, ecs
from troposphere import applicationautoscaling as scaling

from tap.blocks import actions
from tap.blocks.iam import (
    LogGroupRef,
    RepositoryRef,
    Role,
    SecretRef,
    grant_read,
    grant_write,
    service_trust,
)
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack

CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def fargate_cluster(stack: Stack, logical_id: str, *, container_insights: str = "enabled") -> ecs.Cluster:
    return stack.add(
        ecs.Cluster(
            logical_id,
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value=container_insights)],
            CapacityProviders=list(CAPACITY_PROVIDERS),
            DefaultCapacityProviderStrategy=[
                ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=1)
            ],
        )
    )


@dataclass(frozen=True)
class TaskRoles:
    execution: Role
    task: Role


def task_roles(stack: Stack, prefix: str, what: str) -> TaskRoles:
    """`{prefix}ExecutionRole` (used by ECS to start the task) and `{prefix}TaskRole`
    (the application's identity, with no permissions until the caller grants some)."""
    return TaskRoles(
        execution=Role(
            stack, f"{prefix}ExecutionRole", service_trust("ecs-tasks.amazonaws.com"),
            f"Starts the tasks of {what}: pulls its image, writes its logs, reads its secrets",
        ),
        task=Role(
            stack, f"{prefix}TaskRole", service_trust("ecs-tasks.amazonaws.com"),
            f"The identity {what} runs as",
        ),
    )


@dataclass(frozen=True)
class SecretValue:
    """Where one secret environment variable comes from: a secret, optionally one JSON key of it."""

    secret: SecretRef
    json_key: str | None = None

    @property
    def value_from(self) -> CfnValue:
        if self.json_key is None:
            return self.secret.arn
        return Sub(f"${{Secret}}:{self.json_key}::", Secret=self.secret.arn)


@dataclass(frozen=True)
class Container:
    """The one container of a task definition."""

    name: str
    repository: RepositoryRef
    repository_uri: CfnValue
    image_tag: str
    port: int
    log_group: LogGroupRef
    environment: Mapping[str, CfnValue] = field(default_factory=dict)
    secrets: Mapping[str, SecretValue] = field(default_factory=dict)
    read_only_root_filesystem: bool = True

    @property
    def image(self) -> Sub:
        return Sub(f"${{Repository}}:{self.image_tag}", Repository=self.repository_uri)


_SCRATCH_VOLUME = "tmp"


def fargate_task_definition(
    stack: Stack,
    logical_id: str,
    *,
    cpu: int,
    memory: int,
    container: Container,
    roles: TaskRoles,
) -> ecs.TaskDefinition:
    """A Linux/x86-64 Fargate task running `container`; grants the execution role what it needs."""
    grant_read(roles.execution, container.repository)
    grant_write(roles.execution, container.log_group)
    secret_arns = {value.secret.label: value.secret.arn for value in container.secrets.values()}
    if secret_arns:
        roles.execution.allow(
            "ReadContainerSecrets", actions.SECRET_READ, [secret_arns[label] for label in sorted(secret_arns)]
        )
    definition = ecs.ContainerDefinition(
        Name=container.name,
        Image=container.image,
        Essential=True,
        Privileged=False,
        ReadonlyRootFilesystem=container.read_only_root_filesystem,
        LinuxParameters=ecs.LinuxParameters(
            Capabilities=ecs.KernelCapabilities(Drop=["ALL"]), InitProcessEnabled=True
        ),
        PortMappings=[ecs.PortMapping(ContainerPort=container.port, Protocol="tcp")],
        Environment=[
            ecs.Environment(Name=name, Value=value)
            for name, value in sorted(container.environment.items())
        ],
        Secrets=[
            ecs.Secret(Name=name, ValueFrom=value.value_from)
            for name, value in sorted(container.secrets.items())
        ],
        MountPoints=[ecs.MountPoint(SourceVolume=_SCRATCH_VOLUME, ContainerPath="/tmp", ReadOnly=False)],
        LogConfiguration=ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": container.log_group.name,
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": container.name,
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        ),
    )
    return stack.add(
        ecs.TaskDefinition(
            logical_id,
            RequiresCompatibilities=["FARGATE"],
            NetworkMode="awsvpc",
            Cpu=str(cpu),
            Memory=str(memory),
            RuntimePlatform=ecs.RuntimePlatform(
                OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"
            ),
            ExecutionRoleArn=roles.execution.arn,
            TaskRoleArn=roles.task.arn,
            ContainerDefinitions=[definition],
            Volumes=[ecs.Volume(Name=_SCRATCH_VOLUME)],
        )
    )


def fargate_service(
    stack: Stack,
    logical_id: str,
    *,
    cluster: CfnValue,
    task_definition: ecs.TaskDefinition,
    container: Container,
    desired_count: int,
    subnets: CfnValue,
    security_groups: list[CfnValue],
    target_group: Any,
    capacity_provider: str = "FARGATE",
    depends_on: Sequence[Any] = (),
) -> ecs.Service:
    """A service behind `target_group`. `depends_on` must name the listener rule that
    forwards to the target group: ECS refuses a target group no listener uses."""
    if capacity_provider not in CAPACITY_PROVIDERS:
        raise ValueError(f"capacity provider {capacity_provider!r} is not one of {CAPACITY_PROVIDERS}")
    service = ecs.Service(
        logical_id,
        Cluster=cluster,
        TaskDefinition=Ref(task_definition),
        DesiredCount=desired_count,
        CapacityProviderStrategy=[
            ecs.CapacityProviderStrategyItem(CapacityProvider=capacity_provider, Weight=1)
        ],
        PlatformVersion="LATEST",
        NetworkConfiguration=ecs.NetworkConfiguration(
            AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                AssignPublicIp="DISABLED", Subnets=subnets, SecurityGroups=security_groups
            )
        ),
        LoadBalancers=[
            ecs.LoadBalancer(
                ContainerName=container.name, ContainerPort=container.port,
                TargetGroupArn=target_group,
            )
        ],
        HealthCheckGracePeriodSeconds=60,
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
            MinimumHealthyPercent=100,
            MaximumPercent=200,
        ),
        DeploymentController=ecs.DeploymentController(Type="ECS"),
        EnableECSManagedTags=True,
        PropagateTags="SERVICE",
    )
    if depends_on:
        service.DependsOn = [resource.title for resource in depends_on]
    return stack.add(service)


def cpu_autoscaling(
    stack: Stack,
    prefix: str,
    *,
    cluster_name: CfnValue,
    service: ecs.Service,
    minimum: int,
    maximum: int,
    target_percent: int,
) -> scaling.ScalingPolicy:
    """`{prefix}ScalableTarget` and `{prefix}CpuScaling`: keep average CPU near `target_percent`."""
    target = stack.add(
        scaling.ScalableTarget(
            f"{prefix}ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", cluster_name, GetAtt(service, "Name")]),
            MinCapacity=minimum,
            MaxCapacity=maximum,
        )
    )
    return stack.add(
        scaling.ScalingPolicy(
            f"{prefix}CpuScaling",
            PolicyName="cpu-target-tracking",
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=scaling.TargetTrackingScalingPolicyConfiguration(
                TargetValue=float(target_percent),
                PredefinedMetricSpecification=scaling.PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"
                ),
                ScaleInCooldown=120,
                ScaleOutCooldown=60,
            ),
        )
    )
