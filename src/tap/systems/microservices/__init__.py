"""System B: microservices platform with CI/CD (README.md, "Microservices platform").

The root reads like a table of contents: one nested stack per concern,
wired through parameters and outputs, then one `services-NNN` stack per
non-empty shard of services (each nesting its `pipelines-NNN` stack).
Besides the templates, the build emits one GitHub Actions workflow per
service under `workflows/`.
"""

from __future__ import annotations

from typing import Any

from tap import names
from tap.config.microservices import MicroservicesSettings
from tap.package import FunctionPackager
from tap.stacktree import NestedStack, Stack
from tap.systems import SystemBuild
from tap.systems.microservices.accounts import AccountValues, account_values
from tap.systems.microservices.cache import cache_stack
from tap.systems.microservices.cdn import cdn_stack
from tap.systems.microservices.cluster import balancer_outputs, cluster_stack
from tap.systems.microservices.database import database_stack
from tap.systems.microservices.github import (
    GitHubAccess,
    github_access,
    pipeline_stack,
)
from tap.systems.microservices.images import shard_image_tags
from tap.systems.microservices.monitoring import monitoring_stack
from tap.systems.microservices.network import network_stack
from tap.systems.microservices.placement import (
    check_placement,
    services_in_shard,
    shards,
)
from tap.systems.microservices.security import security_stack
from tap.systems.microservices.services import ShardInputs, services_stack
from tap.systems.microservices.storage import storage_stack
from tap.systems.microservices.wiring import arguments, parameter_name
from tap.systems.microservices.workflows import render_workflows


def build(settings: MicroservicesSettings, package: FunctionPackager) -> SystemBuild:
    check_placement(settings)  # before anything is placed: quotas, unique priorities
    root = Stack.root(
        "root",
        f"tap microservices platform ({settings.env}): root stack",
        tags=settings.tags,
    )
    accounts = account_values(root, settings)
    network = root.nest(network_stack(settings.network))
    security = add_security(root, settings, network)
    storage = root.nest(storage_stack(settings))
    database = root.nest(database_stack(settings.database), {
        "PrivateSubnetIds": network.output("PrivateSubnetIds"),
        "DatabaseSecurityGroupId": security.output("DatabaseSecurityGroupId"),
    })
    cache = root.nest(cache_stack(settings.cache), {
        "PrivateSubnetIds": network.output("PrivateSubnetIds"),
        "CacheSecurityGroupId": security.output("CacheSecurityGroupId"),
    })
    cluster = add_cluster(root, settings, accounts, network, security, storage)
    monitoring_child = monitoring_stack(settings)
    monitoring = root.nest(monitoring_child, {
        **balancers_passed_to(monitoring_child, cluster),
        "ClusterName": cluster.output("ClusterName"),
        "DatabaseInstanceId": database.output("DatabaseInstanceId"),
        "CacheReplicationGroupId": cache.output("CacheReplicationGroupId"),
    })
    cdn = add_cdn(root, settings, accounts, storage, cluster)
    pipeline = add_pipeline(root, settings, accounts)
    add_service_shards(root, settings, accounts, cluster, ShardInputs(
        cluster_name=cluster.output("ClusterName"),
        vpc_id=network.output("VpcId"),
        private_subnet_ids=network.output("PrivateSubnetIds"),
        load_balancer_security_group_id=security.output("LoadBalancerSecurityGroupId"),
        services_security_group_id=security.output("ServicesSecurityGroupId"),
        alarm_topic_arn=monitoring.output("AlarmTopicArn"),
        database_address=database.output("DatabaseAddress"),
        database_port=database.output("DatabasePort"),
        database_secret_arn=database.output("DatabaseSecretArn"),
        cache_address=cache.output("CacheAddress"),
        cache_port=cache.output("CachePort"),
        cache_auth_secret_arn=cache.output("CacheAuthSecretArn"),
        artifacts_bucket_name=storage.output("ArtifactsBucketName"),
        connection_arn=pipeline.connection_arn,
        oidc_provider_arn=pipeline.oidc_provider_arn,
    ))
    add_outputs(root, network, storage, cluster, monitoring, cdn, pipeline)
    add_balancer_outputs(root, settings, cluster)
    add_data_outputs(root, database, cache)
    return SystemBuild(root, files=render_workflows(settings))


def add_security(root: Stack, settings: MicroservicesSettings, network: NestedStack) -> NestedStack:
    return root.nest(security_stack(settings.load_balancer), {
        "VpcId": network.output("VpcId"), "VpcCidr": network.output("VpcCidr"),
    })


