"""Service shards: the runtime of every service, spread over `services-NNN` stacks.

A service lives in shard `placement.shard_of(service)` (a hash of its name
unless pinned with `shard`), its logical ids start with its CamelCased
name, its listener rule sits on load balancer `placement.balancer_of(service,
count)` (a hash of its host or first path segment) with priority
`placement.listener_priority(service)`.
None of these depend on any other service, so adding, removing or
reordering services never moves, renames or re-prioritises another one:
only the shards that gain or lose a service change (and the root, which
points at their new template hashes).

Per service:
- ECR repository (immutable tags, scan on push, keeps the last N images),
- log group, task execution role and task role,
- secrets the platform creates for it (random placeholders: set the real
  values with put-secret-value),
- Fargate task definition: cpu/memory/port/environment from config,
  secrets injected by ARN, the image at `image_tag`,
- its own security group admitting only the load balancer on its port,
- target group, listener rule (path or host), ECS service in the private
  subnets without public IPs, circuit breaker with rollback,
- CPU target-tracking autoscaling between min and max capacity,
- CPU, memory and unhealthy-target alarms.

Outputs, per service: `<Service>ServiceName`, `<Service>RepositoryUri`, and from its
pipelines stack `<Service>DeployRoleArn` and `<Service>PipelineName` (what the service's
GitHub workflow needs); `./deploy.sh outputs` lists them by service.

Each shard nests a `pipelines-NNN` stack with the same services' CI/CD.

Images. The tag each service runs is a parameter (see images.py): `./deploy.sh`
passes the image running now or the config's `image_tag`, whichever was pushed
later and is in the repository, so an update never rolls a service back to an
older image than its pipeline deployed. Until its repository holds an image a
service runs no task and has no autoscaling, so a fresh account deploys the
committed configs as they are; the first pipeline run pushes `:<commit SHA>`
and the next deploy starts the service on it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, ecs
from troposphere import elasticloadbalancingv2 as elbv2

from tap.blocks.alb import forward_rule, ip_target_group
from tap.blocks.ecr import Repository, container_repository
from tap.blocks.ecs import (
    Container,
    SecretValue,
    TaskRoles,
    cpu_autoscaling,
    fargate_service,
    fargate_task_definition,
    task_roles,
)
from tap.blocks.elasticache import AUTH_TOKEN_KEY
from tap.blocks.iam import SecretRef
from tap.blocks.logs import log_group
from tap.blocks.monitoring import PER_MINUTE, alarm
from tap.blocks.secrets import generated_secret
from tap.blocks.security_groups import Rule, security_group
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings, ServiceSettings, secret_kind
from tap.config.schema import Invalid, show
from tap.errors import BuildError
from tap.stacktree import Stack, camel
from tap.systems.microservices.accounts import secret_arn_parameter
from tap.systems.microservices.cluster import BalancerOutputs, pick
from tap.systems.microservices.ids import (
    CONTAINER_NAME,
    service_prefix,
    services_stack_name,
)
from tap.systems.microservices.images import service_image
from tap.systems.microservices.pipelines import (
    DeployTarget,
    PipelinesInputs,
    ServicePipelineOutputs,
    pipelines_stack,
)
from tap.systems.microservices.placement import (
    balancer_of,
    listener_priority,
    services_in_shard,
    shards,
)
from tap.wiring import declare, prefixed, publish, wire

# How troposphere refuses a logical id a template already holds: a clash of the names
# users chose (services, secrets), as opposed to any other ValueError, which is a bug.
_DUPLICATE_ID = re.compile(r'duplicate key "(.+)" detected')


@dataclass(frozen=True)
class ShardInputs:
    """What every service shard receives from the root."""

    cluster_name: CfnValue = wire("ECS cluster of the services.")
    vpc_id: CfnValue = wire("VPC of the platform.", "AWS::EC2::VPC::Id")
    private_subnet_ids: CfnValue = wire("Private subnets, one per AZ.", "List<AWS::EC2::Subnet::Id>")
    load_balancer_security_group_id: CfnValue = wire(
        "Security group of the load balancer.", "AWS::EC2::SecurityGroup::Id"
    )
    services_security_group_id: CfnValue = wire(
        "Security group every service task carries (outbound rules).", "AWS::EC2::SecurityGroup::Id"
    )
    alarm_topic_arn: CfnValue = wire("Topic the alarms notify.")
    database_address: CfnValue = wire("PostgreSQL host.")
    database_port: CfnValue = wire("PostgreSQL port.")
    database_secret_arn: CfnValue = wire("Secret with the database master credentials.")
    cache_address: CfnValue = wire("Cache primary endpoint.")
    cache_port: CfnValue = wire("Cache port.")
    cache_auth_secret_arn: CfnValue = wire("Secret with the cache AUTH token.")
    artifacts_bucket_name: CfnValue = wire("Bucket holding pipeline artefacts.")
    connection_arn: CfnValue = wire("GitHub connection of the pipelines.")
    oidc_provider_arn: CfnValue = wire("GitHub Actions OIDC provider.")


@dataclass(frozen=True)
class ServiceOutputs:
    """One service, for people and tools (`deploy.sh outputs` lists them per service)."""

    service_name: CfnValue = wire("ECS service of {what}.")
    repository_uri: CfnValue = wire("ECR repository {what}'s pipeline pushes its images to.")


@dataclass(frozen=True)
class ServiceRuntime:
    """What the pipeline of a service needs from its runtime."""

    repository: Repository
    roles: TaskRoles
    service: ecs.Service


def shard_material(settings: MicroservicesSettings, shard: int) -> str:
    """All a shard's stack is made from: the platform's settings and its own services (no
    other service changes it: placement is a function of each service alone)."""
    platform = [(field.name, getattr(settings, field.name)) for field in dataclasses.fields(settings)
                if field.name != "services"]
    return repr((platform, shard, services_in_shard(settings, shard)))


def services_stack(settings: MicroservicesSettings, shard: int) -> Stack:
    """The shard's stack: it takes ShardInputs, BalancerOutputs, AccountValues and its image tags."""
    services = services_in_shard(settings, shard)
    # Made with the tree's tags: a shard may be rendered before it is nested (tap.stackmaker).
    stack = Stack(services_stack_name(shard), f"tap microservices: services of shard {shard}", tags=settings.tags)
    shared = declare(stack, ShardInputs)
    balancers = declare(stack, BalancerOutputs)
    runtimes = {}
    for service in services:
        balancer = balancer_of(service, settings.load_balancer.count)
        try:
            runtimes[service.name] = add_service(stack, settings, service, shared, balancers, balancer)
        except BuildError as err:
            raise _shard_full(settings, shard, service, err) from None
        except ValueError as err:
            clash = _DUPLICATE_ID.fullmatch(str(err))
            if clash is None:
                raise  # not a name the user chose: a bug in tap, with its traceback
            others = ", ".join(show(other.name) for other in services if other is not service)
            raise Invalid(
                f"{show(service.name)} makes logical id {clash[1]}, which another service of shard "
                f"{shard} ({others}) already makes in {stack.file_name}",
                "a name whose logical ids differ from every other service's of the shard: rename "
                "one of them, or pin one to another shard with `shard = N`",
                key=f"services[{settings.services.index(service)}].name",
            ) from None
    try:
        add_pipelines(stack, settings, shard, shared, runtimes)
    except BuildError as err:
        raise _shard_full(settings, shard, services[-1], err) from None
    return stack


