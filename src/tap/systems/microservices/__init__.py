"""System B: microservices platform with CI/CD (README.md, "Microservices platform").

The root reads like a table of contents: one nested stack per concern,
wired through parameters and outputs, then one `services-NNN` stack per
non-empty shard of services (each nesting its `pipelines-NNN` stack).
Besides the templates, the build emits one GitHub Actions workflow per
service under `workflows/`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tap import names
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems import SystemBuild, Tools
from tap.systems.microservices.accounts import AccountValues, account_values
from tap.systems.microservices.cache import CacheInputs, CacheOutputs, cache_stack
from tap.systems.microservices.cdn import CdnInputs, CdnOutputs, cdn_stack
from tap.systems.microservices.cluster import (
    BalancerOutputs,
    ClusterInputs,
    ClusterOutputs,
    cluster_stack,
)
from tap.systems.microservices.database import (
    DatabaseInputs,
    DatabaseOutputs,
    database_stack,
)
from tap.systems.microservices.github import GitHubAccess, github_access, pipeline_stack
from tap.systems.microservices.images import shard_image_tags
from tap.systems.microservices.monitoring import (
    MonitoringInputs,
    MonitoringOutputs,
    monitoring_stack,
)
from tap.systems.microservices.network import NetworkOutputs, network_stack
from tap.systems.microservices.placement import (
    check_placement,
    services_in_shard,
    shards,
)
from tap.systems.microservices.security import (
    SecurityInputs,
    SecurityOutputs,
    security_stack,
)
from tap.systems.microservices.services import (
    ShardInputs,
    services_stack,
    shard_material,
)
from tap.systems.microservices.storage import StorageOutputs, storage_stack
from tap.systems.microservices.workflows import render_workflows
from tap.wiring import parameter_name, publish, wire


@dataclass(frozen=True)
class PlatformOutputs:
    """What the root surfaces, for people and for tools outside the services."""

    vpc_id: CfnValue = wire("VPC of the platform.")
    distribution_domain_name: CfnValue = wire("Where users reach the platform (point DNS aliases here).")
    cluster_name: CfnValue = wire("ECS cluster of the services.")
    cluster_arn: CfnValue = wire("ARN of the ECS cluster.")
    artifacts_bucket_name: CfnValue = wire("Bucket holding pipeline artefacts.")
    static_bucket_name: CfnValue = wire("Upload static assets here under static/ (served at /static/*).")
    alarm_topic_arn: CfnValue = wire("Topic every alarm notifies.")
    dashboard_name: CfnValue = wire("CloudWatch dashboard.")
    github_connection_arn: CfnValue = wire("GitHub connection of the pipelines: complete it once in the console.")
    database_address: CfnValue = wire("PostgreSQL host (private subnets).")
    database_port: CfnValue = wire("PostgreSQL port.")
    database_secret_arn: CfnValue = wire("Secret with the database master credentials (JSON).")
    cache_address: CfnValue = wire("Cache primary endpoint (TLS, private subnets).")
    cache_port: CfnValue = wire("Cache port.")
    cache_auth_secret_arn: CfnValue = wire("Secret with the cache AUTH token (JSON key 'token').")


def build(settings: MicroservicesSettings, tools: Tools) -> SystemBuild:
    check_placement(settings)  # before anything is placed: quotas, unique priorities
    root = Stack.root(
        "root",
        f"tap microservices platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    accounts = account_values(root, settings)
    network = root.nest(network_stack(settings.network)).outputs(NetworkOutputs)
    security = root.nest(security_stack(settings.load_balancer), SecurityInputs(
        vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    )).outputs(SecurityOutputs)
    storage = root.nest(storage_stack(settings)).outputs(StorageOutputs)
    database = root.nest(database_stack(settings.database), DatabaseInputs(
        private_subnet_ids=network.private_subnet_ids,
        database_security_group_id=security.database_security_group_id,
    )).outputs(DatabaseOutputs)
    cache = root.nest(cache_stack(settings.cache), CacheInputs(
        private_subnet_ids=network.private_subnet_ids,
        cache_security_group_id=security.cache_security_group_id,
    )).outputs(CacheOutputs)
    cluster_stack_ = root.nest(cluster_stack(settings), ClusterInputs(
        private_subnet_ids=network.private_subnet_ids,
        public_subnet_ids=network.public_subnet_ids,
        load_balancer_security_group_id=security.load_balancer_security_group_id,
        logs_bucket_name=storage.logs_bucket_name,
    ), *accounts)
    cluster = cluster_stack_.outputs(ClusterOutputs)
    balancers = cluster_stack_.outputs(BalancerOutputs)
    monitoring_stack_ = root.nest(monitoring_stack(settings), MonitoringInputs(
        cluster_name=cluster.cluster_name,
        database_instance_id=database.database_instance_id,
        cache_replication_group_id=cache.cache_replication_group_id,
    ), balancers)
    monitoring = monitoring_stack_.outputs(MonitoringOutputs)
    cdn = root.nest(cdn_stack(settings), CdnInputs(
        static_bucket_name=storage.static_bucket_name,
        static_bucket_arn=storage.static_bucket_arn,
        static_bucket_domain_name=storage.static_bucket_domain_name,
        cdn_logs_bucket_domain_name=storage.cdn_logs_bucket_domain_name,
    ), balancers, *accounts).outputs(CdnOutputs)
    pipeline = add_pipeline(root, settings, accounts)
    add_service_shards(root, settings, tools, accounts, balancers, ShardInputs(
        cluster_name=cluster.cluster_name,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        load_balancer_security_group_id=security.load_balancer_security_group_id,
        services_security_group_id=security.services_security_group_id,
        alarm_topic_arn=monitoring.alarm_topic_arn,
        database_address=database.database_address,
        database_port=database.database_port,
        database_secret_arn=database.database_secret_arn,
        cache_address=cache.cache_address,
        cache_port=cache.cache_port,
        cache_auth_secret_arn=cache.cache_auth_secret_arn,
        artifacts_bucket_name=storage.artifacts_bucket_name,
        connection_arn=pipeline.connection_arn,
        oidc_provider_arn=pipeline.oidc_provider_arn,
    ))
    publish(root, PlatformOutputs(
        vpc_id=network.vpc_id,
        distribution_domain_name=cdn.distribution_domain_name,
        cluster_name=cluster.cluster_name,
        cluster_arn=cluster.cluster_arn,
        artifacts_bucket_name=storage.artifacts_bucket_name,
        static_bucket_name=storage.static_bucket_name,
        alarm_topic_arn=monitoring.alarm_topic_arn,
        dashboard_name=monitoring.dashboard_name,
        github_connection_arn=pipeline.connection_arn,
        database_address=database.database_address,
        database_port=database.database_port,
        database_secret_arn=database.database_secret_arn,
        cache_address=cache.cache_address,
        cache_port=cache.cache_port,
        cache_auth_secret_arn=cache.cache_auth_secret_arn,
    ))
    root.output(names.ROLLBACK_COMPOSITE_ALARMS_OUTPUT,
                monitoring_stack_.output(names.ROLLBACK_COMPOSITE_ALARMS_OUTPUT),
                "Alarms that roll a deploy back when they fire.")
    add_balancer_outputs(root, settings, balancers)
    return SystemBuild(root, files=render_workflows(settings))


def add_pipeline(root: Stack, settings: MicroservicesSettings, accounts: AccountValues) -> GitHubAccess:
    stack = pipeline_stack(settings)
    return github_access(settings, root.nest(stack) if stack is not None else None, accounts.inputs)


def add_service_shards(
    root: Stack, settings: MicroservicesSettings, tools: Tools, accounts: AccountValues,
    balancers: BalancerOutputs, inputs: ShardInputs,
) -> None:
    """One stack per shard, from tools.stacks: made before from the same settings, or now."""
    numbers = shards(settings)
    made = tools.stacks.make([
        (shard_material(settings, shard), functools.partial(services_stack, settings, shard))
        for shard in numbers
    ])
    for shard, stack in zip(numbers, made):
        images = shard_image_tags(root, shard, services_in_shard(settings, shard))
        root.nest(stack, inputs, balancers, *accounts, *images)


def add_balancer_outputs(root: Stack, settings: MicroservicesSettings, balancers: BalancerOutputs) -> None:
    count = settings.load_balancer.count
    domains = [domain for number in range(count)
               if (domain := settings.load_balancer.origin_domain_name(number)) is not None]
    where = f"; CloudFront connects to them as {', '.join(domains)}" if domains else ""
    root.output(parameter_name("load_balancer_dns_names"), balancers.load_balancer_dns_names,
                "DNS names of the load balancers, 0 to "
                f"{count - 1}, comma-separated (behind CloudFront{where}).")
