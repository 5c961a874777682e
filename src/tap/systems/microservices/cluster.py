"""Cluster stack: the ECS cluster and the Application Load Balancers in front of the services.

There are `load_balancer.count` load balancers; a service's rules and target
group live on `placement.balancer_of(service, count)`. Other stacks receive each
value of all load balancers as one list parameter (`LoadBalancerListenerArns`
…) and `Fn::Select` the one they need: a parameter per load balancer would
grow the root by ~200 KB at 1,000 services, past the 1 MB template quota. With ingress "cloudfront"
they are internal, in the private subnets, and CloudFront reaches them as VPC
origins (cdn.py): nothing on the internet can connect to them. With ingress
"internet" they are internet-facing in the public subnets.

Service rules attach to one listener per load balancer: HTTPS when a
certificate is configured (HTTP then only redirects), HTTP otherwise. Access
logs go to the logs bucket of the storage stack, whose policy already admits
the ELB log-delivery service (a load balancer checks that it can write when
it is created).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Join, Ref, Select

from tap.blocks.alb import application_load_balancer, full_name, listeners
from tap.blocks.ecs import fargate_cluster
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import NestedStack, Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.systems.microservices.storage import LOAD_BALANCER_LOG_PREFIX
from tap.systems.microservices.wiring import (
    declare,
    parameter_name,
    subnets_and_group,
    wire,
)

LIST = "CommaDelimitedList"


@dataclass(frozen=True)
class BalancerOutputs:
    """What the cluster stack says of the load balancers: one list per value, in order."""

    load_balancer_arns: CfnValue = wire("ARNs of the load balancers (CloudFront's VPC origins).", LIST)
    load_balancer_dns_names: CfnValue = wire("DNS names of the load balancers.", LIST)
    load_balancer_full_names: CfnValue = wire(
        "The load balancers as CloudWatch names them (app/<name>/<id>).", LIST)
    load_balancer_listener_arns: CfnValue = wire(
        "Listeners the routing rules of the services attach to, one per load balancer.", LIST)


def balancer_name(balancer: int) -> str:
    """`LoadBalancer3`: the start of the logical ids of load balancer 3."""
    return f"LoadBalancer{balancer}"


def pick(values: Any, balancer: int) -> Select:
    """Load balancer `balancer`'s item of one of the BalancerOutputs lists."""
    return Select(balancer, values)


def cluster_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("cluster", "tap microservices: ECS cluster and load balancers")
    internal = settings.load_balancer.ingress == "cloudfront"
    subnets, security_group = subnets_and_group(
        stack, "PrivateSubnetIds" if internal else "PublicSubnetIds", "LoadBalancerSecurityGroupId",
        "web traffic to the load balancers",
    )
    log_bucket = stack.parameter("LogsBucketName", Description="Bucket receiving access logs.")
    cluster = fargate_cluster(
        stack, "Cluster", container_insights=settings.cluster.container_insights
    )
    accounts = declare(stack, AccountInputs)
    made: dict[str, list[Any]] = {field.name: [] for field in dataclasses.fields(BalancerOutputs)}
    for number in range(settings.load_balancer.count):
        balancer = application_load_balancer(
            stack, balancer_name(number),
            subnets=subnets,
            security_groups=[security_group],
            log_bucket=Ref(log_bucket),
            log_prefix=LOAD_BALANCER_LOG_PREFIX,
            deletion_protection=settings.load_balancer.deletion_protection,
            internal=internal,
            idle_timeout_seconds=settings.load_balancer.idle_timeout_seconds,
        )
        listener = listeners(
            stack, balancer,
            certificate_arn=accounts.load_balancer_certificate_arn if settings.load_balancer.https else None,
        )
        made["load_balancer_arns"].append(Ref(balancer))
        made["load_balancer_dns_names"].append(GetAtt(balancer, "DNSName"))
        made["load_balancer_full_names"].append(full_name(balancer))
        made["load_balancer_listener_arns"].append(Ref(listener))
    for field in dataclasses.fields(BalancerOutputs):
        stack.output(parameter_name(field.name), Join(",", made[field.name]),
                     field.metadata["doc"] + " Comma-separated.")

    stack.output("ClusterName", Ref(cluster), "ECS cluster of the services.")
    stack.output("ClusterArn", GetAtt(cluster, "Arn"), "ARN of the ECS cluster.")
    return stack


def balancer_outputs(cluster: NestedStack) -> BalancerOutputs:
    """The cluster's load balancer lists as its parent reads them, to pass to other children."""
    return BalancerOutputs(**{
        field.name: cluster.output(parameter_name(field.name))
        for field in dataclasses.fields(BalancerOutputs)
    })