def _shard_full(
    settings: MicroservicesSettings, shard: int, service: ServiceSettings, err: BuildError
) -> BuildError:
    used = set(shards(settings))
    free = next((number for number in range(len(used) + 1) if number not in used), None)
    index = settings.services.index(service)
    return BuildError(
        f"{err}. Shard {shard} cannot hold service {service.name!r} as well: set `shard = {free}` "
        f"(an empty shard) on services[{index}] if it is not deployed yet, or on another "
        f"not-yet-deployed service of the shard (moving a deployed service replaces it)"
    )


def add_service(
    stack: Stack, settings: MicroservicesSettings, service: ServiceSettings, shared: ShardInputs,
    balancers: BalancerOutputs, balancer: int,
) -> ServiceRuntime:
    prefix = service_prefix(service)
    repository = container_repository(stack, f"{prefix}Repository", keep_images=service.keep_images)
    logs = log_group(stack, f"{prefix}LogGroup", service.log_retention_days)
    roles = task_roles(stack, prefix, f"the {service.name} service")
    image = service_image(stack, service)
    container = Container(
        name=CONTAINER_NAME,
        repository=repository.ref,
        repository_uri=repository.uri,
        image_tag=f"${{{image.tag}}}",
        port=service.port,
        log_group=logs.ref,
        environment=service_environment(settings, service, shared),
        secrets=add_secrets(stack, service, prefix, shared),
        read_only_root_filesystem=service.read_only_root_filesystem,
    )
    task = fargate_task_definition(
        stack, f"{prefix}TaskDefinition", cpu=service.cpu, memory=service.memory,
        container=container, roles=roles,
    )
    target_group = ip_target_group(
        stack, f"{prefix}TargetGroup", vpc_id=shared.vpc_id, port=service.port,
        health_check_path=service.health_check_path,
    )
    rule = add_listener_rule(stack, service, prefix, pick(balancers.load_balancer_listener_arns, balancer),
                             target_group)
    group = add_security_group(stack, service, prefix, shared)
    ecs_service = fargate_service(
        stack, f"{prefix}Service",
        cluster=shared.cluster_name,
        task_definition=task,
        container=container,
        desired_count=image.when_built(service.desired_count, 0),
        subnets=shared.private_subnet_ids,
        security_groups=[GetAtt(group, "GroupId"), shared.services_security_group_id],
        target_group=Ref(target_group),
        capacity_provider=service.capacity,
        depends_on=[rule],
    )
    scaling = cpu_autoscaling(
        stack, prefix, cluster_name=shared.cluster_name, service=ecs_service,
        minimum=service.min_capacity, maximum=service.max_capacity,
        target_percent=service.cpu_target,
    )
    # Registering a scalable target moves the service into [min, max] at once: not
    # before there is an image to run.
    scaling.Condition = image.has_image
    stack.template.resources[scaling.ScalingTargetId.data["Ref"]].Condition = image.has_image
    add_alarms(stack, settings, service, prefix, shared, pick(balancers.load_balancer_full_names, balancer),
               ecs_service, target_group)
    publish(stack, ServiceOutputs(service_name=GetAtt(ecs_service, "Name"), repository_uri=repository.uri),
            prefix, what=service.name)
    return ServiceRuntime(repository=repository, roles=roles, service=ecs_service)


