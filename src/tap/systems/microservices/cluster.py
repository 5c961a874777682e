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

from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Join, Ref, Select

from tap.blocks.alb import application_load_balancer, full_name, listeners
from tap.blocks.ecs import fargate_cluster
from tap.cfnvalue import CfnValue
from tap.config.microservices import MicroservicesSettings
from tap.stacktree import Stack
from tap.systems.microservices.accounts import AccountInputs
from tap.systems.microservices.storage import LOAD_BALANCER_LOG_PREFIX
from tap.wiring import declare, publish, wire

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


@dataclass(frozen=True)
class ClusterInputs:
    """The load balancers' subnets: private behind CloudFront, public on the internet."""

    private_subnet_ids: CfnValue = wire("Private subnets, one per AZ.", "List<AWS::EC2::Subnet::Id>")
    public_subnet_ids: CfnValue = wire("Public subnets, one per AZ.", "List<AWS::EC2::Subnet::Id>")
    load_balancer_security_group_id: CfnValue = wire(
        "Admits web traffic to the load balancers.", "AWS::EC2::SecurityGroup::Id")
    logs_bucket_name: CfnValue = wire("Bucket receiving access logs.")


@dataclass(frozen=True)
class ClusterOutputs:
    cluster_name: CfnValue = wire("ECS cluster of the services.")
    cluster_arn: CfnValue = wire("ARN of the ECS cluster.")


def balancer_name(balancer: int) -> str:
    """`LoadBalancer3`: the start of the logical ids of load balancer 3."""
    return f"LoadBalancer{balancer}"


def pick(values: Any, balancer: int) -> Select:
    """Load balancer `balancer`'s item of one of the BalancerOutputs lists."""
    return Select(balancer, values)


def cluster_stack(settings: MicroservicesSettings) -> Stack:
    stack = Stack("cluster", "tap microservices: ECS cluster and load balancers")
    internal = settings.load_balancer.ingress == "cloudfront"
    inputs = declare(stack, ClusterInputs)
    subnets = inputs.private_subnet_ids if internal else inputs.public_subnet_ids
    cluster = fargate_cluster(
        stack, "Cluster", container_insights=settings.cluster.container_insights
    )
    accounts = declare(stack, AccountInputs)
    arns, dns_names, full_names, listener_arns = [], [], [], []
    for number in range(settings.load_balancer.count):
        balancer = application_load_balancer(
            stack, balancer_name(number),
            subnets=subnets,
            security_groups=[inputs.load_balancer_security_group_id],
            log_bucket=inputs.logs_bucket_name,
            log_prefix=LOAD_BALANCER_LOG_PREFIX,
            deletion_protection=settings.load_balancer.deletion_protection,
            internal=internal,
            idle_timeout_seconds=settings.load_balancer.idle_timeout_seconds,
        )
        listener = listeners(
            stack, balancer,
            certificate_arn=accounts.load_balancer_certificate_arn if settings.load_balancer.https else None,
        )
        arns.append(Ref(balancer))
        dns_names.append(GetAtt(balancer, "DNSName"))
        full_names.append(full_name(balancer))
        listener_arns.append(Ref(listener))
    # Outputs are strings: each list travels joined, and its readers declare it a list.
    publish(stack, BalancerOutputs(
        load_balancer_arns=Join(",", arns),
        load_balancer_dns_names=Join(",", dns_names),
        load_balancer_full_names=Join(",", full_names),
        load_balancer_listener_arns=Join(",", listener_arns),
    ), suffix=" Comma-separated.")
    publish(stack, ClusterOutputs(cluster_name=Ref(cluster), cluster_arn=GetAtt(cluster, "Arn")))
    return stack
