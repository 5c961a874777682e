"""Monitoring stack: the alarm topic, platform alarms and the dashboard.

Per-service alarms (CPU, memory, unhealthy targets) live beside each
service in its shard and notify the same topic; this stack holds what
there is one of: 5xx per load balancer (and a composite alarm over them,
the deploy's rollback trigger), database CPU/storage/connections, cache
CPU/evictions per node, and one dashboard whose body is a deterministic
JSON document with `Fn::Sub` placeholders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from troposphere import Join, Ref, Sub, cloudwatch

from tap.blocks.monitoring import (
    PER_MINUTE,
    AlarmTopic,
    alarm,
    alarm_topic,
    any_alarm,
    rollback_alarms_output,
)
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems.microservices.cluster import BalancerOutputs, balancer_name, pick
from tap.systems.microservices.wiring import declare

GIB = 1024 ** 3


@dataclass(frozen=True)
class Inputs:
    balancers: BalancerOutputs
    count: int
    cluster: Ref
    database: Ref
    cache: Ref


def monitoring_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("monitoring", "tap microservices: alarm topic, platform alarms, dashboard")
    inputs = add_parameters(stack, settings)
    topic = alarm_topic(stack, "AlarmTopic", email=settings.monitoring.alarm_email)
    # A deploy after which a load balancer or the services answer 5xx is rolled back.
    rollback_alarms_output(stack, [any_alarm(
        stack, "LoadBalancers5xxAlarm",
        description="5xx from a load balancer or its services (any of the alarms below)",
        alarms=add_load_balancer_alarms(stack, inputs, topic),
    )])
    add_database_alarms(stack, settings, inputs, topic)
    add_cache_alarms(stack, settings, inputs, topic)
    dashboard = add_dashboard(stack, settings, inputs)
    stack.output("AlarmTopicArn", topic.arn, "SNS topic every alarm of the platform notifies.")
    stack.output("DashboardName", Ref(dashboard), "CloudWatch dashboard of the platform.")
    return stack


def add_parameters(stack: Stack, settings: MicroservicesSettings) -> Inputs:
    return Inputs(
        balancers=declare(stack, BalancerOutputs),
        count=settings.load_balancer.count,
        cluster=Ref(stack.parameter("ClusterName", Description="ECS cluster of the services.")),
        database=Ref(stack.parameter("DatabaseInstanceId", Description="Identifier of the DB instance.")),
        cache=Ref(stack.parameter(
            "CacheReplicationGroupId", Description="Identifier of the cache replication group."
        )),
    )


def add_load_balancer_alarms(stack: Stack, inputs: Inputs, topic: AlarmTopic) -> list[cloudwatch.Alarm]:
    return [
        alarm(
            stack, f"{balancer_name(number)}{kind}",
            description=f"5xx responses from {whose} of load balancer {number}: at least 10 a minute",
            namespace="AWS/ApplicationELB", metric=metric,
            dimensions={"LoadBalancer": pick(inputs.balancers.load_balancer_full_names, number)},
            statistic="Sum", comparison="GreaterThanOrEqualToThreshold", threshold=10,
            notify=topic.arn, **PER_MINUTE,
        )
        for number in range(inputs.count)
        for kind, metric, whose in (
            ("5xxAlarm", "HTTPCode_ELB_5XX_Count", "the load balancer itself"),
            ("Target5xxAlarm", "HTTPCode_Target_5XX_Count", "the services"),
        )
    ]


def add_database_alarms(
    stack: Stack, settings: MicroservicesSettings, inputs: Inputs, topic: AlarmTopic
) -> None:
    limits = settings.monitoring
    dimensions = {"DBInstanceIdentifier": inputs.database}
    alarm(
        stack, "DatabaseCpuAlarm",
        description=f"Database CPU above {limits.database_cpu_alarm_percent} %",
        namespace="AWS/RDS", metric="CPUUtilization", dimensions=dimensions,
        statistic="Average", comparison="GreaterThanThreshold",
        threshold=limits.database_cpu_alarm_percent, notify=topic.arn, **PER_MINUTE,
    )
    alarm(
        stack, "DatabaseStorageAlarm",
        description=f"Database free storage below {limits.database_free_storage_alarm_gb} GiB",
        namespace="AWS/RDS", metric="FreeStorageSpace", dimensions=dimensions,
        statistic="Minimum", comparison="LessThanThreshold",
        threshold=limits.database_free_storage_alarm_gb * GIB, notify=topic.arn, **PER_MINUTE,
    )
    alarm(
        stack, "DatabaseConnectionsAlarm",
        description=f"More than {limits.database_connections_alarm} database connections",
        namespace="AWS/RDS", metric="DatabaseConnections", dimensions=dimensions,
        statistic="Maximum", comparison="GreaterThanThreshold",
        threshold=limits.database_connections_alarm, notify=topic.arn, **PER_MINUTE,
    )


def cache_node_ids(settings: MicroservicesSettings, inputs: Inputs) -> list[Join]:
    """ElastiCache names the members of a replication group <group>-001, -002, ..."""
    return [
        Join("-", [inputs.cache, f"{number:03d}"]) for number in range(1, settings.cache.node_count + 1)
    ]


def add_cache_alarms(
    stack: Stack, settings: MicroservicesSettings, inputs: Inputs, topic: AlarmTopic
) -> None:
    threshold = settings.monitoring.cache_cpu_alarm_percent
    for number, node in enumerate(cache_node_ids(settings, inputs), start=1):
        dimensions = {"CacheClusterId": node}
        alarm(
            stack, f"CacheCpuAlarm{number}",
            description=f"Cache node {number}: engine CPU above {threshold} %",
            namespace="AWS/ElastiCache", metric="EngineCPUUtilization", dimensions=dimensions,
            statistic="Average", comparison="GreaterThanThreshold", threshold=threshold,
            notify=topic.arn, **PER_MINUTE,
        )
        alarm(
            stack, f"CacheEvictionsAlarm{number}",
            description=f"Cache node {number} evicts keys: memory is full",
            namespace="AWS/ElastiCache", metric="Evictions", dimensions=dimensions,
            statistic="Sum", comparison="GreaterThanThreshold", threshold=0,
            notify=topic.arn, **PER_MINUTE,
        )


def _widget(title: str, x: int, y: int, metrics: list[list[Any]], stat: str) -> dict[str, Any]:
    return {
        "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
        "properties": {
            "title": title, "region": "${AWS::Region}", "stat": stat, "period": 60,
            "view": "timeSeries", "metrics": metrics,
        },
    }


def dashboard_body(settings: MicroservicesSettings) -> str:
    """The dashboard as JSON with ${...} placeholders for Fn::Sub (deterministic: sorted keys)."""
    nodes = [f"${{Cache}}-{number:03d}" for number in range(1, settings.cache.node_count + 1)]
    balancers = [f"${{{balancer_name(number)}}}" for number in range(settings.load_balancer.count)]
    widgets = [
        _widget("Requests and 5xx", 0, 0, [
            ["AWS/ApplicationELB", metric, "LoadBalancer", balancer]
            for metric in ("RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count")
            for balancer in balancers
        ], "Sum"),
        _widget("Response time (p95, seconds)", 12, 0, [
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", balancer]
            for balancer in balancers
        ], "p95"),
        # Container Insights publishes cluster totals for Fargate tasks too.
        _widget("Cluster CPU units and memory MiB, used and reserved", 0, 6, [
            ["ECS/ContainerInsights", metric, "ClusterName", "${Cluster}"]
            for metric in ("CpuUtilized", "CpuReserved", "MemoryUtilized", "MemoryReserved")
        ], "Sum"),
        _widget("Database CPU (%) and connections", 12, 6, [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "${Database}"],
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "${Database}"],
        ], "Average"),
        _widget("Database free storage (bytes)", 0, 12, [
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", "${Database}"],
        ], "Minimum"),
        _widget("Cache engine CPU (%) and evictions", 12, 12, [
            ["AWS/ElastiCache", metric, "CacheClusterId", node]
            for metric in ("EngineCPUUtilization", "Evictions") for node in nodes
        ], "Average"),
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def add_dashboard(stack: Stack, settings: MicroservicesSettings, inputs: Inputs) -> cloudwatch.Dashboard:
    return stack.add(
        cloudwatch.Dashboard(
            "Dashboard",
            DashboardBody=Sub(
                dashboard_body(settings),
                Cluster=inputs.cluster, Database=inputs.database, Cache=inputs.cache,
                **{balancer_name(number): pick(inputs.balancers.load_balancer_full_names, number)
                   for number in range(inputs.count)},
            ),
        )
    )
