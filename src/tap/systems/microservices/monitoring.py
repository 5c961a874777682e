"""Monitoring stack: the alarm topic, platform alarms and the dashboard.

Per-service alarms (CPU, memory, unhealthy targets) live beside each
service in its shard and notify the same topic; this stack holds what
there is one of: 5xx per load balancer (and a composite alarm over them,
the deploy's rollback trigger), database CPU/storage/connections, cache
CPU/evictions per node, and one dashboard whose body is a deterministic
JSON document with `Fn::Sub` placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from troposphere import Join, Ref, cloudwatch

from tap.blocks.monitoring import (
    PER_MINUTE,
    AlarmTopic,
    alarm,
    alarm_topic,
    any_alarm,
    dashboard,
    metric_widget,
    rollback_alarms_output,
)
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems.microservices.cluster import BalancerOutputs, balancer_name, pick
from tap.wiring import declare, publish, wire

GIB = 1024 ** 3


@dataclass(frozen=True)
class MonitoringInputs:
    cluster_name: CfnValue = wire("ECS cluster of the services.")
    database_instance_id: CfnValue = wire("Identifier of the DB instance.")
    cache_replication_group_id: CfnValue = wire("Identifier of the cache replication group.")


@dataclass(frozen=True)
class MonitoringOutputs:
    alarm_topic_arn: CfnValue = wire("SNS topic every alarm of the platform notifies.")
    dashboard_name: CfnValue = wire("CloudWatch dashboard of the platform.")


def monitoring_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("monitoring", "tap microservices: alarm topic, platform alarms, dashboard")
    inputs = declare(stack, MonitoringInputs)
    balancers = declare(stack, BalancerOutputs)
    topic = alarm_topic(stack, "AlarmTopic", email=settings.monitoring.alarm_email)
    # A deploy after which a load balancer or the services answer 5xx is rolled back.
    rollback_alarms_output(stack, [any_alarm(
        stack, "LoadBalancers5xxAlarm",
        description="5xx from a load balancer or its services (any of the alarms below)",
        alarms=add_load_balancer_alarms(stack, settings, balancers, topic),
    )])
    add_database_alarms(stack, settings, inputs, topic)
    add_cache_alarms(stack, settings, inputs, topic)
    dashboard = add_dashboard(stack, settings, inputs, balancers)
    publish(stack, MonitoringOutputs(alarm_topic_arn=topic.arn, dashboard_name=Ref(dashboard)))
    return stack


def add_load_balancer_alarms(
    stack: Stack, settings: MicroservicesSettings, balancers: BalancerOutputs, topic: AlarmTopic
) -> list[cloudwatch.Alarm]:
    return [
        alarm(
            stack, f"{balancer_name(number)}{kind}",
            description=f"5xx responses from {whose} of load balancer {number}: at least 10 a minute",
            namespace="AWS/ApplicationELB", metric=metric,
            dimensions={"LoadBalancer": pick(balancers.load_balancer_full_names, number)},
            statistic="Sum", comparison="GreaterThanOrEqualToThreshold", threshold=10,
            notify=topic.arn, window=PER_MINUTE,
        )
        for number in range(settings.load_balancer.count)
        for kind, metric, whose in (
            ("5xxAlarm", "HTTPCode_ELB_5XX_Count", "the load balancer itself"),
            ("Target5xxAlarm", "HTTPCode_Target_5XX_Count", "the services"),
        )
    ]


def add_database_alarms(
    stack: Stack, settings: MicroservicesSettings, inputs: MonitoringInputs, topic: AlarmTopic
) -> None:
    limits = settings.monitoring
    dimensions = {"DBInstanceIdentifier": inputs.database_instance_id}
    alarm(
        stack, "DatabaseCpuAlarm",
        description=f"Database CPU above {limits.database_cpu_alarm_percent} %",
        namespace="AWS/RDS", metric="CPUUtilization", dimensions=dimensions,
        statistic="Average", comparison="GreaterThanThreshold",
        threshold=limits.database_cpu_alarm_percent, notify=topic.arn, window=PER_MINUTE,
    )
    alarm(
        stack, "DatabaseStorageAlarm",
        description=f"Database free storage below {limits.database_free_storage_alarm_gb} GiB",
        namespace="AWS/RDS", metric="FreeStorageSpace", dimensions=dimensions,
        statistic="Minimum", comparison="LessThanThreshold",
        threshold=limits.database_free_storage_alarm_gb * GIB, notify=topic.arn, window=PER_MINUTE,
    )
    alarm(
        stack, "DatabaseConnectionsAlarm",
        description=f"More than {limits.database_connections_alarm} database connections",
        namespace="AWS/RDS", metric="DatabaseConnections", dimensions=dimensions,
        statistic="Maximum", comparison="GreaterThanThreshold",
        threshold=limits.database_connections_alarm, notify=topic.arn, window=PER_MINUTE,
    )


def cache_node_ids(settings: MicroservicesSettings, inputs: MonitoringInputs) -> list[Join]:
    """ElastiCache names the members of a replication group <group>-001, -002, ..."""
    return [
        Join("-", [inputs.cache_replication_group_id, f"{number:03d}"]) for number in range(1, settings.cache.node_count + 1)
    ]


def add_cache_alarms(
    stack: Stack, settings: MicroservicesSettings, inputs: MonitoringInputs, topic: AlarmTopic
) -> None:
    threshold = settings.monitoring.cache_cpu_alarm_percent
    for number, node in enumerate(cache_node_ids(settings, inputs), start=1):
        dimensions = {"CacheClusterId": node}
        alarm(
            stack, f"CacheCpuAlarm{number}",
            description=f"Cache node {number}: engine CPU above {threshold} %",
            namespace="AWS/ElastiCache", metric="EngineCPUUtilization", dimensions=dimensions,
            statistic="Average", comparison="GreaterThanThreshold", threshold=threshold,
            notify=topic.arn, window=PER_MINUTE,
        )
        alarm(
            stack, f"CacheEvictionsAlarm{number}",
            description=f"Cache node {number} evicts keys: memory is full",
            namespace="AWS/ElastiCache", metric="Evictions", dimensions=dimensions,
            statistic="Sum", comparison="GreaterThanThreshold", threshold=0,
            notify=topic.arn, window=PER_MINUTE,
        )


def dashboard_widgets(settings: MicroservicesSettings) -> list[dict[str, Any]]:
    """The dashboard's widgets, with ${...} placeholders that `add_dashboard` fills."""
    nodes = [f"${{Cache}}-{number:03d}" for number in range(1, settings.cache.node_count + 1)]
    balancers = [f"${{{balancer_name(number)}}}" for number in range(settings.load_balancer.count)]
    return [
        metric_widget("Requests and 5xx", [
            ["AWS/ApplicationELB", metric, "LoadBalancer", balancer]
            for metric in ("RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count")
            for balancer in balancers
        ], stat="Sum", period=60, at=(0, 0)),
        metric_widget("Response time (p95, seconds)", [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", balancer]
            for balancer in balancers
        ], stat="p95", period=60, at=(12, 0)),
        # Container Insights publishes cluster totals for Fargate tasks too.
        metric_widget("Cluster CPU units and memory MiB, used and reserved", [
            ["ECS/ContainerInsights", metric, "ClusterName", "${Cluster}"]
            for metric in ("CpuUtilized", "CpuReserved", "MemoryUtilized", "MemoryReserved")
        ], stat="Sum", period=60, at=(0, 6)),
        metric_widget("Database CPU (%) and connections", [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "${Database}"],
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "${Database}"],
        ], stat="Average", period=60, at=(12, 6)),
        metric_widget("Database free storage (bytes)", [
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", "${Database}"],
        ], stat="Minimum", period=60, at=(0, 12)),
        metric_widget("Cache engine CPU (%) and evictions", [
            ["AWS/ElastiCache", metric, "CacheClusterId", node]
            for metric in ("EngineCPUUtilization", "Evictions") for node in nodes
        ], stat="Average", period=60, at=(12, 12)),
    ]


def add_dashboard(
    stack: Stack, settings: MicroservicesSettings, inputs: MonitoringInputs, balancers: BalancerOutputs
) -> cloudwatch.Dashboard:
    full_names = {
        balancer_name(number): pick(balancers.load_balancer_full_names, number)
        for number in range(settings.load_balancer.count)
    }
    return dashboard(
        stack, "Dashboard", dashboard_widgets(settings), Cluster=inputs.cluster_name,
        Database=inputs.database_instance_id, Cache=inputs.cache_replication_group_id, **full_names,
    )