def service_environment(
    settings: MicroservicesSettings, service: ServiceSettings, shared: ShardInputs
) -> dict[str, Any]:
    """The service's own variables plus where the platform's database and cache are."""
    return {
        **service.environment,
        "PORT": str(service.port),
        "DATABASE_HOST": shared.database_address,
        "DATABASE_PORT": shared.database_port,
        "DATABASE_NAME": settings.database.database_name,
        "CACHE_HOST": shared.cache_address,
        "CACHE_PORT": shared.cache_port,
    }


def add_secrets(
    stack: Stack, service: ServiceSettings, prefix: str, shared: ShardInputs
) -> Mapping[str, SecretValue]:
    """Each secret variable of the service -> where ECS reads it from."""
    created = {
        name: generated_secret(
            stack, f"{prefix}Secret{camel(name)}",
            f"{service.name}: {name}. Created with a random placeholder: set the real value "
            "with put-secret-value; new tasks read it.",
        )
        for name in service.created_secrets
    }
    values = {}
    for variable, reference in service.secrets.items():
        kind = secret_kind(reference)
        if reference == "database":  # the JSON document {"username": ..., "password": ...}
            values[variable] = SecretValue(SecretRef("DatabaseSecret", shared.database_secret_arn))
        elif reference == "cache":
            values[variable] = SecretValue(
                SecretRef("CacheAuthSecret", shared.cache_auth_secret_arn), AUTH_TOKEN_KEY
            )
        elif kind == "created":
            values[variable] = SecretValue(created[reference])
        else:  # an ARN names an account: the root takes it as a parameter
            name = secret_arn_parameter(service, variable)
            arn = stack.parameter(name, Description=f"{service.name}: the secret {variable} reads.")
            values[variable] = SecretValue(SecretRef(name, Ref(arn)))
    return values