def add_cluster(
    root: Stack, settings: MicroservicesSettings, accounts: AccountValues, network: NestedStack,
    security: NestedStack, storage: NestedStack,
) -> NestedStack:
    stack = cluster_stack(settings)
    subnets = "PrivateSubnetIds" if settings.load_balancer.ingress == "cloudfront" else "PublicSubnetIds"
    return root.nest(stack, {
        subnets: network.output(subnets),
        "LoadBalancerSecurityGroupId": security.output("LoadBalancerSecurityGroupId"),
        "LogsBucketName": storage.output("LogsBucketName"),
        **accounts.passed_to(stack),
    })


def balancers_passed_to(child: Stack, cluster: NestedStack) -> dict[str, Any]:
    """The nested-stack parameters that give `child` the load balancer values it declared."""
    return arguments(balancer_outputs(cluster), child)


def add_cdn(
    root: Stack, settings: MicroservicesSettings, accounts: AccountValues, storage: NestedStack,
    cluster: NestedStack,
) -> NestedStack:
    parameters = {
        "StaticBucketName": storage.output("StaticBucketName"),
        "StaticBucketArn": storage.output("StaticBucketArn"),
        "StaticBucketDomainName": storage.output("StaticBucketDomainName"),
        "CdnLogsBucketDomainName": storage.output("CdnLogsBucketDomainName"),
    }
    stack = cdn_stack(settings)
    return root.nest(stack, {
        **parameters, **balancers_passed_to(stack, cluster), **accounts.passed_to(stack),
    })


def add_pipeline(root: Stack, settings: MicroservicesSettings, accounts: AccountValues) -> GitHubAccess:
    stack = pipeline_stack(settings)
    return github_access(settings, root.nest(stack) if stack is not None else None, accounts.inputs)


def add_service_shards(
    root: Stack, settings: MicroservicesSettings, accounts: AccountValues, cluster: NestedStack,
    inputs: ShardInputs,
) -> None:
    for shard in shards(settings):
        stack, parameters = services_stack(settings, shard, inputs)
        images = shard_image_tags(root, shard, services_in_shard(settings, shard))
        root.nest(stack, {
            **parameters, **images, **balancers_passed_to(stack, cluster),
            **accounts.passed_to(stack),
        })


def add_outputs(
    root: Stack, network: NestedStack, storage: NestedStack, cluster: NestedStack,
    monitoring: NestedStack, cdn: NestedStack, pipeline: GitHubAccess,
) -> None:
    root.output("VpcId", network.output("VpcId"), "VPC of the platform.")
    root.output("DistributionDomainName", cdn.output("DistributionDomainName"),
                "Where users reach the platform (point DNS aliases here).")
    root.output("ClusterName", cluster.output("ClusterName"), "ECS cluster of the services.")
    root.output("ClusterArn", cluster.output("ClusterArn"), "ARN of the ECS cluster.")
    root.output("ArtifactsBucketName", storage.output("ArtifactsBucketName"),
                "Bucket holding pipeline artefacts.")
    root.output("StaticBucketName", storage.output("StaticBucketName"),
                "Upload static assets here under static/ (served at /static/*).")
    root.output("AlarmTopicArn", monitoring.output("AlarmTopicArn"), "Topic every alarm notifies.")
    root.output("DashboardName", monitoring.output("DashboardName"), "CloudWatch dashboard.")
    root.output(names.ROLLBACK_COMPOSITE_ALARMS_OUTPUT,
                monitoring.output(names.ROLLBACK_COMPOSITE_ALARMS_OUTPUT),
                "Alarms that roll a deploy back when they fire.")
    root.output("GitHubConnectionArn", pipeline.connection_arn,
                "GitHub connection of the pipelines: complete it once in the console.")


def add_balancer_outputs(root: Stack, settings: MicroservicesSettings, cluster: NestedStack) -> None:
    count = settings.load_balancer.count
    domains = [domain for number in range(count)
               if (domain := settings.load_balancer.origin_domain_name(number)) is not None]
    where = f"; CloudFront connects to them as {', '.join(domains)}" if domains else ""
    name = parameter_name("load_balancer_dns_names")
    root.output(name, cluster.output(name), "DNS names of the load balancers, 0 to "
                f"{count - 1}, comma-separated (behind CloudFront{where}).")


def add_data_outputs(root: Stack, database: NestedStack, cache: NestedStack) -> None:
    """Where the database and the cache are, for people and tools outside the services."""
    for name, child, description in (
        ("DatabaseAddress", database, "PostgreSQL host (private subnets)."),
        ("DatabasePort", database, "PostgreSQL port."),
        ("DatabaseSecretArn", database, "Secret with the database master credentials (JSON)."),
        ("CacheAddress", cache, "Cache primary endpoint (TLS, private subnets)."),
        ("CachePort", cache, "Cache port."),
        ("CacheAuthSecretArn", cache, "Secret with the cache AUTH token (JSON key 'token')."),
    ):
        root.output(name, child.output(name), description)