def add_listener_rule(
    stack: Stack, service: ServiceSettings, prefix: str, listener_arn: Any,
    target_group: elbv2.TargetGroup,
) -> elbv2.ListenerRule:
    return forward_rule(
        stack, f"{prefix}ListenerRule",
        listener_arn=listener_arn,
        priority=listener_priority(service),
        target_group=target_group,
        path_pattern=service.path_pattern,
        host=service.host,
    )


def add_security_group(
    stack: Stack, service: ServiceSettings, prefix: str, shared: ShardInputs
) -> Any:
    return security_group(
        stack, f"{prefix}SecurityGroup",
        f"{service.name}: its port from the load balancer only",
        vpc_id=shared.vpc_id,
        ingress=[Rule(f"Load balancer to {service.name}", service.port,
                      group=shared.load_balancer_security_group_id)],
    )


def add_alarms(
    stack: Stack, settings: MicroservicesSettings, service: ServiceSettings, prefix: str,
    shared: ShardInputs, load_balancer_full_name: Any, ecs_service: ecs.Service,
    target_group: elbv2.TargetGroup,
) -> None:
    limits = settings.monitoring
    ecs_dimensions = {"ClusterName": shared.cluster_name, "ServiceName": GetAtt(ecs_service, "Name")}
    for logical_id, metric, percent in (
        (f"{prefix}CpuAlarm", "CPUUtilization", limits.service_cpu_alarm_percent),
        (f"{prefix}MemoryAlarm", "MemoryUtilization", limits.service_memory_alarm_percent),
    ):
        alarm(
            stack, logical_id,
            description=f"{service.name}: average {metric} above {percent} %",
            namespace="AWS/ECS", metric=metric, dimensions=ecs_dimensions,
            statistic="Average", comparison="GreaterThanThreshold", threshold=percent,
            notify=shared.alarm_topic_arn, window=PER_MINUTE,
        )
    alarm(
        stack, f"{prefix}UnhealthyTargetsAlarm",
        description=f"{service.name}: the load balancer sees unhealthy tasks",
        namespace="AWS/ApplicationELB", metric="UnHealthyHostCount",
        dimensions={
            "LoadBalancer": load_balancer_full_name,
            "TargetGroup": GetAtt(target_group, "TargetGroupFullName"),
        },
        statistic="Maximum", comparison="GreaterThanOrEqualToThreshold", threshold=1,
        notify=shared.alarm_topic_arn, window=PER_MINUTE,
    )


def add_pipelines(
    stack: Stack,
    settings: MicroservicesSettings,
    shard: int,
    shared: ShardInputs,
    runtimes: Mapping[str, ServiceRuntime],
) -> None:
    services = services_in_shard(settings, shard)
    child = pipelines_stack(settings, shard, services)
    targets = [
        prefixed(DeployTarget(
            repository_name=runtimes[service.name].repository.ref.name,
            service_name=GetAtt(runtimes[service.name].service, "Name"),
            service_arn=Ref(runtimes[service.name].service),
            task_role_arn=runtimes[service.name].roles.task.arn,
            execution_role_arn=runtimes[service.name].roles.execution.arn,
        ), service_prefix(service))
        for service in services
    ]
    pipelines = stack.nest(child, PipelinesInputs(
        artifacts_bucket_name=shared.artifacts_bucket_name,
        connection_arn=shared.connection_arn,
        oidc_provider_arn=shared.oidc_provider_arn,
        cluster_name=shared.cluster_name,
    ), *targets)
    # The shard's outputs name each of its services' values one level down from the root.
    for service in services:
        prefix = service_prefix(service)
        publish(stack, pipelines.outputs(ServicePipelineOutputs, prefix), prefix, what=service.name)
